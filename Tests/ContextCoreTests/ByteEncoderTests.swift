import ContextCore
import JSONCore
import Testing

/// The direct byte encoder must write exactly what the tree encoder and the writer do,
/// for every record the domain stores (these bytes go into replies, the journal and
/// snapshots).
@Suite("Byte encoder over the domain's types")
struct ByteEncoderDomainTests {
    func same<T: Encodable>(_ value: T, _ what: String) throws {
        let direct = try JSONByteEncoder().encode(value)
        let tree = JSONWriter.encode(try JSONValueEncoder().encode(value))
        #expect(String(decoding: direct, as: UTF8.self) == String(decoding: tree, as: UTF8.self), "\(what)")
    }

    @Test func everyRecordEncodesAsTheTreeEncoderDoes() throws {
        let (e, clock) = makeMemoryEngine()
        let s = try e.sessions.create(
            name: "auth \"refactor\"\n", mode: .refactoring, projectId: "api", tags: ["a", "ü"],
            metadata: ["n": 1.5, "deep": ["x": [1, nil, true, "s"]]], context: ["k": "v"])
        _ = try e.sessions.start(id: s.id)
        clock.advance()
        _ = try e.sessions.setPhase(id: s.id, phase: "plan")
        _ = try e.sessions.recordUsage(id: s.id, phase: "plan", model: "m", inputTokens: 12, outputTokens: 3, costUsd: 0.000125)
        _ = try e.sessions.recordQuality(id: s.id, score: 0.75, notes: "ok")
        _ = try e.sessions.setContext(id: s.id, key: "hidden", value: "x", secret: true)
        _ = try e.checkpointSession(id: s.id, label: "before")
        _ = try e.sessions.pause(id: s.id)
        // Sessions in every state, with every optional field set somewhere.
        let failed = try e.sessions.create(name: "f", mode: .debugging)
        _ = try e.sessions.start(id: failed.id)
        _ = try e.sessions.recordUsage(id: failed.id, inputTokens: 1, outputTokens: 2, costUsd: 0.1)
        _ = try e.sessions.recordQuality(id: failed.id, phase: "build", score: 99, notes: nil)
        clock.advance()
        _ = try e.sessions.fail(id: failed.id, reason: "it \"broke\"")
        let active = try e.sessions.create(name: "a", mode: .testing)
        _ = try e.sessions.start(id: active.id)
        clock.advance()
        try same(try e.sessions.get(active.id), "active session")
        try same(Timestamp(milliseconds: -62_167_219_200_001), "a year before 0")
        try same(Timestamp(milliseconds: 253_402_300_800_000), "year 10000")
        let g = try e.groups.create(name: "g", description: "d", tags: ["t"], metadata: ["m": [:]])
        _ = try e.addSession(s.id, toGroup: g.id)
        let c = try e.conversations.createConversation(title: "c", sessionId: s.id, maxMessages: 50, maxTokens: 10_000, metadata: ["e": []])
        _ = try e.conversations.addMessage(conversationId: c.id, role: .system, content: "sys \u{1} \\ \u{7f} 東京 🎉")
        _ = try e.conversations.addMessage(
            conversationId: c.id, role: .assistant, content: "calling", metadata: ["x": -0.0],
            toolCalls: [ToolCall(id: "t1", name: "grep", arguments: ["q": "a", "n": 3])])
        _ = try e.conversations.addMessage(conversationId: c.id, role: .tool, content: "result", toolCallId: "t1")
        _ = try e.conversations.fork(conversationId: c.id, title: "fork")
        _ = try e.memories.remember(content: "remember this", tags: ["x"], importance: 0.3, sessionId: s.id)
        _ = try e.templates.create(TemplateDraft(name: "T", type: .prompt, content: "Hi {{name}}", description: "d", tags: ["x"], metadata: ["v": 2]))
        for t in e.templates.list() { try same(t, "template \(t.name)") }
        var kinds = Set<String>()
        for component in ["sessions", "groups", "conversations", "memories", "templates"] {
            for r in e.allRecords(component: component) {
                kinds.insert(r.kind.rawValue)
                switch r {
                case .session(let v): try same(v, "session")
                case .checkpoint(let v): try same(v, "checkpoint")
                case .group(let v): try same(v, "group")
                case .conversation(let v): try same(v, "conversation")
                case .message(let v): try same(v, "message \(v.id)")
                case .memory(let v): try same(v, "memory")
                case .template(let v): try same(v, "template \(v.name)")
                case .setting(_, let v): try same(v, "setting")
                }
            }
        }
        #expect(kinds == ["session", "checkpoint", "group", "conversation", "message", "memory", "template"], "the fixture covers every kind")
        try same(e.sessions.statistics(), "statistics")
        try same(try e.buildContext(sessionId: s.id, conversationId: c.id, stage: .plan, maxTokens: 1000), "context")
        try same(try e.conversations.search(query: "calling", limit: 5).hits, "hits")
    }
}
