import Foundation
import JSONRPC

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A JSON-RPC client on a unix or TCP socket, for the shared-server tests.
final class SocketClient: @unchecked Sendable {
    // @unchecked: mutable state guarded by `cond`.
    let fd: Int32
    private let cond = NSCondition()
    private var messages: [JSONValue] = []
    private var closed = false
    private var nextID = 1

    init(unixPath: String) throws {
        #if canImport(Glibc)
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        #else
        fd = socket(AF_UNIX, SOCK_STREAM, 0)
        #endif
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in Array(unixPath.utf8).enumerated() where i < raw.count - 1 { raw[i] = b }
        }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else { throw HarnessError("connect \(unixPath): errno \(errno)") }
        startReader()
    }

    init(tcpPort: UInt16) throws {
        #if canImport(Glibc)
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = tcpPort.bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { throw HarnessError("connect tcp \(tcpPort): errno \(errno)") }
        startReader()
    }

    private func startReader() {
        let t = Thread { [self] in
            var decoder = FrameDecoder()
            var buf = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n <= 0 { break }
                cond.lock()
                decoder.push(Array(buf[0..<n]))
                while let f = decoder.next() {
                    if case .message(let b) = f, let v = try? JSONParser.parse(b) { messages.append(v) }
                }
                cond.broadcast()
                cond.unlock()
            }
            cond.lock()
            closed = true
            cond.broadcast()
            cond.unlock()
        }
        t.start()
    }

    func sendRaw(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { raw in
            var off = 0
            while off < raw.count {
                let n = write(fd, raw.baseAddress! + off, raw.count - off)
                if n <= 0 { return }
                off += n
            }
        }
    }

    func send(_ v: JSONValue) {
        var out: [UInt8] = []
        FrameEncoder.append(JSONWriter.encode(v), framing: .contentLength, to: &out)
        sendRaw(out)
    }

    func request(_ method: String, _ params: JSONValue = [:], timeout: TimeInterval = 10) throws -> JSONValue {
        cond.lock()
        let id = nextID
        nextID += 1
        cond.unlock()
        send(["jsonrpc": "2.0", "id": .int(id), "method": .string(method), "params": params])
        return try waitFor(timeout: timeout) { $0["id"] == .int(id) }
    }

    func call(_ method: String, _ params: JSONValue = [:]) throws -> JSONValue {
        let r = try request(method, params)
        if let e = r["error"] { throw ServerError(code: e["code"]?.intValue ?? 0, message: e["message"]?.stringValue ?? "", data: e["data"]) }
        return r["result"] ?? .null
    }

    func waitFor(timeout: TimeInterval = 10, _ match: (JSONValue) -> Bool) throws -> JSONValue {
        let deadline = Date().addingTimeInterval(timeout)
        cond.lock()
        defer { cond.unlock() }
        while true {
            if let i = messages.firstIndex(where: match) { return messages.remove(at: i) }
            if closed { throw HarnessError("connection closed") }
            if !cond.wait(until: deadline) { throw HarnessError("timed out") }
        }
    }

    func nextNotification(method: String, timeout: TimeInterval = 10) throws -> JSONValue {
        try waitFor(timeout: timeout) { $0["method"] == .string(method) }["params"] ?? .null
    }

    /// Waits until the server closes the connection.
    func waitClosed(timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        cond.lock()
        defer { cond.unlock() }
        while !closed { if !cond.wait(until: deadline) { return false } }
        return true
    }

    var allMessages: [JSONValue] {
        cond.lock()
        defer { cond.unlock() }
        return messages
    }

    func close() { shutdown(fd, Int32(SHUT_RDWR)) }
    deinit {
        #if canImport(Glibc)
        _ = Glibc.close(fd)
        #else
        _ = Darwin.close(fd)
        #endif
    }
}
