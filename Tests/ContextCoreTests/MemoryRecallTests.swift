import ContextCore
import JSONCore
import Testing

@Suite("Long-term memory")
struct MemoryRecallTests {
    @Test func rememberValidatesAndForgetRemoves() throws {
        let (e, _) = makeMemoryEngine()
        let m = try e.memories.remember(content: "The API uses snake_case", tags: ["api", "style", "api"], importance: 0.8, sessionId: "ses_1")
        #expect(m.tags == ["api", "style"])
        #expect(m.sessionId == "ses_1" && m.createdAt == m.updatedAt)
        #expect(throws: DomainError.self) { try e.memories.remember(content: "x", importance: 1.5) }
        #expect(throws: DomainError.self) { try e.memories.remember(content: "", importance: 0.5) }
        #expect(try e.memories.forget(id: m.id) == [m.id])
        #expect(throws: DomainError.notFound(kind: "memory", id: m.id)) { try e.memories.forget(id: m.id) }
    }

    @Test func rankingIsRelevanceTimesImportanceTimesRecency() throws {
        let (e, clock) = makeMemoryEngine()
        let mem = e.memories
        let old = try mem.remember(content: "database migrations need a backup first", importance: 0.9)
        clock.advance(90 * 86_400_000)  // 90 days later
        let fresh = try mem.remember(content: "database migrations need a backup first", importance: 0.9)
        let unimportant = try mem.remember(content: "database migrations are slow", importance: 0.1)
        let partial = try mem.remember(content: "database indexes", importance: 0.9)
        _ = try mem.remember(content: "unrelated note about lunch", importance: 1.0)

        let r = try mem.recall(query: "database migrations")
        #expect(r.map(\.memory.id) == [fresh.id, old.id, partial.id, unimportant.id])
        // fresh: relevance 1 × (0.1 + 0.9·0.9) × 1
        #expect(abs(r[0].score - 0.91) < 1e-6)
        // old: same × (0.5 + 0.5 · 2^(−3)) = 0.5625
        #expect(abs(r[1].score - 0.91 * 0.5625) < 1e-6)

        // Without a query: importance × recency only.
        let all = try mem.recall(limit: 10)
        #expect(all.count == 5)
        #expect(all.first?.memory.content == "unrelated note about lunch")
    }

    @Test func filtersTagsSessionMinImportance() throws {
        let (e, _) = makeMemoryEngine()
        let mem = e.memories
        let a = try mem.remember(content: "alpha", tags: ["x", "y"], importance: 0.5, sessionId: "s1")
        let b = try mem.remember(content: "alpha", tags: ["x"], importance: 0.9)
        #expect(try mem.recall(tags: ["x", "y"]).map(\.memory.id) == [a.id])
        #expect(try mem.recall(sessionId: "s1").map(\.memory.id) == [a.id])
        #expect(Set(try mem.recall(sessionId: "s1", includeUnscoped: true).map(\.memory.id)) == [a.id, b.id])
        #expect(try mem.recall(minImportance: 0.6).map(\.memory.id) == [b.id])
        #expect(try mem.recall(query: "ALPHÁ", limit: 1).count == 1)
        #expect(try mem.recall(query: "beta").isEmpty)
    }
}
