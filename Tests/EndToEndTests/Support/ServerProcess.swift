import Foundation
import JSONRPC

/// An error response from the server, or a harness failure.
struct ServerError: Error, CustomStringConvertible {
    let code: Int
    let message: String
    let data: JSONValue?
    var description: String { "server error \(code): \(message) \(data.map { JSONWriter.string($0) } ?? "")" }
}

struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// Spawns the built `contextd` binary and talks to it over pipes exactly as an editor
/// does. stdout and stderr are drained concurrently; every read has a timeout.
final class ServerProcess: @unchecked Sendable {
    // @unchecked: mutable state is guarded by `cond`.
    let process = Process()
    let stdin = Pipe()
    let stdout = Pipe()
    let stderr = Pipe()
    let framing: Framing
    private let cond = NSCondition()
    private var messages: [JSONValue] = []
    private var rawOut: [UInt8] = []
    private var errText: [UInt8] = []
    private var stdoutClosed = false
    private var nextID = 1

    /// The built binary: `$CONTEXTD_BINARY`, else `contextd` next to the test bundle.
    static var binaryPath: String {
        if let p = ProcessInfo.processInfo.environment["CONTEXTD_BINARY"] { return p }
        #if os(Linux)
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
        #else
        var dir = Bundle.main.bundleURL.deletingLastPathComponent()
        #endif
        // The xctest bundle may be a directory (macOS): walk up until contextd is found.
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("contextd").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return dir.appendingPathComponent("contextd").path
    }

    /// A fresh temporary directory (removed by the OS; tests may remove it).
    static func temporaryDirectory() -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("contextd-test-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    init(arguments: [String], framing: Framing = .contentLength, environment: [String: String]? = nil) throws {
        self.framing = framing
        process.executableURL = URL(fileURLWithPath: Self.binaryPath)
        process.arguments = arguments
        if let environment { process.environment = environment }
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        startReader(stdout.fileHandleForReading, isStdout: true)
        startReader(stderr.fileHandleForReading, isStdout: false)
    }

    /// Starts `contextd ARGS`; defaults to an in-memory store.
    static func start(arguments: [String] = ["--store", "memory"], framing: Framing = .contentLength) throws -> ServerProcess {
        try ServerProcess(arguments: arguments, framing: framing)
    }

    private func startReader(_ handle: FileHandle, isStdout: Bool) {
        let t = Thread { [self] in
            var decoder = FrameDecoder(framing: framing)
            while true {
                let data = handle.availableData
                if data.isEmpty { break }
                cond.lock()
                if isStdout {
                    rawOut.append(contentsOf: data)
                    decoder.push([UInt8](data))
                    while let f = decoder.next() {
                        if case .message(let body) = f, let v = try? JSONParser.parse(body) {
                            messages.append(v)
                        } else {
                            messages.append(["harnessError": .string("undecodable frame on stdout: \(f)")])
                        }
                    }
                } else {
                    errText.append(contentsOf: data)
                }
                cond.broadcast()
                cond.unlock()
            }
            if isStdout {
                cond.lock()
                stdoutClosed = true
                cond.broadcast()
                cond.unlock()
            }
        }
        t.start()
    }

    // MARK: Sending

    func sendRaw(_ bytes: [UInt8]) {
        stdin.fileHandleForWriting.write(Data(bytes))
    }

    func sendRaw(_ text: String) { sendRaw(Array(text.utf8)) }

    /// Frames and sends one JSON value.
    func send(_ value: JSONValue) {
        var out: [UInt8] = []
        FrameEncoder.append(JSONWriter.encode(value), framing: framing, to: &out)
        sendRaw(out)
    }

    func takeID() -> Int {
        cond.lock()
        defer { cond.unlock() }
        nextID += 1
        return nextID - 1
    }

    /// Sends a request and returns its whole response object.
    func request(_ method: String, _ params: JSONValue? = nil, timeout: TimeInterval = 10) throws -> JSONValue {
        let id = takeID()
        var o: JSONObject = ["jsonrpc": "2.0", "id": .int(id), "method": .string(method)]
        if let params { o["params"] = params }
        send(.object(o))
        return try response(id: .int(id), timeout: timeout)
    }

