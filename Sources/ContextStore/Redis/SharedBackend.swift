import ContextCore
import JSONCore

/// Changes made outside this process (another contextd sharing the store), or the
/// store's current values after a write of ours failed, for the server to apply to its
/// engine so the in-memory state does not diverge from the store.
public struct ExternalUpdate: Sendable {
    public enum Reason: String, Sendable {
        /// Another process committed these changes (pub/sub).
        case remote
        /// A commit of ours failed (1003 stale version, or 1006): the store's current
        /// values of the records it touched, replacing what the engine applied.
        case refresh
        /// The change feed was interrupted (reconnect): everything that differs.
        case resync
    }
    public let reason: Reason
    /// Call exactly once, while holding the domain lock: returns the changes to restore
    /// into the engine (already filtered against this process's writes still in flight)
    /// and records them as applied. Must run under the lock because the filter and the
    /// domain's next commit must not interleave.
    public let take: @Sendable () -> [Change]
    /// For `remote`: the notifications the origin process fanned out for these changes
    /// (`{topic, method, params}` each), to fan out here as they are. Nil otherwise: the
    /// server derives `*/didChange` events from the changes.
    public let notifications: [JSONValue]?

    public init(reason: Reason, notifications: [JSONValue]?, take: @escaping @Sendable () -> [Change]) {
        self.reason = reason
        self.notifications = notifications
        self.take = take
    }
}

/// A backend shared by several contextd processes (Redis). The server wires
/// `setExternalChangeHandler` to apply `ExternalUpdate`s under its domain lock, and
/// commits with the notifications it fans out so the other processes can emit them too.
public protocol SharedStorageBackend: StorageBackend {
    /// Called on a backend thread. Updates that arrive before a handler is set are kept
    /// and delivered when it is set.
    func setExternalChangeHandler(_ handler: (@Sendable (ExternalUpdate) -> Void)?)

    /// `commit(_:completion:)` that also publishes `notifications` (`{topic, method,
    /// params}`) to the other processes with the changes.
    func commit(_ changes: [Change], notifications: [JSONValue], completion: @escaping @Sendable (DomainError?) -> Void)
}
