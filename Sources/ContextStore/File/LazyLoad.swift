import ContextCore
import Dispatch
import JSONCore

/// Lazy start-up: everything but the messages first, the messages per conversation later.
///
/// `loadLazily()` reads the small component files, the conversation headers (kept in
/// `conversations/index.json`) and the journal, and returns their changes; the messages
/// of each conversation stay on disk until `messages(for:)` (any thread) reads that
/// conversation's file and the journal's message changes for it. Until every pending
/// conversation has been taken, saves leave the conversations component alone (its
/// journal records are kept), so nothing is lost if the engine has not loaded them yet.
public struct LazyConversations: Sendable {
    /// Conversations whose messages have not been loaded, in file order.
    public let ids: [String]
    let directory: String
    let migrations: [Int: SnapshotFile.Migration]
    let journal: [String: [Change]]
    let backend: FileBackend
    let prefetched = LazyPrefetch()

    /// Whether the journal holds message changes of this conversation (then its stored
    /// header's counts may be older than its messages: load it before serving).
    public func hasJournalChanges(_ id: String) -> Bool { journal[id] != nil }

    /// The message changes of one conversation (file, then journal), in apply order.
    /// Apply them to the engine before serving that conversation; each id is handed out
    /// once (the backend then treats it as loaded).
    public func messages(for id: String) throws(DomainError) -> [Change] {
        var out: [Change]
        if let r = prefetched.take(id) { out = try r.get() } else { out = try fileMessages(id) }
        out += journal[id] ?? []
        backend.stateLock.withLock { _ = backend.lazyPending.remove(id) }
        return out
    }

    /// The message records of one conversation's file.
    func fileMessages(_ id: String) throws(DomainError) -> [Change] {
        var scratch = FileBackend.LoadedState()
        let file = try FileBackend.readSnapshotStatic(directory: directory, stem: FileBackend.conversationFileStem(id), migrations: migrations, into: &scratch)
        var out: [Change] = []
        if let file {
            out.reserveCapacity(file.records.count)
            for r in file.records where r.kind == .message { out.append(.put(r)) }
        }
        return out
    }

    /// Every pending conversation's messages, in `ids` order (files parsed in parallel).
    public func allMessages() throws(DomainError) -> [Change] {
        let results = ChangeSlots(count: ids.count)
        let me = self
        DispatchBridge.concurrentPerform(ids.count) { i in
            do throws(DomainError) { results.set(i, .success(try me.messages(for: me.ids[i]))) } catch { results.set(i, .failure(error)) }
        }
        var out: [Change] = []
        for i in ids.indices {
            switch results.get(i) {
            case .success(let c)?: out += c
            case .failure(let e)?: throw e
            case nil: break
            }
        }
        return out
    }

    /// Starts reading and parsing the pending conversations' files on `threads`
    /// background threads, in file order, so `messages(for:)` mostly finds them done (a
    /// first search that needs every message then waits for the parsing on all cores,
    /// not one). Each file is still parsed once: whoever asks first does it.
    public func startPrefetch(threads: Int = 2) {
        let me = self
        let counter = PrefetchCounter()
        for t in 0..<max(1, threads) {
            DispatchQueue(label: "contextd.store.prefetch.\(t)").async {
                while true {
                    let i = counter.next()
                    guard i < me.ids.count else { return }
                    let id = me.ids[i]
                    guard me.prefetched.claim(id) else { continue }
                    do throws(DomainError) { me.prefetched.finish(id, .success(try me.fileMessages(id))) } catch { me.prefetched.finish(id, .failure(error)) }
                }
            }
        }
    }
}

extension FileBackend {
    /// Like `load()`, but the messages of conversations are deferred (see
    /// `LazyConversations`). Call once, at start, instead of `load()`.
    public func loadLazily() throws(DomainError) -> (changes: [Change], conversations: LazyConversations) {
        let changes = try load(lazyMessages: true)
        let st = lastLazyState
        let lazy = LazyConversations(ids: st.ids, directory: conversationsDirectory, migrations: options.migrations, journal: st.journal, backend: self)
        stateLock.withLock { lazyPending = Set(st.ids) }
        return (changes, lazy)
    }

    /// Reads conversation headers from the index (and which conversations have files).
    func readConversationHeaders(into st: inout LoadedState) throws(DomainError) {
        let dir = conversationsDirectory
        var scratch = LoadedState()
        let index = try FileBackend.readSnapshotStatic(directory: dir, stem: "index", migrations: options.migrations, into: &scratch)
        if let index, index.component != "conversations" {
            throw .storage(path: POSIX.join(dir, "index.json"), reason: "holds component '\(index.component)', expected 'conversations'")
        }
        st.sequences["conversations"] = index?.sequence ?? 0
        st.maxSequence = max(st.maxSequence, scratch.maxSequence)
        st.staleFiles.formUnion(scratch.staleFiles)
        for r in index?.records ?? [] where r.kind == .conversation { st.changes.append(.put(r)) }
        var ids: [String] = []
        var seen = Set<String>()
        for name in POSIX.list(dir) {
            if let id = FileBackend.conversationId(fileName: name), seen.insert(id).inserted { ids.append(id) }
        }
        st.lazyConversationIds = ids
    }
}

/// Parsed conversation files waiting to be taken (see `LazyConversations.startPrefetch`).
final class LazyPrefetch: @unchecked Sendable {
    // @unchecked: `entries` is guarded by `cond`'s mutex.
    private enum Entry {
        case parsing
        case done(Result<[Change], DomainError>)
        case taken
    }
    private let cond = PThreadCondition()
    private var entries: [String: Entry] = [:]

    /// The prefetched messages of `id` (waiting while a prefetcher parses them), or nil
    /// when no prefetcher has them: the caller reads the file itself, and from now on
    /// no prefetcher will.
    func take(_ id: String) -> Result<[Change], DomainError>? {
        cond.lock()
        defer { cond.unlock() }
        while true {
            switch entries[id] {
            case .parsing?: cond.wait()
            case .done(let r)?:
                entries[id] = .taken
                return r
            case .taken?: return nil
            case nil:
                entries[id] = .taken
                return nil
            }
        }
    }

    /// For a prefetcher: whether to parse `id` (nobody has started on it).
    func claim(_ id: String) -> Bool {
        cond.lock()
        defer { cond.unlock() }
        guard entries[id] == nil else { return false }
        entries[id] = .parsing
        return true
    }

    func finish(_ id: String, _ result: Result<[Change], DomainError>) {
        cond.lock()
        entries[id] = .done(result)
        cond.broadcast()
        cond.unlock()
    }
}

final class PrefetchCounter: @unchecked Sendable {
    // @unchecked: guarded by the lock.
    private let lock = PThreadLock()
    private var value = 0
    func next() -> Int { lock.withLock { defer { value += 1 }; return value } }
}

final class ChangeSlots: @unchecked Sendable {
    // @unchecked: slots guarded by the lock.
    private let lock = PThreadLock()
    private var slots: [Result<[Change], DomainError>?]
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ r: Result<[Change], DomainError>) { lock.withLock { slots[i] = r } }
    func get(_ i: Int) -> Result<[Change], DomainError>? { lock.withLock { slots[i] } }
}
