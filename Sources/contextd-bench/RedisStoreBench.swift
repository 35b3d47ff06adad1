import ContextCore
import ContextStore
import Dispatch
import Foundation
import JSONRPC

/// `contextd-bench store --store redis://…`: the Redis backend's figures, beside the
/// file backend's. Uses a prefix of its own (`bench-<random>:`) and removes its keys.
///
///   --commits N    commits (default 20000), --window N in flight (default 64)
///   --messages N   messages stored for the load/start-up runs (default 100000)
///   --content N    bytes of content per message (default 400)
func runRedisStoreBench(url: String, arguments: [String]) throws {
    let json = arguments.contains("--json")
    let commits = intOption(arguments, "--commits", 20_000)
    let window = intOption(arguments, "--window", 64)
    let messages = intOption(arguments, "--messages", 100_000)
    let conversations = max(1, intOption(arguments, "--conversations", 1000))
    let contentBytes = intOption(arguments, "--content", 400)
    let content = String(repeating: "The quick brown fox jumps over the lazy dog; café ✓ ", count: max(1, contentBytes / 52))
    var base = try RedisURL(parsing: url)
    base.prefix = "bench-\(UInt32.random(in: 0...UInt32.max)):"
    let storeURL = url + (url.contains("?") ? "&" : "?") + "prefix=" + base.prefix
    defer { _ = try? RedisBackend.removeStore(at: base) }
    var report = BenchReport()

    // Distinct, increasing times (as real messages have): equal times make restore
    // re-sort every conversation.
    func message(_ i: Int, conversation: Int) -> Record {
        let v: JSONValue = [
            "id": .string("msg_\(i)"), "conversationId": .string("conv_\(conversation)"), "role": "assistant",
            "content": .string(content), "metadata": [:], "createdAt": try! JSONValueEncoder().encode(Timestamp(milliseconds: 1_795_000_000_000 + Int64(i))), "tokens": 100,
        ]
        return .message(try! JSONValueDecoder().decode(Message.self, from: v))
    }

    func run(_ b: RedisBackend, _ batches: [[Change]], window: Int) -> Double {
        let slots = DispatchSemaphore(value: window)
        let done = DispatchGroup()
        let failures = Atomicish()
        let t0 = monotonicSeconds()
        for c in batches {
            slots.wait()
            done.enter()
            b.commit(c) { e in
                if e != nil { failures.bump() }
                slots.signal()
                done.leave()
            }
        }
        done.wait()
        let elapsed = monotonicSeconds() - t0
        if failures.value > 0 { FileHandle.standardError.write(Data("bench: \(failures.value) commits failed\n".utf8)) }
        return elapsed
    }

    // MARK: in-process commit throughput (one message per commit)
    do {
        let b = try RedisBackend(options: RedisBackendOptions(url: base))
        _ = try b.load()
        let batches = (0..<commits).map { [Change.put(message($0, conversation: $0 % 100))] }
        for w in [1, window] {
            let elapsed = run(b, w == 1 ? Array(batches.prefix(min(commits, 5000))) : batches, window: w)
            let n = w == 1 ? min(commits, 5000) : commits
            report.add(
                "redis_commit_\(w)_per_s",
                String(format: "%.0f commits/s Redis (%d in flight, in-process, one message each, %.0f µs mean)", Double(n) / elapsed, w, elapsed / Double(n) * 1e6 * Double(w)),
                .double(Double(n) / elapsed))
        }
        b.close()
        _ = try RedisBackend.removeStore(at: base)
    }

    // MARK: over pipes: memory/addMessage against a contextd on Redis
    let binary = stringOption(arguments, "--binary") ?? defaultBinary()
    if FileManager.default.isExecutableFile(atPath: binary) {
        let s = try BenchServer(binary: binary, arguments: ["--store", storeURL, "--log-level", "error"])
        s.writeAll(framed(#"{"jsonrpc":"2.0","id":1,"method":"memory/createConversation","params":{"title":"bench"}}"#))
        let reply = s.readFrames(1, keep: true).first.flatMap { try? JSONParser.parse($0) }
        if let convId = reply?["result"]?["id"]?.stringValue {
            let escaped = JSONWriter.string(.string(content))
            let r = pipelined(server: s, count: commits, window: window) { i in
                framed(#"{"jsonrpc":"2.0","id":\#(i + 1),"method":"memory/addMessage","params":{"conversationId":"\#(convId)","role":"user","content":\#(escaped)}}"#)
            }
            report.add("redis_wire_addMessage_per_s", String(format: "%.0f memory/addMessage/s over pipes, Redis store (%d in flight)", r.rps, window), .double(r.rps))
        }
        s.stop()
        _ = try RedisBackend.removeStore(at: base)
    }

    // MARK: load and start-up with `messages` stored
    do {
        let b = try RedisBackend(options: RedisBackendOptions(url: base))
        _ = try b.load()
        var batches: [[Change]] = (0..<conversations).map { c in
            let v: JSONValue = ["id": .string("conv_\(c)"), "title": .string("Conversation \(c)"), "createdAt": "2026-11-22T10:04:05.123Z", "updatedAt": "2026-11-22T10:04:05.123Z"]
            return [.put(.conversation(try! JSONValueDecoder().decode(Conversation.self, from: v)))]
        }
        var i = 0
        while i < messages {
            let n = min(500, messages - i)
            batches.append((i..<(i + n)).map { .put(message($0, conversation: $0 % conversations)) })
            i += n
        }
        let elapsed = run(b, batches, window: 16)
        b.close()
        report.add("redis_fill_per_s", String(format: "%.0f messages/s stored in batches of 500 (%d messages, %.1f s)", Double(messages) / elapsed, messages, elapsed), .double(Double(messages) / elapsed))
        let t0 = monotonicSeconds()
        let b2 = try RedisBackend(options: RedisBackendOptions(url: base))
        let loaded = try b2.load()
        let loadS = monotonicSeconds() - t0
        b2.close()
        report.add("redis_load_ms", String(format: "%.0f ms RedisBackend.load() of %d records", loadS * 1000, loaded.count), .double(loadS * 1000))
        if FileManager.default.isExecutableFile(atPath: binary) {
            let t1 = monotonicSeconds()
            let s = try BenchServer(binary: binary, arguments: ["--store", storeURL, "--log-level", "error"])
            s.writeAll(framed(#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#))
            _ = s.readFrames(1)
            let first = monotonicSeconds() - t1
            s.stop()
            report.add("redis_startup_first_reply_ms", String(format: "%.0f ms contextd start-up to first reply with %d messages in Redis", first * 1000, messages), .double(first * 1000))
        }
    }
    report.print(json: json)
}

/// A counter bumped from completion handlers.
final class Atomicish: @unchecked Sendable {
    // @unchecked: guarded by `lock`.
    private let lock = NSLock()
    private var n = 0
    func bump() { lock.lock(); n += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return n }
}
