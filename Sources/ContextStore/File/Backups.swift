#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ContextCore
import JSONCore

/// Backups: `backups/backup-YYYYMMDD-HHMMSS/` holding the snapshot files and a
/// `manifest.json` with the size and SHA-256 of each; restore verifies everything into a
/// staging directory before it touches live data.
extension FileBackend {
    /// The snapshot files of the data directory, relative names (`sessions.json`,
    /// `conversations/c-x.json.gz`, …).
    func liveSnapshotFiles() -> [String] {
        var out: [String] = []
        for name in POSIX.list(directory) where Self.isTopLevelSnapshotName(name) { out.append(name) }
        for name in POSIX.list(conversationsDirectory) where Self.isConversationFileName(name) { out.append("conversations/" + name) }
        return out
    }

    static func isTopLevelSnapshotName(_ name: String) -> Bool {
        StoreComponents.all.contains { $0 != "conversations" && (name == $0 + ".json" || name == $0 + ".json.gz") }
    }

    static func isConversationFileName(_ name: String) -> Bool {
        guard name.hasSuffix(".json") || name.hasSuffix(".json.gz") else { return false }
        if name == "index.json" || name == "index.json.gz" { return true }
        guard let id = conversationId(fileName: name) else { return false }
        return IDRules.isValid(id)
    }

    /// A manifest entry name is a snapshot file name: nothing else may be restored.
    static func isValidEntryName(_ name: String) -> Bool {
        if isTopLevelSnapshotName(name) { return true }
        if name.hasPrefix("conversations/") { return isConversationFileName(String(name.dropFirst("conversations/".count))) }
        return false
    }

    public func backup(from source: any RecordSource, to parent: String?, progress: StoreProgress?) throws(DomainError) -> BackupReport {
        if stateLock.withLock({ !lazyPending.isEmpty }) {
            // The snapshot would miss messages the engine has not loaded yet.
            throw .storage(path: directory, reason: "conversations are still being loaded; try again when start-up has finished")
        }
        progress?("saving a snapshot", 0)
        _ = try save(from: source, components: nil)
        let files = liveSnapshotFiles()
        let parentDir = parent ?? path("backups")
        try POSIX.makeDirectory(parentDir)
        let stamp = Self.fileTime(POSIX.now())
        var name = "backup-" + stamp
        var n = 1
        while POSIX.exists(POSIX.join(parentDir, name)) {
            n += 1
            name = "backup-\(stamp)-\(n)"
        }
        let final = POSIX.join(parentDir, name)
        let tmp = POSIX.join(parentDir, ".\(name).partial")
        POSIX.removeTree(tmp)
        try POSIX.makeDirectory(tmp)
        var entries: [JSONValue] = []
        var total = 0
        do throws(DomainError) {
            if files.contains(where: { $0.hasPrefix("conversations/") }) { try POSIX.makeDirectory(POSIX.join(tmp, "conversations")) }
            for (i, f) in files.enumerated() {
                let data = try POSIX.readFile(path(f))
                try POSIX.writeFileAtomically(POSIX.join(tmp, f), data, syncDirectory: false)
                entries.append(["name": .string(f), "bytes": .int(data.count), "sha256": .string(SHA256.hex(data))])
                total += data.count
                if files.count > 0 && (i % 64 == 0 || i == files.count - 1) {
                    progress?("copied \(i + 1) of \(files.count) files", 5 + 90 * (i + 1) / files.count)
                }
            }
            let manifest: JSONValue = [
                "schemaVersion": .int(SnapshotFile.currentSchemaVersion),
                "kind": "contextd-backup",
                "createdAt": .string(POSIX.now().iso8601),
                "source": .string(directory),
                "format": .string(format.rawValue),
                "files": .array(entries),
            ]
            if POSIX.isDirectory(POSIX.join(tmp, "conversations")) { try POSIX.syncDirectory(POSIX.join(tmp, "conversations")) }
            try POSIX.writeFileAtomically(POSIX.join(tmp, "manifest.json"), JSONWriter.encode(manifest, options: [.pretty]))
            try POSIX.move(tmp, final)
            try POSIX.syncDirectory(parentDir)
        } catch {
            POSIX.removeTree(tmp)
            throw error
        }
        progress?("backup written to \(final)", 100)
        return BackupReport(path: final, bytes: total, files: files.count)
    }

