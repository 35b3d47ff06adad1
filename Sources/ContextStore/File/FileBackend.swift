#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ContextCore
import Dispatch
import JSONCore

/// Options of the file backend (from the command line).
public struct FileBackendOptions: Sendable {
    public var durability: Durability = .fsync
    /// The format of new snapshot files until `store/setFormat` persists another.
    public var format: SnapshotFormat = .json
    /// Auto-save interval until `store/enableAutoSave`/`disableAutoSave` persists another
    /// choice; nil = disabled.
    public var autoSaveIntervalSeconds: Double? = 300
    /// Auto-save when the journal grows past this many bytes.
    public var journalSizeLimit = 64 << 20
    /// Quarantine unreadable files (`contextd serve --repair`) instead of refusing to start.
    public var repair = false
    /// Migrations of older snapshot schema versions: version N → N+1.
    public var migrations: [Int: SnapshotFile.Migration] = [:]

    public init(durability: Durability = .fsync, format: SnapshotFormat = .json) {
        self.durability = durability
        self.format = format
    }
}

/// The embedded default store: a data directory with per-component snapshot files, a
/// write-ahead journal and a lock (see ARCHITECTURE.md, Storage).
///
/// Layout of the data directory (0700; every file 0600):
/// ```
/// contextd.lock                  flock'ed for the life of the process; holds the pid
/// journal                        changes since the snapshots (group-committed)
/// sessions.json                  sessions and checkpoints   (.json.gz when jsonGzip)
/// groups.json memories.json templates.json settings.json
/// conversations/index.json       the conversations component's sequence and ids
/// conversations/c-<id>.json      one conversation with its messages
/// backups/backup-YYYYMMDD-HHMMSS/  store/backup (manifest.json with SHA-256 per file)
/// quarantine/                    files `--repair` set aside
/// journal.torn-<time>            torn journal tails that were cut at start-up
/// ```
///
/// Every snapshot file carries the journal `sequence` it reflects; at load, journal
/// records of a component with a higher sequence are replayed on top. Records are whole
/// values (put replaces, delete removes), so replaying a record a snapshot already holds
/// is harmless — which is what makes a crash anywhere during a save safe.
///
/// - Important: `load`, `commit`, `save`, `reload`, `backup`, `restore`, `setFormat`
///   and the auto-save methods are called on the single domain queue. `flush`, `close`
///   and `status` may be called from anywhere.
public final class FileBackend: SnapshottingBackend, @unchecked Sendable {
    // @unchecked: the mutable state below is confined to the domain queue (see the
    // class comment), except what `stateLock` guards (auto-save timer and handler,
    // lastSaveAt, format for status) and the journal (internally synchronised).
    public let directory: String
    public let options: FileBackendOptions
    public var kind: String { "file" }
    public var durability: Durability { options.durability }

    private let lock: LockFile
    private var journal: Journal?
    var journalIfOpen: Journal? { journal }
    private var nextSequence: UInt64 = 1
    private var componentSequence: [String: UInt64] = [:]
    private var settings: [String: JSONValue] = [:]
    private var settingOrder: [String] = []
    var dirtyConversations = Set<String>()
    var allConversationsDirty = false
    private var lastSavedSequence: UInt64 = 0
    /// Files of another format left behind by a format change, removed at the next save.
    private var staleFiles = Set<String>()

    let stateLock = PThreadLock()
    /// Conversations of a lazy load whose messages have not been taken yet (stateLock).
    var lazyPending = Set<String>()
    var lazyStateStorage: (ids: [String], journal: [String: [Change]]) = ([], [:])
    private var currentFormat: SnapshotFormat
    private var lastSaveAt: Timestamp?
    private var autoSaveInterval: Double?
    private var autoSaveTimer: DispatchSourceTimer?
    private var autoSaveHandlerStorage: (@Sendable () -> Void)?
    private let timerQueue = DispatchQueue(label: "contextd.store.autosave")

    /// Warnings from the last load (a torn journal tail that was cut, leftovers removed).
    public internal(set) var warnings: [String] = []
    /// Where the time of the last save went (for `contextd-bench store`).
    public private(set) var lastSavePhases = SavePhases()

