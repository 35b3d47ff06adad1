import JSONCore

/// A long-term memory: a fact worth keeping across conversations.
public struct Memory: Sendable, Codable, Equatable {
    public var id: String
    public var content: String
    public var tags: [String]
    /// 0…1.
    public var importance: Double
    public var sessionId: String?
    public var createdAt: Timestamp
    public var updatedAt: Timestamp

    public init(
        id: String, content: String, tags: [String] = [], importance: Double, sessionId: String? = nil, createdAt: Timestamp,
        updatedAt: Timestamp
    ) {
        self.id = id
        self.content = content
        self.tags = tags
        self.importance = importance
        self.sessionId = sessionId
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// Long-term memories: `memory/remember`, `memory/recall`, `memory/forget`.
///
/// Recall score = relevance × weight(importance) × recency, where
/// - relevance = Σ idf(w) over query words w that prefix-match a word of the memory
///   (folded like search) ÷ Σ idf(w) over all query words, with
///   idf(w) = ln(1 + N / (1 + df(w))) over the N memories considered; 1 without a query.
///   Memories with relevance 0 are not returned.
/// - weight(importance) = 0.1 + 0.9 × importance (so an unimportant but relevant memory
///   still ranks above nothing).
/// - recency = 0.5 + 0.5 × 2^(−age / 30 days), age measured from `updatedAt`: a month-old
///   memory keeps 75 % of its score, a very old one 50 %.
/// Ties: newer `updatedAt` first, then id.
///
/// - Important: Not thread-safe; confined to the domain owner (see ContextEngine).
public final class LongTermMemory: @unchecked Sendable {
    // @unchecked: confined to the domain owner's serial queue (see ContextEngine).
    let env: DomainEnvironment
    private var memories: [String: Memory] = [:]
    private var words: [String: [String]] = [:]
    public static let halfLifeMs: Double = 30 * 86_400_000

    public init(env: DomainEnvironment) { self.env = env }

    public func restore(_ m: Memory) {
        memories[m.id] = m
        words[m.id] = Self.uniqueWords(m.content + " " + m.tags.joined(separator: " "))
    }
    public func restoreDeletion(_ key: RecordKey) {
        memories[key.id] = nil
        words[key.id] = nil
    }
    public func allRecords() -> [Record] { memories.keys.sorted().map { .memory(memories[$0]!) } }

    static func uniqueWords(_ s: String) -> [String] {
        var out: [String] = []
        TextFolding.forEachWord(in: s) { w, _ in if !out.contains(w) { out.append(w) } }
        return out
    }

    /// The memory with this id.
    public func memory(id: String) throws(DomainError) -> Memory {
        try IDRules.validate(id, field: "id")
        guard let m = memories[id] else { throw .notFound(kind: "memory", id: id) }
        return m
    }

    public var count: Int { memories.count }

    /// `memory/remember`.
    public func remember(content: String, tags: [String] = [], importance: Double = 0.5, sessionId: String? = nil) throws(DomainError)
        -> Memory
    {
        guard !content.isEmpty else { throw .invalidArgument(field: "content", expected: "a non-empty string") }
        guard content.utf8.count <= env.limits.maxStringBytes else {
            throw .limitExceeded(limit: "maxStringBytes", max: env.limits.maxStringBytes, value: content.utf8.count)
        }
        guard importance.isFinite, importance >= 0, importance <= 1 else {
            throw .invalidArgument(field: "importance", expected: "a number from 0 to 1")
        }
        if let s = sessionId { try IDRules.validate(s, field: "sessionId") }
        var set: [String] = []
        for (i, t) in tags.enumerated() {
            guard !t.isEmpty else { throw .invalidArgument(field: "tags[\(i)]", expected: "a non-empty tag") }
            if !set.contains(t) { set.append(t) }
        }
        let now = env.now()
        let m = Memory(id: env.ids.next("mem"), content: content, tags: set, importance: importance, sessionId: sessionId, createdAt: now, updatedAt: now)
        restore(m)
        env.effects.put(.memory(m))
        env.effects.emit(.memory(event: "remembered", conversationId: nil, messageIds: nil))
        return m
    }

    /// `memory/forget`.
    public func forget(id: String) throws(DomainError) -> [String] {
        _ = try memory(id: id)
        restoreDeletion(RecordKey(.memory, id))
        env.effects.delete(RecordKey(.memory, id))
        env.effects.emit(.memory(event: "forgotten", conversationId: nil, messageIds: nil))
        return [id]
    }

    /// A recalled memory and its score.
    public struct Recalled: Sendable, Codable, Equatable {
        public var memory: Memory
        public var score: Double
    }

    /// `memory/recall`. `sessionId` keeps that session's memories; with
    /// `includeUnscoped` also those without a session (context/build uses this).
    public func recall(
        query: String? = nil, tags: [String] = [], sessionId: String? = nil, includeUnscoped: Bool = false,
        minImportance: Double? = nil, limit: Int? = nil
    ) throws(DomainError) -> [Recalled] {
        let limit = limit ?? 10
        guard limit >= 1, limit <= 1000 else { throw .invalidArgument(field: "limit", expected: "an integer 1…1000") }
        if let m = minImportance, !(m.isFinite && m >= 0 && m <= 1) {
            throw .invalidArgument(field: "minImportance", expected: "a number from 0 to 1")
        }
        if let s = sessionId { try IDRules.validate(s, field: "sessionId") }
        let candidates = memories.values.filter { m in
            if let s = sessionId, m.sessionId != s, !(includeUnscoped && m.sessionId == nil) { return false }
            if let mi = minImportance, m.importance < mi { return false }
            return tags.allSatisfy { m.tags.contains($0) }
        }
        var queryWords: [String] = []
        if let q = query { queryWords = Self.uniqueWords(q) }
        let now = Double(env.now().milliseconds)
        var idf: [Double] = []
        if !queryWords.isEmpty {
            let n = Double(candidates.count)
            idf = queryWords.map { q in
                let df = candidates.reduce(0) { acc, m in acc + (words[m.id]!.contains { $0.utf8.starts(with: q.utf8) } ? 1 : 0) }
                return log1p(n / (1 + Double(df)))
            }
        }
        let idfTotal = idf.reduce(0, +)
        var out: [Recalled] = []
        for m in candidates {
            var relevance = 1.0
            if !queryWords.isEmpty {
                let mw = words[m.id]!
                var got = 0.0
                for (k, q) in queryWords.enumerated() where mw.contains(where: { $0.utf8.starts(with: q.utf8) }) { got += idf[k] }
                relevance = idfTotal > 0 ? got / idfTotal : 0
                if relevance <= 0 { continue }
            }
            let age = max(0, now - Double(m.updatedAt.milliseconds))
            let recency = 0.5 + 0.5 * pow(2, -age / Self.halfLifeMs)
            let score = relevance * (0.1 + 0.9 * m.importance) * recency
            out.append(Recalled(memory: m, score: (score * 1e6).rounded() / 1e6))
        }
        out.sort {
            if $0.score != $1.score { return $0.score > $1.score }
            if $0.memory.updatedAt != $1.memory.updatedAt { return $0.memory.updatedAt > $1.memory.updatedAt }
            return $0.memory.id < $1.memory.id
        }
        return Array(out.prefix(limit))
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
