#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ContextCore
import Dispatch
import JSONCore
import Testing

@testable import ContextStore

/// The Redis server the tests use: `CONTEXTD_TEST_REDIS_URL` (set by
/// `Tests/redis/with-redis.sh`). Redis tests are skipped when it is unset.
enum RedisTestEnv {
    static let url: String? = {
        guard let p = getenv("CONTEXTD_TEST_REDIS_URL") else { return nil }
        let s = String(cString: p)
        return s.isEmpty ? nil : s
    }()
    static let skipMessage: Comment = "CONTEXTD_TEST_REDIS_URL is not set: run `Tests/redis/with-redis.sh swift test --filter Redis`"

    /// A store URL with a prefix of its own, so tests never see each other's keys.
    static func uniqueURL(_ tag: String) -> String {
        var rng = SystemRandomNumberGenerator()
        let prefix = "t-\(tag)-\(String(rng.next() as UInt64, radix: 36)):"
        let base = url!
        return base + (base.contains("?") ? "&" : "?") + "prefix=" + prefix
    }

    /// Deletes every key of the store at `url`.
    static func wipe(_ url: String) {
        if let u = try? RedisURL(parsing: url) { _ = try? RedisBackend.removeStore(at: u) }
    }
}

/// Which backend a conformance case runs against.
enum ConformanceTarget: String, Sendable, CustomTestStringConvertible {
    case file, redis
    var testDescription: String { rawValue }
    /// The file backend always; Redis when a test server is configured.
    static var available: [ConformanceTarget] { RedisTestEnv.url == nil ? [.file] : [.file, .redis] }
}

/// One store that can be opened again (a restart): a data directory, or a Redis prefix.
final class StoreLocation: @unchecked Sendable {
    let target: ConformanceTarget
    let dir = TempDir("conformance")
    let redisURL: String?

    init(_ target: ConformanceTarget) {
        self.target = target
        redisURL = target == .redis ? RedisTestEnv.uniqueURL("conf") : nil
    }
    deinit { if let redisURL { RedisTestEnv.wipe(redisURL) } }

    func open() throws -> (any StorageBackend, [Change]) {
        switch target {
        case .file:
            let (b, c) = try ContextStoreTests.open(dir.path, options(.compactJson))
            return (b, c)
        case .redis:
            let b = try RedisBackend(options: RedisBackendOptions(url: try RedisURL(parsing: redisURL!)))
            return (b, try b.load())
        }
    }
}

func commitAndWait(_ b: any StorageBackend, _ changes: [Change], notifications: [JSONValue] = []) throws(DomainError) {
    let sem = DispatchSemaphoreBox()
    let err = ErrorBox()
    let done: @Sendable (DomainError?) -> Void = { e in
        err.error = e
        sem.signal()
    }
    if let shared = b as? any SharedStorageBackend {
        shared.commit(changes, notifications: notifications, completion: done)
    } else {
        b.commit(changes, completion: done)
    }
    sem.wait()
    if let e = err.error { throw e }
}

/// The backend-level part of the durable-backend conformance suite (load returns what
/// was committed, deletes really delete, pipelined commits all land, arrival order is
/// kept), for every backend. The file backend's own cases (formats, journal, snapshots)
/// are in `DurableBackendConformance`.
@Suite struct BackendConformanceFileAndRedis {
    @Test(arguments: ConformanceTarget.available)
    func everyKindSurvivesARestart(target: ConformanceTarget) throws {
        let loc = StoreLocation(target)
        var expected = Folded()
        do {
            let (b, loaded) = try loc.open()
            #expect(loaded.isEmpty)
            for r in Fixtures.everyKind { try commitAndWait(b, [.put(r)]) }
            expected.apply(Fixtures.everyKind.map { .put($0) })
            // Replacing a record keeps one copy, with the new value.
            let again: [Change] = [.put(Fixtures.record(.session, "ses_1", extra: "renamed")), .put(Fixtures.record(.message, "msg_2", extra: "edited"))]
            try commitAndWait(b, again)
            expected.apply(again)
            b.close()
        }
        let (b, loaded) = try loc.open()
        #expect(Folded(loaded) == expected)
        b.close()
    }

