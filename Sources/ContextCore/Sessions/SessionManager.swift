import JSONCore

/// Filters and paging for `session/list`. Filters AND together.
public struct SessionQuery: Sendable, Equatable {
    public var projectId: String?
    public var mode: SessionMode?
    public var status: SessionStatus?
    public var tag: String?
    /// Case-insensitive substring of the name.
    public var nameContains: String?
    /// Page size (1 or more; default 100).
    public var limit: Int?
    /// `nextCursor` of the previous page.
    public var cursor: String?

    public init(
        projectId: String? = nil, mode: SessionMode? = nil, status: SessionStatus? = nil, tag: String? = nil,
        nameContains: String? = nil, limit: Int? = nil, cursor: String? = nil
    ) {
        self.projectId = projectId
        self.mode = mode
        self.status = status
        self.tag = tag
        self.nameContains = nameContains
        self.limit = limit
        self.cursor = cursor
    }
}

/// One page of `session/list`: `{sessions, nextCursor?}`.
public struct SessionPage: Sendable, Codable, Equatable {
    public var sessions: [Session]
    /// Present when more sessions follow; pass it back as `cursor`.
    public var nextCursor: String?
}

/// `session/statistics`: `total` sessions; `active` = sessions whose status is active;
/// `byMode` / `byStatus` count every mode and status (zeros included, in enum order);
/// `usage` sums every session's recorded usage.
public struct SessionStatistics: Sendable, Codable, Equatable {
    public var total: Int
    public var active: Int
    public var byMode: JSONObject
    public var byStatus: JSONObject
    public var usage: UsageTotals
}

/// `session/getContext`: the whole context, or one key's value.
public enum ContextLookup: Sendable, Equatable, Encodable {
    case all(JSONObject)
    case key(String, JSONValue?)

    enum CodingKeys: String, CodingKey { case context, key, value }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .all(let o): try c.encode(o, forKey: .context)
        case .key(let k, let v):
            try c.encode(k, forKey: .key)
            try c.encodeIfPresent(v, forKey: .value)
        }
    }
}

/// The sessions and their checkpoints, and every single-session operation: lifecycle
/// transitions, tags, metadata, context, production tracking, lists and statistics.
/// Operations that also touch conversations or groups (delete, checkpoint, rollback,
/// trim, export/import) live on `ContextEngine` (ContextEngine+Sessions.swift).
///
/// Every mutation validates fully first, then changes state, then records the changed
/// records in `env.effects` and emits exactly one session event.
///
/// - Important: Not thread-safe; confined to the domain owner's serial queue.
public final class SessionManager: @unchecked Sendable {
    // @unchecked: confined to the single domain owner (ContextEngine's queue).
    let env: DomainEnvironment
    private(set) var sessions: [String: Session] = [:]
    private(set) var checkpoints: [String: Checkpoint] = [:]
    /// Checkpoint ids per session, in order of creation.
    private var checkpointsBySession: [String: [String]] = [:]

    public init(env: DomainEnvironment) { self.env = env }

    // MARK: Persistence entry points

    /// Loads a persisted session (no effects).
    public func restore(_ s: Session) { sessions[s.id] = s }

    /// Loads a persisted checkpoint (no effects).
    public func restore(_ c: Checkpoint) {
        if checkpoints.updateValue(c, forKey: c.id) == nil {
            checkpointsBySession[c.sessionId, default: []].append(c.id)
        }
    }

    /// Applies a persisted deletion (no effects).
    public func restoreDeletion(_ key: RecordKey) {
        switch key.kind {
        case .session: sessions[key.id] = nil
        case .checkpoint: dropCheckpoint(key.id)
        default: break
        }
    }

    /// Every session and checkpoint record, for a snapshot.
    public func allRecords() -> [Record] {
        sessions.values.sorted { $0.id < $1.id }.map { .session($0) }
            + checkpoints.values.sorted { $0.id < $1.id }.map { .checkpoint($0) }
    }

    // MARK: Reading

    /// The number of sessions held.
    public var totalCount: Int { sessions.count }

    /// The session as stored (activeMs without the running period), or nil.
    public func stored(_ id: String) -> Session? { sessions[id] }

