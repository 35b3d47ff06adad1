#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ContextCore
import Dispatch
import Synchronization

/// Thin, throwing wrappers over the C library's file calls. Every failure becomes
/// `DomainError.storage` naming the path and the system's reason.
enum POSIX {
    static func errorText(_ code: Int32 = errno) -> String { String(cString: strerror(code)) }

    static func fail(_ path: String, _ what: String, _ code: Int32 = errno) -> DomainError {
        .storage(path: path, reason: "\(what): \(errorText(code))")
    }

    static func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    static func fileSize(_ path: String) -> Int? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return Int(st.st_size)
    }

    static func mode(_ path: String) -> Int? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return Int(st.st_mode & 0o7777)
    }

    /// Creates `path` (and missing parents) with mode 0700 for the last component.
    static func makeDirectory(_ path: String, mode: mode_t = 0o700) throws(DomainError) {
        if isDirectory(path) { return }
        let parent = dirname(path)
        if parent != path, !parent.isEmpty, !isDirectory(parent) {
            try makeDirectory(parent, mode: 0o755)
        }
        if mkdir(path, mode) != 0 && errno != EEXIST { throw fail(path, "cannot create directory") }
        _ = chmod(path, mode)
    }

    static func dirname(_ path: String) -> String {
        guard let i = path.lastIndex(of: "/") else { return "." }
        if i == path.startIndex { return "/" }
        return String(path[..<i])
    }

    static func basename(_ path: String) -> String {
        guard let i = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: i)...])
    }

    static func join(_ a: String, _ b: String) -> String { a.hasSuffix("/") ? a + b : a + "/" + b }

    /// Names in a directory (no `.`/`..`), sorted; empty when it does not exist.
    static func list(_ path: String) -> [String] {
        guard let d = opendir(path) else { return [] }
        defer { closedir(d) }
        var names: [String] = []
        while let e = readdir(d) {
            let name = withUnsafePointer(to: e.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: Int(NAME_MAX) + 1) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    static func readFile(_ path: String) throws(DomainError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw fail(path, "cannot open") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw fail(path, "cannot stat") }
        var out = [UInt8](repeating: 0, count: Int(st.st_size))
        var done = 0
        while done < out.count {
            let n = out.withUnsafeMutableBytes { read(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 {
                if errno == EINTR { continue }
                throw fail(path, "cannot read")
            }
            if n == 0 { break }
            done += n
        }
        if done < out.count { out.removeLast(out.count - done) }
        // A file that grew while reading: read the rest.
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            out.append(contentsOf: chunk[0..<n])
        }
        return out
    }

    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws(DomainError) {
        var done = 0
        while done < bytes.count {
            let n = write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw fail(path, "write failed")
            }
            done += n
        }
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws(DomainError) {
        try storageTyped { try bytes.withUnsafeBytes { b in try writeAll(fd, b, path: path) } }
    }

    static func syncData(_ fd: Int32) -> Int32 {
        #if canImport(Darwin)
        return fcntl(fd, F_FULLFSYNC) == 0 ? 0 : fsync(fd)
        #else
        return fdatasync(fd)
        #endif
    }

    static func syncDirectory(_ path: String) throws(DomainError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw fail(path, "cannot open directory") }
        defer { close(fd) }
        if fsync(fd) != 0 && errno != EINVAL { throw fail(path, "cannot fsync directory") }
    }

    private static let tempCounter = Atomic<Int>(0)

    /// Writes `bytes` to `path` atomically: a unique temp file in the same directory,
    /// fsync, rename over `path`, fsync the directory. Mode 0600.
    static func writeFileAtomically(_ path: String, _ bytes: [UInt8], syncDirectory sync: Bool = true) throws(DomainError) {
        let dir = dirname(path)
        let tmp = join(dir, ".\(basename(path)).tmp-\(getpid())-\(tempCounter.add(1, ordering: .relaxed).newValue)")
        if FaultInjection.active(.create) { throw fail(tmp, "cannot create", EROFS) }
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if fd < 0 { throw fail(tmp, "cannot create") }
        do throws(DomainError) {
            _ = fchmod(fd, 0o600)
            try writeAll(fd, bytes, path: tmp)
            if fsync(fd) != 0 { throw fail(tmp, "fsync failed") }
        } catch {
            close(fd)
            unlink(tmp)
            throw error
        }
        close(fd)
        if rename(tmp, path) != 0 {
            let e = errno
            unlink(tmp)
            throw fail(path, "cannot rename into place", e)
        }
        if sync { try syncDirectory(dir) }
    }

    #if os(Linux)
    private typealias SyncFileRange = @convention(c) (Int32, Int64, Int64, UInt32) -> Int32
    /// sync_file_range(2), looked up once (not in Glibc's Swift overlay: _GNU_SOURCE).
    nonisolated(unsafe) private static let syncFileRange: SyncFileRange? = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "sync_file_range").map {
        unsafeBitCast($0, to: SyncFileRange.self)
    }
    #endif

    /// Starts writing `fd`'s dirty pages to the disk without waiting (Linux
    /// `sync_file_range(SYNC_FILE_RANGE_WRITE)`), so a later fsync finds them written or
    /// in flight. Only a hint: durability still comes from the fsync. Elsewhere a no-op.
    static func startWriteback(_ fd: Int32) {
        #if os(Linux)
        _ = syncFileRange?(fd, 0, 0, 2)  // SYNC_FILE_RANGE_WRITE
        #endif
    }

    static func remove(_ path: String) throws(DomainError) {
        if unlink(path) != 0 && errno != ENOENT { throw fail(path, "cannot remove") }
    }

    static func move(_ from: String, _ to: String) throws(DomainError) {
        if rename(from, to) != 0 { throw fail(from, "cannot move to \(to)") }
    }

    /// Removes a directory tree (used for staging directories only).
    static func removeTree(_ path: String) {
        for name in list(path) {
            let p = join(path, name)
            if isDirectory(p) && !isSymlink(p) { removeTree(p) } else { unlink(p) }
        }
        rmdir(path)
    }

    static func isSymlink(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFLNK
    }

    static func now() -> Timestamp { SystemClock().now() }
}