    public func listBackups() -> [BackupInfo] {
        let dir = path("backups")
        var out: [BackupInfo] = []
        for name in POSIX.list(dir) where name.hasPrefix("backup-") {
            let p = POSIX.join(dir, name)
            guard let m = try? Self.readManifest(p) else { continue }
            out.append(BackupInfo(path: p, createdAt: m.createdAt, bytes: m.entries.reduce(0) { $0 + $1.bytes }))
        }
        return out.sorted { ($0.createdAt, $0.path) < ($1.createdAt, $1.path) }
    }

    struct Manifest {
        struct Entry {
            var name: String
            var bytes: Int
            var sha256: String
        }
        var createdAt: Timestamp
        var entries: [Entry]
    }

    static func readManifest(_ dir: String) throws(DomainError) -> Manifest {
        let p = POSIX.join(dir, "manifest.json")
        guard POSIX.exists(p) else { throw .storage(path: dir, reason: "not a contextd backup (no manifest.json)") }
        let v: JSONValue
        do { v = try JSONParser.parse(try POSIX.readFile(p)) } catch let e as JSONParseError {
            throw .storage(path: p, reason: "the manifest is not valid JSON (\(e.description)); the backup is damaged")
        } catch { throw .storage(path: p, reason: "\(error)") }
        guard v["kind"]?.stringValue == "contextd-backup", let version = v["schemaVersion"]?.intValue else {
            throw .storage(path: p, reason: "not a contextd backup manifest")
        }
        if version > SnapshotFile.currentSchemaVersion {
            throw .storage(path: p, reason: "written by a newer contextd (schemaVersion \(version)); upgrade contextd")
        }
        guard let created = v["createdAt"]?.stringValue.flatMap({ Timestamp(iso8601: $0) }), let files = v["files"]?.arrayValue else {
            throw .storage(path: p, reason: "the manifest lacks 'createdAt' or 'files'")
        }
        var entries: [Manifest.Entry] = []
        for f in files {
            guard let name = f["name"]?.stringValue, let bytes = f["bytes"]?.intValue, let sha = f["sha256"]?.stringValue, sha.utf8.count == 64 else {
                throw .storage(path: p, reason: "a manifest entry lacks name, bytes or sha256")
            }
            guard isValidEntryName(name) else { throw .storage(path: p, reason: "the manifest names '\(name)', which is not a snapshot file") }
            entries.append(.init(name: name, bytes: bytes, sha256: sha))
        }
        return Manifest(createdAt: created, entries: entries)
    }