    /// The session as a client sees it now, or `notFound`.
    public func get(_ id: String, field: String = "id") throws(DomainError) -> Session {
        try require(id, field: field).observed(at: env.now())
    }

    func require(_ id: String, field: String = "id") throws(DomainError) -> Session {
        try IDRules.validate(id, field: field)
        guard let s = sessions[id] else { throw .notFound(kind: "session", id: id) }
        return s
    }

    /// `session/list`: newest created first, ties by id (descending byte order).
    ///
    /// The cursor is opaque to clients; it is the sort key of the last session returned
    /// (`<createdAt ms>:<id>`), so paging stays correct when sessions are added or
    /// deleted between pages.
    public func list(_ q: SessionQuery) throws(DomainError) -> SessionPage {
        let limit = q.limit ?? 100
        guard limit >= 1 else { throw .invalidArgument(field: "limit", expected: "an integer of 1 or more") }
        var after: (Int64, String)?
        if let c = q.cursor {
            guard let parsed = Self.parseCursor(c) else {
                throw .invalidArgument(field: "cursor", expected: "a nextCursor returned by session/list")
            }
            after = parsed
        }
        let needle = q.nameContains?.lowercased()
        var matches = sessions.values.filter { s in
            if let p = q.projectId, s.projectId != p { return false }
            if let m = q.mode, s.mode != m { return false }
            if let st = q.status, s.status != st { return false }
            if let t = q.tag, !s.tags.contains(t) { return false }
            if let needle, !needle.isEmpty, !s.name.lowercased().contains(needle) { return false }
            if let (ms, id) = after {
                let c = s.createdAt.milliseconds
                if c > ms || (c == ms && s.id >= id) { return false }
            }
            return true
        }
        matches.sort(by: Self.newestCreatedFirst)
        let now = env.now()
        let page = matches.prefix(limit).map { $0.observed(at: now) }
        let next = matches.count > limit ? page.last.map { "\($0.createdAt.milliseconds):\($0.id)" } : nil
        return SessionPage(sessions: Array(page), nextCursor: next)
    }

    static func parseCursor(_ c: String) -> (Int64, String)? {
        guard let colon = c.firstIndex(of: ":"), let ms = Int64(c[..<colon]) else { return nil }
        let id = String(c[c.index(after: colon)...])
        return IDRules.isValid(id) ? (ms, id) : nil
    }

    static func newestCreatedFirst(_ a: Session, _ b: Session) -> Bool {
        a.createdAt != b.createdAt ? a.createdAt > b.createdAt : a.id > b.id
    }

    static func mostRecentlyUpdatedFirst(_ a: Session, _ b: Session) -> Bool {
        a.updatedAt != b.updatedAt ? a.updatedAt > b.updatedAt : a.id > b.id
    }

    /// `session/recent`: most recently updated first, ties by id (descending).
    public func recent(limit: Int) throws(DomainError) -> [Session] {
        guard limit >= 1 else { throw .invalidArgument(field: "limit", expected: "an integer of 1 or more") }
        let now = env.now()
        return sessions.values.sorted(by: Self.mostRecentlyUpdatedFirst).prefix(limit).map { $0.observed(at: now) }
    }

    /// `session/count`: all sessions, or those with `status`.
    public func count(status: SessionStatus? = nil) -> Int {
        guard let status else { return sessions.count }
        return sessions.values.reduce(0) { $0 + ($1.status == status ? 1 : 0) }
    }

    /// `session/statistics` (see `SessionStatistics` for the definitions).
    public func statistics() -> SessionStatistics {
        var modes = [SessionMode: Int]()
        var statuses = [SessionStatus: Int]()
        var usage = UsageTotals()
        for s in sessions.values {
            modes[s.mode, default: 0] += 1
            statuses[s.status, default: 0] += 1
            if let u = s.usage { usage.add(u.totals) }
        }
        return SessionStatistics(
            total: sessions.count, active: statuses[.active] ?? 0,
            byMode: JSONObject(SessionMode.allCases.map { ($0.rawValue, .int(modes[$0] ?? 0)) }),
            byStatus: JSONObject(SessionStatus.allCases.map { ($0.rawValue, .int(statuses[$0] ?? 0)) }),
            usage: usage)
    }