/// A pthread mutex as a class (usable from Swift 6 on Linux and macOS without
/// Foundation's NSLock semantics).
final class PThreadLock: @unchecked Sendable {
    // @unchecked: the mutex itself is the synchronisation.
    private let m: UnsafeMutablePointer<pthread_mutex_t>
    init() {
        m = .allocate(capacity: 1)
        pthread_mutex_init(m, nil)
    }
    deinit {
        pthread_mutex_destroy(m)
        m.deallocate()
    }
    func lock() { pthread_mutex_lock(m) }
    func unlock() { pthread_mutex_unlock(m) }
    func withLock<T>(_ body: () throws -> T) rethrows -> T {
        lock()
        defer { unlock() }
        return try body()
    }
}

/// A condition variable paired with a `PThreadLock`-like mutex.
final class PThreadCondition: @unchecked Sendable {
    // @unchecked: the mutex and condition are the synchronisation.
    let mutex: UnsafeMutablePointer<pthread_mutex_t>
    let cond: UnsafeMutablePointer<pthread_cond_t>
    init() {
        mutex = .allocate(capacity: 1)
        cond = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(cond, nil)
    }
    deinit {
        pthread_cond_destroy(cond)
        pthread_mutex_destroy(mutex)
        cond.deallocate()
        mutex.deallocate()
    }
    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }
    func wait() { pthread_cond_wait(cond, mutex) }
    func broadcast() { pthread_cond_broadcast(cond) }
}

/// Runs an untyped-throwing closure (e.g. inside `withUnsafeBytes`) and narrows what it
/// throws to `DomainError`.
func storageTyped<T>(_ body: () throws -> T) throws(DomainError) -> T {
    do { return try body() } catch let e as DomainError { throw e } catch { throw .storage(path: nil, reason: "\(error)") }
}

