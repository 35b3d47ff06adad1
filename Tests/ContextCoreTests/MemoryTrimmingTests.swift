import ContextCore
import JSONCore
import Testing

@Suite("Conversation trimming")
struct MemoryTrimmingTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let messages: [Message]
        let maxMessages: Int?
        let maxTokens: Int?
        let protected: Int?
        let dropped: [String]
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "within limits drops nothing", messages: [msg("s", .system), msg("u1", .user), msg("a1", .assistant)],
             maxMessages: 3, maxTokens: nil, protected: 2, dropped: []),
        Case(name: "oldest non-system first; system pinned",
             messages: [msg("s", .system), msg("u1", .user), msg("a1", .assistant), msg("u2", .user)],
             maxMessages: 3, maxTokens: nil, protected: 3, dropped: ["u1"]),
        Case(name: "several dropped to meet maxMessages",
             messages: [msg("u1", .user), msg("s", .system), msg("a1", .assistant), msg("u2", .user), msg("a2", .assistant)],
             maxMessages: 2, maxTokens: nil, protected: 4, dropped: ["u1", "a1", "u2"]),
        Case(name: "token limit alone",
             messages: [msg("s", .system, tokens: 5), msg("u1", .user, tokens: 10), msg("a1", .assistant, tokens: 10), msg("u2", .user, tokens: 4)],
             maxMessages: nil, maxTokens: 20, protected: 3, dropped: ["u1"]),
        Case(name: "both limits: the stricter wins",
             messages: [msg("u1", .user, tokens: 1), msg("a1", .assistant, tokens: 1), msg("u2", .user, tokens: 8), msg("a2", .assistant, tokens: 8)],
             maxMessages: 3, maxTokens: 9, protected: 3, dropped: ["u1", "a1", "u2"]),
        Case(name: "tool pair goes together",
             messages: [msg("u1", .user), msg("a1", .assistant, calls: ["c1"]), msg("t1", .tool, answers: "c1"), msg("a2", .assistant), msg("u2", .user)],
             maxMessages: 3, maxTokens: nil, protected: 4, dropped: ["u1", "a1", "t1"]),
        Case(name: "assistant with two calls and both results go together",
             messages: [msg("a1", .assistant, calls: ["x", "y"]), msg("t1", .tool, answers: "x"), msg("t2", .tool, answers: "y"), msg("u1", .user), msg("u2", .user)],
             maxMessages: 4, maxTokens: nil, protected: 4, dropped: ["a1", "t1", "t2"]),
        Case(name: "a new tool result pins its assistant",
             messages: [msg("u1", .user), msg("a1", .assistant, calls: ["c1"]), msg("u2", .user), msg("t1", .tool, answers: "c1")],
             maxMessages: 3, maxTokens: nil, protected: 3, dropped: ["u1"]),
        Case(name: "pair not split even when dropping one would suffice (tokens)",
             messages: [msg("a1", .assistant, tokens: 2, calls: ["c"]), msg("t1", .tool, tokens: 50, answers: "c"), msg("u1", .user, tokens: 5)],
             maxMessages: nil, maxTokens: 10, protected: 2, dropped: ["a1", "t1"]),
    ]

    @Test(arguments: cases)
    func table(_ c: Case) throws {
        let plan = try ConversationTrimmer.plan(c.messages, maxMessages: c.maxMessages, maxTokens: c.maxTokens, protected: c.protected)
        #expect(plan.map { c.messages[$0].id } == c.dropped)
        // Never orphaned: every remaining tool message still has its assistant.
        let kept = c.messages.enumerated().filter { !plan.contains($0.offset) }.map(\.element)
        for m in kept where m.role == .tool {
            #expect(kept.contains { $0.toolCalls?.contains { $0.id == m.toolCallId } ?? false })
        }
    }

    @Test func pinnedMessagesAloneOverALimitFail() {
        let ms = [msg("s1", .system), msg("s2", .system), msg("s3", .system), msg("u", .user)]
        #expect(throws: DomainError.limitExceeded(limit: "maxMessages", max: 2, value: 4)) {
            try ConversationTrimmer.plan(ms, maxMessages: 2, maxTokens: nil, protected: 3)
        }
        let big = [msg("s", .system, tokens: 30), msg("u", .user, tokens: 5)]
        #expect(throws: DomainError.limitExceeded(limit: "maxTokens", max: 20, value: 35)) {
            try ConversationTrimmer.plan(big, maxMessages: nil, maxTokens: 20, protected: 1)
        }
    }

    @Test func storeTrimsOnAddAndReportsDroppedIDs() throws {
        let (e, clock) = makeMemoryEngine()
        e.conversations.tokenizers = TokenizerRegistry()
        let c = try e.conversations.createConversation(title: "t", maxMessages: 3)
        _ = try e.conversations.addMessage(conversationId: c.id, role: .system, content: "be brief")
        var ids: [String] = []
        for k in 0..<4 {
            clock.advance()
            let r = try e.conversations.addMessage(conversationId: c.id, role: k % 2 == 0 ? .user : .assistant, content: "m\(k)")
            ids.append(r.message.id)
            if k >= 2 { #expect(r.trimmed == [ids[k - 2]]) }
        }
        let left = try e.conversations.messages(conversationId: c.id)
        #expect(left.map(\.role) == [.system, .user, .assistant])
        #expect(try e.conversations.conversation(id: c.id).messageCount == 3)
        let events = e.effects.drain().events
        let trimmed = events.compactMap { ev -> [String]? in
            if case .memory("trimmed", _, let ids) = ev { return ids } else { return nil }
        }
        #expect(trimmed == [[ids[0]], [ids[1]]])
    }

    @Test func singleOversizedMessageChangesNothing() throws {
        let (e, _) = makeMemoryEngine()
        let c = try e.conversations.createConversation(title: "t", maxTokens: 5)
        _ = try e.conversations.addMessage(conversationId: c.id, role: .user, content: "hi")
        _ = e.effects.drain()
        let long = String(repeating: "word ", count: 50)
        #expect(throws: DomainError.self) { try e.conversations.addMessage(conversationId: c.id, role: .user, content: long) }
        do {
            _ = try e.conversations.addMessage(conversationId: c.id, role: .user, content: long)
        } catch let DomainError.limitExceeded(limit, max, _) {
            #expect(limit == "maxTokens")
            #expect(max == 5)
        }
        #expect(try e.conversations.messages(conversationId: c.id).count == 1)
        let d = e.effects.drain()
        #expect(d.changes.isEmpty && d.events.isEmpty)
    }

    @Test func previewChangesNothingAndSetLimitsTrims() throws {
        let (e, clock) = makeMemoryEngine()
        let c = try e.conversations.createConversation(title: "t")
        for k in 0..<5 {
            clock.advance()
            _ = try e.conversations.addMessage(conversationId: c.id, role: .user, content: "message \(k)")
        }
        _ = e.effects.drain()
        let p = try e.conversations.previewTrim(conversationId: c.id, maxMessages: 2)
        #expect(p.trimmed.count == 3 && p.messageCount == 2)
        #expect(e.effects.drain().changes.isEmpty)
        #expect(try e.conversations.messages(conversationId: c.id).count == 5)
        let r = try e.conversations.setLimits(conversationId: c.id, maxMessages: 2, maxTokens: nil)
        #expect(r.trimmed == p.trimmed)
        #expect(r.conversation.maxMessages == 2 && r.conversation.messageCount == 2)
        #expect(r.conversation.tokenCount == p.tokenCount)
    }
}
