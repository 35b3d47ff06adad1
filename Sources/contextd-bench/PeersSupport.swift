#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import JSONCore

/// `contextd-bench method`: sequential p50 and pipelined throughput of one arbitrary
/// method, for comparing contextd with peers on real work (`session/get`,
/// `memory/addMessage`), not only `ping`.
///
///   contextd-bench method --method NAME [--params JSON] [--setup NAME --setup-params JSON]
///                         [--durability MODE] [--sequential N] [--pipelined N] [--window N]
///
/// `--setup` sends one request first; its reply's `result.id` replaces every `$ID` in
/// `--params` (so `session/get` can read a session `session/create` made). With
/// `--durability MODE` the server runs on a fresh temporary data directory with that
/// durability instead of `--store memory`. Replies are counted, not parsed, except the
/// set-up reply and the first measured reply, which must be results (an error reply
/// aborts the run, so an error path is never what gets measured).
func runMethodBench(binary: String, arguments: [String], json: Bool) throws {
    guard let method = stringOption(arguments, "--method") else {
        throw BenchFailure("method: --method NAME is required")
    }
    let paramsTemplate = stringOption(arguments, "--params")
    let seqCount = intOption(arguments, "--sequential", 2_000)
    let pipeCount = intOption(arguments, "--pipelined", 100_000)
    let window = intOption(arguments, "--window", 1000)

    var serverArguments = ["--store", "memory", "--log-level", "error"]
    var dataDirectory: String?
    if let durability = stringOption(arguments, "--durability") {
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("contextd-bench-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        dataDirectory = dir
        serverArguments = ["--data-dir", dir, "--durability", durability, "--log-level", "error"]
    }
    defer { if let dir = dataDirectory { try? FileManager.default.removeItem(atPath: dir) } }

    let server = try BenchServer(binary: binary, arguments: serverArguments)
    defer { server.stop() }

    var params = paramsTemplate
    if let setup = stringOption(arguments, "--setup") {
        let setupParams = stringOption(arguments, "--setup-params") ?? "{}"
        server.writeAll(framed(#"{"jsonrpc":"2.0","id":0,"method":"\#(setup)","params":\#(setupParams)}"#))
        let reply = try expectResult(server, what: setup)
        guard let id = reply["result"]?["id"]?.stringValue else {
            throw BenchFailure("method: the \(setup) reply has no result.id: \(JSONWriter.string(reply))")
        }
        params = params?.replacingOccurrences(of: "$ID", with: id)
    }
    let paramsPart = params.map { #","params":\#($0)"# } ?? ""
    func request(_ id: Int) -> [UInt8] {
        framed(#"{"jsonrpc":"2.0","id":\#(id),"method":"\#(method)"\#(paramsPart)}"#)
    }

    // The first reply must be a result; then warm up and time sequential round trips.
    server.writeAll(request(1))
    _ = try expectResult(server, what: method)
    for i in 0..<min(500, seqCount) {
        server.writeAll(request(2 + i))
        _ = server.readFrames(1)
    }
    var lat: [Double] = []
    lat.reserveCapacity(seqCount)
    let seqRequest = request(1)
    for _ in 0..<seqCount {
        let t0 = monotonicSeconds()
        server.writeAll(seqRequest)
        _ = server.readFrames(1)
        lat.append(monotonicSeconds() - t0)
    }
    lat.sort()
    let pipe = pipelined(server: server, count: pipeCount, window: window, request: request)

    var report = BenchReport()
    report.add("method", method, .string(method))
    report.add("seq_p50_us", String(format: "%.1f µs sequential p50", percentile(lat, 0.5) * 1e6), .double(percentile(lat, 0.5) * 1e6))
    report.add("pipelined_rps", String(format: "%.0f req/s pipelined (%d in flight)", pipe.rps, window), .double(pipe.rps))
    report.add("server_cpu_us", String(format: "%.2f µs server CPU per pipelined request", pipe.serverCPUus), .double(pipe.serverCPUus))
    report.add("bench_cpu_us", String(format: "%.2f µs bench CPU per pipelined request", pipe.clientCPUus), .double(pipe.clientCPUus))
    report.print(json: json)
}

/// Reads one reply and fails unless it is a result.
private func expectResult(_ server: BenchServer, what: String) throws -> JSONValue {
    guard let bytes = server.readFrames(1, keep: true).first else {
        throw BenchFailure("method: no reply to \(what) (the server closed its output)")
    }
    let reply = try JSONParser.parse(bytes)
    guard reply["result"] != nil else {
        throw BenchFailure("method: \(what) did not return a result: \(String(decoding: bytes, as: UTF8.self))")
    }
    return reply
}

struct BenchFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
