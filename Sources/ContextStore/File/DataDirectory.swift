#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ContextCore

/// Where the file backend keeps its data (PROTOCOL §9).
public enum DataDirectory {
    /// `--data-dir`, else `$CONTEXTD_DATA_DIR`, else `$XDG_DATA_HOME/contextd`, else
    /// `~/.local/share/contextd` (`$HOME`, else the password database's home). Empty
    /// values count as unset; a leading `~/` is expanded.
    public static func resolve(explicit: String?, environment: [String: String]) -> String {
        func nonEmpty(_ s: String?) -> String? { s.flatMap { $0.isEmpty ? nil : $0 } }
        let home = nonEmpty(environment["HOME"]) ?? passwdHome() ?? "/tmp"
        func expand(_ p: String) -> String {
            if p == "~" { return home }
            if p.hasPrefix("~/") { return POSIX.join(home, String(p.dropFirst(2))) }
            return p
        }
        if let e = nonEmpty(explicit) { return expand(e) }
        if let e = nonEmpty(environment["CONTEXTD_DATA_DIR"]) { return expand(e) }
        if let x = nonEmpty(environment["XDG_DATA_HOME"]) { return POSIX.join(expand(x), "contextd") }
        return POSIX.join(home, ".local/share/contextd")
    }

    private static func passwdHome() -> String? {
        guard let pw = getpwuid(getuid()), let dir = pw.pointee.pw_dir else { return nil }
        return String(cString: dir)
    }

    /// Creates the directory (mode 0700, parents as needed) if it does not exist.
    public static func create(_ path: String) throws(DomainError) {
        try POSIX.makeDirectory(path, mode: 0o700)
    }
}

/// The data directory's lock: `flock` on `<dir>/contextd.lock`, which holds the owner's
/// pid. Held for the life of the backend; a second process gets a clear error.
final class LockFile: @unchecked Sendable {
    // @unchecked: immutable after init; `release` is called once, by the owner.
    let path: String
    private var fd: Int32

    init(directory: String) throws(DomainError) {
        path = POSIX.join(directory, "contextd.lock")
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        if fd < 0 { throw POSIX.fail(path, "cannot open the lock file") }
        _ = fchmod(fd, 0o600)
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let e = errno
            let holder = LockFile.readPid(fd)
            close(fd)
            fd = -1
            if e == EWOULDBLOCK || e == EAGAIN {
                let who = holder.map { "pid \($0)" } ?? "an unknown pid"
                throw .storage(
                    path: path,
                    reason: "the data directory \(directory) is locked by another contextd process (\(who)); stop it, use --remote to share it, or pick another --data-dir")
            }
            throw POSIX.fail(path, "cannot lock", e)
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        _ = fsync(fd)
    }

    private static func readPid(_ fd: Int32) -> Int? {
        var buf = [UInt8](repeating: 0, count: 32)
        let n = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return nil }
        return Int(String(decoding: buf[0..<n], as: UTF8.self).trimmingCharacters())
    }

    func release() {
        guard fd >= 0 else { return }
        _ = ftruncate(fd, 0)
        flock(fd, LOCK_UN)
        close(fd)
        fd = -1
    }

    deinit { release() }
}

extension String {
    func trimmingCharacters() -> String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}