    /// `session/getContext`: `{context}`, or `{key, value?}` for one key.
    public func getContext(id: String, key: String?) throws(DomainError) -> ContextLookup {
        let s = try require(id)
        guard let key else { return .all(s.context) }
        return .key(key, s.context[key])
    }

    // MARK: Creating

    /// `session/create`. A given `id` must be valid and free (else -32602 / 1003); a
    /// generated one never collides. `null` values in metadata and context are dropped.
    @discardableResult
    public func create(
        name: String, mode: SessionMode, projectId: String? = nil, id: String? = nil, tags: [String]? = nil,
        metadata: JSONObject? = nil, context: JSONObject? = nil
    ) throws(DomainError) -> Session {
        try Self.validateName(name)
        if let projectId { try Self.validateText(projectId, field: "projectId") }
        for (i, t) in (tags ?? []).enumerated() { try Self.validateText(t, field: "tags[\(i)]") }
        if let id {
            try IDRules.validate(id)
            guard sessions[id] == nil else { throw .conflict(kind: "session", id: id, reason: "a session with this id already exists") }
        }
        guard sessions.count < env.limits.maxSessions else {
            throw .limitExceeded(limit: "maxSessions", max: env.limits.maxSessions, value: sessions.count + 1)
        }
        let now = env.now()
        let s = Session(
            id: id ?? newSessionID(), name: name, mode: mode, projectId: projectId, tags: (tags ?? []).uniquedTags(),
            metadata: (metadata ?? [:]).droppingNulls(), context: (context ?? [:]).droppingNulls(), createdAt: now)
        commit(s, event: "created", now: now)
        return s
    }

    func newSessionID() -> String {
        while true {
            let id = env.ids.next("ses")
            if sessions[id] == nil { return id }
        }
    }

    // MARK: Lifecycle

    /// `session/start`: idle → active. With `exclusive`, the other active sessions of
    /// the same project (or, for a session without project, the other project-less
    /// ones) are paused first, each with its own `paused` event.
    @discardableResult
    public func start(id: String, exclusive: Bool = false) throws(DomainError) -> Session {
        var s = try require(id)
        let to = try SessionLifecycle.check(s, .start)
        let now = env.now()
        if exclusive {
            let others = sessions.values.filter { $0.id != id && $0.status == .active && $0.projectId == s.projectId }
            for var o in others.sorted(by: { $0.id < $1.id }) {
                o.status = .paused
                o.closeActiveRun(at: now)
                o.lastPausedAt = now
                o.updatedAt = now
                commit(o, event: "paused", now: now)
            }
        }
        s.status = to
        s.startedAt = now
        s.activeSince = now
        s.updatedAt = now
        return commit(s, event: "started", now: now)
    }

    /// `session/pause`: active → paused.
    @discardableResult
    public func pause(id: String) throws(DomainError) -> Session {
        var s = try require(id)
        let to = try SessionLifecycle.check(s, .pause)
        let now = env.now()
        s.status = to
        s.closeActiveRun(at: now)
        s.lastPausedAt = now
        s.updatedAt = now
        return commit(s, event: "paused", now: now)
    }

    /// `session/resume`: paused → active.
    @discardableResult
    public func resume(id: String) throws(DomainError) -> Session {
        var s = try require(id)
        let to = try SessionLifecycle.check(s, .resume)
        let now = env.now()
        s.status = to
        s.activeSince = now
        s.updatedAt = now
        return commit(s, event: "resumed", now: now)
    }

    /// `session/complete`: active | paused → completed.
    @discardableResult
    public func complete(id: String) throws(DomainError) -> Session {
        var s = try require(id)
        let to = try SessionLifecycle.check(s, .complete)
        let now = env.now()
        s.status = to
        s.closeActiveRun(at: now)
        s.endedAt = now
        s.updatedAt = now
        return commit(s, event: "completed", now: now)
    }

    /// `session/fail`: idle | active | paused → failed, with a non-empty reason.
    @discardableResult
    public func fail(id: String, reason: String) throws(DomainError) -> Session {
        try Self.validateText(reason, field: "reason")
        var s = try require(id)
        let to = try SessionLifecycle.check(s, .fail)
        let now = env.now()
        s.status = to
        s.closeActiveRun(at: now)
        s.endedAt = now
        s.failureReason = reason
        s.updatedAt = now
        return commit(s, event: "failed", now: now)
    }

