#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import JSONRPC

/// A spawned server with raw pipe file descriptors, for load generation that is not
/// itself the bottleneck (no JSON parsing of replies; frames are only counted).
/// @unchecked Sendable: the writer thread only calls `writeAll` (the stdin fd), the
/// reader only touches the decoder and stdout fd.
final class BenchServer: @unchecked Sendable {
    let process = Process()
    let toServer: Int32
    let fromServer: Int32
    let inPipe = Pipe()
    let outPipe = Pipe()

    init(binary: String, arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.standardInput = inPipe
        process.standardOutput = outPipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        toServer = inPipe.fileHandleForWriting.fileDescriptor
        fromServer = outPipe.fileHandleForReading.fileDescriptor
    }

    var pid: Int32 { process.processIdentifier }

    func writeAll(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { raw in
            var off = 0
            while off < raw.count {
                let n = write(toServer, raw.baseAddress! + off, raw.count - off)
                if n <= 0 { if errno == EINTR { continue }; return }
                off += n
            }
        }
    }

    /// Reads until `count` frames arrived; returns them if `keep`.
    var decoder = FrameDecoder()
    var readBuffer = [UInt8](repeating: 0, count: 1 << 20)
    func readFrames(_ count: Int, keep: Bool = false) -> [[UInt8]] {
        var got = 0
        var kept: [[UInt8]] = []
        while got < count {
            while got < count, let f = decoder.next() {
                got += 1
                if keep, case .message(let b) = f { kept.append(b) }
            }
            if got >= count { break }
            let n = readBuffer.withUnsafeMutableBytes { read(fromServer, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            readBuffer.withUnsafeBytes { decoder.push(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
        return kept
    }

    /// CPU seconds the server has used so far (Linux /proc; 0 elsewhere).
    var cpuSeconds: Double { processCPUSeconds(pid) }

    func stop() {
        try? inPipe.fileHandleForWriting.close()
        process.waitUntilExit()
    }
}

func processCPUSeconds(_ pid: Int32) -> Double {
    #if os(Linux)
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = text.lastIndex(of: ")")
    else { return 0 }
    let fields = text[text.index(after: close)...].split(separator: " ")
    // fields[11] = utime, fields[12] = stime (after the comm field), in clock ticks.
    guard fields.count > 12, let u = Double(fields[11]), let s = Double(fields[12]) else { return 0 }
    return (u + s) / Double(sysconf(Int32(_SC_CLK_TCK)))
    #else
    return 0
    #endif
}

func selfCPUSeconds() -> Double {
    var r = rusage()
    #if os(Linux)
    getrusage(RUSAGE_SELF.rawValue, &r)
    #else
    getrusage(RUSAGE_SELF, &r)
    #endif
    return Double(r.ru_utime.tv_sec) + Double(r.ru_utime.tv_usec) / 1e6 + Double(r.ru_stime.tv_sec) + Double(r.ru_stime.tv_usec) / 1e6
}

func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

func percentile(_ sorted: [Double], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return 0 }
    return sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
}

func framed(_ body: String) -> [UInt8] {
    var out: [UInt8] = []
    FrameEncoder.append(Array(body.utf8), framing: .contentLength, to: &out)
    return out
}

/// Figures one scenario prints, as text and as JSON.
struct BenchReport {
    var rows: [(String, String, JSONValue)] = []
    mutating func add(_ name: String, _ text: String, _ value: JSONValue) { rows.append((name, text, value)) }

    func print(json: Bool) {
        if json {
            var o = JSONObject()
            for (k, _, v) in rows { o[k] = v }
            writeOut(JSONWriter.string(.object(o), options: [.pretty]))
        } else {
            let width = rows.map(\.0.count).max() ?? 0
            for (k, t, _) in rows { writeOut(k.padding(toLength: width + 2, withPad: " ", startingAt: 0) + t) }
        }
    }
}

func writeOut(_ s: String) {
    let b = Array((s + "\n").utf8)
    _ = b.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
}

/// `contextd-bench rpc`: ping latency and throughput over real pipes, 1 MiB round trips,
/// and in-process JSON parse/write speed.
func runRPCBench(binary: String, arguments: [String], json: Bool) throws {
    let seqCount = intOption(arguments, "--sequential", 20_000)
    let pipeCount = intOption(arguments, "--pipelined", 200_000)
    let window = intOption(arguments, "--window", 1000)
    var report = BenchReport()

    // Start-up to first reply.
    var startups: [Double] = []
    for _ in 0..<10 {
        let t0 = monotonicSeconds()
        let s = try BenchServer(binary: binary, arguments: ["--store", "memory", "--log-level", "error"])
        s.writeAll(framed(#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#))
        _ = s.readFrames(1)
        startups.append(monotonicSeconds() - t0)
        s.stop()
    }
    startups.sort()
    report.add("startup_ms_p50", String(format: "%.2f ms start-up to first reply (p50 of 10, empty store)", startups[5] * 1000), .double(startups[5] * 1000))

    let server = try BenchServer(binary: binary, arguments: ["--store", "memory", "--log-level", "error"])
    defer { server.stop() }
    // Idle = started and answered once (reading /proc right after spawn can catch the
    // child before exec).
    server.writeAll(framed(#"{"jsonrpc":"2.0","id":0,"method":"ping"}"#))
    _ = server.readFrames(1)
    #if os(Linux)
    if let status = try? String(contentsOfFile: "/proc/\(server.pid)/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
    {
        let kb = Double(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
        report.add("idle_rss_mb", String(format: "%.1f MB idle RSS", kb / 1024), .double(kb / 1024))
    }
    #endif

    // Sequential round trips.
    let ping = framed(#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#)
    for _ in 0..<1000 {
        server.writeAll(ping)
        _ = server.readFrames(1)
    }
    var lat: [Double] = []
    lat.reserveCapacity(seqCount)
    for _ in 0..<seqCount {
        let t0 = monotonicSeconds()
        server.writeAll(ping)
        _ = server.readFrames(1)
        lat.append(monotonicSeconds() - t0)
    }
    lat.sort()
    report.add("ping_seq_p50_us", String(format: "%.1f µs sequential ping p50", percentile(lat, 0.5) * 1e6), .double(percentile(lat, 0.5) * 1e6))
    report.add("ping_seq_p99_us", String(format: "%.1f µs sequential ping p99", percentile(lat, 0.99) * 1e6), .double(percentile(lat, 0.99) * 1e6))

    // Pipelined: a writer thread keeps up to `window` requests in flight.
    let pipe = pipelined(server: server, count: pipeCount, window: window) { i in
        framed(#"{"jsonrpc":"2.0","id":\#(i),"method":"ping"}"#)
    }
    report.add("ping_pipelined_rps", String(format: "%.0f req/s pipelined ping (%d in flight; server CPU %.1f µs/req, bench CPU %.1f µs/req)", pipe.rps, window, pipe.serverCPUus, pipe.clientCPUus), .double(pipe.rps))
    report.add("ping_pipelined_server_cpu_us", String(format: "%.2f µs server CPU per pipelined ping", pipe.serverCPUus), .double(pipe.serverCPUus))
    report.add("ping_pipelined_bench_cpu_us", String(format: "%.2f µs bench CPU per pipelined ping", pipe.clientCPUus), .double(pipe.clientCPUus))

    // 1 MiB string round trip (a request carrying it; the reply echoes its size only).
    let mib = String(repeating: "abcdefghij", count: 104_858)
    let bigReq = framed(#"{"jsonrpc":"2.0","id":1,"method":"ping","params":{"payload":"\#(mib)"}}"#)
    let rounds = 50
    let t0 = monotonicSeconds()
    for _ in 0..<rounds {
        server.writeAll(bigReq)
        _ = server.readFrames(1)
    }
    let mbps = Double(bigReq.count * rounds) / (monotonicSeconds() - t0) / 1e6
    report.add("mib_request_mb_s", String(format: "%.0f MB/s for requests carrying a 1 MiB string", mbps), .double(mbps))

    // In-process JSON parse / write (`--skip-json-speed` leaves it out: it measures this
    // process, not the server, so peer comparisons skip it).
    if arguments.contains("--skip-json-speed") {
        report.print(json: json)
        return
    }
    let payload = realisticPayload()
    let bytes = Array(payload.utf8)
    let iterations = max(1, 200_000_000 / bytes.count)
    var t = monotonicSeconds()
    var parsed: JSONValue = .null
    for _ in 0..<iterations { parsed = try JSONParser.parse(bytes) }
    let parseMBs = Double(bytes.count * iterations) / (monotonicSeconds() - t) / 1e6
    t = monotonicSeconds()
    var written = 0
    for _ in 0..<iterations { written += JSONWriter.encode(parsed).count }
    let writeMBs = Double(written) / (monotonicSeconds() - t) / 1e6
    report.add("json_parse_mb_s", String(format: "%.0f MB/s JSON parse (realistic mix, %d KB)", parseMBs, bytes.count / 1024), .double(parseMBs))
    report.add("json_write_mb_s", String(format: "%.0f MB/s JSON write", writeMBs), .double(writeMBs))
    report.print(json: json)
}

struct PipelineResult {
    var rps: Double
    var serverCPUus: Double
    var clientCPUus: Double
}

/// Sends `count` requests keeping at most `window` in flight; returns throughput and CPU.
func pipelined(server: BenchServer, count: Int, window: Int, request: @escaping (Int) -> [UInt8]) -> PipelineResult {
    // Pre-build requests so the writer only copies bytes.
    var batches: [[UInt8]] = []
    let chunk = max(1, min(window / 2, 256))
    var i = 0
    while i < count {
        var b: [UInt8] = []
        for k in i..<min(count, i + chunk) { b += request(k + 1) }
        batches.append(b)
        i += chunk
    }
    let inFlight = DispatchSemaphore(value: max(1, window / chunk))
    let cpu0 = server.cpuSeconds
    let self0 = selfCPUSeconds()
    let t0 = monotonicSeconds()
    let toSend = batches
    let writer = Thread {
        for b in toSend {
            inFlight.wait()
            server.writeAll(b)
        }
    }
    writer.start()
    var received = 0
    for bi in 0..<batches.count {
        let n = min(chunk, count - bi * chunk)
        _ = server.readFrames(n)
        received += n
        inFlight.signal()
    }
    let elapsed = monotonicSeconds() - t0
    return PipelineResult(
        rps: Double(received) / elapsed,
        serverCPUus: (server.cpuSeconds - cpu0) / Double(received) * 1e6,
        clientCPUus: (selfCPUSeconds() - self0) / Double(received) * 1e6)
}

/// A mix like real traffic: requests with params, results with nested objects, prose
/// with escapes and non-ASCII, code, numbers.
func realisticPayload() -> String {
    var items: [String] = []
    for i in 0..<200 {
        items.append(
            #"{"jsonrpc":"2.0","id":\#(i),"result":{"message":{"id":"msg_\#(i)","conversationId":"conv_42","role":"assistant","content":"Here is the fix:\n\n```swift\nfunc add(_ a: Int, _ b: Int) -> Int {\n    return a + b  // \"sum\"\n}\n```\nCafé, naïve, 日本語のテキスト, emoji 🚀 — done.","metadata":{"model":"x","latencyMs":1234.5,"ok":true},"createdAt":"2026-11-22T10:04:05.123Z","tokens":57,"toolCalls":[{"id":"call_1","name":"read_file","arguments":{"path":"/src/main.swift","range":[1,200]}}]},"trimmed":[]}}"#
        )
    }
    return "[" + items.joined(separator: ",") + "]"
}

func intOption(_ args: [String], _ name: String, _ fallback: Int) -> Int {
    if let i = args.firstIndex(of: name), i + 1 < args.count, let v = Int(args[i + 1]) { return v }
    return fallback
}

func stringOption(_ args: [String], _ name: String) -> String? {
    if let i = args.firstIndex(of: name), i + 1 < args.count { return args[i + 1] }
    return nil
}