    @Test(arguments: ConformanceTarget.available)
    func deletesReallyDelete(target: ConformanceTarget) throws {
        let loc = StoreLocation(target)
        var state = Folded()
        let (b, _) = try loc.open()
        let all = Fixtures.everyKind
        try commitAndWait(b, all.map { .put($0) })
        state.apply(all.map { .put($0) })
        let deletions: [Change] = [
            .delete(RecordKey(.session, "ses_1")), .delete(RecordKey(.checkpoint, "chk_1", parent: "ses_1")),
            .delete(RecordKey(.message, "msg_1", parent: "conv1")), .delete(RecordKey(.memory, "mem_1")),
            .delete(RecordKey(.message, "msg_3", parent: "conv2")), .delete(RecordKey(.conversation, "conv2")),
            .delete(RecordKey(.setting, "editor.theme")),
        ]
        try commitAndWait(b, deletions)
        state.apply(deletions)
        b.close()
        let (b2, loaded) = try loc.open()
        #expect(Folded(loaded) == state)
        // A deleted record can be created again.
        try commitAndWait(b2, [.put(Fixtures.record(.session, "ses_1", extra: "back"))])
        state.apply([.put(Fixtures.record(.session, "ses_1", extra: "back"))])
        b2.close()
        let (b3, loaded3) = try loc.open()
        #expect(Folded(loaded3) == state)
        b3.close()
    }

    @Test(arguments: ConformanceTarget.available)
    func pipelinedCommitsAllLandAfterFlush(target: ConformanceTarget) throws {
        let loc = StoreLocation(target)
        let (b, _) = try loc.open()
        var state = Folded()
        let failures = ErrorBox()
        for i in 0..<500 {
            let c: [Change] = [.put(Fixtures.record(.message, "m\(i)", parent: "c\(i % 7)"))] + (i % 50 == 0 ? [.put(Fixtures.record(.session, "s", extra: "\(i)"))] : [])
            b.commit(c) { e in if let e { failures.error = e } }
            state.apply(c)
        }
        b.flush()
        #expect(failures.error == nil)
        b.close()
        let (b2, loaded) = try loc.open()
        #expect(Folded(loaded) == state)
        b2.close()
    }

    @Test(arguments: ConformanceTarget.available)
    func messagesLoadInArrivalOrder(target: ConformanceTarget) throws {
        let loc = StoreLocation(target)
        let (b, _) = try loc.open()
        // Same timestamp for all (the fixtures' t0): only arrival order tells them apart.
        let ids = (0..<40).map { "m-\(($0 * 7919) % 40)" }
        try commitAndWait(b, [.put(Fixtures.record(.conversation, "conv1"))])
        for id in ids { try commitAndWait(b, [.put(Fixtures.record(.message, id))]) }
        b.close()
        let (b2, loaded) = try loc.open()
        let order = loaded.compactMap { c -> String? in
            if case .put(.message(let m)) = c { return m.id }
            return nil
        }
        #expect(order == ids)
        b2.close()
    }
}

// MARK: - Redis only

/// Collects the external updates a backend delivers, taking each as the server would.
final class UpdateSink: @unchecked Sendable {
    private let lock = PThreadLock()
    private var updates: [(ExternalUpdate.Reason, [Change], [JSONValue]?)] = []
    var state = Folded()

    func handler() -> @Sendable (ExternalUpdate) -> Void {
        { [self] u in
            let changes = u.take()
            lock.withLock {
                updates.append((u.reason, changes, u.notifications))
                state.apply(changes)
            }
        }
    }

