import ContextCore
import Foundation
import JSONCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `contextd-bench memory [--messages N] [--conversations N] [--queries N] [--repeat R]
/// [--adds N] [--only tokens|search|add] [--tokenizer cl100k_base=PATH]`: token
/// estimator error and speed, exact BPE speed, search latency (each query's best of R
/// runs, default 3) and index memory over a generated corpus, addMessage apply rate.
/// Without `--tokenizer`, `CONTEXTD_TIKTOKEN_DIR/cl100k_base.tiktoken` is used if present.
public func runMemoryBench(arguments: [String]) {
    var messages = 100_000
    var conversations: Int? = nil
    var queries = 1000
    var repeats = 3
    var vocabPath: String? = nil
    var calibrate = false
    var adds: Int? = nil
    var only: String? = nil
    var i = 0
    while i < arguments.count {
        let a = arguments[i]
        let next = i + 1 < arguments.count ? arguments[i + 1] : ""
        switch a {
        case "--messages": messages = Int(next) ?? messages; i += 1
        case "--conversations": conversations = Int(next); i += 1
        case "--queries": queries = Int(next) ?? queries; i += 1
        case "--repeat": repeats = max(1, Int(next) ?? repeats); i += 1
        case "--calibrate": calibrate = true
        case "--adds": adds = Int(next); i += 1
        case "--only": only = next; i += 1
        case "--tokenizer":
            if let eq = next.firstIndex(of: "="), next[..<eq] == "cl100k_base" { vocabPath = String(next[next.index(after: eq)...]) }
            i += 1
        default: break
        }
        i += 1
    }
    if vocabPath == nil, let dir = ProcessInfo.processInfo.environment["CONTEXTD_TIKTOKEN_DIR"] {
        let p = dir + "/cl100k_base.tiktoken"
        if FileManager.default.fileExists(atPath: p) { vocabPath = p }
    }
    let convCount = conversations ?? max(1, messages / 100)
    out("contextd-bench memory")
    if calibrate {
        calibrateEstimator(vocabPath: vocabPath)
        return
    }
    if only == nil || only == "tokens" { benchTokens(vocabPath: vocabPath) }
    if only == nil || only == "search" { benchSearch(messages: messages, conversations: convCount, queries: queries, repeats: repeats) }
    if only == nil || only == "add" { benchAddMessage(count: adds ?? min(messages, 300_000), repeats: repeats) }
}

private func out(_ s: String) {
    FileHandle.standardOutput.write((s + "\n").data(using: .utf8)!)
}

private func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// CPU time of this thread (unaffected by other processes competing for the cores).
private func cpuNow() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

