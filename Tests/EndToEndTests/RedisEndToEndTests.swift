import Foundation
import JSONRPC
import Testing

/// The Redis test server (`Tests/redis/with-redis.sh` sets `CONTEXTD_TEST_REDIS_URL`).
enum RedisE2E {
    static let url: String? = {
        let s = ProcessInfo.processInfo.environment["CONTEXTD_TEST_REDIS_URL"] ?? ""
        return s.isEmpty ? nil : s
    }()
    static let skip: Comment = "CONTEXTD_TEST_REDIS_URL is not set: run `Tests/redis/with-redis.sh swift test --filter Redis`"

    /// `base` with a prefix of its own, so concurrent tests never share keys.
    static func unique(_ base: String, _ tag: String) -> String {
        base + (base.contains("?") ? "&" : "?") + "prefix=e2e-\(tag)-\(UUID().uuidString.prefix(8)):"
    }

    /// Runs `redis-cli -u URL ARGS` and returns its output.
    @discardableResult
    static func cli(_ url: String, _ args: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        var target = ["-u", url]
        if url.hasPrefix("redis+unix://") {
            // redis-cli wants -s PATH -n DB for unix sockets.
            let rest = url.dropFirst("redis+unix://".count)
            let path = String(rest.split(separator: "?")[0])
            let db = rest.split(separator: "?").dropFirst().first.flatMap { q in
                q.split(separator: "&").first { $0.hasPrefix("db=") }.map { String($0.dropFirst(3)) }
            } ?? "0"
            target = ["-s", path, "-n", db]
        }
        p.arguments = ["redis-cli"] + target + args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = Pipe()
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func start(_ url: String) throws -> ServerProcess {
        let s = try ServerProcess.start(arguments: ["--store", url])
        _ = try s.call("events/subscribe", ["topics": ["session", "memory"]])
        return s
    }

    /// The params of the next `session/didChange` with `event` (earlier ones are skipped).
    static func sessionEvent(_ s: ServerProcess, _ event: String) throws -> JSONValue {
        let n = try s.waitFor("session/didChange \(event)") { $0["method"] == "session/didChange" && $0["params"]?["event"] == .string(event) }
        return n["params"] ?? .null
    }

    /// Polls `body` until it returns true (or the time is up).
    static func eventually(_ seconds: Double = 10, _ body: () throws -> Bool) rethrows -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if try body() { return true }
            usleep(50_000)
        }
        return try body()
    }
}

/// A redis-server of a test's own (so stopping it affects no other test): 127.0.0.1 on a
/// free port, AOF in a temporary directory; stop with SIGKILL and start again on the same
/// port and directory.
final class PrivateRedis: @unchecked Sendable {
    let dir = ServerProcess.temporaryDirectory()
    let port: Int
    private var process: Process?

    init() throws {
        // A free port: bind to 0, read it back, release it.
        let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sp in
                _ = bind(s, sp, len)
                _ = getsockname(s, sp, &len)
            }
        }
        port = Int(UInt16(bigEndian: addr.sin_port))
        close(s)
        try start()
    }

    var url: String { "redis://127.0.0.1:\(port)/0" }

    func start() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["redis-server", "--port", String(port), "--bind", "127.0.0.1", "--dir", dir,
                       "--save", "", "--appendonly", "yes", "--appendfsync", "everysec"]
        p.standardOutput = Pipe()
        p.standardError = Pipe()
        try p.run()
        process = p
        guard RedisE2E.eventually(5, { (try? RedisE2E.cli(url, ["PING"])) == "PONG" }) else {
            throw HarnessError("private redis-server did not start on port \(port)")
        }
    }

    func kill() {
        guard let p = process else { return }
        Foundation.kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        process = nil
    }

    deinit {
        kill()
        try? FileManager.default.removeItem(atPath: dir)
    }
}

@Suite("Redis store (issue 10)", .enabled(if: RedisE2E.url != nil, RedisE2E.skip))
struct RedisEndToEndTests {
    @Test func twoProcessesShareSessionsAndSeeEachOthersEvents() throws {
        let url = RedisE2E.unique(RedisE2E.url!, "share")
        let one = try RedisE2E.start(url)
        let two = try RedisE2E.start(url)
        defer { one.stop(); two.stop() }
        #expect(try one.call("store/status")["kind"] == "redis")

        let created = try one.call("session/create", ["name": "shared", "mode": "building"])
        let id = try #require(created["id"]?.stringValue)
        let seen = try RedisE2E.sessionEvent(two, "created")
        #expect(seen["session"]?["id"]?.stringValue == id)
        #expect(try two.call("session/get", ["id": .string(id)])["name"] == "shared")

        // Changed through the second, observed through the first.
        _ = try two.call("session/update", ["id": .string(id), "name": "renamed"])
        let back = try RedisE2E.sessionEvent(one, "updated")
        #expect(back["session"]?["name"] == "renamed")
        #expect(try one.call("session/get", ["id": .string(id)])["name"] == "renamed")
        _ = try one.call("session/start", ["id": .string(id)])
        #expect(try RedisE2E.sessionEvent(two, "started")["session"]?["id"]?.stringValue == id)

        // Conversations too: a message added through one is read through the other.
        let conv = try one.call("memory/createConversation", ["title": "t"])
        let cid = try #require(conv["id"]?.stringValue)
        _ = try one.call("memory/addMessage", ["conversationId": .string(cid), "role": "user", "content": "hello from one"])
        #expect(try RedisE2E.eventually { try two.call("memory/getMessages", ["conversationId": .string(cid)])["messages"]?.arrayValue?.count == 1 })
        let hits = try two.call("memory/search", ["query": "hello"])["hits"]?.arrayValue ?? []
        #expect(hits.count == 1)

        // A third process started now loads everything.
        let three = try RedisE2E.start(url)
        defer { three.stop() }
        #expect(try three.call("session/get", ["id": .string(id)])["status"] == "active")
        #expect(try three.call("memory/getMessages", ["conversationId": .string(cid)])["messages"]?.arrayValue?.count == 1)
    }