    var all: [(ExternalUpdate.Reason, [Change], [JSONValue]?)] { lock.withLock { updates } }
    var folded: Folded { lock.withLock { state } }

    /// Waits up to `timeout` seconds for `condition` over the updates so far.
    func wait(_ timeout: Double = 5, _ condition: (Folded, [(ExternalUpdate.Reason, [Change], [JSONValue]?)]) -> Bool) -> Bool {
        let end = RedisBackend.monotonic() + timeout
        while RedisBackend.monotonic() < end {
            if lock.withLock({ condition(state, updates) }) { return true }
            usleep(10_000)
        }
        return false
    }
}

func sessionName(_ f: Folded, _ id: String) -> String? {
    guard case .session(let s)? = f.values[RecordKey(.session, id)] else { return nil }
    return s.name
}

@Suite(.enabled(if: RedisTestEnv.url != nil, RedisTestEnv.skipMessage))
struct RedisBackendTests {
    func openPair(_ url: String) throws -> (RedisBackend, RedisBackend, UpdateSink, UpdateSink) {
        let o = RedisBackendOptions(url: try RedisURL(parsing: url))
        let a = try RedisBackend(options: o)
        _ = try a.load()
        let b = try RedisBackend(options: o)
        _ = try b.load()
        let sa = UpdateSink(), sb = UpdateSink()
        a.setExternalChangeHandler(sa.handler())
        b.setExternalChangeHandler(sb.handler())
        return (a, b, sa, sb)
    }