    // MARK: Editing

    /// `session/update`: changes the given fields; no change, no event.
    @discardableResult
    public func update(id: String, name: String? = nil, mode: SessionMode? = nil, projectId: String? = nil) throws(DomainError)
        -> Session
    {
        if let name { try Self.validateName(name) }
        if let projectId { try Self.validateText(projectId, field: "projectId") }
        return try edit(id) { s in
            if let name { s.name = name }
            if let mode { s.mode = mode }
            if let projectId { s.projectId = projectId }
        }
    }

    /// `session/addTag`: adds the tag at the end unless present.
    @discardableResult
    public func addTag(id: String, tag: String) throws(DomainError) -> Session {
        try Self.validateText(tag, field: "tag")
        return try edit(id) { s in if !s.tags.contains(tag) { s.tags.append(tag) } }
    }

    /// `session/removeTag`: removes the tag if present.
    @discardableResult
    public func removeTag(id: String, tag: String) throws(DomainError) -> Session {
        try Self.validateText(tag, field: "tag")
        return try edit(id) { s in s.tags.removeAll { $0 == tag } }
    }

    /// `session/setMetadata`: sets `key`; a `null` value deletes it.
    @discardableResult
    public func setMetadata(id: String, key: String, value: JSONValue) throws(DomainError) -> Session {
        try Self.validateText(key, field: "key")
        return try edit(id) { s in s.metadata[key] = value.isNull ? JSONValue?.none : value }
    }

    /// `session/setContext`: sets `key`; a `null` value deletes it.
    @discardableResult
    public func setContext(id: String, key: String, value: JSONValue) throws(DomainError) -> Session {
        try Self.validateText(key, field: "key")
        return try edit(id) { s in s.context[key] = value.isNull ? JSONValue?.none : value }
    }

    // MARK: Production tracking

    /// `session/setPhase`: sets the current phase and appends `{phase, at}` to
    /// `phaseHistory` (setting the phase it already has changes nothing).
    @discardableResult
    public func setPhase(id: String, phase: String) throws(DomainError) -> Session {
        try Self.validateText(phase, field: "phase")
        let now = env.now()
        return try edit(id) { s in
            guard s.phase != phase else { return }
            s.phase = phase
            s.phaseHistory = (s.phaseHistory ?? []) + [PhaseEntry(phase: phase, at: now)]
        }
    }

    /// `session/recordUsage`: adds to `usage` totals and to `usage.byPhase[phase]`, the
    /// phase being the given one or else the session's current phase (none: totals
    /// only); with `model`, also to `usage.byModel[model]`.
    @discardableResult
    public func recordUsage(
        id: String, phase: String? = nil, model: String? = nil, inputTokens: Int64? = nil, outputTokens: Int64? = nil,
        costUsd: Double? = nil
    ) throws(DomainError) -> Session {
        if let phase { try Self.validateText(phase, field: "phase") }
        if let model { try Self.validateText(model, field: "model") }
        if let i = inputTokens, i < 0 { throw .invalidArgument(field: "inputTokens", expected: "an integer of 0 or more") }
        if let o = outputTokens, o < 0 { throw .invalidArgument(field: "outputTokens", expected: "an integer of 0 or more") }
        if let c = costUsd, !(c.isFinite && c >= 0) { throw .invalidArgument(field: "costUsd", expected: "a number of 0 or more") }
        let amount = UsageTotals(inputTokens: inputTokens ?? 0, outputTokens: outputTokens ?? 0, costUsd: costUsd ?? 0)
        return try edit(id, force: true) { s in
            var u = s.usage ?? SessionUsage()
            u.add(amount, phase: phase ?? s.phase, model: model)
            s.usage = u
        }
    }

    /// `session/recordQuality`: appends `{phase, score, notes, at}` to `quality`; the
    /// phase defaults to the current one; `score` must lie in 0…100.
    @discardableResult
    public func recordQuality(id: String, phase: String? = nil, score: Double, notes: String? = nil) throws(DomainError)
        -> Session
    {
        if let phase { try Self.validateText(phase, field: "phase") }
        guard score.isFinite, (0...100).contains(score) else {
            throw .invalidArgument(field: "score", expected: "a number from 0 to 100")
        }
        let now = env.now()
        return try edit(id, force: true) { s in
            s.quality = (s.quality ?? []) + [QualityScore(phase: phase ?? s.phase, score: score, notes: notes, at: now)]
        }
    }

