// TEMPORARY — the issue-3 side of the conversation interface, written against the
// foundation's ConversationStore stub so the sessions work builds before the memory
// work (issue 4) lands. The memory work implements these methods on its real
// ConversationStore; when both are merged, delete the method bodies below and keep
// only `extension ConversationStore: SessionConversationAccess {}`.
//
// The stub's Conversation has no `sessionId`, so against the stub no conversation is
// ever linked to a session: `conversationIDs(sessionId:)` is empty and unlinking does
// nothing. Everything else works on the stub's storage.

extension ConversationStore: SessionConversationAccess {
    public func conversationIDs(sessionId: String) -> [String] { [] }

    public func messagesSnapshot(conversationId: String) -> [Message] { messages[conversationId] ?? [] }

    public func replaceMessages(conversationId: String, with new: [Message]) throws(DomainError) {
        guard conversations[conversationId] != nil else { throw .notFound(kind: "conversation", id: conversationId) }
        for m in messages[conversationId] ?? [] { env.effects.delete(RecordKey(.message, m.id, parent: conversationId)) }
        messages[conversationId] = new
        for m in new { env.effects.put(.message(m)) }
        env.effects.emit(.memory(event: "updated", conversationId: conversationId, messageIds: new.map(\.id)))
    }

    public func unlinkSession(_ sessionId: String) {}

    public func deleteConversation(id: String) throws(DomainError) {
        guard conversations.removeValue(forKey: id) != nil else { throw .notFound(kind: "conversation", id: id) }
        for m in messages.removeValue(forKey: id) ?? [] { env.effects.delete(RecordKey(.message, m.id, parent: id)) }
        env.effects.delete(RecordKey(.conversation, id))
        env.effects.emit(.memory(event: "deleted", conversationId: id, messageIds: nil))
    }

    public func exportConversation(id: String) -> Conversation? { conversations[id] }

    public func importConversation(_ conversation: Conversation, messages new: [Message], sessionId: String) throws(DomainError) {
        let id = conversation.id
        for m in messages[id] ?? [] { env.effects.delete(RecordKey(.message, m.id, parent: id)) }
        conversations[id] = conversation
        messages[id] = new
        env.effects.put(.conversation(conversation))
        for m in new { env.effects.put(.message(m)) }
        env.effects.emit(.memory(event: "imported", conversationId: id, messageIds: nil))
    }
}