    @Test func anotherProcessesCommitsArriveWithTheirNotifications() throws {
        let url = RedisTestEnv.uniqueURL("feed")
        defer { RedisTestEnv.wipe(url) }
        let (a, b, sa, sb) = try openPair(url)
        defer { a.close(); b.close() }
        let note: JSONValue = ["topic": "session", "method": "session/didChange", "params": ["event": "created"]]
        try commitAndWait(a, [.put(Fixtures.record(.session, "s1", extra: "one")), .put(Fixtures.record(.message, "m1"))], notifications: [note])
        #expect(sb.wait { f, _ in sessionName(f, "s1") == "n one" && f.values[RecordKey(.message, "m1", parent: "conv1")] != nil })
        #expect(sb.all.first?.0 == .remote)
        #expect(sb.all.first?.2 == [note])
        // Then B changes it (B knows A's version from the feed) and A sees that.
        try commitAndWait(b, [.put(Fixtures.record(.session, "s1", extra: "two"))])
        #expect(sa.wait { f, _ in sessionName(f, "s1") == "n two" })
        try commitAndWait(a, [.delete(RecordKey(.session, "s1")), .delete(RecordKey(.conversation, "conv1"))])
        #expect(sb.wait { f, u in
            f.values[RecordKey(.session, "s1")] == nil
                && u.contains { $0.1.contains { if case .delete(let k) = $0 { k == RecordKey(.conversation, "conv1") } else { false } } }
        })
        // A process never hears its own commits back.
        #expect(sa.all.allSatisfy { $0.0 != .remote || !$0.1.contains { $0.key.id == "m1" } })
    }

    @Test func aStaleWriteIsRefusedWholeAndTheRecordIsReloaded() throws {
        let url = RedisTestEnv.uniqueURL("stale")
        defer { RedisTestEnv.wipe(url) }
        let (a, b, _, sb) = try openPair(url)
        defer { a.close(); b.close() }
        // Both create s1 without having seen the other's: B's is stale.
        b.setExternalChangeHandler(nil)  // B does not hear A's commit before writing.
        try commitAndWait(a, [.put(Fixtures.record(.session, "s1", extra: "from A"))])
        var refused: DomainError?
        do {
            try commitAndWait(b, [.put(Fixtures.record(.message, "mb", parent: "cb")), .put(Fixtures.record(.session, "s1", extra: "from B"))])
        } catch {
            refused = error
        }
        guard case .conflict(let kind, let id, let reason)? = refused else {
            Issue.record("expected a conflict, got \(String(describing: refused))")
            return
        }
        #expect(kind == "session" && id == "s1")
        #expect(reason.contains("stale version"))
        // B gets the store's current values of what it tried to write.
        b.setExternalChangeHandler(sb.handler())
        #expect(sb.wait { f, u in
            sessionName(f, "s1") == "n from A"
                && u.contains { $0.0 == .refresh && $0.1.contains { if case .delete(let k) = $0 { k.id == "mb" } else { false } } }
        })
        // Nothing of B's batch was written.
        let (c, loaded) = try StoreLocationRedis(url).open()
        defer { c.close() }
        #expect(Folded(loaded) == Folded([.put(Fixtures.record(.session, "s1", extra: "from A"))]))
        // Now that B has the current version, its write goes through.
        try commitAndWait(b, [.put(Fixtures.record(.session, "s1", extra: "from B"))])
    }

    @Test func exactlyOneOfTwoConcurrentUpdatesWins() throws {
        let url = RedisTestEnv.uniqueURL("race")
        defer { RedisTestEnv.wipe(url) }
        let o = RedisBackendOptions(url: try RedisURL(parsing: url))
        let seed = try RedisBackend(options: o)
        _ = try seed.load()
        for i in 0..<20 { try commitAndWait(seed, [.put(Fixtures.record(.session, "s\(i)"))]) }
        seed.close()
        let (a, b, _, _) = try openPair(url)
        defer { a.close(); b.close() }
        let pauser = try RedisConnection(url: try RedisURL(parsing: url), timeoutSeconds: 5, name: "contextd-test-pause")
        for i in 0..<20 {
            // Hold every write in Redis while both processes commit an update of the
            // same session, each expecting the version both loaded.
            #expect(try pauser.call(["CLIENT", "PAUSE", "5000", "WRITE"]) == .simple("OK"))
            let results = ResultsBox()
            let group = DispatchGroup()
            for (name, backend) in [("A", a), ("B", b)] {
                group.enter()
                backend.commit([.put(Fixtures.record(.session, "s\(i)", extra: name))]) { e in
                    results.add(e)
                    group.leave()
                }
            }
            #expect(try pauser.call(["CLIENT", "UNPAUSE"]) == .simple("OK"))
            group.wait()
            let errors = results.values
            #expect(errors.filter { $0 == nil }.count == 1, "round \(i): \(errors)")
            #expect(errors.compactMap { $0 }.allSatisfy { if case .conflict = $0 { true } else { false } })
        }
    }

    @Test func unreachableRedisIsAClearStorageError() throws {
        // A port nothing listens on (bound, never listening).
        let s = socket(AF_INET, Int32(SOCK_STREAM_VALUE), 0)
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
        defer { close(s) }
        let port = Int(UInt16(bigEndian: addr.sin_port))
        do {
            _ = try RedisBackend(options: RedisBackendOptions(url: try RedisURL(parsing: "redis://127.0.0.1:\(port)/0")))
            Issue.record("connected to nothing")
        } catch {
            guard case .storage(let path, let reason) = error else { Issue.record("\(error)"); return }
            #expect(path == "redis://127.0.0.1:\(port)/0")
            #expect(reason.contains("cannot connect"))
        }
    }
}

#if canImport(Glibc)
let SOCK_STREAM_VALUE = Int32(SOCK_STREAM.rawValue)
#else
let SOCK_STREAM_VALUE = SOCK_STREAM
#endif

struct StoreLocationRedis {
    let url: String
    init(_ url: String) { self.url = url }
    func open() throws -> (RedisBackend, [Change]) {
        let b = try RedisBackend(options: RedisBackendOptions(url: try RedisURL(parsing: url)))
        return (b, try b.load())
    }
}