    public func restore(from backupPath: String, source: any RecordSource, progress: StoreProgress?) throws(DomainError) -> RestoreReport {
        var dir = backupPath
        if !dir.contains("/"), POSIX.isDirectory(path("backups/" + dir)) { dir = path("backups/" + dir) }
        guard POSIX.isDirectory(dir) else { throw .notFound(kind: "backup", id: backupPath) }
        progress?("verifying \(dir)", 0)
        let manifest = try Self.readManifest(dir)
        // 1. Verify every file into a staging directory inside the data directory.
        let stagingName = ".restore-staging-\(Self.fileTime(POSIX.now()))-\(getpid())"
        let staging = path(stagingName)
        POSIX.removeTree(staging)
        try POSIX.makeDirectory(staging)
        var total = 0
        do throws(DomainError) {
            try POSIX.makeDirectory(POSIX.join(staging, "conversations"))
            for (i, e) in manifest.entries.enumerated() {
                let src = POSIX.join(dir, e.name)
                guard POSIX.exists(src) else { throw .storage(path: src, reason: "listed in the manifest but missing; the backup is incomplete — nothing was restored") }
                let data = try POSIX.readFile(src)
                guard data.count == e.bytes, SHA256.hex(data) == e.sha256 else {
                    throw .storage(path: src, reason: "checksum mismatch (the backup was damaged or modified) — nothing was restored, live data is untouched")
                }
                // The content must load, too.
                _ = try SnapshotFile.decode(data, path: src, migrations: options.migrations)
                try POSIX.writeFileAtomically(POSIX.join(staging, e.name), data, syncDirectory: false)
                total += data.count
                if i % 64 == 0 || i == manifest.entries.count - 1 {
                    progress?("verified \(i + 1) of \(manifest.entries.count) files", 40 * (i + 1) / max(manifest.entries.count, 1))
                }
            }
            try POSIX.syncDirectory(POSIX.join(staging, "conversations"))
            try POSIX.syncDirectory(staging)
        } catch {
            POSIX.removeTree(staging)
            throw error
        }
        // 2. Keep a backup of the state being replaced.
        progress?("backing up the current state", 45)
        let previous: BackupReport
        do { previous = try backup(from: source, to: nil, progress: nil) } catch {
            POSIX.removeTree(staging)
            throw error
        }
        // 3. Swap: a marker makes the swap complete at next start if we crash midway.
        progress?("swapping in the restored files", 80)
        let marker: JSONValue = ["staging": .string(stagingName), "files": .array(manifest.entries.map { .string($0.name) })]
        try POSIX.writeFileAtomically(path(Self.restoreMarker), JSONWriter.encode(marker))
        try finishInterruptedRestore()
        // 4. Read the restored state.
        let st = try readState(components: StoreComponents.all, cutTornTail: true)
        applyLoaded(st)
        stateLock.withLock { lazyPending = [] }
        dirtyConversations = []
        allConversationsDirty = false
        progress?("restored \(dir)", 100)
        var report = RestoreReport(
            restored: dir, previous: previous.path, files: manifest.entries.count, bytes: total,
            records: st.snapshotRecords + st.journalRecords)
        report.changes = st.changes
        return report
    }

    /// Completes a restore whose swap was interrupted (idempotent): removes live snapshot
    /// files not in the restored set, moves the staged files into place, empties the
    /// journal, then removes the marker and the staging directory.
    func finishInterruptedRestore() throws(DomainError) {
        let markerPath = path(Self.restoreMarker)
        guard POSIX.exists(markerPath) else { return }
        let v: JSONValue
        do { v = try JSONParser.parse(try POSIX.readFile(markerPath)) } catch {
            throw .storage(path: markerPath, reason: "unreadable restore marker; run `contextd doctor`")
        }
        guard let stagingName = v["staging"]?.stringValue, !stagingName.contains("/"), let files = v["files"]?.arrayValue?.compactMap(\.stringValue) else {
            throw .storage(path: markerPath, reason: "invalid restore marker; run `contextd doctor`")
        }
        let staging = path(stagingName)
        let restored = Set(files.filter(Self.isValidEntryName))
        for f in liveSnapshotFiles() where !restored.contains(f) { try POSIX.remove(path(f)) }
        try POSIX.makeDirectory(conversationsDirectory)
        for f in restored {
            let from = POSIX.join(staging, f)
            if POSIX.exists(from) { try POSIX.move(from, path(f)) } else if !POSIX.exists(path(f)) {
                throw .storage(path: from, reason: "a staged file of an interrupted restore is missing; restore the backup again")
            }
        }
        try POSIX.syncDirectory(conversationsDirectory)
        try POSIX.syncDirectory(directory)
        // The restored snapshots are the whole state: no journal record applies to them.
        if let j = journalIfOpen { try j.compact(keepingAfter: .max) } else { try POSIX.writeFileAtomically(journalPath, Journal.header) }
        try POSIX.remove(markerPath)
        try POSIX.syncDirectory(directory)
        POSIX.removeTree(staging)
        warnings.append("completed a restore from \(stagingName)")
    }
}