    // MARK: Checkpoints

    /// `session/checkpoints`: newest first, ties by id (descending).
    public func checkpoints(sessionId: String) throws(DomainError) -> [Checkpoint] {
        _ = try require(sessionId)
        return (checkpointsBySession[sessionId] ?? []).compactMap { checkpoints[$0] }.sorted {
            $0.createdAt != $1.createdAt ? $0.createdAt > $1.createdAt : $0.id > $1.id
        }
    }

    /// The checkpoint `checkpointId` of session `sessionId`, or `notFound`.
    public func checkpoint(_ checkpointId: String, of sessionId: String) throws(DomainError) -> Checkpoint {
        try IDRules.validate(checkpointId, field: "checkpointId")
        guard let c = checkpoints[checkpointId], c.sessionId == sessionId else {
            throw .notFound(kind: "checkpoint", id: checkpointId)
        }
        return c
    }

    func newCheckpointID() -> String {
        while true {
            let id = env.ids.next("chk")
            if checkpoints[id] == nil { return id }
        }
    }

    func checkpointCount(of sessionId: String) -> Int { checkpointsBySession[sessionId]?.count ?? 0 }

    /// Stores a new checkpoint and records it (no session event: the session is unchanged).
    func insert(_ c: Checkpoint) {
        restore(c)
        env.effects.put(.checkpoint(c))
    }

    /// Deletes every checkpoint of the session (records the deletions).
    func removeCheckpoints(of sessionId: String) {
        for cid in checkpointsBySession[sessionId] ?? [] {
            env.effects.delete(RecordKey(.checkpoint, cid, parent: sessionId))
            checkpoints[cid] = nil
        }
        checkpointsBySession[sessionId] = nil
    }

    private func dropCheckpoint(_ id: String) {
        guard let c = checkpoints.removeValue(forKey: id) else { return }
        checkpointsBySession[c.sessionId]?.removeAll { $0 == id }
        if checkpointsBySession[c.sessionId]?.isEmpty == true { checkpointsBySession[c.sessionId] = nil }
    }

    // MARK: Internals shared with ContextEngine+Sessions

    /// Stores `s`, records it and emits `event` with the session as seen at `now`.
    @discardableResult
    func commit(_ s: Session, event: String, now: Timestamp) -> Session {
        sessions[s.id] = s
        env.effects.put(.session(s))
        let seen = s.observed(at: now)
        env.effects.emit(.session(event: event, session: seen))
        return seen
    }

    /// Applies `change` to the session; when it changed anything (or `force`), bumps
    /// `updatedAt`, records it and emits `updated`. Returns the session as seen now.
    private func edit(_ id: String, force: Bool = false, _ change: (inout Session) -> Void) throws(DomainError) -> Session {
        var s = try require(id)
        let before = s
        change(&s)
        let now = env.now()
        guard force || s != before else { return s.observed(at: now) }
        s.updatedAt = now
        return commit(s, event: "updated", now: now)
    }

    /// Removes the session and its checkpoints, records the deletions and emits
    /// `deleted` (with the session's last state).
    func remove(_ id: String, now: Timestamp) {
        guard let s = sessions.removeValue(forKey: id) else { return }
        removeCheckpoints(of: id)
        env.effects.delete(RecordKey(.session, id))
        env.effects.emit(.session(event: "deleted", session: s.observed(at: now)))
    }

    // MARK: Validation

    static func validateName(_ name: String) throws(DomainError) {
        guard !name.allSatisfy(\.isWhitespace) else { throw .invalidArgument(field: "name", expected: "a non-empty name") }
    }

    static func validateText(_ text: String, field: String) throws(DomainError) {
        guard !text.isEmpty else { throw .invalidArgument(field: field, expected: "a non-empty string") }
    }
}

extension JSONObject {
    /// The object without its `null` members (`null` means "delete" in every setter).
    func droppingNulls() -> JSONObject { JSONObject(filter { !$0.value.isNull }.map { ($0.key, $0.value) }) }
}