    static let settingFormat = "store.format"
    static let settingAutoSave = "store.autoSave"
    static let restoreMarker = "restore-in-progress"

    /// Creates the directory if needed (0700) and takes the lock. Reads nothing yet:
    /// call `load()`.
    public init(directory: String, options: FileBackendOptions = FileBackendOptions()) throws(DomainError) {
        self.directory = directory
        self.options = options
        currentFormat = options.format
        autoSaveInterval = options.autoSaveIntervalSeconds
        try DataDirectory.create(directory)
        lock = try LockFile(directory: directory)
    }

    deinit {
        autoSaveTimer?.cancel()
    }

    /// Called when an auto-save is due (interval elapsed, or the journal grew past its
    /// limit), on a background thread. The server must hop to the domain queue and call
    /// `autoSave(from:)` there.
    public var autoSaveHandler: (@Sendable () -> Void)? {
        get { stateLock.withLock { autoSaveHandlerStorage } }
        set {
            stateLock.withLock { autoSaveHandlerStorage = newValue }
            rescheduleTimer()
        }
    }

    // MARK: paths

    func path(_ name: String) -> String { POSIX.join(directory, name) }
    var conversationsDirectory: String { path("conversations") }
    var journalPath: String { path("journal") }

    static func conversationFileStem(_ id: String) -> String { "c-" + id }

    // MARK: load

    public func load() throws(DomainError) -> [Change] {
        try load(lazyMessages: false)
    }

    /// What the last lazy load deferred (consumed by `loadLazily`).
    var lastLazyState: (ids: [String], journal: [String: [Change]]) {
        get { stateLock.withLock { lazyStateStorage } }
        set { stateLock.withLock { lazyStateStorage = newValue } }
    }

    func load(lazyMessages: Bool) throws(DomainError) -> [Change] {
        warnings = []
        if options.repair {
            let report = Doctor.run(directory: directory, repair: true, lockHeld: true, migrations: options.migrations)
            for p in report.problems { warnings.append("\(p.path): \(p.problem)\(p.action.map { " — \($0)" } ?? "")") }
        }
        try finishInterruptedRestore()
        removeLeftoverTempFiles()
        let state = try readState(components: StoreComponents.all, cutTornTail: true, lazyMessages: lazyMessages)
        applyLoaded(state)
        if lazyMessages {
            // Conversations that only the journal knows about have messages pending too.
            var ids = state.lazyConversationIds
            var seen = Set(ids)
            for id in state.deferredJournal.keys.sorted() where seen.insert(id).inserted { ids.append(id) }
            lastLazyState = (ids, state.deferredJournal)
        }
        warnings += state.warnings
        if journal == nil {
            let j = try Journal(path: journalPath, durability: options.durability)
            j.sizeLimit = options.journalSizeLimit
            // Never run the handler on the journal's writer: it takes the domain lock, and
            // the domain may be waiting for the writer (save → compact).
            let q = timerQueue
            j.onSizeLimit = { [weak self] in
                let handler = self?.autoSaveHandler
                q.async { handler?() }
            }
            journal = j
        }
        rescheduleTimer()
        return state.changes
    }

    /// Takes the backend's own bookkeeping from a full read of the directory.
    func applyLoaded(_ state: LoadedState) {
        componentSequence = state.sequences
        // Never reuse a sequence number within a process (a restore may bring older files).
        nextSequence = max(nextSequence, state.maxSequence + 1)
        lastSavedSequence = state.sequences.values.min() ?? 0
        dirtyConversations = state.journalConversations
        allConversationsDirty = state.journalTouchesUnknownConversation
        staleFiles = state.staleFiles
        settings = [:]
        settingOrder = []
        for c in state.changes where c.key.kind == .setting { track(c) }
        stateLock.withLock {
            lastSaveAt = state.lastSaveAt
            if let f = settings[Self.settingFormat]?.stringValue.flatMap(SnapshotFormat.init(rawValue:)) { currentFormat = f }
            if let a = settings[Self.settingAutoSave]?.objectValue {
                autoSaveInterval = a["enabled"]?.boolValue == true ? (a["intervalSeconds"]?.doubleValue ?? 300) : nil
            }
        }
    }

