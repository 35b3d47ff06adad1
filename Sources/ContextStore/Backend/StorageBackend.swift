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

    /// What `store/status` reports. Backends without files leave the file fields empty.
    func status() -> StoreStatus
}

/// Where a snapshot gets current state from: `ContextEngine` (on the domain queue).
public protocol RecordSource {
    /// Every record the component holds now (`sessions groups conversations memories
    /// templates`).
    func allRecords(component: String) -> [Record]
}

extension ContextEngine: RecordSource {}

/// A backend with snapshot files, auto-save and backups (the file backend; `store/save`,
/// `store/load`, `store/setFormat`, `store/*AutoSave`, `store/backup`, `listBackups`,
/// `restore`). A backend that is not one answers those methods with 1006.
///
/// - Important: Every method here is called on the domain queue, between requests (or
///   from a `store/*` handler, which changes no domain state), because a snapshot must
///   see exactly the state whose changes have been committed so far.
public protocol SnapshottingBackend: StorageBackend {
    /// Writes snapshot files for `components` (nil = all) from `source`, then drops the
    /// journal records they cover.
    func save(from source: any RecordSource, components: [String]?) throws(DomainError) -> SaveReport
    /// Re-reads snapshots and the journal for `components` (nil = all): the changes to
    /// apply to a state from which those components were cleared.
    func reload(components: [String]?) throws(DomainError) -> [Change]
    func setFormat(_ format: SnapshotFormat) throws(DomainError)
    func enableAutoSave(intervalSeconds: Double) throws(DomainError)
    func disableAutoSave() throws(DomainError)
    func backup(from source: any RecordSource, to parent: String?, progress: StoreProgress?) throws(DomainError) -> BackupReport
    func listBackups() -> [BackupInfo]
    /// Verifies, backs up the current state, swaps in the backup, and returns the
    /// restored state's changes (apply to an empty engine).
    func restore(from path: String, source: any RecordSource, progress: StoreProgress?) throws(DomainError) -> RestoreReport
}

/// Progress of a long store operation: `(message, percentage 0...100)`; the server turns
/// it into `$/progress` report notifications.
public typealias StoreProgress = @Sendable (_ message: String, _ percentage: Int?) -> Void

/// The result of `store/status`.
public struct StoreStatus: Sendable, Encodable {
    public struct AutoSave: Sendable, Encodable, Equatable {
        public var enabled: Bool
        public var intervalSeconds: Double
        public init(enabled: Bool, intervalSeconds: Double) {
            self.enabled = enabled
            self.intervalSeconds = intervalSeconds
        }
    }
    public struct FileInfo: Sendable, Encodable, Equatable {
        public var name: String
        public var bytes: Int
        public init(name: String, bytes: Int) {
            self.name = name
            self.bytes = bytes
        }
    }
    public var kind: String
    public var directory: String?
    public var format: SnapshotFormat?
    public var durability: String
    public var lastSaveAt: Timestamp?
    public var autoSave: AutoSave
    public var journalBytes: Int
    public var files: [FileInfo]

    public init(
        kind: String, directory: String? = nil, format: SnapshotFormat? = nil, durability: Durability,
        lastSaveAt: Timestamp? = nil, autoSave: AutoSave = AutoSave(enabled: false, intervalSeconds: 0),
        journalBytes: Int = 0, files: [FileInfo] = []
    ) {
        self.kind = kind
        self.directory = directory
        self.format = format
        self.durability = durability.rawValue
        self.lastSaveAt = lastSaveAt
        self.autoSave = autoSave
        self.journalBytes = journalBytes
        self.files = files
    }
}

/// The result of `store/save` (also the payload of `store/didSave {at, components, bytes}`).
public struct SaveReport: Sendable, Encodable {
    public var at: Timestamp
    public var components: [String]
    /// Bytes written by this save.
    public var bytes: Int
    /// Files written (conversation files count one each).
    public var files: Int
}

/// The result of `store/backup`.
public struct BackupReport: Sendable, Encodable {
    /// The backup directory.
    public var path: String
    public var bytes: Int
    /// Number of files in the backup (manifest excluded).
    public var files: Int
}

/// One entry of `store/listBackups`.
public struct BackupInfo: Sendable, Encodable, Equatable {
    public var path: String
    public var createdAt: Timestamp
    public var bytes: Int
}

/// The result of `store/restore`. `changes` is not sent: the server applies it.
public struct RestoreReport: Sendable, Encodable {
    /// The backup that was restored.
    public var restored: String
    /// The backup taken of the state it replaced.
    public var previous: String
    public var files: Int
    public var bytes: Int
    public var records: Int
    public var changes: [Change] = []

    enum CodingKeys: String, CodingKey { case restored, previous, files, bytes, records }
}

/// The component names, in load order.
public enum StoreComponents {
    public static let all = ["sessions", "groups", "conversations", "memories", "templates", "settings"]

    /// Validates a `components` parameter (nil = all).
    public static func validate(_ list: [String]?) throws(DomainError) -> [String] {
        guard let list else { return all }
        for c in list where !all.contains(c) {
            throw .invalidArgument(field: "components", expected: "names among \(all.joined(separator: ", ")), got '\(c)'")
        }
        return all.filter { list.contains($0) }
    }
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
    public func status() -> StoreStatus { StoreStatus(kind: "memory", durability: .none) }
}
