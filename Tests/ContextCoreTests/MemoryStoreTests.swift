import ContextCore
import JSONCore
import Testing

@Suite("Conversation store")
struct MemoryStoreTests {
    @Test func messagesRolesToolCallsAndQueries() throws {
        let (e, clock) = makeMemoryEngine()
        let s = e.conversations
        let c = try s.createConversation(title: "Chat", metadata: ["k": "v"])
        _ = try s.addMessage(conversationId: c.id, role: .system, content: "You are helpful.")
        clock.advance()
        let a = try s.addMessage(
            conversationId: c.id, role: .assistant, content: "",
            toolCalls: [ToolCall(id: "call_1", name: "read", arguments: ["path": "a.txt", "n": [1, 2]])]).message
        clock.advance()
        let t = try s.addMessage(conversationId: c.id, role: .tool, content: "contents", toolCallId: "call_1").message
        #expect(a.toolCalls?.first?.arguments == ["path": "a.txt", "n": [1, 2]])
        #expect(a.tokens > 0, "tool-call arguments are counted")
        #expect(t.toolCallId == "call_1")
        #expect(throws: DomainError.self) { try s.addMessage(conversationId: c.id, role: .tool, content: "x", toolCallId: "nope") }
        #expect(throws: DomainError.self) { try s.addMessage(conversationId: c.id, role: .tool, content: "x") }
        #expect(throws: DomainError.self) { try s.addMessage(conversationId: c.id, role: .user, content: "x", toolCallId: "call_1") }
        #expect(throws: DomainError.notFound(kind: "conversation", id: "missing")) {
            try s.addMessage(conversationId: "missing", role: .user, content: "x")
        }
        #expect(try s.messages(conversationId: c.id, role: .tool).map(\.id) == [t.id])
        #expect(try s.messages(conversationId: c.id, recent: 2).map(\.id) == [a.id, t.id])
        #expect(try s.messages(conversationId: c.id, offset: 1, limit: 1).map(\.id) == [a.id])
        let text = try s.text(conversationId: c.id)
        #expect(text.contains("[system] You are helpful.") && text.contains("read(") && text.contains("[tool call_1] contents"))
        let st = try s.statistics(conversationId: c.id)
        #expect(st.totalMessages == 3 && st.byRole["assistant"] == 1 && st.durationMs == 2)
        #expect(s.statistics().totalConversations == 1)
        let conv = try s.conversation(id: c.id)
        #expect(conv.messageCount == 3 && conv.tokenCount == st.totalTokens)
    }

    @Test func listConversationsMostRecentFirstWithCursor() throws {
        let (e, clock) = makeMemoryEngine()
        let s = e.conversations
        var ids: [String] = []
        for k in 0..<5 {
            clock.advance()
            ids.append(try s.createConversation(title: "c\(k)", sessionId: k < 2 ? "ses_x" : nil).id)
        }
        clock.advance()
        _ = try s.addMessage(conversationId: ids[0], role: .user, content: "bump")
        let first = try s.listConversations(limit: 2)
        #expect(first.conversations.map(\.id) == [ids[0], ids[4]])
        let second = try s.listConversations(limit: 2, cursor: first.nextCursor)
        #expect(second.conversations.map(\.id) == [ids[3], ids[2]])
        let third = try s.listConversations(limit: 2, cursor: second.nextCursor)
        #expect(third.conversations.map(\.id) == [ids[1]] && third.nextCursor == nil)
        #expect(try s.listConversations(sessionId: "ses_x").conversations.count == 2)
        #expect(try s.trimConversations(keep: 2) == [ids[3], ids[2], ids[1]])
        #expect(s.statistics().totalConversations == 2)
    }

    @Test func forkExportImport() throws {
        let (e, clock) = makeMemoryEngine()
        let s = e.conversations
        let c = try s.createConversation(title: "orig")
        var ms: [Message] = []
        for k in 0..<4 {
            clock.advance()
            ms.append(try s.addMessage(conversationId: c.id, role: .user, content: "m\(k)", metadata: ["i": .int(k)]).message)
        }
        let f = try s.fork(conversationId: c.id, atMessageId: ms[1].id, title: "fork")
        #expect(f.parentConversationId == c.id && f.forkedAtMessageId == ms[1].id && f.messageCount == 2)
        let copies = try s.messages(conversationId: f.id)
        #expect(copies.map(\.content) == ["m0", "m1"])
        #expect(Set(copies.map(\.id)).isDisjoint(with: ms.map(\.id)))
        #expect(try s.conversation(id: c.id).messageCount == 4)

        let snap = try s.export(id: c.id)
        #expect(snap.schemaVersion == 1)
        // Lossless through JSON.
        let json = try JSONValueEncoder().encode(snap)
        let back = try JSONValueDecoder().decode(ConversationSnapshot.self, from: json)
        #expect(back == snap)
        #expect(throws: DomainError.conflict(kind: "conversation", id: c.id, reason: "already exists")) {
            try s.importConversation(back)
        }
        let copy = try s.importConversation(back, onConflict: .newId)
        #expect(copy.id != c.id && copy.messageCount == 4)
        let replaced = try s.importConversation(back, onConflict: .replace)
        #expect(replaced.id == c.id)
        #expect(try s.messages(conversationId: c.id) == ms)
    }

    @Test func restoreFromRecordsRebuildsState() throws {
        let (e, clock) = makeMemoryEngine()
        let c = try e.conversations.createConversation(title: "t", maxMessages: 3)
        var changes: [Change] = []
        changes += e.effects.drain().changes
        for k in 0..<5 {
            clock.advance()
            _ = try e.conversations.addMessage(conversationId: c.id, role: .user, content: "hello \(k)")
            changes += e.effects.drain().changes
        }
        let (e2, _) = makeMemoryEngine()
        try e2.restore(changes)
        #expect(try e2.conversations.messages(conversationId: c.id) == e.conversations.messages(conversationId: c.id))
        #expect(try e2.conversations.conversation(id: c.id) == e.conversations.conversation(id: c.id))
        #expect(try e2.conversations.search(query: "hello").hits.count == 3)
        // A snapshot of all records restores the same.
        let (e3, _) = makeMemoryEngine()
        try e3.restore(e.allRecords(component: "conversations").map { .put($0) })
        #expect(try e3.conversations.conversation(id: c.id) == e.conversations.conversation(id: c.id))
    }

    @Test func sessionInterface() throws {
        let (e, clock) = makeMemoryEngine()
        let s = e.conversations
        let c = try s.createConversation(title: "t", sessionId: "ses_1")
        _ = try s.addMessage(conversationId: c.id, role: .user, content: "keep")
        let saved = try s.messagesSnapshot(conversationId: c.id)
        clock.advance()
        _ = try s.addMessage(conversationId: c.id, role: .user, content: "later")
        _ = e.effects.drain()
        try s.replaceMessages(conversationId: c.id, with: saved)
        let d = e.effects.drain()
        #expect(d.events.count == 1)
        #expect(d.changes.contains { if case .delete(let k) = $0 { return k.kind == .message } else { return false } })
        #expect(try s.messages(conversationId: c.id) == saved)
        #expect(s.conversationIDs(sessionId: "ses_1") == [c.id])
        s.unlinkSession("ses_1")
        #expect(s.conversationIDs(sessionId: "ses_1").isEmpty)
        #expect(try s.conversation(id: c.id).sessionId == nil)
    }
}