    struct LoadedState {
        var changes: [Change] = []
        var sequences: [String: UInt64] = [:]
        var maxSequence: UInt64 = 0
        var lastSaveAt: Timestamp?
        var journalConversations = Set<String>()
        var journalTouchesUnknownConversation = false
        var staleFiles = Set<String>()
        var warnings: [String] = []
        var snapshotRecords = 0
        var journalRecords = 0
        /// Lazy loads only: conversations whose messages were not read, and the journal's
        /// message changes per conversation.
        var lazyConversationIds: [String] = []
        var deferredJournal: [String: [Change]] = [:]
    }

    /// Reads the snapshot files of `components` and replays the journal on top.
    func readState(components: [String], cutTornTail: Bool, lazyMessages: Bool = false) throws(DomainError) -> LoadedState {
        var st = LoadedState()
        for component in StoreComponents.all where components.contains(component) {
            if component == "conversations" {
                if lazyMessages { try readConversationHeaders(into: &st) } else { try readConversations(into: &st) }
            } else {
                try readComponent(component, into: &st)
            }
        }
        // The journal: replay what the snapshots do not cover.
        if let j = journal { j.flush() }
        let raw = POSIX.exists(journalPath) ? try POSIX.readFile(journalPath) : []
        let scan = Journal.scan(raw)
        if let corruption = scan.corruption {
            throw .storage(path: journalPath, reason: "\(corruption); nothing was changed — run `contextd doctor --repair` (it keeps the readable records and quarantines the file) or restore a backup")
        }
        if let torn = scan.torn {
            if cutTornTail {
                let aside = path("journal.torn-\(Self.fileTime(POSIX.now()))")
                try POSIX.writeFileAtomically(aside, Array(raw[torn]))
                let fd = open(journalPath, O_WRONLY | O_CLOEXEC)
                if fd < 0 { throw POSIX.fail(journalPath, "cannot open to cut the torn tail") }
                defer { _ = Glibc_close(fd) }
                if ftruncate(fd, off_t(torn.lowerBound)) != 0 || fsync(fd) != 0 { throw POSIX.fail(journalPath, "cannot cut the torn tail") }
                st.warnings.append("journal: cut a torn tail of \(torn.count) bytes at byte \(torn.lowerBound) (an unfinished write, never acknowledged); kept in \(aside)")
            }
        }
        for entry in scan.entries {
            let changes: [Change]
            do { changes = try Journal.decodePayload(raw[entry.payload]) } catch {
                throw .storage(path: journalPath, reason: "record with sequence \(entry.seq) at byte \(entry.frame.lowerBound) has a valid checksum but cannot be read (\(error.message)); run `contextd doctor --repair` or restore a backup")
            }
            st.maxSequence = max(st.maxSequence, entry.seq)
            for c in changes {
                let component = c.key.kind.component
                guard components.contains(component), entry.seq > (st.sequences[component] ?? 0) else { continue }
                if lazyMessages, c.key.kind == .message, let parent = c.key.parent {
                    st.deferredJournal[parent, default: []].append(c)
                } else {
                    st.changes.append(c)
                }
                st.journalRecords += 1
                if component == "conversations" {
                    if let id = RecordCoding.conversationId(of: c.key) { st.journalConversations.insert(id) } else { st.journalTouchesUnknownConversation = true }
                }
            }
        }
        return st
    }

    /// Loads one of the candidate files of a snapshot (`stem.json`, `stem.json.gz`); when
    /// both exist (a crash during a format change) the one with the higher sequence wins
    /// and the other is stale.
    private func readSnapshot(directory dir: String, stem: String, into st: inout LoadedState) throws(DomainError) -> SnapshotFile? {
        let file = try Self.readSnapshotStatic(directory: dir, stem: stem, migrations: options.migrations, into: &st)
        if let t = file?.savedAt, t > (st.lastSaveAt ?? Timestamp(milliseconds: 0)) { st.lastSaveAt = t }
        return file
    }