    /// Sends a request; returns its result or throws `ServerError`.
    @discardableResult
    func call(_ method: String, _ params: JSONValue? = [:], timeout: TimeInterval = 10) throws -> JSONValue {
        let r = try request(method, params, timeout: timeout)
        if let e = r["error"] {
            throw ServerError(code: e["code"]?.intValue ?? 0, message: e["message"]?.stringValue ?? "", data: e["data"])
        }
        guard let result = r["result"] else { throw HarnessError("response without result: \(r)") }
        return result
    }

    /// Sends a request that must fail; returns the error.
    func callExpectingError(_ method: String, _ params: JSONValue? = [:], timeout: TimeInterval = 10) throws -> ServerError {
        let r = try request(method, params, timeout: timeout)
        guard let e = r["error"] else { throw HarnessError("expected an error from \(method), got \(r)") }
        return ServerError(code: e["code"]?.intValue ?? 0, message: e["message"]?.stringValue ?? "", data: e["data"])
    }

    func notify(_ method: String, _ params: JSONValue? = nil) {
        var o: JSONObject = ["jsonrpc": "2.0", "method": .string(method)]
        if let params { o["params"] = params }
        send(.object(o))
    }

    // MARK: Receiving

    /// Waits for the first message satisfying `match`, removing it from the queue.
    func waitFor(timeout: TimeInterval = 10, _ what: String, _ match: (JSONValue) -> Bool) throws -> JSONValue {
        let deadline = Date().addingTimeInterval(timeout)
        cond.lock()
        defer { cond.unlock() }
        while true {
            if let i = messages.firstIndex(where: match) { return messages.remove(at: i) }
            if stdoutClosed { throw HarnessError("stdout closed while waiting for \(what); stderr: \(stderrText)") }
            if !cond.wait(until: deadline) { throw HarnessError("timed out waiting for \(what); stderr: \(stderrText)") }
        }
    }

    func response(id: JSONValue, timeout: TimeInterval = 10) throws -> JSONValue {
        try waitFor(timeout: timeout, "response \(id)") { $0["id"] == id && $0["method"] == nil }
    }

    /// The params of the next notification named `method`.
    func nextNotification(method: String, timeout: TimeInterval = 10) throws -> JSONValue {
        let n = try waitFor(timeout: timeout, "notification \(method)") { $0["method"] == .string(method) && $0["id"] == nil }
        return n["params"] ?? .null
    }

    /// The next message of any kind.
    func nextMessage(timeout: TimeInterval = 10) throws -> JSONValue {
        try waitFor(timeout: timeout, "any message") { _ in true }
    }

    /// Messages received so far and not yet taken.
    var pendingMessages: [JSONValue] {
        cond.lock()
        defer { cond.unlock() }
        return messages
    }

    /// Everything the server wrote to stdout so far.
    var stdoutBytes: [UInt8] {
        cond.lock()
        defer { cond.unlock() }
        return rawOut
    }

    var stderrText: String { String(decoding: errText, as: UTF8.self) }

    // MARK: Ending

    func closeInput() { try? stdin.fileHandleForWriting.close() }

    /// Closes stdin and waits for the process; returns its exit code.
    @discardableResult
    func closeInputAndWait(timeout: TimeInterval = 10) throws -> Int32 {
        closeInput()
        return try waitForExit(timeout: timeout)
    }

    func waitForExit(timeout: TimeInterval = 10) throws -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning {
            if Date() > deadline {
                process.terminate()
                throw HarnessError("process did not exit within \(timeout)s")
            }
            usleep(2000)
        }
        // Let the readers drain.
        let drainDeadline = Date().addingTimeInterval(2)
        cond.lock()
        while !stdoutClosed, cond.wait(until: drainDeadline) {}
        cond.unlock()
        return process.terminationStatus
    }

    /// Ends the process: SIGTERM, then SIGKILL after 2 s (never blocks forever).
    func stop() {
        guard process.isRunning else { return }
        let pid = process.processIdentifier
        kill(pid, SIGTERM)
        for sig in [SIGTERM, SIGKILL] {
            let deadline = Date().addingTimeInterval(2)
            while process.isRunning, Date() < deadline { usleep(5000) }
            if !process.isRunning { return }
            if sig == SIGTERM { kill(pid, SIGKILL) }
        }
    }

    deinit { stop() }
}
