#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ContextCore

/// Where the Redis store lives: `redis://[user:password@]host:port/db[?prefix=P]` or
/// `redis+unix:///path/to.sock[?db=N&prefix=P]` (`rediss://` is not supported: no TLS).
public struct RedisURL: Sendable, Equatable, CustomStringConvertible {
    public enum Endpoint: Sendable, Equatable {
        case tcp(host: String, port: Int)
        case unix(path: String)
    }
    public var endpoint: Endpoint
    public var user: String?
    public var password: String?
    public var db = 0
    /// Prepended to every key (default `contextd:`); also the pub/sub channel's prefix.
    public var prefix = "contextd:"

    /// The URL without the password (for logs and messages).
    public var description: String {
        let who = user.map { "\($0)@" } ?? (password != nil ? ":***@" : "")
        switch endpoint {
        case .tcp(let h, let p): return "redis://\(who)\(h.contains(":") ? "[\(h)]" : h):\(p)/\(db)"
        case .unix(let path): return "redis+unix://\(who)\(path)?db=\(db)"
        }
    }

    public static func isRedis(_ s: String) -> Bool { s.hasPrefix("redis://") || s.hasPrefix("redis+unix://") }

    public init(endpoint: Endpoint) { self.endpoint = endpoint }

    public init(parsing s: String) throws(DomainError) {
        func bad(_ why: String) -> DomainError { .invalidArgument(field: "store", expected: "redis://[user:password@]host:port/db[?prefix=...] or redis+unix:///path?db=N (\(why))") }
        var rest: Substring
        var unix = false
        if s.hasPrefix("redis://") {
            rest = s.dropFirst("redis://".count)
        } else if s.hasPrefix("redis+unix://") {
            rest = s.dropFirst("redis+unix://".count)
            unix = true
        } else {
            throw bad("unknown scheme")
        }
        var query: [(String, String)] = []
        if let q = rest.firstIndex(of: "?") {
            for part in rest[rest.index(after: q)...].split(separator: "&") {
                let kv = part.split(separator: "=", maxSplits: 1)
                query.append((Self.percentDecode(kv[0]), kv.count > 1 ? Self.percentDecode(kv[1]) : ""))
            }
            rest = rest[..<q]
        }
        var user: String?
        var password: String?
        // userinfo: only before the first "/" for TCP; for unix the path starts with "/".
        let authorityEnd = unix ? (rest.firstIndex(of: "/") ?? rest.endIndex) : (rest.firstIndex(of: "/") ?? rest.endIndex)
        if let at = rest[..<authorityEnd].lastIndex(of: "@") {
            let info = rest[..<at]
            if let colon = info.firstIndex(of: ":") {
                let u = Self.percentDecode(info[..<colon])
                user = u.isEmpty ? nil : u
                password = Self.percentDecode(info[info.index(after: colon)...])
            } else {
                // `redis://secret@host` is a password (redis-cli's convention).
                password = Self.percentDecode(info)
            }
            rest = rest[rest.index(after: at)...]
        }
        if unix {
            guard rest.hasPrefix("/") else { throw bad("a unix socket path must be absolute") }
            self.endpoint = .unix(path: Self.percentDecode(rest))
        } else {
            let slash = rest.firstIndex(of: "/") ?? rest.endIndex
            let hostPort = rest[..<slash]
            var host: Substring
            var port = 6379
            if hostPort.hasPrefix("["), let close = hostPort.firstIndex(of: "]") {
                host = hostPort[hostPort.index(after: hostPort.startIndex)..<close]
                let after = hostPort[hostPort.index(after: close)...]
                if after.hasPrefix(":") {
                    guard let p = Int(after.dropFirst()), (1...65535).contains(p) else { throw bad("invalid port") }
                    port = p
                }
            } else if let colon = hostPort.lastIndex(of: ":") {
                host = hostPort[..<colon]
                guard let p = Int(hostPort[hostPort.index(after: colon)...]), (1...65535).contains(p) else { throw bad("invalid port") }
                port = p
            } else {
                host = hostPort
            }
            if host.isEmpty { host = "127.0.0.1" }
            self.endpoint = .tcp(host: String(host), port: port)
            if slash < rest.endIndex {
                let dbText = rest[rest.index(after: slash)...]
                if !dbText.isEmpty {
                    guard let d = Int(dbText), d >= 0 else { throw bad("invalid database number '\(dbText)'") }
                    db = d
                }
            }
        }
        self.user = user
        self.password = password
        for (k, v) in query {
            switch k {
            case "prefix": prefix = v
            case "db":
                guard let d = Int(v), d >= 0 else { throw bad("invalid db '\(v)'") }
                db = d
            case "password": password = v
            case "user": user = v
            default: throw bad("unknown option '\(k)'")
            }
        }
        guard !prefix.contains("{"), !prefix.contains("}") else { throw bad("the prefix may not contain braces (hash tags)") }
    }

