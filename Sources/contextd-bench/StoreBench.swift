#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ContextCore
import ContextStore
import Dispatch
import Foundation
import JSONRPC

/// `contextd-bench store`: the file backend's figures (issue 6 targets).
///
///   --commits N      commits per durability run (default 20000)
///   --window N       commits in flight (default 64)
///   --messages N     messages in the snapshot/start-up runs (default 1000000)
///   --conversations N  (default 1000)
///   --content N      bytes of content per message (default 400)
///   --dir PATH       where to put the data directories (default /tmp; use a real disk)
///   --store redis://…  measure the Redis backend instead (see RedisStoreBench.swift)
///   --snapshot-only  only the full-snapshot runs (no commit, load or start-up runs)
///   --formats LIST   snapshot formats to run, comma-separated (default json,jsonGzip,compactJson)
///   --keep           keep the last snapshot directory (its path is printed)
///
/// Commit throughput is measured in-process against `FileBackend` (64 commits in flight,
/// each one message record), and over pipes with `memory/addMessage` when the binary
/// serves it. Snapshot speed = snapshot bytes written / time of a full save of the
/// conversations component into a fresh directory: every byte counted is written to a
/// new file and fsynced before its rename, the directory synced after, and the time
/// includes getting the records from the source (built in the engine's order). The
/// `_phases_s` line after each says where the time went (`FileBackend.lastSavePhases`;
/// per-thread phases are summed over threads). Start-up = `load()` of that directory,
/// and the binary's time to its first reply on it.
///
/// On ext4 without a journal, creating files right after many were deleted nearby (a
/// previous run's clean-up, a compiler's temp files in /tmp) costs up to ~2 ms per file:
/// the allocator skips recently deleted inodes one by one. Leave ~40 s between runs, or
/// use a directory whose neighbours are quiet (e.g. /var/tmp rather than a busy /tmp).
func runStoreBench(arguments: [String]) throws {
    if let store = stringOption(arguments, "--store"), RedisURL.isRedis(store) {
        try runRedisStoreBench(url: store, arguments: arguments)
        return
    }
    let json = arguments.contains("--json")
    let commits = intOption(arguments, "--commits", 20_000)
    let window = intOption(arguments, "--window", 64)
    let messages = intOption(arguments, "--messages", 1_000_000)
    let conversations = max(1, intOption(arguments, "--conversations", 1000))
    let contentBytes = intOption(arguments, "--content", 400)
    let base = stringOption(arguments, "--dir") ?? "/tmp"
    let snapshotOnly = arguments.contains("--snapshot-only")
    let formats = (stringOption(arguments, "--formats") ?? "json,jsonGzip,compactJson").split(separator: ",").compactMap { SnapshotFormat(rawValue: String($0)) }
    var report = BenchReport()
    let content = String(repeating: "The quick brown fox jumps over the lazy dog; café ✓ ", count: max(1, contentBytes / 52))

    // Messages arrive one millisecond apart (as a real store's do), 100 tokens each.
    let baseMs: Int64 = 1_795_000_000_000
    func message(_ i: Int, conversation: Int) -> Record {
        .message(Message(
            id: "msg_\(i)", conversationId: "conv_\(conversation)", role: .assistant, content: content,
            createdAt: Timestamp(milliseconds: baseMs + Int64(i)), tokens: 100))
    }

    // MARK: commit throughput by durability (in-process)
    var rates: [Durability: Double] = [:]
    for durability in snapshotOnly ? [] : [Durability.none, .os, .fsync] {
        let dir = makeBenchDir(base, "commit")
        defer { removeTree(dir) }
        var o = FileBackendOptions(durability: durability, format: .compactJson)
        o.autoSaveIntervalSeconds = nil
        o.journalSizeLimit = .max
        let b = try FileBackend(directory: dir, options: o)
        _ = try b.load()
        let records = (0..<commits).map { message($0, conversation: $0 % 100) }
        let slots = DispatchSemaphore(value: window)
        let done = DispatchGroup()
        let t0 = monotonicSeconds()
        for r in records {
            slots.wait()
            done.enter()
            b.commit([.put(r)]) { _ in
                slots.signal()
                done.leave()
            }
        }
        done.wait()
        b.flush()
        let elapsed = monotonicSeconds() - t0
        let stats = b.journalStats
        b.close()
        rates[durability] = Double(commits) / elapsed
        var extra = ""
        if durability == .fsync { extra = String(format: ", %d fsyncs = %.1f commits per fsync", stats.syncs, Double(commits) / Double(max(stats.syncs, 1))) }
        report.add(
            "commit_\(durability.rawValue)_per_s",
            String(format: "%.0f commits/s durability %@ (%d in flight, in-process%@)", rates[durability]!, durability.rawValue, window, extra),
            .double(rates[durability]!))
    }
    if let n = rates[.none], let f = rates[.fsync] {
        report.add("commit_fsync_vs_none", String(format: "none is %.2f× fsync (target ≤ 2×)", n / f), .double(n / f))
    }

    // MARK: over pipes, when memory/addMessage is served
    let binary = stringOption(arguments, "--binary") ?? defaultBinary()
    if !snapshotOnly, FileManager.default.isExecutableFile(atPath: binary) {
        var wire: [Durability: Double] = [:]
        for durability in [Durability.none, .fsync] {
            let dir = makeBenchDir(base, "wire")
            defer { removeTree(dir) }
            let s = try BenchServer(binary: binary, arguments: ["--data-dir", dir, "--durability", durability.rawValue, "--log-level", "error"])
            defer { s.stop() }
            s.writeAll(framed(#"{"jsonrpc":"2.0","id":1,"method":"memory/createConversation","params":{"title":"bench"}}"#))
            let reply = s.readFrames(1, keep: true).first.flatMap { try? JSONParser.parse($0) }
            guard let convId = reply?["result"]?["id"]?.stringValue else { break }
            let escaped = JSONWriter.string(.string(content))
            let r = pipelined(server: s, count: commits, window: window) { i in
                framed(#"{"jsonrpc":"2.0","id":\#(i + 1),"method":"memory/addMessage","params":{"conversationId":"\#(convId)","role":"user","content":\#(escaped)}}"#)
            }
            wire[durability] = r.rps
            report.add("wire_addMessage_\(durability.rawValue)_per_s", String(format: "%.0f memory/addMessage/s durability %@ over pipes (%d in flight)", r.rps, durability.rawValue, window), .double(r.rps))
        }
        if let n = wire[.none], let f = wire[.fsync] {
            report.add("wire_fsync_vs_none", String(format: "none is %.2f× fsync over pipes (target ≤ 2×)", n / f), .double(n / f))
        } else {
            report.add("wire_addMessage", "skipped: the binary does not serve memory/addMessage yet", .null)
        }
    }

    // MARK: full snapshot (each format into a fresh directory) and start-up
    var records: [Record] = []
    records.reserveCapacity(messages + conversations)
    // In the engine's order (`ContextEngine.allRecords`): each header, then its messages.
    for c in 0..<conversations {
        // The header as the server saves it: live counts, updated at its newest message.
        let count = messages / conversations + (c < messages % conversations ? 1 : 0)
        let last = count > 0 ? baseMs + Int64(c + (count - 1) * conversations) : baseMs
        var h = Conversation(
            id: "conv_\(c)", title: "Conversation \(c)", createdAt: Timestamp(milliseconds: baseMs), updatedAt: Timestamp(milliseconds: last))
        h.messageCount = count
        h.tokenCount = count * 100
        records.append(.conversation(h))
        for i in stride(from: c, to: messages, by: conversations) { records.append(message(i, conversation: c)) }
    }
    let source = ArraySource(records)
    records = []
    var dir = ""
    // Each format into a fresh directory; all are removed at the end, not between runs:
    // ext4 without a journal skips recently deleted inodes when it allocates new ones,
    // one by one, so creating files right after deleting a thousand costs ~1 ms each —
    // a cost of the bench's clean-up, not of a save (a server's saves are minutes apart).
    var dirs: [String] = []
    let keep = arguments.contains("--keep")
    defer { for d in dirs where !(keep && d == dir) { removeTree(d) } }
    for format in formats {
        dir = makeBenchDir(base, "snapshot")
        dirs.append(dir)
        var o = FileBackendOptions(durability: .fsync, format: format)
        o.autoSaveIntervalSeconds = nil
        let b = try FileBackend(directory: dir, options: o)
        _ = try b.load()
        let cpu0 = selfCPUSeconds()
        let t0 = monotonicSeconds()
        let saved = try b.save(from: source, components: ["conversations"])
        let elapsed = monotonicSeconds() - t0
        let cpu = selfCPUSeconds() - cpu0
        let phases = b.lastSavePhases.seconds
        b.close()
        let mbs = Double(saved.bytes) / elapsed / 1e6
        report.add(
            "snapshot_\(format.rawValue)_mb_s",
            String(format: "%.0f MB/s full snapshot %@: %d messages → %.0f MB in %d files, %.2f s (CPU %.2f s)", mbs, format.rawValue, messages, Double(saved.bytes) / 1e6, saved.files, elapsed, cpu),
            .double(mbs))
        var phaseObject = JSONObject()
        for (name, s) in phases { phaseObject[name] = .double(s) }
        report.add(
            "snapshot_\(format.rawValue)_phases_s",
            "  phases (s, summed over threads): " + phases.map { String(format: "%@ %.2f", $0.0, $0.1) }.joined(separator: ", "),
            .object(phaseObject))
    }
    if keep { report.add("kept_dir", "kept \(dir)", .string(dir)) }
    if snapshotOnly {
        report.print(json: json)
        return
    }
    // The models are still growing: while Message has no content field the records above
    // are tiny. This measures snapshot encoding of message-sized records (the message
    // JSON as a setting value) in memory, to show the per-byte speed.
    do {
        let payload: JSONValue = [
            "id": "msg_x", "conversationId": "conv_x", "role": "assistant", "content": .string(content),
            "metadata": [:], "createdAt": "2026-11-22T10:04:05.123Z", "tokens": 100,
        ]
        let n = min(messages, 200_000)
        let big = (0..<n).map { Record.setting(key: "m\($0)", value: payload) }
        for format in [SnapshotFormat.compactJson, .jsonGzip] {
            let t0 = monotonicSeconds()
            let bytes = try SnapshotFile(component: "conversations", sequence: 1, savedAt: nil, records: big).encode(format: format)
            let elapsed = monotonicSeconds() - t0
            let raw = format == .jsonGzip ? Double(n * (JSONWriter.encode(payload).count + 40)) : Double(bytes.count)
            report.add(
                "encode_\(format.rawValue)_mb_s",
                String(format: "%.0f MB/s encoding %d message-sized records (%.0f MB of JSON) to %@ in memory", raw / elapsed / 1e6, n, raw / 1e6, format.rawValue),
                .double(raw / elapsed / 1e6))
        }
    }
    do {
        let t0 = monotonicSeconds()
        var o = FileBackendOptions(durability: .fsync, format: .compactJson)
        o.autoSaveIntervalSeconds = nil
        let b = try FileBackend(directory: dir, options: o)
        let changes = try b.load()
        let loadS = monotonicSeconds() - t0
        b.close()
        report.add("load_ms", String(format: "%.0f ms FileBackend.load() of %d records (all messages parsed)", loadS * 1000, changes.count), .double(loadS * 1000))
    }
    do {
        let t0 = monotonicSeconds()
        var o = FileBackendOptions(durability: .fsync, format: .compactJson)
        o.autoSaveIntervalSeconds = nil
        let b = try FileBackend(directory: dir, options: o)
        let (changes, lazy) = try b.loadLazily()
        let headersS = monotonicSeconds() - t0
        let t1 = monotonicSeconds()
        let rest = try lazy.allMessages()
        let restS = monotonicSeconds() - t1
        b.close()
        report.add(
            "load_lazy_ms",
            String(format: "%.0f ms FileBackend.loadLazily() to headers (%d records; %d conversations deferred), then %.0f ms for their %d messages", headersS * 1000, changes.count, lazy.ids.count, restS * 1000, rest.count),
            .double(headersS * 1000))
    }
    if FileManager.default.isExecutableFile(atPath: binary) {
        let t0 = monotonicSeconds()
        let s = try BenchServer(binary: binary, arguments: ["--data-dir", dir, "--log-level", "error"])
        s.writeAll(framed(#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#))
        _ = s.readFrames(1)
        let first = monotonicSeconds() - t0
        s.stop()
        report.add("startup_first_reply_ms", String(format: "%.0f ms contextd start-up to first reply with %d stored messages (target ≤ 300 ms)", first * 1000, messages), .double(first * 1000))
        // A search first needs every message indexed: the whole load, on demand.
        let t1 = monotonicSeconds()
        let s2 = try BenchServer(binary: binary, arguments: ["--data-dir", dir, "--log-level", "error"])
        s2.writeAll(framed(#"{"jsonrpc":"2.0","id":1,"method":"memory/search","params":{"query":"quick fox","limit":5}}"#))
        let hits = s2.readFrames(1, keep: true).first.flatMap { try? JSONParser.parse($0) }?["result"]?["hits"]?.arrayValue?.count ?? -1
        let search = monotonicSeconds() - t1
        s2.stop()
        report.add("startup_first_search_ms", String(format: "%.0f ms contextd start-up to a first memory/search reply (%d hits; every message loaded and indexed first)", search * 1000, hits), .double(search * 1000))
    }
    report.print(json: json)
}

final class ArraySource: RecordSource, @unchecked Sendable {
    // @unchecked: immutable.
    let records: [Record]
    init(_ r: [Record]) { records = r }
    // A fresh array each time, as the engine builds one (without comparing strings).
    func allRecords(component: String) -> [Record] {
        let kinds = RecordKind.allCases.filter { $0.component == component }
        return records.filter { kinds.contains($0.kind) }
    }
}

func makeBenchDir(_ base: String, _ tag: String) -> String {
    var template = Array("\(base)/contextd-bench-\(tag)-XXXXXX".utf8CString)
    let p = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    return String(cString: p!)
}

func removeTree(_ path: String) { try? FileManager.default.removeItem(atPath: path) }
