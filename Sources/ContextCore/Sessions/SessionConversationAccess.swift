/// What the session operations need from the conversation store (issue 3 ↔ issue 4
/// interface). `ConversationStore` conforms; unit tests may pass their own store.
///
/// - Important: Called on the domain owner's serial queue only. Mutating methods
///   record their own change records and `memory` events in the shared `Effects`.
public protocol SessionConversationAccess: AnyObject {
    /// The ids of the conversations linked to `sessionId`, in creation order.
    func conversationIDs(sessionId: String) -> [String]
    /// The conversation's current messages, oldest first (empty when unknown).
    func messagesSnapshot(conversationId: String) throws(DomainError) -> [Message]
    /// Replaces the conversation's messages with `messages` (a rollback): records the
    /// message deletions and puts, and updates the conversation's counters.
    func replaceMessages(conversationId: String, with messages: [Message]) throws(DomainError)
    /// Removes the session link from every conversation linked to `sessionId`.
    func unlinkSession(_ sessionId: String)
    /// Deletes a conversation with its messages.
    func deleteConversation(id: String) throws(DomainError)
    /// The conversation's header, or nil when unknown (for `session/export`).
    func exportConversation(id: String) -> Conversation?
    /// Inserts or replaces a conversation with its messages, linked to `sessionId`
    /// (for `session/import`; the caller has already resolved id conflicts).
    func importConversation(_ conversation: Conversation, messages: [Message], sessionId: String) throws(DomainError)
}
