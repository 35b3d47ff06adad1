#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ContextCore

/// Confines client-supplied file paths to the allowed roots (PROTOCOL §8: the workspace
/// root from `initialize`, the data directory, `--allow-path`), with symlinks resolved
/// by `realpath(3)`, and does the file I/O of the template methods.
///
/// A path is allowed when its fully resolved form equals a resolved root or lies below
/// one. Paths with NUL bytes, relative paths without a workspace root, and anything that
/// resolves outside the roots (`../` escapes, symlinks pointing out) →
/// `DomainError.pathNotAllowed`. Relative paths are taken relative to the workspace root.
struct PathConfinement {
    /// The configured roots, as given (reported in errors).
    let roots: [String]
    let workspaceRoot: String?

    init(roots: [String], workspaceRoot: String?) {
        self.roots = roots
        self.workspaceRoot = workspaceRoot
    }

    private func denied(_ path: String) -> DomainError { .pathNotAllowed(path: path, allowedRoots: roots) }

    /// The roots that exist, resolved.
    private var resolvedRoots: [String] { roots.compactMap { Self.realpath($0) } }

    static func realpath(_ path: String) -> String? {
        guard let p = systemRealpath(path) else { return nil }
        return p
    }

    private func isUnderRoot(_ resolved: String) -> Bool {
        for root in resolvedRoots {
            if resolved == root { return true }
            let prefix = root.hasSuffix("/") ? root : root + "/"
            if resolved.hasPrefix(prefix) { return true }
        }
        return false
    }

    /// The absolute (not yet resolved) form of `path`.
    private func absolute(_ path: String) throws(DomainError) -> String {
        guard !path.isEmpty, !path.utf8.contains(0) else { throw denied(path) }
        if path.hasPrefix("/") { return path }
        guard let base = workspaceRoot else { throw denied(path) }
        return base.hasSuffix("/") ? base + path : base + "/" + path
    }

    /// Resolves an existing file or directory; it must lie under a root.
    func existing(_ path: String) throws(DomainError) -> String {
        let abs = try absolute(path)
        guard let resolved = Self.realpath(abs) else {
            // Say "not allowed" rather than "missing" when even the parent is outside.
            let (dir, _) = Self.split(abs)
            if let parent = Self.realpath(dir), !isUnderRoot(parent) { throw denied(path) }
            throw DomainError.storage(path: path, reason: "no such file or directory")
        }
        guard isUnderRoot(resolved) else { throw denied(path) }
        return resolved
    }

    /// Resolves a file to be written: its directory must exist and lie under a root; an
    /// existing file (or symlink) at that path must resolve under a root too.
    func writable(_ path: String) throws(DomainError) -> String {
        let abs = try absolute(path)
        let (dir, name) = Self.split(abs)
        guard !name.isEmpty, name != ".", name != ".." else { throw denied(path) }
        guard let resolvedDir = Self.realpath(dir) else {
            throw DomainError.storage(path: path, reason: "the directory does not exist")
        }
        guard isUnderRoot(resolvedDir) else { throw denied(path) }
        let target = resolvedDir == "/" ? "/" + name : resolvedDir + "/" + name
        var st = stat()
        if lstat(target, &st) == 0 {
            guard let resolved = Self.realpath(target), isUnderRoot(resolved) else { throw denied(path) }
            if (st.st_mode & S_IFMT) == S_IFDIR { throw DomainError.storage(path: path, reason: "is a directory") }
            return resolved
        }
        return target
    }

    /// Resolves an absolute path that may not exist yet — the nearest existing ancestor
    /// through `realpath`, the rest appended with `.` and `..` applied lexically — and
    /// requires the result to lie under a root. `reportedAs` is the path named in errors.
    func possiblyMissing(_ absolutePath: String, reportedAs: String) throws(DomainError) -> String {
        let resolved = Self.resolveExistingPrefix(absolutePath)
        guard isUnderRoot(resolved) else { throw denied(reportedAs) }
        return resolved
    }

    static func resolveExistingPrefix(_ path: String) -> String {
        var parts = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        var tail: [String] = []
        while true {
            if let base0 = realpath("/" + parts.joined(separator: "/")) {
                var base = base0
                for t in tail.reversed() {
                    if t == "." { continue }
                    if t == ".." {
                        base = base == "/" ? "/" : String(base[..<(base.lastIndex(of: "/") ?? base.startIndex)])
                        if base.isEmpty { base = "/" }
                    } else {
                        base = base == "/" ? "/" + t : base + "/" + t
                    }
                }
                return base
            }
            guard let last = parts.popLast() else { return path }
            tail.append(last)
        }
    }

