/// ContextStore: persistence for contextd — the backend protocol, the embedded file
/// backend (snapshots + write-ahead journal + lock), the in-memory backend, formats
/// (JSON, compact JSON, gzip via CZlib) and backups. It knows ContextCore's models, not
/// JSON-RPC or method names.
import ContextCore
import JSONCore

/// How durable an acknowledged write is (`--durability`).
public enum Durability: String, Sendable, CaseIterable {
    /// The reply waits until the change record is fsynced (group commit).
    case fsync
    /// The reply waits until the record is written to the OS (survives a process crash,
    /// not a power loss).
    case os
    /// Nothing waits; records are buffered and written in the background.
    case none
}

/// Where the server's state lives. The server owns one backend for its life.
///
/// - Important: `commit` is called from the single domain queue, in order; the backend
///   must make changes durable in that order and call `completion` exactly once per call
///   (on any thread). Group commit: calls that arrive while a sync is running share the
///   next sync.
public protocol StorageBackend: AnyObject, Sendable {
    /// `file`, `memory` or `redis` (`store/status.kind`).
    var kind: String { get }
    var durability: Durability { get }

    /// Everything persisted, in apply order (snapshots first, then the journal).
    func load() throws(DomainError) -> [Change]

    /// Makes `changes` durable per `durability`, then calls `completion(nil)`; on an I/O
    /// failure calls `completion(.storage(...))` and the changes must be treated as not
    /// acknowledged.
    func commit(_ changes: [Change], completion: @escaping @Sendable (DomainError?) -> Void)

    /// Blocks until everything committed so far is durable (used at exit / EOF).
    func flush()

    /// Releases the lock and closes files.
    func close()
}

/// Keeps nothing: `--store memory`.
public final class MemoryBackend: StorageBackend, @unchecked Sendable {
    // @unchecked: stateless.
    public init() {}
    public var kind: String { "memory" }
    public var durability: Durability { .none }
    public func load() throws(DomainError) -> [Change] { [] }
    public func commit(_ changes: [Change], completion: @escaping @Sendable (DomainError?) -> Void) { completion(nil) }
    public func flush() {}
    public func close() {}
}