    static func percentDecode(_ s: Substring) -> String {
        guard s.contains("%") else { return String(s) }
        var out: [UInt8] = []
        var u = Array(s.utf8)[...]
        while let b = u.popFirst() {
            if b == UInt8(ascii: "%"), u.count >= 2, let v = UInt8(String(decoding: u.prefix(2), as: UTF8.self), radix: 16) {
                out.append(v)
                u = u.dropFirst(2)
            } else {
                out.append(b)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// A failure talking to Redis (connection, protocol or an error reply).
struct RedisError: Error, CustomStringConvertible {
    let description: String
    /// The connection is unusable (closed, timed out, protocol error).
    let isConnectionLost: Bool
}

/// One blocking connection to Redis, speaking RESP3 (`HELLO 3`) when the server has it,
/// else RESP2. Not thread-safe: each user owns its connection.
final class RedisConnection: @unchecked Sendable {
    // @unchecked: used by one thread at a time (handed over, never shared); only
    // `interrupt()` (a `shutdown` of the socket) is called from another thread.
    let url: RedisURL
    private var fd: Int32 = -1
    private var buffer: [UInt8] = []
    private var readPos = 0
    private(set) var protocolVersion = 2
    /// Pushes (RESP3 pub/sub) that arrived while waiting for a reply.
    var pendingPushes: [RESPValue] = []

    var isOpen: Bool { fd >= 0 }

    /// Connects and handshakes (HELLO/AUTH, SELECT).
    /// - Parameters:
    ///   - timeoutSeconds: for connecting and for each reply (0 = wait forever).
    init(url: RedisURL, timeoutSeconds: Double, name: String) throws(RedisError) {
        self.url = url
        fd = try Self.connectSocket(url.endpoint, timeoutSeconds: timeoutSeconds)
        setTimeout(timeoutSeconds)
        do {
            try handshake(name: name)
        } catch {
            close()
            throw error
        }
    }

    deinit { close() }

    func close() {
        if fd >= 0 {
            #if canImport(Glibc)
            Glibc.close(fd)
            #else
            Darwin.close(fd)
            #endif
            fd = -1
        }
    }

    /// Shuts the socket down so a thread blocked reading it returns (used by `close()` of
    /// the backend from another thread).
    func interrupt() {
        if fd >= 0 { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    func setTimeout(_ seconds: Double) {
        guard fd >= 0 else { return }
        var tv = timeval(tv_sec: Int(seconds), tv_usec: .init(Int((seconds - Double(Int(seconds))) * 1_000_000)))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    private func handshake(name: String) throws(RedisError) {
        var hello: [RedisArg] = ["HELLO", "3"]
        if let password = url.password {
            hello += ["AUTH", .text(url.user ?? "default"), .text(password)]
        }
        hello += ["SETNAME", .text(name)]
        let reply = try call(hello)
        if let e = reply.errorMessage {
            if e.hasPrefix("ERR unknown command") || e.hasPrefix("NOPROTO") {
                // Redis < 6: RESP2 with AUTH.
                protocolVersion = 2
                if let password = url.password {
                    let args: [RedisArg] = url.user.map { ["AUTH", .text($0), .text(password)] } ?? ["AUTH", .text(password)]
                    try check(call(args), "AUTH")
                }
            } else {
                throw RedisError(description: "Redis refused the connection: \(e)", isConnectionLost: true)
            }
        } else {
            protocolVersion = 3
        }
        if url.db != 0 { try check(call(["SELECT", .text(String(url.db))]), "SELECT \(url.db)") }
    }

    private func check(_ r: RESPValue, _ what: String) throws(RedisError) {
        if let e = r.errorMessage { throw RedisError(description: "Redis refused \(what): \(e)", isConnectionLost: true) }
    }

    // MARK: commands

    /// Sends one command and reads its reply. Error replies are returned, not thrown.
    func call(_ args: [RedisArg]) throws(RedisError) -> RESPValue {
        try pipeline([args])[0]
    }

    /// Sends several commands in one write and reads their replies in order.
    func pipeline(_ commands: [[RedisArg]]) throws(RedisError) -> [RESPValue] {
        var out: [UInt8] = []
        out.reserveCapacity(commands.count * 64)
        for c in commands { RESP.encode(c, into: &out) }
        try write(out)
        var replies: [RESPValue] = []
        replies.reserveCapacity(commands.count)
        while replies.count < commands.count {
            let r = try readReply()
            if case .push = r {
                pendingPushes.append(r)
                continue
            }
            replies.append(r)
        }
        return replies
    }

    func write(_ bytes: [UInt8]) throws(RedisError) {
        guard fd >= 0 else { throw RedisError(description: "connection closed", isConnectionLost: true) }
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { raw -> Int in
                #if canImport(Glibc)
                send(fd, raw.baseAddress! + off, raw.count - off, Int32(MSG_NOSIGNAL))
                #else
                send(fd, raw.baseAddress! + off, raw.count - off, 0)
                #endif
            }
            if n < 0 {
                if errno == EINTR { continue }
                let why = errno == EAGAIN || errno == EWOULDBLOCK ? "timed out writing" : String(cString: strerror(errno))
                close()
                throw RedisError(description: why, isConnectionLost: true)
            }
            off += n
        }
    }

    /// Reads the next reply (blocking up to the timeout).
    func readReply() throws(RedisError) -> RESPValue {
        while true {
            if readPos < buffer.count {
                var pos = readPos
                let parsed: RESPValue?
                do {
                    parsed = try buffer.withUnsafeBufferPointer { b throws(RESP.ProtocolError) in try RESP.parse(b, &pos) }
                } catch {
                    close()
                    throw RedisError(description: "protocol error: \(error.description)", isConnectionLost: true)
                }
                if let v = parsed {
                    readPos = pos
                    if readPos == buffer.count {
                        buffer.removeAll(keepingCapacity: true)
                        readPos = 0
                    }
                    return v
                }
            }
            try fill()
        }
    }

    /// Whether a whole reply is already buffered.
    var hasBufferedReply: Bool {
        guard readPos < buffer.count else { return false }
        var pos = readPos
        return ((try? buffer.withUnsafeBufferPointer { b throws(RESP.ProtocolError) in try RESP.parse(b, &pos) }) ?? nil) != nil
    }

    private func fill() throws(RedisError) {
        guard fd >= 0 else { throw RedisError(description: "connection closed", isConnectionLost: true) }
        if readPos > 0 {
            buffer.removeFirst(readPos)
            readPos = 0
        }
        let old = buffer.count
        let chunk = 64 * 1024
        buffer.reserveCapacity(old + chunk)
        var got = 0
        var err: Int32 = 0
        buffer.append(contentsOf: repeatElement(0, count: chunk))
        buffer.withUnsafeMutableBytes { raw in
            repeat {
                got = recv(fd, raw.baseAddress! + old, chunk, 0)
                err = got < 0 ? errno : 0
            } while got < 0 && err == EINTR
        }
        buffer.removeLast(chunk - max(0, got))
        if got == 0 {
            close()
            throw RedisError(description: "Redis closed the connection", isConnectionLost: true)
        }
        if got < 0 {
            let timedOut = err == EAGAIN || err == EWOULDBLOCK
            if !timedOut { close() }
            throw RedisError(description: timedOut ? "timed out waiting for Redis" : String(cString: strerror(err)), isConnectionLost: !timedOut)
        }
    }

    /// True when the last read failure was only a timeout (the connection is still usable).
    static func isTimeout(_ e: RedisError) -> Bool { !e.isConnectionLost && e.description.hasPrefix("timed out") }

    // MARK: sockets

    static func connectSocket(_ endpoint: RedisURL.Endpoint, timeoutSeconds: Double) throws(RedisError) -> Int32 {
        switch endpoint {
        case .unix(let path):
            #if canImport(Glibc)
            let s = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            #else
            let s = socket(AF_UNIX, SOCK_STREAM, 0)
            #endif
            guard s >= 0 else { throw RedisError(description: "socket: \(String(cString: strerror(errno)))", isConnectionLost: true) }
            var addr = sockaddr_un()
            addr.sun_family = sa_family_t(AF_UNIX)
            let bytes = Array(path.utf8)
            guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else {
                closeFD(s)
                throw RedisError(description: "unix socket path too long: \(path)", isConnectionLost: true)
            }
            withUnsafeMutableBytes(of: &addr.sun_path) { raw in
                for (i, b) in bytes.enumerated() { raw[i] = b }
            }
            let rc = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(s, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            if rc != 0 {
                let e = errno
                closeFD(s)
                throw RedisError(description: "cannot connect to \(path): \(String(cString: strerror(e)))", isConnectionLost: true)
            }
            noSigPipe(s)
            return s
        case .tcp(let host, let port):
            var hints = addrinfo()
            hints.ai_family = AF_UNSPEC
            #if canImport(Glibc)
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            #else
            hints.ai_socktype = SOCK_STREAM
            #endif
            hints.ai_flags = AI_NUMERICSERV
            var res: UnsafeMutablePointer<addrinfo>?
            let rc = getaddrinfo(host, String(port), &hints, &res)
            guard rc == 0, let first = res else {
                throw RedisError(description: "cannot resolve '\(host)': \(String(cString: gai_strerror(rc)))", isConnectionLost: true)
            }
            defer { freeaddrinfo(res) }
            var lastError = "no address"
            var ai: UnsafeMutablePointer<addrinfo>? = first
            while let a = ai {
                ai = a.pointee.ai_next
                let s = socket(a.pointee.ai_family, a.pointee.ai_socktype, a.pointee.ai_protocol)
                if s < 0 { lastError = String(cString: strerror(errno)); continue }
                if let e = connectWithTimeout(s, a.pointee.ai_addr, a.pointee.ai_addrlen, timeoutSeconds) {
                    lastError = e
                    closeFD(s)
                    continue
                }
                var one: Int32 = 1
                setsockopt(s, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                noSigPipe(s)
                return s
            }
            throw RedisError(description: "cannot connect to \(host):\(port): \(lastError)", isConnectionLost: true)
        }
    }

    private static func connectWithTimeout(_ s: Int32, _ addr: UnsafeMutablePointer<sockaddr>?, _ len: socklen_t, _ timeout: Double) -> String? {
        let flags = fcntl(s, F_GETFL, 0)
        _ = fcntl(s, F_SETFL, flags | O_NONBLOCK)
        defer { _ = fcntl(s, F_SETFL, flags) }
        if connect(s, addr, len) == 0 { return nil }
        guard errno == EINPROGRESS else { return String(cString: strerror(errno)) }
        var p = pollfd(fd: s, events: Int16(POLLOUT), revents: 0)
        let ms = timeout > 0 ? Int32(timeout * 1000) : -1
        let n = poll(&p, 1, ms)
        if n == 0 { return "connect timed out" }
        if n < 0 { return String(cString: strerror(errno)) }
        var err: Int32 = 0
        var elen = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &elen)
        return err == 0 ? nil : String(cString: strerror(err))
    }

    private static func noSigPipe(_ s: Int32) {
        #if canImport(Darwin)
        var one: Int32 = 1
        setsockopt(s, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size))
        #endif
    }

    private static func closeFD(_ s: Int32) {
        #if canImport(Glibc)
        Glibc.close(s)
        #else
        Darwin.close(s)
        #endif
    }
}