    static func split(_ abs: String) -> (dir: String, name: String) {
        var p = Substring(abs)
        while p.count > 1, p.hasSuffix("/") { p.removeLast() }
        guard let slash = p.lastIndex(of: "/") else { return (".", String(p)) }
        let dir = p[..<slash]
        return (dir.isEmpty ? "/" : String(dir), String(p[p.index(after: slash)...]))
    }

    // MARK: I/O

    static func errnoReason(_ what: String) -> String {
        "\(what): \(String(cString: strerror(errno)))"
    }

    /// Reads a whole regular file (at most `maxBytes`).
    static func read(_ resolved: String, displayPath: String, maxBytes: Int) throws(DomainError) -> [UInt8] {
        let fd = open(resolved, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .storage(path: displayPath, reason: errnoReason("open")) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .storage(path: displayPath, reason: errnoReason("stat")) }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw .storage(path: displayPath, reason: "not a regular file") }
        let size = Int(st.st_size)
        if size > maxBytes { throw .limitExceeded(limit: "fileBytes", max: maxBytes, value: size) }
        var out = [UInt8](repeating: 0, count: size)
        var done = 0
        while done < size {
            let n = out.withUnsafeMutableBytes { buf in systemRead(fd, buf.baseAddress! + done, size - done) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .storage(path: displayPath, reason: errnoReason("read"))
            }
            if n == 0 { break }
            done += n
        }
        if done < size { out.removeLast(size - done) }
        return out
    }

    /// Writes atomically: a unique temporary file in the same directory (mode 0600),
    /// fsync, rename over the target, fsync the directory.
    static func writeAtomically(_ bytes: [UInt8], to resolved: String, displayPath: String) throws(DomainError) {
        let (dir, name) = split(resolved)
        var tmp = ""
        var fd: Int32 = -1
        for _ in 0..<16 {
            tmp = "\(dir == "/" ? "" : dir)/.\(name).tmp-\(getpid())-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
            fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            if fd >= 0 || errno != EEXIST { break }
        }
        guard fd >= 0 else { throw .storage(path: displayPath, reason: errnoReason("create temporary file")) }
        var ok = false
        defer { if !ok { unlink(tmp) } }
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { buf in write(fd, buf.baseAddress! + done, bytes.count - done) }
            if n < 0 {
                if errno == EINTR { continue }
                let reason = errnoReason("write")
                close(fd)
                throw .storage(path: displayPath, reason: reason)
            }
            done += n
        }
        if fsync(fd) != 0 {
            let reason = errnoReason("fsync")
            close(fd)
            throw .storage(path: displayPath, reason: reason)
        }
        close(fd)
        guard rename(tmp, resolved) == 0 else { throw .storage(path: displayPath, reason: errnoReason("rename")) }
        ok = true
        let dfd = open(dir, O_RDONLY | O_CLOEXEC)
        if dfd >= 0 {
            _ = fsync(dfd)
            close(dfd)
        }
    }

    /// Names of the regular files (or symlinks) ending in `.json` directly in `dir`, sorted.
    static func jsonFiles(in resolvedDir: String, displayPath: String) throws(DomainError) -> [String] {
        guard let d = opendir(resolvedDir) else { throw .storage(path: displayPath, reason: errnoReason("opendir")) }
        defer { closedir(d) }
        var names: [String] = []
        while let entry = readdir(d) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard name.hasSuffix(".json"), !name.hasPrefix(".") else { continue }
            var st = stat()
            let full = resolvedDir == "/" ? "/" + name : resolvedDir + "/" + name
            guard stat(full, &st) == 0 || lstat(full, &st) == 0 else { continue }
            if (st.st_mode & S_IFMT) == S_IFDIR { continue }
            names.append(name)
        }
        return names.sorted()
    }
}

#if canImport(Glibc)
private func systemRealpath(_ path: String) -> String? {
    guard let p = Glibc.realpath(path, nil) else { return nil }
    defer { free(p) }
    return String(cString: p)
}
private func systemRead(_ fd: Int32, _ buf: UnsafeMutableRawPointer, _ n: Int) -> Int { Glibc.read(fd, buf, n) }
#elseif canImport(Darwin)
private func systemRealpath(_ path: String) -> String? {
    guard let p = Darwin.realpath(path, nil) else { return nil }
    defer { free(p) }
    return String(cString: p)
}
private func systemRead(_ fd: Int32, _ buf: UnsafeMutableRawPointer, _ n: Int) -> Int { Darwin.read(fd, buf, n) }
#endif
