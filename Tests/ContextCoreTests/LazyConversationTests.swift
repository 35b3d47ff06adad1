import ContextCore
import JSONCore
import Testing

/// Ids that cannot clash with the ones a fresh `SequentialIDGenerator` hands out.
private final class SourceIDs: IDGenerator, @unchecked Sendable {
    // @unchecked: one test thread.
    private var n = 0
    func next(_ prefix: String) -> String {
        n += 1
        return "src\(prefix)_\(n)"
    }
}

/// A stored state (the records a full snapshot would hold) and two engines restored
/// from it: `eager` with every message, `lazy` with headers only and a loader that
/// counts what it hands out — the shape of a lazy start-up.
private final class LazyFixture {
    let records: [Record]
    let eager: ContextEngine
    let lazy: ContextEngine
    let eagerClock = MemoryTestClock(1_800_000_000_000)
    let lazyClock = MemoryTestClock(1_800_000_000_000)
    var loads: [String] = []
    var failing = Set<String>()
    var conversationIDs: [String] = []
    var sessionID = ""

    init(conversations: Int = 4, messages: Int = 6) throws {
        let clock = MemoryTestClock()
        let source = ContextEngine(env: DomainEnvironment(clock: clock, ids: SourceIDs()))
        sessionID = try source.sessions.create(name: "work", mode: .building).id
        for c in 0..<conversations {
            let conv = try source.conversations.createConversation(title: "chat \(c)", sessionId: c % 2 == 0 ? sessionID : nil)
            conversationIDs.append(conv.id)
            for k in 0..<messages {
                clock.advance()
                let role: MessageRole = k % 2 == 0 ? .user : .assistant
                _ = try source.conversations.addMessage(
                    conversationId: conv.id, role: role, content: "message \(k) of chat \(c) about \(k % 3 == 0 ? "parsers" : "widgets")")
            }
        }
        records = source.allRecords(component: "conversations")
        let sessionRecords = source.allRecords(component: "sessions").map { Change.put($0) }
        eager = ContextEngine(env: DomainEnvironment(clock: eagerClock, ids: SequentialIDGenerator()))
        lazy = ContextEngine(env: DomainEnvironment(clock: lazyClock, ids: SequentialIDGenerator()))
        try eager.restore(sessionRecords + records.map { .put($0) })
        try lazy.restore(sessionRecords)
        try lazy.restore(records.filter { $0.kind == .conversation }.map { .put($0) })
        var byConversation: [String: [Change]] = [:]
        for r in records where r.kind == .message {
            if case .message(let m) = r { byConversation[m.conversationId, default: []].append(.put(r)) }
        }
        lazy.conversations.setPending(conversationIDs) { [unowned self] id throws(DomainError) in
            if self.failing.contains(id) { throw .storage(path: "c-\(id).json", reason: "unreadable") }
            self.loads.append(id)
            return byConversation[id] ?? []
        }
    }
}

@Suite("Lazy conversations (ensureLoaded)")
struct LazyConversationTests {
    @Test func headersListingsAndStatisticsNeedNoLoad() throws {
        let f = try LazyFixture()
        #expect(f.lazy.conversations.pendingCount == 4)
        #expect(try f.lazy.conversations.listConversations().conversations == f.eager.conversations.listConversations().conversations)
        for id in f.conversationIDs {
            #expect(try f.lazy.conversations.conversation(id: id) == f.eager.conversations.conversation(id: id))
        }
        #expect(f.lazy.conversations.statistics() == f.eager.conversations.statistics())
        #expect(f.lazy.conversations.conversationIDs(sessionId: f.sessionID) == f.eager.conversations.conversationIDs(sessionId: f.sessionID))
        #expect(f.loads.isEmpty)
    }

