import JSONCore

/// What kind of work a session is for. The mode selects the guidance text an AI
/// assistant gets in front of its context (see `SessionModes`).
public enum SessionMode: String, Sendable, Codable, CaseIterable {
    case planning, building, testing, refactoring, debugging, deployment
}

/// Where a session is in its lifecycle (see `SessionLifecycle` for the one table of
/// transitions).
public enum SessionStatus: String, Sendable, Codable, CaseIterable {
    case idle, active, paused, completed, failed

    /// Completed and failed sessions are finished: they have an `endedAt`.
    public var isEnded: Bool { self == .completed || self == .failed }
}

/// One entry of `Session.phaseHistory`: the phase entered and when.
public struct PhaseEntry: Sendable, Codable, Equatable {
    public var phase: String
    public var at: Timestamp
    public init(phase: String, at: Timestamp) {
        self.phase = phase
        self.at = at
    }
}

/// Token and cost counters (a session's totals, one phase's, or one model's).
public struct UsageTotals: Sendable, Codable, Equatable {
    public var inputTokens: Int64 = 0
    public var outputTokens: Int64 = 0
    public var costUsd: Double = 0

    public init(inputTokens: Int64 = 0, outputTokens: Int64 = 0, costUsd: Double = 0) {
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.costUsd = costUsd
    }

    /// Adds another amount. Costs are kept rounded to 1e-10 USD so that repeated
    /// additions of decimal amounts (0.1 + 0.2) read back as written (0.3).
    public mutating func add(_ other: UsageTotals) {
        inputTokens += other.inputTokens
        outputTokens += other.outputTokens
        costUsd = Self.roundCost(costUsd + other.costUsd)
    }

    static func roundCost(_ v: Double) -> Double { (v * 1e10).rounded() / 1e10 }
}

/// A map from a name (phase or model) to its usage, kept in order of first use so the
/// encoded JSON object is deterministic.
public struct UsageMap: Sendable, Equatable, Codable, Sequence {
    public private(set) var entries: [(name: String, usage: UsageTotals)] = []

    public init() {}

    public var isEmpty: Bool { entries.isEmpty }
    public subscript(name: String) -> UsageTotals? { entries.first { $0.name == name }?.usage }

    public mutating func add(_ usage: UsageTotals, to name: String) {
        if let i = entries.firstIndex(where: { $0.name == name }) {
            entries[i].usage.add(usage)
        } else {
            var u = UsageTotals()
            u.add(usage)
            entries.append((name, u))
        }
    }

    public func makeIterator() -> IndexingIterator<[(name: String, usage: UsageTotals)]> { entries.makeIterator() }

    public static func == (a: UsageMap, b: UsageMap) -> Bool {
        a.entries.count == b.entries.count && zip(a.entries, b.entries).allSatisfy { $0.name == $1.name && $0.usage == $1.usage }
    }

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        for k in c.allKeys { entries.append((k.stringValue, try c.decode(UsageTotals.self, forKey: k))) }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        for (name, usage) in entries { try c.encode(usage, forKey: Key(stringValue: name)) }
    }
}

/// A session's accumulated usage: totals, per phase and per model.
public struct SessionUsage: Sendable, Codable, Equatable {
    public var inputTokens: Int64 = 0
    public var outputTokens: Int64 = 0
    public var costUsd: Double = 0
    /// Usage recorded against a phase (explicit, or the session's phase at the time).
    public var byPhase = UsageMap()
    /// Usage recorded with a `model`; absent when no record named one.
    public var byModel: UsageMap?

    public init() {}

    public var totals: UsageTotals { UsageTotals(inputTokens: inputTokens, outputTokens: outputTokens, costUsd: costUsd) }

    mutating func add(_ u: UsageTotals, phase: String?, model: String?) {
        var t = totals
        t.add(u)
        inputTokens = t.inputTokens
        outputTokens = t.outputTokens
        costUsd = t.costUsd
        if let phase { byPhase.add(u, to: phase) }
        if let model {
            var m = byModel ?? UsageMap()
            m.add(u, to: model)
            byModel = m
        }
    }
}

/// One quality score given to a session's output (0…100), optionally for a phase.
public struct QualityScore: Sendable, Codable, Equatable {
    public var phase: String?
    public var score: Double
    public var notes: String?
    public var at: Timestamp

    public init(phase: String?, score: Double, notes: String?, at: Timestamp) {
        self.phase = phase
        self.score = score
        self.notes = notes
        self.at = at
    }
}

/// A unit of focused work: a name, a mode, a lifecycle status, free-form tags,
/// metadata and context, and production tracking (phase, usage, quality).
///
/// The same shape is the wire form (PROTOCOL §4) and the persisted record. Optional
/// fields are absent when unset. `activeMs` counts only time spent active; in the
/// stored record it covers the finished active runs, and while the session is active
/// the run that began at `activeSince` is added when the session is read
/// (`SessionManager` returns sessions through `observed(at:)`).
public struct Session: Sendable, Codable, Equatable {
    public var id: String
    public var name: String
    public var mode: SessionMode
    public var status: SessionStatus
    public var projectId: String?
    /// A set, in order of first addition.
    public var tags: [String]
    public var metadata: JSONObject
    public var context: JSONObject
    public var createdAt: Timestamp
    public var updatedAt: Timestamp
    /// When the session was first started (never changes afterwards).
    public var startedAt: Timestamp?
    /// When the session was last paused.
    public var lastPausedAt: Timestamp?
    /// When the session completed or failed; cleared when a rollback reopens it.
    public var endedAt: Timestamp?
    public var failureReason: String?
    /// Milliseconds spent active (paused time excluded).
    public var activeMs: Int64
    /// While active: when the current active run began.
    public var activeSince: Timestamp?
    /// The current production phase (free text: research, scripting, audio…).
    public var phase: String?
    public var phaseHistory: [PhaseEntry]?
    public var usage: SessionUsage?
    public var quality: [QualityScore]?

    public init(
        id: String, name: String, mode: SessionMode, status: SessionStatus = .idle, projectId: String? = nil,
        tags: [String] = [], metadata: JSONObject = [:], context: JSONObject = [:], createdAt: Timestamp,
        updatedAt: Timestamp? = nil, activeMs: Int64 = 0
    ) {
        self.id = id
        self.name = name
        self.mode = mode
        self.status = status
        self.projectId = projectId
        self.tags = tags
        self.metadata = metadata
        self.context = context
        self.createdAt = createdAt
        self.updatedAt = updatedAt ?? createdAt
        self.activeMs = activeMs
    }

    /// The session as a reader sees it at `now`: the running active period counted in
    /// `activeMs`.
    public func observed(at now: Timestamp) -> Session {
        guard status == .active, let since = activeSince else { return self }
        var s = self
        s.activeMs += max(0, now.milliseconds - since.milliseconds)
        return s
    }

    /// Ends the current active run (if any), folding it into `activeMs`.
    mutating func closeActiveRun(at now: Timestamp) {
        if let since = activeSince {
            activeMs += max(0, now.milliseconds - since.milliseconds)
        }
        activeSince = nil
    }
}

/// Tag sets keep the order of first addition.
extension Array where Element == String {
    /// The tags without duplicates, first occurrence kept.
    func uniquedTags() -> [String] {
        var seen = Set<String>()
        return filter { seen.insert($0).inserted }
    }
}