    private func readComponent(_ component: String, into st: inout LoadedState) throws(DomainError) {
        guard let file = try readSnapshot(directory: directory, stem: component, into: &st) else {
            st.sequences[component] = 0
            return
        }
        guard file.component == component else {
            throw .storage(path: path(component + ".json"), reason: "holds component '\(file.component)', expected '\(component)'; the file was left untouched")
        }
        for r in file.records where r.kind.component != component {
            throw .storage(path: path(component + ".json"), reason: "holds a \(r.kind.rawValue) record, which does not belong to '\(component)'")
        }
        st.sequences[component] = file.sequence
        st.snapshotRecords += file.records.count
        st.changes.append(contentsOf: file.records.map { .put($0) })
    }

    private func readConversations(into st: inout LoadedState) throws(DomainError) {
        let dir = conversationsDirectory
        let index = try readSnapshot(directory: dir, stem: "index", into: &st)
        if let index, index.component != "conversations" {
            throw .storage(path: POSIX.join(dir, "index.json"), reason: "holds component '\(index.component)', expected 'conversations'")
        }
        st.sequences["conversations"] = index?.sequence ?? 0
        var stems: [String] = []
        for name in POSIX.list(dir) where name.hasPrefix("c-") {
            let stem = name.hasSuffix(".json.gz") ? String(name.dropLast(8)) : name.hasSuffix(".json") ? String(name.dropLast(5)) : nil
            if let stem, stems.last != stem { stems.append(stem) }
        }
        // Parse conversation files in parallel (two cores), then append in name order.
        let stemList = stems
        let results = SnapshotResults(count: stems.count)
        let migrations = options.migrations
        DispatchBridge.concurrentPerform(stems.count) { i in
            var local = LoadedState()
            do throws(DomainError) {
                let f = try FileBackend.readSnapshotStatic(directory: dir, stem: stemList[i], migrations: migrations, into: &local)
                results.set(i, .success((f, local)))
            } catch {
                results.set(i, .failure(error))
            }
        }
        for i in 0..<stems.count {
            switch results.get(i) {
            case .failure(let e): throw e
            case .success(let (file, local))?:
                st.staleFiles.formUnion(local.staleFiles)
                st.maxSequence = max(st.maxSequence, local.maxSequence)
                guard let file else { continue }
                let p = POSIX.join(dir, stems[i] + ".json")
                guard file.component == "conversations" else {
                    throw .storage(path: p, reason: "holds component '\(file.component)', expected 'conversations'")
                }
                for r in file.records where r.kind.component != "conversations" {
                    throw .storage(path: p, reason: "holds a \(r.kind.rawValue) record in a conversation file")
                }
                st.snapshotRecords += file.records.count
                st.changes.append(contentsOf: file.records.map { .put($0) })
            case nil: break
            }
        }
    }

    static func readSnapshotStatic(directory dir: String, stem: String, migrations: [Int: SnapshotFile.Migration], into st: inout LoadedState) throws(DomainError) -> SnapshotFile? {
        var best: (SnapshotFile, String)?
        for ext in [".json", ".json.gz"] {
            let p = POSIX.join(dir, stem + ext)
            guard POSIX.exists(p) else { continue }
            let (file, _) = try SnapshotFile.decode(try POSIX.readFile(p), path: p, migrations: migrations)
            if let b = best {
                if file.sequence > b.0.sequence {
                    st.staleFiles.insert(b.1)
                    best = (file, p)
                } else {
                    st.staleFiles.insert(p)
                }
            } else {
                best = (file, p)
            }
            st.maxSequence = max(st.maxSequence, file.sequence)
        }
        return best?.0
    }

    /// Leftover temp files of writes interrupted by a crash (`.<name>.tmp-<pid>-<n>`):
    /// never the only copy of anything (the rename did not happen, the journal holds the
    /// data), so they are removed.
    private func removeLeftoverTempFiles() {
        for dir in [directory, conversationsDirectory] {
            for name in POSIX.list(dir) where name.hasPrefix(".") && name.contains(".tmp-") {
                _ = try? POSIX.remove(POSIX.join(dir, name))
                warnings.append("removed \(POSIX.join(dir, name)), the temp file of an interrupted write")
            }
        }
    }

    // MARK: commit

