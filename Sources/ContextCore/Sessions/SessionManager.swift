// STUB — replaced by the sessions work (issue 3).
public final class SessionManager: @unchecked Sendable {
    let env: DomainEnvironment
    var sessions: [String: Session] = [:]
    var checkpoints: [String: Checkpoint] = [:]
    public init(env: DomainEnvironment) { self.env = env }
    public func restore(_ s: Session) { sessions[s.id] = s }
    public func restore(_ c: Checkpoint) { checkpoints[c.id] = c }
    public func restoreDeletion(_ key: RecordKey) {
        if key.kind == .session { sessions[key.id] = nil } else { checkpoints[key.id] = nil }
    }
    public func allRecords() -> [Record] { sessions.values.map { .session($0) } + checkpoints.values.map { .checkpoint($0) } }
}
