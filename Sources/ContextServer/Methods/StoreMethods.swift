#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ContextCore
import ContextStore
import JSONCore
import JSONRPC

// MARK: params and results (PROTOCOL §9, §12 Store)

struct StoreComponentsParams: Decodable, Sendable {
    let components: [String]?
}

struct StoreSetFormatParams: Decodable, Sendable {
    let format: SnapshotFormat
}

struct StorePathParams: Decodable, Sendable {
    let path: String
}

struct StoreBackupParams: Decodable, Sendable {
    let path: String?
}

struct StoreAutoSaveParams: Decodable, Sendable {
    let intervalSeconds: Double
}

struct StoreLoadResult: Encodable, Sendable {
    let components: [String]
    let records: Int
}

struct StoreFormatResult: Encodable, Sendable {
    let format: SnapshotFormat
}

struct StoreDetectResult: Encodable, Sendable {
    let path: String
    let format: SnapshotFormat
    let bytes: Int
    let schemaVersion: Int?
    let component: String?
}

struct StoreBackupsResult: Encodable, Sendable {
    let backups: [BackupInfo]
}

extension MethodTable {
    /// `store/*`: status for every backend; snapshots, formats, auto-save and backups for
    /// backends that have them (the file backend). Others answer 1006.
    mutating func registerStoreMethods() {
        register("store/status", NoParams.self) { _, ctx in ctx.backend.status() }

        register("store/save", StoreComponentsParams.self) { p, ctx in
            let store = try ctx.snapshottingStore("store/save")
            // A lazy start-up's pending messages first: the snapshot must hold them.
            try ctx.engine.conversations.ensureAllLoaded()
            let report = try store.save(from: ctx.engine, components: p.components)
            ctx.emitStoreEvent("store/didSave", ctx.server.storeSaveEvent(report))
            return report
        }

        register("store/load", StoreComponentsParams.self) { p, ctx in
            let store = try ctx.snapshottingStore("store/load")
            let components = try StoreComponents.validate(p.components)
            let changes = try store.reload(components: components)
            try ctx.replaceState(components: components, with: changes)
            ctx.emitStoreEvent("store/didLoad", ["components": .array(components.map { .string($0) })])
            return StoreLoadResult(components: components, records: changes.count)
        }

        register("store/setFormat", StoreSetFormatParams.self) { p, ctx in
            try ctx.snapshottingStore("store/setFormat").setFormat(p.format)
            return StoreFormatResult(format: p.format)
        }

        register("store/detectFormat", StorePathParams.self) { p, ctx in
            let path = try ctx.confinedPath(p.path, field: "path")
            return try detectFormat(path: path)
        }

        register("store/enableAutoSave", StoreAutoSaveParams.self) { p, ctx in
            try ctx.snapshottingStore("store/enableAutoSave").enableAutoSave(intervalSeconds: p.intervalSeconds)
            return ctx.backend.status().autoSave
        }

        register("store/disableAutoSave", NoParams.self) { _, ctx in
            try ctx.snapshottingStore("store/disableAutoSave").disableAutoSave()
            return ctx.backend.status().autoSave
        }

        register("store/backup", StoreBackupParams.self) { p, ctx in
            let store = try ctx.snapshottingStore("store/backup")
            try ctx.engine.conversations.ensureAllLoaded()
            let parent = try p.path.map { path throws(DomainError) in try ctx.confinedPath(path, field: "path") }
            let progress = ctx.progress()
            progress.begin("backing up the store")
            defer { progress.end() }
            let report = try store.backup(from: ctx.engine, to: parent, progress: { m, pct in progress.report(m, percentage: pct) })
            return report
        }

        register("store/listBackups", NoParams.self) { _, ctx in
            StoreBackupsResult(backups: try ctx.snapshottingStore("store/listBackups").listBackups())
        }

        register("store/restore", StorePathParams.self) { p, ctx in
            let store = try ctx.snapshottingStore("store/restore")
            // The state being replaced is backed up first: it must be complete.
            try ctx.engine.conversations.ensureAllLoaded()
            // A bare backup name refers to the data directory's backups/ folder.
            let path: String
            if !p.path.contains("/"), let dir = ctx.config.dataDirectory {
                guard IDRules.isValid(p.path), p.path != ".", p.path != ".." else {
                    throw DomainError.invalidArgument(field: "path", expected: "a backup directory path or a backup name such as backup-20261122-100405")
                }
                path = dir + "/backups/" + p.path
            } else {
                path = try ctx.confinedPath(p.path, field: "path")
            }
            let progress = ctx.progress()
            progress.begin("restoring \(p.path)")
            defer { progress.end() }
            let report = try store.restore(from: path, source: ctx.engine, progress: { m, pct in progress.report(m, percentage: pct) })
            try ctx.replaceState(components: StoreComponents.all, with: report.changes)
            ctx.emitStoreEvent("store/didLoad", ["components": .array(StoreComponents.all.map { .string($0) }), "restoredFrom": .string(report.restored)])
            return report
        }
    }
}