    @Test func searchSeesMessagesNotYetLoaded() throws {
        let f = try LazyFixture()
        // One conversation touched first: the others are still on disk when searching.
        _ = try f.lazy.conversations.messages(conversationId: f.conversationIDs[1])
        #expect(f.loads == [f.conversationIDs[1]])
        for (query, session) in [("parsers", nil), ("widgets", nil), ("message 3", nil), ("chat", f.sessionID), ("nothing", nil)] as [(String, String?)] {
            let a = try f.lazy.conversations.search(query: query, sessionId: session, limit: 100)
            let b = try f.eager.conversations.search(query: query, sessionId: session, limit: 100)
            #expect(a.hits == b.hits, "\(query)")
            #expect(a.hits.count == b.hits.count)
        }
        #expect(try f.lazy.conversations.search(query: "parsers").hits.count > 0)
        #expect(f.lazy.conversations.pendingCount == 0)
        #expect(Set(f.loads) == Set(f.conversationIDs) && f.loads.count == 4, "each conversation loaded exactly once")
    }

    @Test func addToUnloadedConversationKeepsOrderAndCounts() throws {
        let f = try LazyFixture()
        let id = f.conversationIDs[2]
        let before = try f.lazy.conversations.conversation(id: id)
        let added = try f.lazy.conversations.addMessage(conversationId: id, role: .user, content: "a new one").message
        _ = try f.eager.conversations.addMessage(conversationId: id, role: .user, content: "a new one")
        #expect(f.loads == [id])
        let list = try f.lazy.conversations.messages(conversationId: id)
        #expect(list == (try f.eager.conversations.messages(conversationId: id)))
        #expect(list.last == added && list.count == before.messageCount + 1)
        let after = try f.lazy.conversations.conversation(id: id)
        #expect(after.messageCount == before.messageCount + 1 && after.tokenCount == before.tokenCount + added.tokens)
        #expect(after == (try f.eager.conversations.conversation(id: id)))
        // The add recorded only the new message (the loaded ones were not re-put).
        let drained = f.lazy.effects.drain().changes
        #expect(drained.count == 1 && drained.first?.key.id == added.id)
        #expect(f.lazy.conversations.statistics() == f.eager.conversations.statistics())
    }

    /// Every entry point that reads or changes messages loads the conversation first and
    /// answers exactly like an engine that had everything in memory.
    @Test(arguments: [
        "getMessages", "toText", "statistics", "export", "fork", "clear", "delete", "setLimits", "previewTrim",
        "messagesSnapshot", "replaceMessages", "trimConversations", "importReplace", "checkpoint", "rollback", "sessionExport",
        "deleteSessionCascade",
        "restoreMessageDelete",
    ])
    func entryPointLoadsFirst(_ op: String) throws {
        let f = try LazyFixture()
        let id = f.conversationIDs[0]
        func run(_ e: ContextEngine) throws -> String {
            let s = e.conversations
            switch op {
            case "getMessages": return "\(try s.messages(conversationId: id, role: .user, recent: 2))"
            case "toText": return try s.text(conversationId: id)
            case "statistics":
                let st = try s.statistics(conversationId: id)
                return "\(st.totalMessages) \(st.byRole.sorted { $0.key < $1.key }) \(st.totalTokens) \(st.durationMs)"
            case "export": return "\(try s.export(id: id))"
            case "fork":
                let c = try s.fork(conversationId: id, title: "f")
                return "\(c) \(try s.messages(conversationId: c.id).map(\.content))"
            case "clear": return "\(try s.clearConversation(id: id)) \(try s.conversation(id: id))"
            case "delete":
                try s.deleteConversation(id: id)
                return "\(s.statistics())"
            case "setLimits": return "\(try s.setLimits(conversationId: id, maxMessages: 2, maxTokens: nil))"
            case "previewTrim": return "\(try s.previewTrim(conversationId: id, maxMessages: 3))"
            case "messagesSnapshot": return "\(try s.messagesSnapshot(conversationId: id))"
            case "replaceMessages":
                let keep = Array(try s.messagesSnapshot(conversationId: id).prefix(2))
                try s.replaceMessages(conversationId: id, with: keep)
                return "\(try s.conversation(id: id))"
            case "trimConversations":
                return "\(try s.trimConversations(keep: 1)) \(s.statistics())"
            case "importReplace":
                let snap = try s.export(id: id)
                _ = try s.importConversation(snap, onConflict: .replace)
                return "\(try s.conversation(id: id)) \(s.statistics())"
            case "checkpoint":
                let cp = try e.checkpointSession(id: f.sessionID)
                return "\(cp.state.conversations.map { $0.messages.map(\.id) })"
            case "rollback":
                let cp = try e.checkpointSession(id: f.sessionID)
                _ = try s.addMessage(conversationId: id, role: .user, content: "after the checkpoint")
                _ = try e.rollbackSession(id: f.sessionID, checkpointId: cp.id)
                return "\(try s.messages(conversationId: id).map(\.id))"
            case "sessionExport":
                let snap = try e.exportSession(id: f.sessionID, includeConversations: true)
                return "\(snap.conversations?.map { $0.messages.count } ?? [])"
            case "deleteSessionCascade":
                return "\(try e.deleteSession(id: f.sessionID, cascade: true)) \(s.statistics())"
            case "restoreMessageDelete":
                let first = f.records.first { $0.kind == .message && $0.key.parent == id }!
                try e.restore([.delete(first.key)])
                return "\(try s.messages(conversationId: id).count) \(try s.conversation(id: id))"
            default: throw DomainError.invalidArgument(field: "op", expected: op)
            }
        }
        let expected = try run(f.eager)
        let eagerChanges = f.eager.effects.drain()
        let got = try run(f.lazy)
        let lazyChanges = f.lazy.effects.drain()
        #expect(got == expected)
        #expect("\(lazyChanges.changes)" == "\(eagerChanges.changes)", "same change records")
        #expect(lazyChanges.events.count == eagerChanges.events.count)
        #expect(f.loads.contains(id))
        // What is left pending never answers differently either.
        let lh = try f.lazy.conversations.search(query: "message", limit: 1000).hits
        let eh = try f.eager.conversations.search(query: "message", limit: 1000).hits
        #expect(lh == eh)
    }