    /// Keeps the backend's own view in step: settings, and which conversations changed
    /// since the last save (so a save rewrites only those files).
    private func track(_ change: Change) {
        let key = change.key
        switch key.kind {
        case .conversation, .message:
            if let id = RecordCoding.conversationId(of: key) { dirtyConversations.insert(id) } else { allConversationsDirty = true }
        case .setting:
            switch change {
            case .put(.setting(let k, let v)):
                if settings[k] == nil { settingOrder.append(k) }
                settings[k] = v
            case .delete(let k):
                settings[k.id] = nil
                settingOrder.removeAll { $0 == k.id }
            default: break
            }
        default: break
        }
    }

    public func commit(_ changes: [Change], completion: @escaping @Sendable (DomainError?) -> Void) {
        guard !changes.isEmpty else {
            completion(nil)
            return
        }
        guard let journal else {
            completion(.storage(path: journalPath, reason: "the store is not loaded"))
            return
        }
        let payload: [UInt8]
        do { payload = try Journal.encodePayload(changes) } catch {
            completion(.storage(path: journalPath, reason: error.message))
            return
        }
        for c in changes { track(c) }
        let seq = nextSequence
        nextSequence += 1
        journal.append(Journal.frame(seq: seq, payload: payload), completion: completion)
    }

    /// Commits and waits (for the backend's own setting changes).
    private func commitAndWait(_ changes: [Change]) throws(DomainError) {
        let sem = DispatchSemaphore(value: 0)
        let box = ErrorBox()
        commit(changes) { e in
            box.error = e
            sem.signal()
        }
        sem.wait()
        if let e = box.error { throw e }
    }

    public func flush() { journal?.flush() }

    public func close() {
        stateLock.withLock {
            autoSaveTimer?.cancel()
            autoSaveTimer = nil
            autoSaveHandlerStorage = nil
        }
        journal?.close()
        lock.release()
    }

    /// Group-commit counters (writes, fsyncs) since start.
    public var journalStats: (writes: Int, syncs: Int) { journal?.stats ?? (0, 0) }

    // MARK: status

    public func status() -> StoreStatus {
        var files: [StoreStatus.FileInfo] = []
        files.append(.init(name: "journal", bytes: POSIX.fileSize(journalPath) ?? 0))
        for name in POSIX.list(directory) {
            let p = path(name)
            if name == "conversations" {
                let total = POSIX.list(p).filter { !$0.hasPrefix(".") }.reduce(0) { $0 + (POSIX.fileSize(POSIX.join(p, $1)) ?? 0) }
                files.append(.init(name: "conversations/", bytes: total))
            } else if name.hasSuffix(".json") || name.hasSuffix(".json.gz") || name.hasPrefix("journal.torn-") {
                files.append(.init(name: name, bytes: POSIX.fileSize(p) ?? 0))
            }
        }
        return stateLock.withLock {
            StoreStatus(
                kind: kind, directory: directory, format: currentFormat, durability: options.durability, lastSaveAt: lastSaveAt,
                autoSave: .init(enabled: autoSaveInterval != nil, intervalSeconds: autoSaveInterval ?? 0),
                journalBytes: journal?.bytes ?? (POSIX.fileSize(journalPath) ?? 0), files: files)
        }
    }

    public var format: SnapshotFormat { stateLock.withLock { currentFormat } }

    // MARK: save