/// `store/detectFormat`: the format of a snapshot file, by content.
func detectFormat(path: String) throws(DomainError) -> StoreDetectResult {
    guard POSIX_isRegularFile(path) else { throw .notFound(kind: "file", id: path) }
    let bytes: [UInt8]
    do { bytes = try readWholeFile(path) } catch { throw error }
    guard let format = SnapshotFormat.detect(bytes) else {
        throw .storage(path: path, reason: "not a contextd snapshot (neither JSON nor gzip)")
    }
    // Read the header when the file loads; the format is reported either way.
    let file = try? SnapshotFile.decode(bytes, path: path)
    return StoreDetectResult(
        path: path, format: format, bytes: bytes.count,
        schemaVersion: file != nil ? SnapshotFile.currentSchemaVersion : nil, component: file?.0.component)
}

extension RequestContext {
    /// The backend's snapshot features, or 1006 naming the store kind.
    func snapshottingStore(_ method: String) throws(DomainError) -> any SnapshottingBackend {
        guard let s = backend as? any SnapshottingBackend else {
            throw .storage(path: nil, reason: "\(method) is not available with the \(backend.kind) store")
        }
        return s
    }

    /// Replaces the engine's state of `components` by `changes` (what the store re-read):
    /// deletes every record the components hold, then replays, with effects suspended.
    func replaceState(components: [String], with changes: [Change]) throws(DomainError) {
        // A fresh full read replaces the conversations: messages still on disk are in it.
        if components.contains("conversations") { engine.conversations.discardPending() }
        var deletions: [Change] = []
        for c in components {
            for r in engine.allRecords(component: c) { deletions.append(.delete(r.key)) }
        }
        try engine.restore(deletions + changes)
    }

    /// A path that must lie under an allowed root (PROTOCOL §8/§9): resolved with
    /// `realpath` (its nearest existing ancestor when it does not exist yet), so `..` and
    /// symlinks cannot leave the roots.
    func confinedPath(_ path: String, field: String) throws(DomainError) -> String {
        guard !path.isEmpty, !path.utf8.contains(0) else { throw .invalidArgument(field: field, expected: "a file path") }
        var absolute = path
        if !absolute.hasPrefix("/") {
            absolute = (config.workspaceRoot ?? config.dataDirectory ?? currentDirectory()) + "/" + path
        }
        return try PathConfinement(roots: config.allowedRoots, workspaceRoot: config.workspaceRoot)
            .possiblyMissing(absolute, reportedAs: path)
    }
}

extension Server {
    /// `store/didSave {at, components, bytes}`.
    func storeSaveEvent(_ r: SaveReport) -> JSONValue {
        ["at": .string(r.at.iso8601), "components": .array(r.components.map { .string($0) }), "bytes": .int(r.bytes)]
    }
}

private func currentDirectory() -> String {
    var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    guard getcwd(&buf, buf.count) != nil else { return "/" }
    return String(cString: buf)
}

private func POSIX_isRegularFile(_ path: String) -> Bool {
    var st = stat()
    return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
}

private func readWholeFile(_ path: String) throws(DomainError) -> [UInt8] {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    if fd < 0 { throw .storage(path: path, reason: "cannot open: \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            throw .storage(path: path, reason: "cannot read: \(String(cString: strerror(errno)))")
        }
        if n == 0 { break }
        out.append(contentsOf: chunk[0..<n])
    }
    return out
}