    @Test func aFailedLoadFailsTheRequestAndKeepsTheConversationPending() throws {
        let f = try LazyFixture()
        let id = f.conversationIDs[3]
        f.failing = [id]
        #expect(throws: DomainError.storage(path: "c-\(id).json", reason: "unreadable")) {
            try f.lazy.conversations.messages(conversationId: id)
        }
        #expect(throws: DomainError.self) { try f.lazy.conversations.search(query: "parsers") }
        #expect(throws: DomainError.self) { try f.lazy.conversations.addMessage(conversationId: id, role: .user, content: "x") }
        #expect(f.lazy.effects.isEmpty, "nothing changed")
        #expect(f.lazy.conversations.isPending(id))
        f.failing = []
        #expect(try f.lazy.conversations.messages(conversationId: id) == f.eager.conversations.messages(conversationId: id))
        #expect(try f.lazy.conversations.search(query: "parsers").hits == f.eager.conversations.search(query: "parsers").hits)
    }

    @Test func discardPendingForgetsWithoutLoading() throws {
        let f = try LazyFixture()
        f.lazy.conversations.discardPending()
        #expect(f.lazy.conversations.pendingCount == 0 && f.loads.isEmpty)
    }

    /// Replaying many messages with the same timestamp stays linear, and a replayed
    /// duplicate (a journal record a snapshot already holds) is still recognised.
    @Test func restoreOfSameTimestampMessagesIsLinearAndDeduplicates() throws {
        let (e, _) = makeMemoryEngine()
        let c = try e.conversations.createConversation(title: "burst")
        _ = e.effects.drain()
        let n = 20_000
        let t = Timestamp(milliseconds: 1_700_000_000_000)
        let ms = (0..<n).map { Message(id: "m\($0)", conversationId: c.id, role: .user, content: "w\($0)", createdAt: t, tokens: 1) }
        let clock = ContinuousClock()
        let elapsed = try clock.measure { try e.restore(ms.map { .put(.message($0)) }) }
        #expect(elapsed < .seconds(5))
        // Replays of early messages (far more than 1,024 back) replace, never duplicate.
        try e.restore([ms[0], ms[5], ms[n / 2]].map { .put(.message($0)) })
        let list = try e.conversations.messages(conversationId: c.id)
        #expect(list.count == n)
        #expect(list.map(\.id) == ms.map(\.id))
        #expect(try e.conversations.conversation(id: c.id).messageCount == n)
    }
}