    public func save(from source: any RecordSource, components: [String]?) throws(DomainError) -> SaveReport {
        let comps = try StoreComponents.validate(components)
        let phases = SavePhases()
        lastSavePhases = phases
        let started = SavePhases.nanos()
        defer { phases.add("total", since: started) }
        let sequence = nextSequence - 1
        let fmt = format
        let now = POSIX.now()
        var bytes = 0
        var files = 0
        let batch = AtomicWriteBatch(phases: phases)
        var replaced: [String] = []
        let pendingLazy = stateLock.withLock { !lazyPending.isEmpty }
        // Losing duplicates of a format change (the other variant has a higher sequence)
        // go first: this save may write a file under the same name.
        for stale in staleFiles where POSIX.exists(stale) { try POSIX.remove(stale) }
        staleFiles = []
        for component in comps {
            if component == "conversations" {
                // Messages not yet handed to the engine are not in `source`: writing the
                // files now would drop them. The component waits (the journal keeps it).
                if pendingLazy { continue }
                let (b, n) = try saveConversations(from: source, sequence: sequence, format: fmt, now: now, phases: phases)
                bytes += b
                files += n
                continue
            }
            let records: [Record] = component == "settings" ? settingOrder.compactMap { k in settings[k].map { .setting(key: k, value: $0) } } : source.allRecords(component: component)
            let file = SnapshotFile(component: component, sequence: sequence, savedAt: now, records: records)
            do throws(DomainError) {
                let data = try file.encode(format: fmt)
                try batch.add(path(component + fmt.fileExtension), data)
                bytes += data.count
            } catch {
                batch.abandon()
                throw error
            }
            files += 1
            replaced.append(component)
        }
        try batch.commit()
        for component in replaced {
            let other = path(component + (fmt == .jsonGzip ? ".json" : ".json.gz"))
            if POSIX.exists(other) { try POSIX.remove(other) }
            componentSequence[component] = sequence
        }
        try POSIX.syncDirectory(directory)
        // Drop the journal records every component's snapshot now covers.
        let covered = StoreComponents.all.map { componentSequence[$0] ?? 0 }.min() ?? 0
        if covered > lastSavedSequence || covered == sequence {
            try journal?.compact(keepingAfter: covered)
            lastSavedSequence = covered
        }
        stateLock.withLock { lastSaveAt = now }
        return SaveReport(at: now, components: pendingLazy ? comps.filter { $0 != "conversations" } : comps, bytes: bytes, files: files)
    }

    /// Rewrites the files of the conversations that changed since the last save (all of
    /// them after a format change), then the index.
    private func saveConversations(from source: any RecordSource, sequence: UInt64, format fmt: SnapshotFormat, now: Timestamp, phases: SavePhases) throws(DomainError) -> (Int, Int) {
        let gatherStart = SavePhases.nanos()
        let dir = conversationsDirectory
        try POSIX.makeDirectory(dir)
        let all = source.allRecords(component: "conversations")
        phases.add("source", since: gatherStart)
        let groupStart = SavePhases.nanos()
        let groups = ConversationGroups(all)
        let order = groups.ids
        let writeAll = allConversationsDirty || !POSIX.exists(POSIX.join(dir, "index" + fmt.fileExtension))
        let targets = writeAll ? order : order.filter { dirtyConversations.contains($0) }
        // Encode and write in parallel; the directory is synced once afterwards.
        let results = ByteCounts(count: targets.count)
        let batch = AtomicWriteBatch(phases: phases)
        let buffers = BufferPool()
        phases.add("gather", since: groupStart)
        DispatchBridge.concurrentPerform(targets.count) { i in
            let t0 = SavePhases.nanos()
            let id = targets[i]
            var recs = groups.records(of: id)
            // The conversation header first, so a reader can stop after it.
            if let h = recs.firstIndex(where: { $0.kind == .conversation }), h != recs.startIndex {
                var copy = Array(recs)
                copy.swapAt(0, h - recs.startIndex)
                recs = copy[...]
            }
            do throws(DomainError) {
                let data = try SnapshotFile.encode(
                    component: "conversations", sequence: sequence, savedAt: now, records: recs, extra: ["conversationId": .string(id)], format: fmt,
                    buffer: buffers.take())
                phases.add("encode", since: t0)
                let stem = POSIX.join(dir, FileBackend.conversationFileStem(id))
                try batch.add(stem + fmt.fileExtension, data)
                results.set(i, .success(data.count))
                buffers.give(data)  // written: its storage serves the next file
            } catch {
                results.set(i, .failure(error))
            }
        }
        var bytes = 0
        for i in 0..<targets.count {
            switch results.get(i) {
            case .success(let n)?: bytes += n
            case .failure(let e)?:
                batch.abandon()
                throw e
            case nil: break
            }
        }
        try batch.commit()
        let indexStart = SavePhases.nanos()
        for id in targets {
            let other = POSIX.join(dir, FileBackend.conversationFileStem(id)) + (fmt == .jsonGzip ? ".json" : ".json.gz")
            if POSIX.exists(other) { try POSIX.remove(other) }
        }
        // Files of conversations that no longer exist.
        let live = Set(order)
        let candidates = writeAll ? Set(POSIX.list(dir).compactMap(Self.conversationId(fileName:))) : dirtyConversations
        for id in candidates where !live.contains(id) {
            let stem = POSIX.join(dir, Self.conversationFileStem(id))
            try POSIX.remove(stem + ".json")
            try POSIX.remove(stem + ".json.gz")
        }
        try POSIX.syncDirectory(dir)
        // The index is written last: its sequence says every file is at least this new.
        // It also holds every conversation's header record, so a lazy start-up reads the
        // headers from this one file and leaves the messages for later.
        let headers = order.compactMap { id in groups.header(of: id) }
        let index = SnapshotFile(
            component: "conversations", sequence: sequence, savedAt: now, records: headers,
            extra: ["conversations": .array(order.map { .string($0) })])
        let data = try index.encode(format: fmt)
        try POSIX.writeFileAtomically(POSIX.join(dir, "index" + fmt.fileExtension), data, syncDirectory: false)
        let otherIndex = POSIX.join(dir, "index" + (fmt == .jsonGzip ? ".json" : ".json.gz"))
        if POSIX.exists(otherIndex) { try POSIX.remove(otherIndex) }
        try POSIX.syncDirectory(dir)
        phases.add("index", since: indexStart)
        componentSequence["conversations"] = sequence
        dirtyConversations = []
        allConversationsDirty = false
        return (bytes + data.count, targets.count + 1)
    }