final class ResultsBox: @unchecked Sendable {
    private let lock = PThreadLock()
    private var list: [DomainError?] = []
    func add(_ e: (any Error)?) { lock.withLock { list.append(e.map { ($0 as? DomainError) ?? .storage(path: nil, reason: "\($0)") }) } }
    var values: [DomainError?] { lock.withLock { list } }
}

// MARK: - No server needed

@Suite struct RedisURLTests {
    @Test(arguments: [
        ("redis://localhost:6380/2", RedisURL.Endpoint.tcp(host: "localhost", port: 6380), nil, nil, 2, "contextd:"),
        ("redis://127.0.0.1", .tcp(host: "127.0.0.1", port: 6379), nil, nil, 0, "contextd:"),
        ("redis://u:p%40ss@h:1/0?prefix=team1:", .tcp(host: "h", port: 1), "u", "p@ss", 0, "team1:"),
        ("redis://:secret@h:7/3", .tcp(host: "h", port: 7), nil, "secret", 3, "contextd:"),
        ("redis://[::1]:6390/1", .tcp(host: "::1", port: 6390), nil, nil, 1, "contextd:"),
        ("redis+unix:///run/redis.sock?db=4&prefix=x:", .unix(path: "/run/redis.sock"), nil, nil, 4, "x:"),
    ] as [(String, RedisURL.Endpoint, String?, String?, Int, String)])
    func parses(text: String, endpoint: RedisURL.Endpoint, user: String?, password: String?, db: Int, prefix: String) throws {
        let u = try RedisURL(parsing: text)
        #expect(u.endpoint == endpoint)
        #expect(u.user == user)
        #expect(u.password == password)
        #expect(u.db == db)
        #expect(u.prefix == prefix)
        #expect(!u.description.contains("secret") && !u.description.contains("p@ss"))
    }

    @Test(arguments: ["redis://h:0/0", "redis://h:x/0", "redis://h:1/-1", "redis://h/0?nope=1", "redis+unix://relative.sock", "redis://h/0?prefix={a}", "http://h"])
    func refuses(text: String) {
        #expect(throws: DomainError.self) { try RedisURL(parsing: text) }
    }
}

@Suite struct RESPTests {
    func parse(_ text: String) throws -> [RESPValue] {
        let bytes = Array(text.utf8)
        var out: [RESPValue] = []
        var pos = 0
        try bytes.withUnsafeBufferPointer { b in
            while let v = try RESP.parse(b, &pos) { out.append(v) }
        }
        return out
    }

    @Test func parsesRESP2AndRESP3Types() throws {
        let v = try parse("+OK\r\n-ERR bad\r\n:42\r\n$5\r\nhello\r\n$-1\r\n*2\r\n$1\r\na\r\n:1\r\n_\r\n#t\r\n,1.5\r\n%1\r\n+k\r\n+v\r\n>2\r\n+message\r\n+x\r\n=8\r\ntxt:abcd\r\n")
        #expect(v == [
            .simple("OK"), .error("ERR bad"), .integer(42), .bulk(Array("hello".utf8)), .bulk(nil),
            .array([.bulk([97]), .integer(1)]), .null, .boolean(true), .double(1.5), .map([(.simple("k"), .simple("v"))]),
            .push([.simple("message"), .simple("x")]), .bulk(Array("abcd".utf8)),
        ])
    }

    @Test func anIncompleteReplyConsumesNothing() throws {
        let full = Array("*2\r\n$3\r\nabc\r\n$3\r\ndef\r\n".utf8)
        for cut in 1..<full.count {
            var pos = 0
            let v = try Array(full[..<cut]).withUnsafeBufferPointer { try RESP.parse($0, &pos) }
            #expect(v == nil && pos == 0, "cut \(cut)")
        }
    }

    @Test func encodesCommandsAsBulkArrays() {
        var out: [UInt8] = []
        RESP.encode(["SET", "k", .bytes([0, 255])], into: &out)
        #expect(out == Array("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\n".utf8) + [0, 255] + [13, 10])
    }
}
