import JSONCore

/// The session operations that span managers (sessions, groups, conversations), as
/// the server calls them. The rules live in `SessionOperations`.
extension ContextEngine {
    /// The cross-manager session operations over this engine's managers.
    public var sessionOperations: SessionOperations {
        SessionOperations(sessions: sessions, groups: groups, conversations: conversations, env: env)
    }

    /// `session/start {id, exclusive?}`.
    @discardableResult
    public func startSession(id: String, exclusive: Bool = false) throws(DomainError) -> Session {
        try sessions.start(id: id, exclusive: exclusive)
    }

    /// `session/delete {id, cascade?}` → the removed ids.
    @discardableResult
    public func deleteSession(id: String, cascade: Bool = false) throws(DomainError) -> [String] {
        try sessionOperations.delete(id: id, cascade: cascade)
    }

    /// `session/trimHistory {keep}` → the removed ids.
    @discardableResult
    public func trimSessionHistory(keep: Int, cascade: Bool = false) throws(DomainError) -> [String] {
        try sessionOperations.trimHistory(keep: keep, cascade: cascade)
    }

    /// `session/checkpoint {id, label?}`.
    @discardableResult
    public func checkpointSession(id: String, label: String? = nil) throws(DomainError) -> Checkpoint {
        try sessionOperations.checkpoint(sessionId: id, label: label)
    }

    /// `session/rollback {id, checkpointId}`.
    @discardableResult
    public func rollbackSession(id: String, checkpointId: String) throws(DomainError) -> Session {
        try sessionOperations.rollback(sessionId: id, checkpointId: checkpointId)
    }

    /// `session/export {id, includeConversations?}`.
    public func exportSession(id: String, includeConversations: Bool = false) throws(DomainError) -> SessionSnapshot {
        try sessionOperations.export(sessionId: id, includeConversations: includeConversations)
    }

    /// `session/import {snapshot, onConflict?}`.
    @discardableResult
    public func importSession(_ snapshot: SessionSnapshot, onConflict: ImportConflictPolicy = .error) throws(DomainError) -> Session {
        try sessionOperations.importSnapshot(snapshot, onConflict: onConflict)
    }

    /// `group/addSession {groupId, sessionId}`.
    @discardableResult
    public func addSession(_ sessionId: String, toGroup groupId: String) throws(DomainError) -> SessionGroup {
        try sessionOperations.addSession(sessionId, toGroup: groupId)
    }

    /// `group/removeSession {groupId, sessionId}`.
    @discardableResult
    public func removeSession(_ sessionId: String, fromGroup groupId: String) throws(DomainError) -> SessionGroup {
        try sessionOperations.removeSession(sessionId, fromGroup: groupId)
    }

    /// `group/sessions {groupId}`.
    public func sessions(inGroup groupId: String) throws(DomainError) -> [Session] {
        try sessionOperations.sessions(inGroup: groupId)
    }
}