    static func conversationId(fileName name: String) -> String? {
        guard name.hasPrefix("c-") else { return nil }
        if name.hasSuffix(".json.gz") { return String(name.dropFirst(2).dropLast(8)) }
        if name.hasSuffix(".json") { return String(name.dropFirst(2).dropLast(5)) }
        return nil
    }

    /// An auto-save: a full save if anything changed since the last one, else nil.
    public func autoSave(from source: any RecordSource) throws(DomainError) -> SaveReport? {
        guard nextSequence - 1 > lastSavedSequence else { return nil }
        return try save(from: source, components: nil)
    }

    // MARK: reload

    public func reload(components: [String]?) throws(DomainError) -> [Change] {
        let comps = try StoreComponents.validate(components)
        let st = try readState(components: comps, cutTornTail: false)
        // The caller replaces the engine's state with everything read, messages included.
        if comps.contains("conversations") { stateLock.withLock { lazyPending = [] } }
        return st.changes
    }

    // MARK: settings

    public func setFormat(_ format: SnapshotFormat) throws(DomainError) {
        try commitAndWait([.put(.setting(key: Self.settingFormat, value: .string(format.rawValue)))])
        let changed = stateLock.withLock { () -> Bool in
            defer { currentFormat = format }
            return currentFormat != format
        }
        // The next save writes every conversation file in the new format.
        if changed { allConversationsDirty = true }
    }

    public func enableAutoSave(intervalSeconds: Double) throws(DomainError) {
        guard intervalSeconds >= 1, intervalSeconds <= 7 * 86400 else {
            throw .invalidArgument(field: "intervalSeconds", expected: "a number of seconds from 1 to 604800")
        }
        try commitAndWait([.put(.setting(key: Self.settingAutoSave, value: ["enabled": true, "intervalSeconds": .double(intervalSeconds)]))])
        stateLock.withLock { autoSaveInterval = intervalSeconds }
        rescheduleTimer()
    }

    public func disableAutoSave() throws(DomainError) {
        try commitAndWait([.put(.setting(key: Self.settingAutoSave, value: ["enabled": false, "intervalSeconds": .double(autoSaveIntervalValue)]))])
        stateLock.withLock { autoSaveInterval = nil }
        rescheduleTimer()
    }

    private var autoSaveIntervalValue: Double { stateLock.withLock { autoSaveInterval ?? options.autoSaveIntervalSeconds ?? 300 } }