    @Test func aConcurrentConflictingUpdateFailsForExactlyOne() throws {
        let url = RedisE2E.unique(RedisE2E.url!, "race")
        let one = try RedisE2E.start(url)
        let two = try RedisE2E.start(url)
        defer { one.stop(); two.stop() }
        let id = try #require(try one.call("session/create", ["name": "s", "mode": "building"])["id"]?.stringValue)
        #expect(try RedisE2E.eventually { (try? two.call("session/get", ["id": .string(id)])) != nil })

        // Hold Redis writes while both processes update the session they both loaded.
        #expect(try RedisE2E.cli(url, ["CLIENT", "PAUSE", "5000", "WRITE"]) == "OK")
        var ids: [(ServerProcess, Int)] = []
        for (s, name) in [(one, "by one"), (two, "by two")] {
            let rid = s.takeID()
            s.send(["jsonrpc": "2.0", "id": .int(rid), "method": "session/update", "params": ["id": .string(id), "name": .string(name)]])
            ids.append((s, rid))
        }
        usleep(300_000)  // both are now waiting on Redis
        #expect(try RedisE2E.cli(url, ["CLIENT", "UNPAUSE"]) == "OK")
        let replies = try ids.map { try $0.0.response(id: .int($0.1)) }
        let errors = replies.compactMap { $0["error"] }
        #expect(errors.count == 1, "\(replies)")
        #expect(errors.first?["code"]?.intValue == 1003)
        #expect(errors.first?["data"]?["reason"]?.stringValue?.contains("stale version") == true)
        #expect(errors.first?["data"]?["id"]?.stringValue == id)
        // Both converge on the winner's value.
        let winner = replies.first { $0["error"] == nil }?["result"]?["name"]
        #expect(try RedisE2E.eventually {
            try one.call("session/get", ["id": .string(id)])["name"] == winner && two.call("session/get", ["id": .string(id)])["name"] == winner
        })
        // The loser can now update (it has the current version).
        let loser = ids[replies.firstIndex { $0["error"] != nil }!].0
        #expect(try loser.call("session/update", ["id": .string(id), "name": "retried"])["name"] == "retried")
    }

    @Test func redisStoppedMidRunThenBack() throws {
        let redis = try PrivateRedis()
        let s = try RedisE2E.start(redis.url)
        defer { s.stop() }
        var acknowledged: [String] = []
        for i in 0..<5 {
            acknowledged.append(try #require(try s.call("session/create", ["name": .string("before \(i)"), "mode": "building"])["id"]?.stringValue))
        }

        redis.kill()
        let failure = try s.callExpectingError("session/create", ["name": "during", "mode": "building"])
        #expect(failure.code == 1006)
        #expect(failure.message.contains("Redis"), "\(failure.message)")
        #expect(failure.data?["path"]?.stringValue == redis.url)
        // Again (now during the backoff): still a clear 1006, quickly.
        let again = try s.callExpectingError("session/update", ["id": .string(acknowledged[0]), "name": "x"], timeout: 5)
        #expect(again.code == 1006)
        // Reads are served from memory; the server is up.
        #expect(try s.call("session/get", ["id": .string(acknowledged[1])])["name"] == "before 1")
        #expect(try s.call("ping") == [:] || true)

        try redis.start()
        // Writes succeed again once reconnected.
        var after: String?
        #expect(try RedisE2E.eventually(15) {
            let r = try s.request("session/create", ["name": "after", "mode": "building"])
            after = r["result"]?["id"]?.stringValue
            return after != nil
        })
        if let after { acknowledged.append(after) }

        // Everything acknowledged is in Redis (a fresh process loads it), and the running
        // server converged on it (the failed writes were replaced by the store's values).
        let fresh = try RedisE2E.start(redis.url)
        defer { fresh.stop() }
        let listed = Set((try fresh.call("session/list")["sessions"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue })
        #expect(Set(acknowledged).isSubset(of: listed))
        #expect(try fresh.call("session/get", ["id": .string(acknowledged[0])])["name"] == "before 0")
        #expect(try RedisE2E.eventually {
            let mine = try s.call("session/list")["sessions"]?.arrayValue ?? []
            return Set(mine.compactMap { $0["id"]?.stringValue }) == listed
                && mine.first { $0["id"]?.stringValue == acknowledged[0] }?["name"] == "before 0"
        })
    }
}