private func fmt(_ v: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", v) }

private func residentBytes() -> Int? {
    #if os(Linux)
    guard let s = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
    let parts = s.split(separator: " ")
    guard parts.count > 1, let pages = Int(parts[1]) else { return nil }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    #else
    return nil
    #endif
}

// MARK: Tokens

private func benchTokens(vocabPath: String?) {
    let verbose = ProcessInfo.processInfo.environment["CONTEXTD_BENCH_VERBOSE"] != nil
    let est = HeuristicTokenEstimator()
    let samples = EstimatorCorpus.samples
    var bpe: BPETokenizer? = nil
    if let p = vocabPath, let data = FileManager.default.contents(atPath: p) {
        bpe = try? BPETokenizer(name: "cl100k_base", pattern: .cl100k, vocabulary: [UInt8](data))
    }
    if let bpe {
        var byCat: [String: (sum: Double, n: Int, est: Int, exact: Int)] = [:]
        var total = 0.0
        for (cat, text) in samples {
            let e = est.count(text), x = bpe.count(text)
            let err = Double(abs(e - x)) / Double(max(1, x))
            if verbose { out("    [\(cat)] estimate \(e) exact \(x) \(String(text.prefix(40)).debugDescription)") }
            total += err
            var c = byCat[cat] ?? (0, 0, 0, 0)
            c.sum += err
            c.n += 1
            c.est += e
            c.exact += x
            byCat[cat] = c
        }
        out("estimator vs cl100k_base: mean absolute error \(fmt(100 * total / Double(samples.count)))% over \(samples.count) samples")
        for cat in ["prose", "code", "cjk", "emoji", "numbers"] {
            if let c = byCat[cat] {
                out("  \(cat): MAE \(fmt(100 * c.sum / Double(c.n)))% (estimate \(c.est) vs exact \(c.exact) tokens, \(c.n) samples)")
            }
        }
    } else {
        out("estimator error: skipped (no cl100k_base vocabulary; pass --tokenizer cl100k_base=PATH or set CONTEXTD_TIKTOKEN_DIR)")
    }
    // Throughput over ~16 MB of the corpus.
    let one = samples.map(\.text).joined(separator: "\n")
    let reps = max(1, 16_000_000 / one.utf8.count)
    let big = String(repeating: one + "\n", count: reps)
    let mb = Double(big.utf8.count) / 1e6
    var t0 = now()
    var n = est.count(big)
    var dt = now() - t0
    out("estimator throughput: \(fmt(mb / dt)) MB/s (\(fmt(mb)) MB, \(n) tokens)")
    if let bpe {
        let slice = String(repeating: one + "\n", count: max(1, 4_000_000 / one.utf8.count))
        let smb = Double(slice.utf8.count) / 1e6
        t0 = now()
        n = bpe.count(slice)
        dt = now() - t0
        out("exact BPE (cl100k_base) throughput: \(fmt(smb / dt)) MB/s (\(fmt(smb)) MB, \(n) tokens)")
    }
}

private func benchSearch(messages: Int, conversations: Int, queries: Int, repeats: Int) {
    var rng = SplitMix(state: 42)
    let vocab = Vocabulary(size: 50_000, rng: &rng)
    var t0 = now()
    let texts = generateMessages(messages, vocabulary: vocab, rng: &rng)
    let rawBytes = texts.reduce(0) { $0 + $1.utf8.count }
    out("search corpus: \(messages) messages in \(conversations) conversations, \(fmt(Double(rawBytes) / 1e6)) MB raw text (generated in \(fmt(now() - t0, 2)) s)")

    let rss0 = residentBytes()
    let index = SearchIndex()
    let convIDs = (0..<conversations).map { "conv_\($0)" }
    let roles: [MessageRole] = [.user, .assistant]
    t0 = now()
    let c0 = cpuNow()
    for (k, text) in texts.enumerated() {
        index.add(conversationId: convIDs[k % conversations], role: roles[k & 1], createdAt: Timestamp(milliseconds: Int64(k)), text: text)
    }
    let build = now() - t0
    let buildCPU = cpuNow() - c0
    let rss1 = residentBytes()
    out("index build: \(fmt(Double(messages) / build / 1000)) k messages/s wall, \(fmt(Double(messages) / buildCPU / 1000)) k/s per CPU-second, \(index.termCount) terms")
    let est = index.estimatedMemoryBytes
    out("index memory (estimated from allocations): \(fmt(Double(est) / 1e6)) MB = \(fmt(Double(est) / Double(rawBytes), 2))× raw text")
    if let a = rss0, let b = rss1 {
        out("index memory (RSS growth while building): \(fmt(Double(b - a) / 1e6)) MB = \(fmt(Double(b - a) / Double(rawBytes), 2))× raw text")
    }

    // Two-word queries: two words drawn from one random message (so they can co-occur).
    var qs: [String] = []
    for _ in 0..<queries {
        let ws = TextFolding.words(texts[rng.below(texts.count)])
        qs.append("\(ws[rng.below(ws.count)]) \(ws[rng.below(ws.count)])")
    }
    // Warm-up.
    for q in qs.prefix(20) { _ = index.search(q, limit: 20) }
    // Each query's latency is its best of `repeats` runs (rounds over the whole set):
    // on a shared machine a single run's tail is mostly other tenants' noise.
    var lat = [Double](repeating: .infinity, count: qs.count)
    var hits = 0
    for round in 0..<repeats {
        for (k, q) in qs.enumerated() {
            let s = now()
            let r = index.search(q, limit: 20)
            lat[k] = min(lat[k], now() - s)
            if round == 0 { hits += r.hits.count }
        }
    }
    lat.sort()
    func pct(_ p: Double) -> Double { lat[min(lat.count - 1, Int(Double(lat.count) * p))] * 1000 }
    out("search (2-word queries, limit 20, \(queries) queries, best of \(repeats) runs each): p50 \(fmt(pct(0.5), 2)) ms, p99 \(fmt(pct(0.99), 2)) ms, max \(fmt(lat.last! * 1000, 2)) ms, mean hits \(fmt(Double(hits) / Double(queries)))")
}

// MARK: addMessage

/// Each round is a fresh engine taking `count` adds; the figures are the best round's
/// and the median round's (on a shared machine a round's time is partly other tenants').
private func benchAddMessage(count: Int, repeats: Int) {
    var rng = SplitMix(state: 7)
    let vocab = Vocabulary(size: 20_000, rng: &rng)
    let texts = generateMessages(10_000, vocabulary: vocab, rng: &rng)
    var walls: [Double] = [], cpus: [Double] = []
    for _ in 0..<repeats {
        let engine = ContextEngine(env: DomainEnvironment(clock: SystemClock(), ids: RandomIDGenerator()))
        var convs: [String] = []
        for k in 0..<max(1, count / 100) {
            convs.append(try! engine.conversations.createConversation(title: "bench \(k)").id)
        }
        _ = engine.effects.drain()
        let t0 = now()
        let c0 = cpuNow()
        for k in 0..<count {
            _ = try! engine.conversations.addMessage(
                conversationId: convs[k % convs.count], role: k & 1 == 0 ? .user : .assistant, content: texts[k % texts.count])
            if k % 256 == 255 { _ = engine.effects.drain() }
        }
        walls.append(now() - t0)
        cpus.append(cpuNow() - c0)
    }
    walls.sort()
    cpus.sort()
    let n = Double(count)
    out("memory/addMessage in-process apply (count tokens, index, record changes; no I/O): best of \(repeats) rounds \(fmt(n / walls[0] / 1000)) k/s wall, \(fmt(n / cpus[0] / 1000)) k/s per CPU-second; median \(fmt(n / walls[walls.count / 2] / 1000)) k/s wall; \(count) messages per round")
}

// MARK: Calibration (`--calibrate`): fits the estimator's parameters on the even
// samples of the corpus by coordinate descent and reports the error on the odd ones.

private func calibrateEstimator(vocabPath: String?) {
    guard let p = vocabPath, let data = FileManager.default.contents(atPath: p),
        let bpe = try? BPETokenizer(name: "cl100k_base", pattern: .cl100k, vocabulary: [UInt8](data))
    else {
        out("calibration needs a cl100k_base vocabulary")
        return
    }
    let samples = EstimatorCorpus.samples
    let exact = samples.map { bpe.count($0.text) }
    func mae(_ params: HeuristicTokenEstimator.Parameters, _ pick: (Int) -> Bool) -> Double {
        let e = HeuristicTokenEstimator(parameters: params)
        var sum = 0.0, n = 0
        for (k, s) in samples.enumerated() where pick(k) {
            sum += Double(abs(e.count(s.text) - exact[k])) / Double(max(1, exact[k]))
            n += 1
        }
        return sum / Double(max(1, n))
    }
    typealias P = HeuristicTokenEstimator.Parameters
    var best = P()
    let train: (Int) -> Bool = { $0 % 2 == 0 }
    var bestErr = mae(best, train)
    let knobs: [(String, WritableKeyPath<P, Int>, [Int])] = [
        ("wordFree", \.wordFree, Array(3...14)),
        ("latinAccent", \.latinAccent, Array(stride(from: 0, through: 300, by: 10))),
        ("punctExtra", \.punctExtra, Array(stride(from: 0, through: 100, by: 5))),
        ("otherTwoByte", \.otherTwoByte, Array(stride(from: 20, through: 120, by: 5))),
        ("cjkSingle", \.cjkSingle, Array(stride(from: 60, through: 160, by: 4))),
        ("cjkSplit", \.cjkSplit, Array(stride(from: 100, through: 300, by: 5))),
        ("otherThreeByte", \.otherThreeByte, Array(stride(from: 50, through: 250, by: 10))),
        ("fourByte", \.fourByte, Array(stride(from: 100, through: 400, by: 10))),
        ("indent", \.indent, Array(stride(from: 0, through: 150, by: 10))),
    ]
    for _ in 0..<4 {
        for (_, kp, values) in knobs {
            for v in values {
                var c = best
                c[keyPath: kp] = v
                let e = mae(c, train)
                if e < bestErr { bestErr = e; best = c }
            }
        }
        for lpt in stride(from: 1.5, through: 10.0, by: 0.25) {
            var c = best
            c.lettersPerToken = lpt
            let e = mae(c, train)
            if e < bestErr { bestErr = e; best = c }
        }
    }
    out("fitted parameters: \(best)")
    out("MAE train (even samples) \(fmt(100 * bestErr))%, held-out (odd samples) \(fmt(100 * mae(best) { $0 % 2 == 1 }))%, all \(fmt(100 * mae(best) { _ in true }))%")
    out("defaults: all \(fmt(100 * mae(P()) { _ in true }))%")
}