    private func rescheduleTimer() {
        stateLock.withLock {
            autoSaveTimer?.cancel()
            autoSaveTimer = nil
            guard let interval = autoSaveInterval, autoSaveHandlerStorage != nil else { return }
            let t = DispatchSource.makeTimerSource(queue: timerQueue)
            let ns = Int(interval * 1e9)
            t.schedule(deadline: .now() + .nanoseconds(ns), repeating: .nanoseconds(ns), leeway: .milliseconds(100))
            t.setEventHandler { [weak self] in self?.autoSaveHandler?() }
            t.resume()
            autoSaveTimer = t
        }
    }

    // MARK: helpers

    /// `YYYYMMDD-HHMMSS` (UTC) for file names.
    static func fileTime(_ t: Timestamp) -> String {
        let iso = t.iso8601  // 2026-11-22T10:04:05.123Z
        let u = Array(iso)
        return String(u[0..<4]) + String(u[5..<7]) + String(u[8..<10]) + "-" + String(u[11..<13]) + String(u[14..<16]) + String(u[17..<19])
    }
}

/// The records of the conversations component by conversation, in first-seen order.
/// The engine hands them over already grouped (each header followed by its messages), so
/// this finds runs of one conversation instead of hashing every record's id.
struct ConversationGroups: Sendable {
    let all: [Record]
    private(set) var ids: [String] = []
    private var runs: [[Range<Int>]] = []
    private var slot: [String: Int] = [:]

    init(_ records: [Record]) {
        all = records
        var runId: String?
        var runStart = 0
        for i in records.indices {
            let id = ConversationGroups.conversationId(records[i])
            if id == runId { continue }
            if let r = runId { add(r, runStart..<i) }
            runId = id
            runStart = i
        }
        if let r = runId { add(r, runStart..<records.count) }
    }

    /// `RecordCoding.conversationId(of: r.key)` without building the key.
    @inline(__always) static func conversationId(_ r: Record) -> String? {
        switch r {
        case .conversation(let c): c.id
        case .message(let m): m.conversationId
        default: nil
        }
    }

    private mutating func add(_ id: String, _ range: Range<Int>) {
        if let s = slot[id] {
            runs[s].append(range)
        } else {
            slot[id] = ids.count
            ids.append(id)
            runs.append([range])
        }
    }

    /// The conversation's records in source order.
    func records(of id: String) -> ArraySlice<Record> {
        guard let s = slot[id] else { return [] }
        if runs[s].count == 1 { return all[runs[s][0]] }
        var out: [Record] = []
        for r in runs[s] { out.append(contentsOf: all[r]) }
        return out[...]
    }

    /// The conversation's (first) header record.
    func header(of id: String) -> Record? {
        guard let s = slot[id] else { return nil }
        for r in runs[s] {
            if let h = all[r].first(where: { $0.kind == .conversation }) { return h }
        }
        return nil
    }
}

/// Encoding buffers handed from one file to the next (a few, one per worker).
final class BufferPool: @unchecked Sendable {
    // @unchecked: guarded by the lock.
    private let lock = PThreadLock()
    private var free: [[UInt8]] = []
    func take() -> [UInt8] { lock.withLock { free.popLast() } ?? [] }
    func give(_ b: [UInt8]) {
        lock.lock()
        defer { lock.unlock() }
        if free.count < 4 { free.append(b) }
    }
}

final class ErrorBox: @unchecked Sendable {
    // @unchecked: written once before a semaphore signal, read after the wait.
    var error: DomainError?
}

final class SnapshotResults: @unchecked Sendable {
    // @unchecked: slots guarded by the lock.
    private let lock = PThreadLock()
    private var slots: [Result<(SnapshotFile?, FileBackend.LoadedState), DomainError>?]
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ r: Result<(SnapshotFile?, FileBackend.LoadedState), DomainError>) { lock.withLock { slots[i] = r } }
    func get(_ i: Int) -> Result<(SnapshotFile?, FileBackend.LoadedState), DomainError>? { lock.withLock { slots[i] } }
}

final class ByteCounts: @unchecked Sendable {
    // @unchecked: slots guarded by the lock.
    private let lock = PThreadLock()
    private var slots: [Result<Int, DomainError>?]
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ r: Result<Int, DomainError>) { lock.withLock { slots[i] = r } }
    func get(_ i: Int) -> Result<Int, DomainError>? { lock.withLock { slots[i] } }
}
