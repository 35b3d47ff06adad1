import ContextCore
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

    /// Whether the journal holds message changes of this conversation (then its stored
    /// header's counts may be older than its messages: load it before serving).
    public func hasJournalChanges(_ id: String) -> Bool { journal[id] != nil }

    /// The message changes of one conversation (file, then journal), in apply order.
    /// Apply them to the engine before serving that conversation; each id is handed out
    /// once (the backend then treats it as loaded).
    public func messages(for id: String) throws(DomainError) -> [Change] {
        var scratch = FileBackend.LoadedState()
        let file = try FileBackend.readSnapshotStatic(directory: directory, stem: FileBackend.conversationFileStem(id), migrations: migrations, into: &scratch)
        var out: [Change] = []
        if let file {
            for r in file.records where r.kind == .message { out.append(.put(r)) }
        }
        out += journal[id] ?? []
        backend.stateLock.withLock { _ = backend.lazyPending.remove(id) }
        return out
    }

    /// Every pending conversation's messages (a background loader's loop, or a fallback).
    public func allMessages() throws(DomainError) -> [Change] {
        var out: [Change] = []
        for id in ids { out += try messages(for: id) }
        return out
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
