#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ContextCore
import ContextStore
import Foundation
import JSONCore

/// `contextd-bench scale`: flat costs as the store grows, and memory (issue 11).
///
///   --sizes N,N,…     store sizes in messages (default 10000,100000,1000000)
///   --per-conversation N  messages per conversation (default 100)
///   --requests N      measured sequential requests per method and size (default 1000)
///   --durability MODE the server's durability (default os: the journal is written but
///                     not fsynced, so addMessage shows the in-memory cost, not the disk's)
///   --dir PATH        where the data directories go (default /tmp; removed afterwards)
///   --json            the figures as JSON
///
/// For each size a data directory is written in-process through `FileBackend` (as the
/// server saves it), from the synthetic corpus of BenchCorpus.swift: `size / 100`
/// conversations whose messages alternate user/assistant, one millisecond apart, ids in
/// the server's own format. Then the release binary is started on it and, over its pipes
/// (Content-Length framing, one request in flight):
/// - start-up = spawn to the reply of a first `ping` (headers only: the server loads
///   messages lazily);
/// - first search = the reply time of a first `memory/search`, which waits until every
///   message is loaded and indexed (excluded from the percentiles below);
/// - idle RSS of a server on an empty data directory (with its private part and PSS on
///   Linux: most of it is the shared Swift runtime and Foundation libraries);
/// - RSS once loaded (after that search), against the raw text (the sum of the messages'
///   content bytes);
/// - p50/p99 round trips of `memory/getMessages` (`recent: 20`, conversations in a
///   scattered order), `session/get`, `memory/addMessage` (scattered conversations, new
///   corpus text) and `memory/search` (two words of one stored message, limit 20).
///   Every size's server stays loaded until the end and the sizes are measured
///   interleaved, request by request, so the machine's load drifting (a shared machine)
///   does not masquerade as a difference between sizes.
func runScaleBench(binary: String, arguments: [String], json: Bool) throws {
    let sizes = (stringOption(arguments, "--sizes") ?? "10000,100000,1000000")
        .split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "_", with: "")) }
    guard !sizes.isEmpty, sizes.allSatisfy({ $0 > 0 }) else { throw BenchFailure("scale: --sizes wants sizes like 10000,100000") }
    let perConversation = max(1, intOption(arguments, "--per-conversation", 100))
    let requests = max(10, intOption(arguments, "--requests", 1000))
    let durability = stringOption(arguments, "--durability") ?? "os"
    guard Durability(rawValue: durability) != nil else { throw BenchFailure("scale: --durability must be fsync, os or none") }
    let base = stringOption(arguments, "--dir") ?? "/tmp"
    guard FileManager.default.isExecutableFile(atPath: binary) else {
        throw BenchFailure("scale: no server binary at \(binary) (swift build -c release --product contextd, or --binary PATH)")
    }
    let serverArguments = { (dir: String) in ["--data-dir", dir, "--durability", durability, "--log-level", "error"] }

    // Idle: an empty data directory, after one reply.
    let idle: RSS? = try {
        let dir = makeBenchDir(base, "scale-idle")
        defer { removeTree(dir) }
        let s = try BenchServer(binary: binary, arguments: serverArguments(dir))
        defer { s.stop() }
        s.writeAll(framed(#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#))
        _ = s.readFrames(1)
        return RSS.of(s.pid)
    }()

    // Every size's server stays up (loaded) until all are measured, interleaved.
    var runs: [ScaleRun] = []
    defer { for run in runs { run.close() } }
    for size in sizes {
        runs.append(try prepareScale(
            size: size, perConversation: perConversation, requests: requests, binary: binary, base: base,
            serverArguments: serverArguments))
    }
    measureInterleaved(runs, requests: requests)
    let results = runs.map(\.result)

    if json {
        var report = BenchReport()
        report.add("binary", binary, .string(binary))
        report.add("durability", durability, .string(durability))
        report.add("requests_per_method", "", .int(requests))
        if let idle {
            report.add("idle_rss_mib", "", .double(idle.mib))
            if let a = idle.anonBytes { report.add("idle_rss_anon_mib", "", .double(Double(a) / 1_048_576)) }
            if let p = idle.pssBytes { report.add("idle_pss_mib", "", .double(Double(p) / 1_048_576)) }
            if let p = idle.privateBytes { report.add("idle_private_mib", "", .double(Double(p) / 1_048_576)) }
        }
        report.add("sizes", "", .array(results.map(\.json)))
        report.print(json: true)
    } else {
        printScaleTables(results, idle: idle, binary: binary, durability: durability, requests: requests)
    }
}

/// Figures of one store size.
struct ScaleResult {
    var messages = 0
    var conversations = 0
    var rawTextBytes = 0
    var storeBytes = 0
    var generateSeconds = 0.0
    var writeSeconds = 0.0
    var startupMs = 0.0
    var firstSearchMs = 0.0
    var firstSearchHits = 0
    var rssStarted: RSS?
    var rssLoaded: RSS?
    var rssEnd: RSS?
    var methods: [(name: String, stats: LatencyStats)] = []
    var meanSearchHits = 0.0
    var benchCPUus = 0.0

    var ratio: Double? { rssLoaded.map { Double($0.bytes) / Double(max(1, rawTextBytes)) } }

    var json: JSONValue {
        var o: JSONObject = [
            "messages": .int(messages), "conversations": .int(conversations),
            "raw_text_mib": .double(Double(rawTextBytes) / 1_048_576), "raw_text_bytes": .int(rawTextBytes),
            "store_mib": .double(Double(storeBytes) / 1_048_576),
            "generate_s": .double(generateSeconds), "write_s": .double(writeSeconds),
            "startup_ms": .double(startupMs), "first_search_ms": .double(firstSearchMs),
            "mean_search_hits": .double(meanSearchHits), "bench_cpu_us_per_request": .double(benchCPUus),
        ]
        if let r = rssStarted { o["rss_started_mib"] = .double(r.mib) }
        if let r = rssLoaded {
            o["rss_loaded_mib"] = .double(r.mib)
            if let a = r.anonBytes { o["rss_loaded_anon_mib"] = .double(Double(a) / 1_048_576) }
            if let p = r.peakBytes { o["rss_peak_mib"] = .double(Double(p) / 1_048_576) }
        }
        if let r = rssEnd { o["rss_end_mib"] = .double(r.mib) }
        if let x = ratio { o["rss_over_raw_text"] = .double(x) }
        for (name, s) in methods {
            o[name] = [
                "p50_us": .double(s.p50 * 1e6), "p99_us": .double(s.p99 * 1e6), "mean_us": .double(s.mean * 1e6),
                "server_cpu_us": .double(s.serverCPUus), "count": .int(s.count),
            ]
        }
        return .object(o)
    }
}

struct LatencyStats {
    var p50 = 0.0, p99 = 0.0, mean = 0.0
    var serverCPUus = 0.0
    var count = 0
}

/// A process's resident set: VmRSS (and RssAnon, VmHWM) from /proc on Linux; `ps -o rss=`
/// elsewhere (no peak or anonymous split there).
struct RSS {
    var bytes: Int
    var anonBytes: Int?
    var peakBytes: Int?
    /// Proportional set size (shared library pages divided among the processes mapping
    /// them; Linux smaps_rollup) and private (unshared) resident memory.
    var pssBytes: Int?
    var privateBytes: Int?
    /// MiB (as `contextd-bench rpc` reports idle RSS).
    var mib: Double { Double(bytes) / 1_048_576 }
    /// RSS that is not anonymous memory: the mapped binary and shared libraries.
    var fileBytes: Int? { anonBytes.map { bytes - $0 } }

    static func of(_ pid: Int32) -> RSS? {
        #if os(Linux)
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        func kb(_ field: String) -> Int? {
            guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(field + ":") }) else { return nil }
            return line.split(separator: " ").dropFirst().first.flatMap { Int($0) }.map { $0 * 1024 }
        }
        guard let rss = kb("VmRSS") else { return nil }
        var r = RSS(bytes: rss, anonBytes: kb("RssAnon"), peakBytes: kb("VmHWM"))
        if let rollup = try? String(contentsOfFile: "/proc/\(pid)/smaps_rollup", encoding: .utf8) {
            func field(_ name: String) -> Int? {
                guard let line = rollup.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }) else { return nil }
                return line.split(separator: " ").dropFirst().first.flatMap { Int($0) }.map { $0 * 1024 }
            }
            r.pssBytes = field("Pss")
            if let c = field("Private_Clean"), let d = field("Private_Dirty") { r.privateBytes = c + d }
        }
        return r
        #else
        let ps = Process()
        ps.executableURL = URL(fileURLWithPath: "/bin/ps")
        ps.arguments = ["-o", "rss=", "-p", String(pid)]
        let out = Pipe()
        ps.standardOutput = out
        ps.standardError = FileHandle.nullDevice
        guard (try? ps.run()) != nil else { return nil }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        ps.waitUntilExit()
        guard let kb = Int(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) else { return nil }
        return RSS(bytes: kb * 1024, anonBytes: nil, peakBytes: nil)
        #endif
    }
}