/// Many atomic file writes: every file is written to a unique temp name (mode 0600), its
/// writeback started at once and its fsync issued from background threads while the
/// batch is still being written (several in flight, so the disk always has work queued
/// and the syncs overlap the encoding of the next files); `commit` waits for every fsync,
/// then renames each temp file over its target, then syncs each directory. A crash at any
/// point leaves every target either old or new, never torn.
final class AtomicWriteBatch: @unchecked Sendable {
    // @unchecked: `pending` and `failure` are guarded by `lock`; `add` may be called from
    // parallel workers; the sync lanes are serial queues.
    private let lock = PThreadLock()
    private var pending: [(tmp: String, target: String, fd: Int32)] = []
    private var failure: DomainError?
    private static let counter = Atomic<Int>(0)
    private let phases: SavePhases?
    /// Serial queues the fsyncs are spread over (a few in flight at once).
    private let lanes: [DispatchQueue]
    private let laneCounter = Atomic<Int>(0)
    private let inFlight = DispatchGroup()
    /// Files written but not yet synced and closed: bounds open descriptors (and dirty
    /// pages) when the disk is slower than the encoding.
    private let openFiles = DispatchSemaphore(value: 256)

    init(phases: SavePhases? = nil, lanes: Int = 4) {
        self.phases = phases
        self.lanes = (0..<max(1, lanes)).map { DispatchQueue(label: "contextd.store.sync.\($0)") }
    }

    /// Writes `bytes` to a temp file next to `target`, starts its writeback and queues
    /// its fsync.
    func add(_ target: String, _ bytes: [UInt8]) throws(DomainError) {
        openFiles.wait()
        var t0 = SavePhases.nanos()
        let dir = POSIX.dirname(target)
        let tmp = POSIX.join(dir, ".\(POSIX.basename(target)).tmp-\(getpid())-b\(Self.counter.add(1, ordering: .relaxed).newValue)")
        let injected = FaultInjection.active(.create)
        let fd: Int32 = injected ? -1 : open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if fd < 0 {
            let e = injected ? EROFS : errno
            openFiles.signal()
            throw POSIX.fail(tmp, "cannot create", e)
        }
        t0 = phases?.add("create", since: t0) ?? t0
        do throws(DomainError) {
            _ = fchmod(fd, 0o600)
            try POSIX.writeAll(fd, bytes, path: tmp)
            POSIX.startWriteback(fd)
        } catch {
            close(fd)
            unlink(tmp)
            openFiles.signal()
            throw error
        }
        phases?.add("write", since: t0)
        let index = lock.withLock { () -> Int in
            pending.append((tmp, target, fd))
            return pending.count - 1
        }
        let lane = lanes[laneCounter.add(1, ordering: .relaxed).newValue % lanes.count]
        lane.async(group: inFlight) { [self] in
            let t = SavePhases.nanos()
            let ok = fsync(fd) == 0
            let e = errno
            phases?.add("sync", since: t)
            lock.withLock {
                if !ok, failure == nil { failure = POSIX.fail(tmp, "fsync failed", e) }
                close(fd)
                pending[index].fd = -1
            }
            openFiles.signal()
        }
    }

    /// Waits for every fsync, renames into place and syncs the directories.
    func commit() throws(DomainError) {
        var t = SavePhases.nanos()
        inFlight.wait()
        let (items, failed) = lock.withLock { () -> ([(tmp: String, target: String, fd: Int32)], DomainError?) in
            defer { pending = [] }
            return (pending, failure)
        }
        guard !items.isEmpty else { return }
        do throws(DomainError) {
            if let failed { throw failed }
            t = phases?.add("syncWait", since: t) ?? t
            defer { phases?.add("rename", since: t) }
            var dirs: [String] = []
            for i in items {
                if rename(i.tmp, i.target) != 0 { throw POSIX.fail(i.target, "cannot rename into place") }
                let d = POSIX.dirname(i.target)
                if !dirs.contains(d) { dirs.append(d) }
            }
            for d in dirs { try POSIX.syncDirectory(d) }
        } catch {
            for i in items { unlink(i.tmp) }
            throw error
        }
    }

    /// Drops every temp file (after a failure).
    func abandon() {
        inFlight.wait()
        let items = lock.withLock { () -> [(tmp: String, target: String, fd: Int32)] in
            defer { pending = [] }
            return pending
        }
        for i in items { unlink(i.tmp) }
    }
}
