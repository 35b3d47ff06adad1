#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ContextCore
import Foundation
import JSONRPC
import Synchronization

/// Where a shared server listens (`--listen unix:PATH` or `--listen tcp:HOST:PORT`).
public enum ListenAddress: Equatable, Sendable, CustomStringConvertible {
    case unix(path: String)
    case tcp(host: String, port: UInt16)

    public init?(_ text: String) {
        if text.hasPrefix("unix:") {
            let path = String(text.dropFirst(5))
            guard !path.isEmpty, path.utf8.count < 100 else { return nil }
            self = .unix(path: path)
        } else if text.hasPrefix("tcp:") {
            let rest = text.dropFirst(4)
            guard let colon = rest.lastIndex(of: ":"), let port = UInt16(rest[rest.index(after: colon)...]) else { return nil }
            var host = String(rest[..<colon])
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            self = .tcp(host: host.isEmpty ? "127.0.0.1" : host, port: port)
        } else {
            return nil
        }
    }

    public var description: String {
        switch self {
        case .unix(let p): "unix:\(p)"
        case .tcp(let h, let p): "tcp:\(h.contains(":") ? "[\(h)]" : h):\(p)"
        }
    }

    /// Loopback TCP hosts need no token; anything else does.
    public var isLoopback: Bool {
        switch self {
        case .unix: true
        case .tcp(let h, _): h == "127.0.0.1" || h == "localhost" || h == "::1" || h.hasPrefix("127.")
        }
    }
}

/// Accepts clients on a socket; each connection gets its own reader thread and shares
/// the one server state. Per-connection ordering is kept; events fan out to every
/// subscribed connection.
public final class SocketListener: @unchecked Sendable {
    // @unchecked: `fd` is set once in init; `stopped` is only read by the accept thread
    // after `stop()` closes the socket.
    let server: Server
    let address: ListenAddress
    let fd: Int32
    /// A connection that leaves a frame incomplete for this long is dropped.
    let frameTimeoutSeconds: Int

    public init(server: Server, address: ListenAddress, frameTimeoutSeconds: Int = 30) throws(DomainError) {
        self.server = server
        self.address = address
        self.frameTimeoutSeconds = frameTimeoutSeconds
        switch address {
        case .unix(let path):
            let lock = try Self.lockSocketPath(path)
            do {
                fd = try Self.bindUnix(path)
            } catch {
                close(lock)
                throw error
            }
            lockFD = lock
        case .tcp(let host, let port):
            fd = try Self.bindTCP(host: host, port: port)
        }
    }

    static func failure(_ what: String, _ address: String) -> DomainError {
        .storage(path: address, reason: "\(what): \(String(cString: strerror(errno)))")
    }

    /// Held for the listener's life: `PATH.lock`, so two servers starting at once cannot
    /// both decide a socket file is stale and replace each other's.
    var lockFD: Int32 = -1

    static func lockSocketPath(_ path: String) throws(DomainError) -> Int32 {
        let lockPath = path + ".lock"
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw failure("cannot open \(lockPath)", path) }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            close(fd)
            throw .storage(path: path, reason: "another contextd is already listening on this socket (its lock \(lockPath) is held)")
        }
        return fd
    }

    static func bindUnix(_ path: String) throws(DomainError) -> Int32 {
        // Under the lock, a socket file left by a dead server is stale: replace it.
        if access(path, F_OK) == 0 {
            if Self.unixSocketIsLive(path) {
                throw .storage(path: path, reason: "another contextd is already listening on this socket")
            }
            unlink(path)
        }
        #if canImport(Glibc)
        let s = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let s = socket(AF_UNIX, SOCK_STREAM, 0)
        #endif
        guard s >= 0 else { throw failure("socket", path) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            let bytes = Array(path.utf8)
            for (i, b) in bytes.enumerated() where i < raw.count - 1 { raw[i] = b }
        }
        // Created 0600: only this user can connect.
        let old = umask(0o177)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        umask(old)
        guard rc == 0 else {
            let e = failure("bind", path)
            close(s)
            throw e
        }
        chmod(path, 0o600)
        guard listen(s, 128) == 0 else {
            let e = failure("listen", path)
            close(s)
            throw e
        }
        return s
    }

    /// Whether something accepts connections on the unix socket at `path`.
    public static func unixSocketIsLive(_ path: String) -> Bool {
        let c = connectUnix(path)
        if c >= 0 {
            close(c)
            return true
        }
        return false
    }

    /// A connected unix socket, or -1.
    public static func connectUnix(_ path: String) -> Int32 {
        #if canImport(Glibc)
        let s = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let s = socket(AF_UNIX, SOCK_STREAM, 0)
        #endif
        guard s >= 0 else { return -1 }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in Array(path.utf8).enumerated() where i < raw.count - 1 { raw[i] = b }
        }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(s, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if rc != 0 {
            close(s)
            return -1
        }
        return s
    }

    static func bindTCP(host: String, port: UInt16) throws(DomainError) -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var res: UnsafeMutablePointer<addrinfo>?
        let where_ = "tcp:\(host):\(port)"
        guard getaddrinfo(host, String(port), &hints, &res) == 0, let info = res else {
            throw .storage(path: where_, reason: "cannot resolve host '\(host)'")
        }
        defer { freeaddrinfo(res) }
        let s = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
        guard s >= 0 else { throw failure("socket", where_) }
        var yes: Int32 = 1
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        guard bind(s, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else {
            let e = failure("bind", where_)
            close(s)
            throw e
        }
        guard listen(s, 128) == 0 else {
            let e = failure("listen", where_)
            close(s)
            throw e
        }
        return s
    }

    /// The port actually bound (useful with port 0).
    public var boundPort: UInt16? {
        guard case .tcp = address else { return nil }
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        guard rc == 0 else { return nil }
        if storage.ss_family == sa_family_t(AF_INET) {
            return withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) } }
        }
        return withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) } }
    }

    /// Accepts connections until the socket is closed. Blocks the calling thread.
    public func run() {
        while true {
            let c = accept(fd, nil, nil)
            if c < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                break
            }
            serve(c)
        }
    }

    func serve(_ c: Int32) {
        // Reads wake every second so an incomplete frame can be timed out; writes to a
        // client that stops reading fail after 10 s instead of stalling everyone.
        var rcv = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &rcv, socklen_t(MemoryLayout<timeval>.size))
        var snd = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &snd, socklen_t(MemoryLayout<timeval>.size))
        #if canImport(Darwin)
        var one: Int32 = 1
        setsockopt(c, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size))
        #endif
        let connection = server.makeConnection(input: c, output: c, requiresAuth: server.config.authToken != nil)
        let timeout = frameTimeoutSeconds
        let t = Thread { [server] in
            connection.runReadLoop(dispatcher: server, incompleteFrameTimeout: timeout)
            connection.flush()
            close(c)
            server.log.debug("connection \(connection.id) closed")
        }
        t.stackSize = 1 << 20
        t.start()
        server.log.debug("connection \(connection.id) accepted")
    }

    private let stopped = Mutex(false)

    /// Stops accepting; removes the unix socket file (first, so the process may end as
    /// soon as the accept loop returns). Idempotent.
    public func stop() {
        let first = stopped.withLock { s -> Bool in
            defer { s = true }
            return !s
        }
        guard first else { return }
        if case .unix(let path) = address {
            unlink(path)
            unlink(path + ".lock")
        }
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
        if lockFD >= 0 { close(lockFD) }
    }
}