/// Ids in the server's format (`conv_<12 hex ms><6 hex tag><4 hex counter>`), so stored
/// ids cost what real ones do.
private func serverStyleID(_ prefix: String, ms: Int64, counter: Int) -> String {
    func hex(_ v: UInt64, _ width: Int) -> String {
        let s = String(v, radix: 16)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
    return "\(prefix)_\(hex(UInt64(ms), 12))5ca1e0\(hex(UInt64(counter & 0xFFFF), 4))"
}

/// One store size: its data directory and its server, loaded, warmed up and kept running
/// until every size has been measured.
final class ScaleRun {
    var result: ScaleResult
    let dir: String
    let server: BenchServer
    let plans: [(name: String, requests: [[UInt8]], keep: Bool)]
    init(result: ScaleResult, dir: String, server: BenchServer, plans: [(name: String, requests: [[UInt8]], keep: Bool)]) {
        self.result = result
        self.dir = dir
        self.server = server
        self.plans = plans
    }
    func close() {
        server.stop()
        removeTree(dir)
    }
}

/// Writes the store of one size, starts the server on it, times start-up and the first
/// search, reads RSS, builds the measured requests and warms every method up.
private func prepareScale(
    size: Int, perConversation: Int, requests: Int, binary: String, base: String, serverArguments: (String) -> [String]
) throws -> ScaleRun {
    var r = ScaleResult()
    r.messages = size
    let conversations = max(1, (size + perConversation - 1) / perConversation)
    r.conversations = conversations

    // MARK: the store, written in-process
    var t0 = monotonicSeconds()
    var rng = SplitMix(state: 42)
    let vocabulary = Vocabulary(size: 50_000, rng: &rng)
    let estimator = HeuristicTokenEstimator()
    let baseMs: Int64 = 1_795_000_000_000
    let convIDs = (0..<conversations).map { serverStyleID("conv", ms: baseMs - Int64(conversations - $0), counter: $0) }
    var records: [Record] = []
    records.reserveCapacity(size + conversations)
    var counts = [Int](repeating: 0, count: conversations)
    var tokens = [Int](repeating: 0, count: conversations)
    var queries: [String] = []
    queries.reserveCapacity(requests + 1)
    let queryEvery = max(1, size / (requests + 1))
    for i in 0..<size {
        let c = i % conversations
        let text = generateMessage(vocabulary: vocabulary, rng: &rng)
        let ms = baseMs + 1 + Int64(i)
        let n = estimator.count(text)
        records.append(.message(Message(
            id: serverStyleID("msg", ms: ms, counter: i), conversationId: convIDs[c], role: counts[c] & 1 == 0 ? .user : .assistant,
            content: text, createdAt: Timestamp(milliseconds: ms), tokens: n)))
        counts[c] += 1
        tokens[c] += n
        r.rawTextBytes += text.utf8.count
        if i % queryEvery == 0, queries.count <= requests {
            let words = TextFolding.words(text)
            queries.append("\(words[rng.below(words.count)]) \(words[rng.below(words.count)])")
        }
    }
    // The headers go first: the backend moves each conversation's header to the front of
    // its file by swapping it with the first record, so a header after the messages would
    // put the oldest message last (unlike the server's own saves) and every conversation
    // would be re-indexed on load.
    let headers = (0..<conversations).map { c -> Record in
        let last = baseMs + 1 + Int64(c + max(0, counts[c] - 1) * conversations)
        var h = Conversation(
            id: convIDs[c], title: "Conversation \(c)", createdAt: Timestamp(milliseconds: baseMs), updatedAt: Timestamp(milliseconds: last))
        h.messageCount = counts[c]
        h.tokenCount = tokens[c]
        return .conversation(h)
    }
    records.insert(contentsOf: headers, at: 0)
    // New text for memory/addMessage (its own stream, so the stored corpus stays the same).
    var addRng = SplitMix(state: 7)
    let addTexts = (0..<min(requests, 1000)).map { _ in JSONWriter.string(.string(generateMessage(vocabulary: vocabulary, rng: &addRng))) }
    r.generateSeconds = monotonicSeconds() - t0

    let dir = makeBenchDir(base, "scale-\(size)")
    var server: BenchServer?
    do {
        t0 = monotonicSeconds()
        do {
            var o = FileBackendOptions(durability: .os)
            o.autoSaveIntervalSeconds = nil
            let b = try FileBackend(directory: dir, options: o)
            _ = try b.load()
            let saved = try b.save(from: ArraySource(records), components: ["conversations"])
            b.close()
            r.storeBytes = saved.bytes
        }
        records = []
        r.writeSeconds = monotonicSeconds() - t0

        // MARK: the server
        t0 = monotonicSeconds()
        let started = try BenchServer(binary: binary, arguments: serverArguments(dir))
        server = started
        started.writeAll(framed(#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#))
        _ = try scaleExpectResult(started, what: "ping")
        r.startupMs = (monotonicSeconds() - t0) * 1000
        r.rssStarted = RSS.of(started.pid)

        func searchRequest(_ q: String, id: Int) -> [UInt8] {
            framed(#"{"jsonrpc":"2.0","id":\#(id),"method":"memory/search","params":{"query":\#(JSONWriter.string(.string(q))),"limit":20}}"#)
        }
        t0 = monotonicSeconds()
        started.writeAll(searchRequest(queries[0], id: 2))
        let first = try scaleExpectResult(started, what: "memory/search")
        r.firstSearchMs = (monotonicSeconds() - t0) * 1000
        r.firstSearchHits = first["result"]?["hits"]?.arrayValue?.count ?? 0
        r.rssLoaded = RSS.of(started.pid)

        started.writeAll(framed(#"{"jsonrpc":"2.0","id":3,"method":"session/create","params":{"name":"scale bench","mode":"building"}}"#))
        guard let sessionID = try scaleExpectResult(started, what: "session/create")["result"]?["id"]?.stringValue else {
            throw BenchFailure("scale: session/create returned no id")
        }

        // Conversations in a scattered order (a stride coprime with the count).
        var step = 7919 % conversations
        while conversations > 1, step == 0 || gcd(step, conversations) != 1 { step = (step + 1) % conversations }
        func conversation(_ k: Int) -> String { convIDs[(k &* max(1, step) &+ 1) % conversations] }

        let measured = queries.count > 1 ? Array(queries.dropFirst()) : queries
        var plans: [(name: String, requests: [[UInt8]], keep: Bool)] = []
        plans.append(("memory/getMessages", (0..<requests).map { k in
            framed(#"{"jsonrpc":"2.0","id":\#(10 + k),"method":"memory/getMessages","params":{"conversationId":"\#(conversation(k))","recent":20}}"#)
        }, false))
        let sessionGet = framed(#"{"jsonrpc":"2.0","id":9,"method":"session/get","params":{"id":"\#(sessionID)"}}"#)
        plans.append(("session/get", [[UInt8]](repeating: sessionGet, count: requests), false))
        plans.append(("memory/addMessage", (0..<requests).map { k in
            let role = k & 1 == 0 ? "user" : "assistant"
            return framed(#"{"jsonrpc":"2.0","id":\#(10 + k),"method":"memory/addMessage","params":{"conversationId":"\#(conversation(k + 17))","role":"\#(role)","content":\#(addTexts[k % addTexts.count])}}"#)
        }, false))
        plans.append(("memory/search", (0..<requests).map { k in searchRequest(measured[k % measured.count], id: 10 + k) }, true))

        // Warm up every method (its first reply must be a result).
        for plan in plans {
            started.writeAll(plan.requests[0])
            _ = try scaleExpectResult(started, what: plan.name)
            for q in plan.requests.prefix(50).dropFirst() {
                started.writeAll(q)
                _ = started.readFrames(1)
            }
        }
        return ScaleRun(result: r, dir: dir, server: started, plans: plans)
    } catch {
        server?.stop()
        removeTree(dir)
        throw error
    }
}

/// Measures every method over all the runs at once: request k of a method goes to each
/// size's server in turn (the order rotating), so a change in the machine's load while
/// measuring (other processes on a shared machine) hits every size alike instead of
/// whichever size happened to be measured then. One request is in flight at a time.
private func measureInterleaved(_ runs: [ScaleRun], requests: Int) {
    let bench0 = selfCPUSeconds()
    var total = 0
    guard let methods = runs.first?.plans.count else { return }
    for m in 0..<methods {
        var lat = [[Double]](repeating: [], count: runs.count)
        var hits = [Int](repeating: 0, count: runs.count)
        var cpu = [Double](repeating: 0, count: runs.count)
        for (i, run) in runs.enumerated() {
            lat[i].reserveCapacity(requests)
            cpu[i] = run.server.cpuSeconds
        }
        for k in 0..<requests {
            for j in 0..<runs.count {
                let i = (j + k) % runs.count
                let plan = runs[i].plans[m]
                let server = runs[i].server
                let t = monotonicSeconds()
                server.writeAll(plan.requests[k])
                let reply = server.readFrames(1, keep: plan.keep)
                lat[i].append(monotonicSeconds() - t)
                if plan.keep, let b = reply.first, let v = try? JSONParser.parse(b) { hits[i] += v["result"]?["hits"]?.arrayValue?.count ?? 0 }
            }
        }
        for (i, run) in runs.enumerated() {
            let plan = run.plans[m]
            let used = run.server.cpuSeconds - cpu[i]
            let mean = lat[i].reduce(0, +) / Double(lat[i].count)
            lat[i].sort()
            run.result.methods.append((plan.name, LatencyStats(
                p50: percentile(lat[i], 0.5), p99: percentile(lat[i], 0.99), mean: mean,
                serverCPUus: used / Double(lat[i].count) * 1e6, count: lat[i].count)))
            if plan.keep { run.result.meanSearchHits = Double(hits[i]) / Double(requests) }
            total += lat[i].count
        }
    }
    let benchCPU = (selfCPUSeconds() - bench0) / Double(max(1, total)) * 1e6
    for run in runs {
        run.result.benchCPUus = benchCPU
        run.result.rssEnd = RSS.of(run.server.pid)
    }
}

private func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }

/// Reads one reply and fails unless it is a result.
private func scaleExpectResult(_ server: BenchServer, what: String) throws -> JSONValue {
    guard let bytes = server.readFrames(1, keep: true).first else {
        throw BenchFailure("scale: no reply to \(what) (the server closed its output)")
    }
    let reply = try JSONParser.parse(bytes)
    guard reply["result"] != nil else {
        throw BenchFailure("scale: \(what) did not return a result: \(String(decoding: bytes.prefix(500), as: UTF8.self))")
    }
    return reply
}

private func printScaleTables(_ results: [ScaleResult], idle: RSS?, binary: String, durability: String, requests: Int) {
    func pad(_ s: String, _ w: Int) -> String { s.count >= w ? s : String(repeating: " ", count: w - s.count) + s }
    func row(_ cells: [String], _ widths: [Int]) -> String { zip(cells, widths).map { pad($0, $1) }.joined(separator: "  ") }
    func f(_ v: Double, _ d: Int = 0) -> String { String(format: "%.\(d)f", v) }
    func mib(_ bytes: Int?) -> String { bytes.map { f(Double($0) / 1_048_576, 1) } ?? "–" }

    writeOut("contextd-bench scale: \(binary), durability \(durability), \(requests) sequential requests per method and size")
    if let idle {
        let split = idle.anonBytes.map { " = \(mib($0)) anonymous + \(mib(idle.fileBytes)) binary and libraries" } ?? ""
        writeOut("idle RSS (empty data directory, after one reply): \(mib(idle.bytes)) MiB\(split) (target ≤ 20 MB)")
        if let pss = idle.pssBytes, let own = idle.privateBytes {
            writeOut("  of which private (not shared with other processes): \(mib(own)) MiB; PSS \(mib(pss)) MiB")
        }
    }
    writeOut("")
    var w = [9, 7, 10, 10, 9, 14, 10, 13]
    writeOut(row(["messages", "convs", "raw text", "bytes/msg", "store", "generate+write", "start-up", "first search"], w))
    for r in results {
        writeOut(row([
            String(r.messages), String(r.conversations), mib(r.rawTextBytes) + " MiB",
            f(Double(r.rawTextBytes) / Double(max(1, r.messages)), 0), f(Double(r.storeBytes) / 1_048_576, 0) + " MiB",
            f(r.generateSeconds, 1) + "+" + f(r.writeSeconds, 1) + " s", f(r.startupMs, 0) + " ms", f(r.firstSearchMs, 0) + " ms",
        ], w))
    }
    writeOut("")
    writeOut("round trip p50 / p99 in µs (server CPU µs per request)")
    let names = results.first?.methods.map(\.name) ?? []
    let labels = names.map { $0 == "memory/getMessages" ? "getMessages recent 20" : $0 == "memory/search" ? "search 2 words" : $0 }
    w = [9] + labels.map { max($0.count, 22) } + [10]
    writeOut(row(["messages"] + labels + ["hits/search"], w))
    for r in results {
        let cells = r.methods.map { "\(f($0.stats.p50 * 1e6)) / \(f($0.stats.p99 * 1e6)) (\(f($0.stats.serverCPUus)))" }
        writeOut(row([String(r.messages)] + cells + [f(r.meanSearchHits, 1)], w))
    }
    if let last = results.last {
        writeOut("load generator CPU: \(f(last.benchCPUus, 1)) µs per request at \(last.messages) messages")
    }
    if results.count > 1 {
        // Each step against the log factor (log n₂ / log n₁: what an O(log n) index lookup
        // would add); "beyond" marks a p50 that grew more than that.
        writeOut("")
        writeOut("p50 growth per step (log factor = log n2 / log n1)")
        var steps: [(ScaleResult, ScaleResult)] = zip(results, results.dropFirst()).map { ($0, $1) }
        if results.count > 2 { steps.append((results.first!, results.last!)) }
        let gw = [19, 10] + labels.map { max($0.count, 22) }
        writeOut(row(["step", "log factor"] + labels, gw))
        for (a, b) in steps {
            let logFactor = log(Double(b.messages)) / log(Double(a.messages))
            let cells = zip(a.methods, b.methods).map { x, y -> String in
                let g = y.stats.p50 / max(x.stats.p50, 1e-9)
                return f(g, 2) + "×" + (g > logFactor ? " beyond" : "")
            }
            writeOut(row(["\(a.messages) → \(b.messages)", f(logFactor, 2) + "×"] + cells, gw))
        }
    }
    writeOut("")
    writeOut("memory (MiB; RSS loaded = after the first search, every message loaded and indexed; anon = RssAnon, peak = VmHWM)")
    w = [9, 15, 11, 10, 11, 11, 10, 16]
    writeOut(row(["messages", "RSS start-up", "RSS loaded", "anon", "peak", "RSS end", "raw text", "RSS ÷ raw text"], w))
    for r in results {
        writeOut(row([
            String(r.messages), mib(r.rssStarted?.bytes), mib(r.rssLoaded?.bytes), mib(r.rssLoaded?.anonBytes),
            mib(r.rssLoaded?.peakBytes), mib(r.rssEnd?.bytes), mib(r.rawTextBytes),
            r.ratio.map { f($0, 2) + "×" } ?? "–",
        ], w))
    }
    writeOut("target: RSS with 1,000,000 messages ≤ 2× their raw text")
}
