#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ContextCore
import Dispatch
import JSONCore

/// Options of the Redis backend (`--store redis://…`).
public struct RedisBackendOptions: Sendable {
    public var url: RedisURL
    /// Reported by `store/status`. Durability itself is Redis's (AOF): a reply is sent
    /// once Redis has executed the commit, whatever this says.
    public var durability: Durability = .fsync
    public var connectTimeoutSeconds = 2.0
    /// How long a reply may take before the connection is dropped as dead.
    public var commandTimeoutSeconds = 10.0
    /// Reconnection backoff doubles from 50 ms up to this.
    public var maxBackoffSeconds = 1.0

    public init(url: RedisURL) { self.url = url }
}

/// The Redis store: state shared by every contextd process using the same Redis and
/// prefix (see `RedisLayout` for the keys).
///
/// - Durability is delegated to Redis: a write is acknowledged once Redis has executed
///   it (the commit script ran); how it survives a Redis restart is Redis's `appendonly`
///   / `appendfsync` setting (use `appendonly yes`; `appendfsync always` for the file
///   backend's `fsync` guarantee, `everysec` loses up to a second on a power failure).
/// - Optimistic concurrency: every record carries a version token; each commit is one
///   Lua script that checks the version this process last saw for every record it
///   writes and applies all of the batch or none. A stale version fails the commit with
///   1003; the records are then re-read and handed to the server (`ExternalUpdate`,
///   reason `refresh`) so its in-memory state matches Redis again.
/// - Change feed: a successful commit publishes its changes (with their versions and the
///   notifications the server sent) on `<prefix>changes`; a subscriber connection on
///   its own thread hands other processes' changes to the server (reason `remote`).
///   After the feed was interrupted, everything is compared again (reason `resync`).
/// - Redis down: commits fail with 1006 at once (reconnection with backoff, 50 ms up
///   to `maxBackoffSeconds`); reads are served from memory; records touched by a
///   failed commit are re-read when Redis is back.
/// - Redis Cluster: each unit's keys share a hash tag (one slot). This client talks to
///   one Redis node and does not follow MOVED/ASK redirections, and a commit spanning
///   several units (e.g. a session rollback) needs them in one slot: use a single
///   primary (with replicas/Sentinel), not a Cluster, for now.
public final class RedisBackend: SharedStorageBackend, @unchecked Sendable {
    // @unchecked: `stateLock` guards the version maps and the handler; `queue` (mutex +
    // condition) guards the job queue and counters; `conn`, `scriptSHA` and the backoff
    // fields are touched only by the writer thread (or by `load` before it starts).
    public let options: RedisBackendOptions
    let layout: RedisLayout
    /// This process's id in the change feed.
    public let origin: String
    public var kind: String { "redis" }
    public var durability: Durability { options.durability }

    struct Pending {
        var token: String
        var seq: UInt64
    }

    // MARK: stateLock
    private let stateLock = PThreadLock()
    /// The version Redis holds for each record, as far as this process knows.
    private var confirmed: [RecordKey: String] = [:]
    /// Records written by commits still in flight (the newest one per record).
    private var pending: [RecordKey: Pending] = [:]
    private var nextSeq: UInt64 = 0
    private var handler: (@Sendable (ExternalUpdate) -> Void)?
    private var undelivered: [ExternalUpdate] = []

    // MARK: queue (writer jobs)
    private let queue = PThreadCondition()
    private var jobs: [Job] = []
    private var submitted: UInt64 = 0
    private var finished: UInt64 = 0
    private var closing = false
    private var writerRunning = false
    private var subscriberRunning = false
    /// Records whose state is uncertain after a failed commit: re-read once connected.
    private var dirty: Set<RecordKey> = []
    private var needResync = false
    private var subscriberConnection: RedisConnection?

    // MARK: writer thread only
    private var conn: RedisConnection?
    private var scriptSHA = ""
    private var backoff = 0.0
    private var nextAttempt = 0.0
    private var lastConnectError = ""

    private let writerQueue = DispatchQueue(label: "contextd.redis.writer")
    private let subscriberQueue = DispatchQueue(label: "contextd.redis.subscriber")
    /// Delivers updates to the server in order, never from the writer (which the domain
    /// may be waiting for).
    private let deliveryQueue = DispatchQueue(label: "contextd.redis.updates")
    private let writerDone = DispatchSemaphore(value: 0)
    private let subscriberDone = DispatchSemaphore(value: 0)

    enum Job {
        case commit(CommitJob)
        case refresh([RecordKey])
        case resync
    }

    struct Op {
        var key: RecordKey
        /// `p` put, `d` delete, `D` delete the unit.
        var code: String
        var dataKey: String
        var field: String
        var expected: String
        var value: [UInt8]
    }

    final class CommitJob: @unchecked Sendable {
        // @unchecked: built on the domain thread, then owned by the writer.
        let seq: UInt64
        let token: String
        let ops: [Op]
        let payload: [UInt8]
        let completion: @Sendable (DomainError?) -> Void
        init(seq: UInt64, token: String, ops: [Op], payload: [UInt8], completion: @escaping @Sendable (DomainError?) -> Void) {
            self.seq = seq
            self.token = token
            self.ops = ops
            self.payload = payload
            self.completion = completion
        }
    }

    /// Connects (a clear error when Redis cannot be reached) and loads the commit
    /// script. Reads nothing yet: call `load()`.
    public init(options: RedisBackendOptions) throws(DomainError) {
        self.options = options
        layout = RedisLayout(prefix: options.url.prefix)
        var rng = SystemRandomNumberGenerator()
        origin = String(rng.next() as UInt64, radix: 36)
        do {
            try connect()
        } catch {
            throw .storage(path: options.url.description, reason: "cannot use Redis: \(error.description)")
        }
    }

    deinit {
        queue.lock()
        let running = writerRunning || subscriberRunning
        queue.unlock()
        if running { close() }
    }

    private func storageError(_ reason: String) -> DomainError {
        .storage(path: options.url.description, reason: reason)
    }

    // MARK: connection (writer thread)

    private func connect() throws(RedisError) {
        conn?.close()
        conn = nil
        let c = try RedisConnection(url: options.url, timeoutSeconds: options.connectTimeoutSeconds, name: "contextd-\(origin)")
        c.setTimeout(options.commandTimeoutSeconds)
        let r = try c.call(["SCRIPT", "LOAD", .text(RedisLayout.commitScript)])
        guard let sha = r.string, r.errorMessage == nil else {
            throw RedisError(description: "cannot load the commit script: \(r.errorMessage ?? "unexpected reply")", isConnectionLost: true)
        }
        scriptSHA = sha
        conn = c
        backoff = 0
        lastConnectError = ""
    }

    /// Connected, or the reason not (failing fast during the backoff).
    private func ensureConnected() -> String? {
        if let c = conn, c.isOpen { return nil }
        conn = nil
        let now = Self.monotonic()
        if now < nextAttempt {
            return "Redis is unreachable (\(lastConnectError)); reconnecting"
        }
        do {
            try connect()
            return nil
        } catch {
            backoff = backoff == 0 ? 0.05 : min(options.maxBackoffSeconds, backoff * 2)
            nextAttempt = now + backoff
            lastConnectError = error.description
            return "Redis is unreachable (\(error.description)); reconnecting"
        }
    }

    static func monotonic() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    // MARK: load

    /// Subscribes to the change feed, then reads every record (so nothing committed in
    /// between is missed), and starts the writer.
    public func load() throws(DomainError) -> [Change] {
        try startSubscriber()
        guard let c = conn else { throw storageError("not connected") }
        let items: [LoadedItem]
        do {
            items = try readAll(c)
        } catch let e as RedisError {
            throw storageError("cannot read the store: \(e.description)")
        } catch let e as DomainError {
            throw e
        } catch {
            throw storageError("\(error)")
        }
        stateLock.withLock {
            for item in items { confirmed[item.key] = item.version }
        }
        startWriter()
        return items.map { .put($0.record) }
    }

    struct LoadedItem {
        var key: RecordKey
        var version: String
        var record: Record
    }

    /// Every record in Redis, units in component order, fields in insertion order.
    private func readAll(_ c: RedisConnection) throws -> [LoadedItem] {
        var keys = Set<String>()
        var cursor = "0"
        repeat {
            let r = try c.call(["SCAN", .text(cursor), "MATCH", .text(layout.scanPattern), "COUNT", "1000"])
            if let e = r.errorMessage { throw RedisError(description: "SCAN: \(e)", isConnectionLost: false) }
            guard let parts = r.elements, parts.count == 2, let next = parts[0].string, let found = parts[1].elements else {
                throw RedisError(description: "SCAN: unexpected reply", isConnectionLost: true)
            }
            for k in found { if let s = k.string, layout.isDataKey(s) { keys.insert(s) } }
            cursor = next
        } while cursor != "0"
        let ordered = keys.sorted { (layout.componentRank($0), $0) < (layout.componentRank($1), $1) }
        var out: [LoadedItem] = []
        var start = 0
        while start < ordered.count {
            let chunk = ordered[start..<min(start + 128, ordered.count)]
            start += chunk.count
            var cmds: [[RedisArg]] = []
            for d in chunk {
                cmds.append(["HGETALL", .text(d)])
                cmds.append(["HGETALL", .text(layout.versionKey(data: d))])
                cmds.append(["ZRANGE", .text(layout.orderKey(data: d)), "0", "-1"])
            }
            let replies = try c.pipeline(cmds)
            for (i, d) in chunk.enumerated() {
                out += try decodeUnit(d, data: replies[3 * i], versions: replies[3 * i + 1], order: replies[3 * i + 2])
            }
        }
        return out
    }

    private func pairs(_ r: RESPValue, _ what: String) throws -> [(String, [UInt8])] {
        if let e = r.errorMessage { throw RedisError(description: "\(what): \(e)", isConnectionLost: false) }
        let els = r.elements ?? []
        var out: [(String, [UInt8])] = []
        var i = 0
        while i + 1 < els.count {
            if let k = els[i].string, let v = els[i + 1].bytes { out.append((k, v)) }
            i += 2
        }
        return out
    }

    private func decodeUnit(_ dataKey: String, data: RESPValue, versions: RESPValue, order: RESPValue) throws -> [LoadedItem] {
        let fields = try pairs(data, dataKey)
        if fields.isEmpty { return [] }
        var version: [String: String] = [:]
        for (k, v) in try pairs(versions, layout.versionKey(data: dataKey)) { version[k] = String(decoding: v, as: UTF8.self) }
        var rank: [String: Int] = [:]
        for (i, f) in (order.elements ?? []).enumerated() { if let s = f.string { rank[s] = i } }
        let sorted = fields.sorted { (rank[$0.0] ?? Int.max, $0.0) < (rank[$1.0] ?? Int.max, $1.0) }
        var out: [LoadedItem] = []
        out.reserveCapacity(sorted.count)
        for (field, bytes) in sorted {
            let record = try decodeRecord(bytes, dataKey: dataKey, field: field)
            out.append(LoadedItem(key: record.key, version: version[field] ?? "", record: record))
        }
        return out
    }

    private func decodeRecord(_ bytes: [UInt8], dataKey: String, field: String) throws(DomainError) -> Record {
        do {
            return try RecordCoding.decodeRecord(try JSONParser.parse(bytes))
        } catch {
            // Never skipped silently: start-up stops naming the key.
            throw storageError("unreadable record at key '\(dataKey)' field '\(field)': \(error); fix or delete it with redis-cli")
        }
    }

    /// Deletes every key of the store at `url` (its prefix only); returns how many.
    /// For tests and benchmarks: a running contextd on that store is not told.
    public static func removeStore(at url: RedisURL) throws(DomainError) -> Int {
        let c: RedisConnection
        do { c = try RedisConnection(url: url, timeoutSeconds: 5, name: "contextd-remove") } catch {
            throw .storage(path: url.description, reason: error.description)
        }
        let layout = RedisLayout(prefix: url.prefix)
        var cursor = "0"
        var removed = 0
        do {
            repeat {
                let r = try c.call(["SCAN", .text(cursor), "MATCH", .text(layout.scanPattern), "COUNT", "1000"])
                guard let parts = r.elements, parts.count == 2, let next = parts[0].string else {
                    throw RedisError(description: "SCAN: \(r.errorMessage ?? "unexpected reply")", isConnectionLost: false)
                }
                let keys = (parts[1].elements ?? []).compactMap(\.string)
                if !keys.isEmpty {
                    _ = try c.call(["UNLINK"] + keys.map { .text($0) })
                    removed += keys.count
                }
                cursor = next
            } while cursor != "0"
        } catch {
            throw .storage(path: url.description, reason: "\(error)")
        }
        return removed
    }

    // MARK: commit (domain thread)

    public func commit(_ changes: [Change], completion: @escaping @Sendable (DomainError?) -> Void) {
        commit(changes, notifications: [], completion: completion)
    }

    public func commit(_ changes: [Change], notifications: [JSONValue], completion: @escaping @Sendable (DomainError?) -> Void) {
        guard !changes.isEmpty else {
            completion(nil)
            return
        }
        // One write per record: the last change of a key wins, at its first position.
        var index: [RecordKey: Int] = [:]
        var collapsed: [Change] = []
        collapsed.reserveCapacity(changes.count)
        for c in changes {
            if let i = index[c.key] { collapsed[i] = c } else {
                index[c.key] = collapsed.count
                collapsed.append(c)
            }
        }
        var encoded: [(Change, [UInt8])] = []
        encoded.reserveCapacity(collapsed.count)
        for c in collapsed {
            switch c {
            case .put(let r):
                do { encoded.append((c, try RecordCoding.bytes(r))) } catch {
                    completion(storageError(error.message))
                    return
                }
            case .delete: encoded.append((c, []))
            }
        }
        var ops: [Op] = []
        ops.reserveCapacity(encoded.count)
        var feed: [JSONValue] = []
        feed.reserveCapacity(encoded.count)
        let (seq, token): (UInt64, String) = stateLock.withLock {
            nextSeq += 1
            let seq = nextSeq
            let token = origin + "." + String(seq, radix: 36)
            for (c, value) in encoded {
                let key = c.key
                let expected = pending[key]?.token ?? confirmed[key] ?? ""
                pending[key] = Pending(token: token, seq: seq)
                let code: String
                switch c {
                case .put: code = "p"
                case .delete(let k): code = k.kind == .conversation ? "D" : "d"
                }
                ops.append(Op(key: key, code: code, dataKey: layout.dataKey(key), field: layout.field(key), expected: expected, value: value))
                var entry = JSONObject(minimumCapacity: 3)
                if case .put = c { entry.appendUnchecked("v", .string(token)) }
                entry.appendUnchecked("p", .string(expected))
                entry.appendUnchecked("x", (try? RecordCoding.encode(c)) ?? .null)
                feed.append(.object(entry))
            }
            return (seq, token)
        }
        var message = JSONObject(minimumCapacity: 3)
        message.appendUnchecked("o", .string(origin))
        message.appendUnchecked("c", .array(feed))
        if !notifications.isEmpty { message.appendUnchecked("n", .array(notifications)) }
        let job = CommitJob(seq: seq, token: token, ops: ops, payload: JSONWriter.encode(.object(message)), completion: completion)
        queue.lock()
        submitted += 1
        jobs.append(.commit(job))
        queue.broadcast()
        queue.unlock()
    }

    public func flush() {
        queue.lock()
        let target = submitted
        while finished < target && writerRunning { queue.wait() }
        queue.unlock()
    }

    public func close() {
        flush()
        queue.lock()
        closing = true
        let writer = writerRunning
        let subscriber = subscriberRunning
        subscriberConnection?.interrupt()
        queue.broadcast()
        queue.unlock()
        if writer { writerDone.wait() }
        if subscriber { subscriberDone.wait() }
        conn?.close()
        conn = nil
    }

    public func status() -> StoreStatus {
        StoreStatus(kind: "redis", directory: options.url.description, durability: durability)
    }

    public func setExternalChangeHandler(_ h: (@Sendable (ExternalUpdate) -> Void)?) {
        let queued: [ExternalUpdate] = stateLock.withLock {
            handler = h
            defer { undelivered = [] }
            return h == nil ? [] : undelivered
        }
        for u in queued { deliveryQueue.async { h?(u) } }
    }

    private func deliver(_ u: ExternalUpdate) {
        let h: (@Sendable (ExternalUpdate) -> Void)? = stateLock.withLock {
            if handler == nil { undelivered.append(u) }
            return handler
        }
        if let h { deliveryQueue.async { h(u) } }
    }

    /// How many commits have been sent and answered (tests, bench).
    public var commitCount: UInt64 {
        queue.lock()
        defer { queue.unlock() }
        return finished
    }

    // MARK: writer

    private func startWriter() {
        queue.lock()
        guard !writerRunning else {
            queue.unlock()
            return
        }
        writerRunning = true
        queue.unlock()
        writerQueue.async { [self] in writerLoop() }
    }

    private func enqueue(_ job: Job) {
        queue.lock()
        jobs.append(job)
        queue.broadcast()
        queue.unlock()
    }

    private func writerLoop() {
        while true {
            queue.lock()
            while jobs.isEmpty && !closing && dirty.isEmpty && !needResync { queue.wait() }
            if closing && jobs.isEmpty {
                writerRunning = false
                queue.broadcast()
                queue.unlock()
                writerDone.signal()
                return
            }
            let batch = jobs
            jobs = []
            queue.unlock()
            runRound(batch)
        }
    }

    private func runRound(_ batch: [Job]) {
        var commits: [CommitJob] = []
        var refresh: [RecordKey] = []
        var resync = false
        for j in batch {
            switch j {
            case .commit(let c): commits.append(c)
            case .refresh(let keys): refresh += keys
            case .resync: resync = true
            }
        }
        if let why = ensureConnected() {
            fail(commits, storageError(why + "; the change was not saved"), uncertain: false)
            queue.lock()
            dirty.formUnion(refresh)
            needResync = needResync || resync
            queue.unlock()
            if !commits.isEmpty || !refresh.isEmpty || resync {
                return
            }
            // Only dirty/resync work is waiting: sleep out the backoff.
            usleep(useconds_t(max(0.01, min(options.maxBackoffSeconds, nextAttempt - Self.monotonic())) * 1_000_000))
            return
        }
        // Work left over from an outage first.
        queue.lock()
        refresh += dirty
        dirty = []
        resync = resync || needResync
        needResync = false
        queue.unlock()
        if resync {
            runResync()
        }
        if !refresh.isEmpty {
            runRefresh(refresh)
        }
        if !commits.isEmpty {
            let stale = runCommits(commits)
            if !stale.isEmpty { runRefresh(stale) }
        }
    }

    /// Marks `commits` failed with `error`; their records are re-read once connected.
    private func fail(_ commits: [CommitJob], _ error: DomainError, uncertain: Bool) {
        guard !commits.isEmpty else { return }
        var keys: [RecordKey] = []
        stateLock.withLock {
            for c in commits {
                for op in c.ops {
                    if pending[op.key]?.seq == c.seq { pending[op.key] = nil }
                    keys.append(op.key)
                }
            }
        }
        queue.lock()
        dirty.formUnion(keys)
        queue.unlock()
        for c in commits { c.completion(error) }
        finish(commits.count)
    }

    private func finish(_ n: Int) {
        queue.lock()
        finished += UInt64(n)
        queue.broadcast()
        queue.unlock()
    }

    private func command(for c: CommitJob, useEval: Bool) -> [RedisArg] {
        var args: [RedisArg] = useEval ? ["EVAL", .text(RedisLayout.commitScript)] : ["EVALSHA", .text(scriptSHA)]
        args.reserveCapacity(4 + c.ops.count * 8)
        args.append(.text(String(c.ops.count * 3)))
        for op in c.ops {
            args.append(.text(op.dataKey))
            args.append(.text(layout.versionKey(data: op.dataKey)))
            args.append(.text(layout.orderKey(data: op.dataKey)))
        }
        args.append(.text(layout.channel))
        args.append(.bytes(c.payload))
        for op in c.ops {
            args.append(.text(op.code))
            args.append(.text(op.field))
            args.append(.text(op.expected))
            args.append(.text(c.token))
            args.append(.bytes(op.value))
        }
        return args
    }

    /// Sends `commits` pipelined and completes each; returns the records to re-read
    /// (those of commits refused for a stale version).
    private func runCommits(_ commits: [CommitJob]) -> [RecordKey] {
        guard let c = conn else { return [] }
        var replies: [RESPValue]
        do {
            replies = try c.pipeline(commits.map { command(for: $0, useEval: false) })
        } catch {
            c.close()
            conn = nil
            // Sent but unanswered: each may or may not have run. Re-read its records.
            fail(commits, storageError("lost the connection to Redis (\(error.description)); the change may not have been saved"), uncertain: true)
            return []
        }
        // A flushed script cache: run those again with the script itself.
        for (i, r) in replies.enumerated() where r.errorMessage?.hasPrefix("NOSCRIPT") == true {
            if let again = try? c.call(command(for: commits[i], useEval: true)) { replies[i] = again }
        }
        var stale: [RecordKey] = []
        var results: [DomainError?] = []
        stateLock.withLock {
            for (job, r) in zip(commits, replies) {
                let parts = r.elements ?? []
                let status = parts.first?.string
                if status == "ok" {
                    for op in job.ops {
                        if op.code == "p" { confirmed[op.key] = job.token } else { confirmed[op.key] = nil }
                        if pending[op.key]?.seq == job.seq { pending[op.key] = nil }
                    }
                    results.append(nil)
                    continue
                }
                for op in job.ops where pending[op.key]?.seq == job.seq { pending[op.key] = nil }
                if status == "conflict", parts.count >= 2, case .integer(let i) = parts[1], i >= 1, Int(i) <= job.ops.count {
                    let key = job.ops[Int(i) - 1].key
                    stale += job.ops.map(\.key)
                    results.append(.conflict(
                        kind: key.kind.rawValue, id: key.id,
                        reason: "stale version: changed by another contextd process since this one read it (reloaded; retry)"))
                } else {
                    stale += job.ops.map(\.key)
                    results.append(storageError("Redis refused the commit: \(r.errorMessage ?? "unexpected reply")"))
                }
            }
        }
        for (job, e) in zip(commits, results) { job.completion(e) }
        finish(commits.count)
        return stale
    }

    /// Re-reads `keys` and hands their current values to the server.
    private func runRefresh(_ keys: [RecordKey]) {
        guard let c = conn else {
            queue.lock()
            dirty.formUnion(keys)
            queue.unlock()
            return
        }
        var unique: [RecordKey] = []
        var seen = Set<RecordKey>()
        for k in keys where seen.insert(k).inserted { unique.append(k) }
        let before: [RecordKey: String] = stateLock.withLock {
            var m: [RecordKey: String] = [:]
            for k in unique { m[k] = confirmed[k] ?? "" }
            return m
        }
        var cmds: [[RedisArg]] = []
        for k in unique {
            let d = layout.dataKey(k)
            cmds.append(["HGET", .text(d), .text(layout.field(k))])
            cmds.append(["HGET", .text(layout.versionKey(data: d)), .text(layout.field(k))])
        }
        let replies: [RESPValue]
        do { replies = try c.pipeline(cmds) } catch {
            c.close()
            conn = nil
            queue.lock()
            dirty.formUnion(unique)
            queue.unlock()
            return
        }
        var read: [(RecordKey, String?, Record?)] = []
        for (i, k) in unique.enumerated() {
            let value = replies[2 * i]
            let version = replies[2 * i + 1].string
            if let bytes = value.bytes, !value.isNull, let r = try? decodeRecord(bytes, dataKey: layout.dataKey(k), field: layout.field(k)) {
                read.append((k, version ?? "", r))
            } else {
                read.append((k, nil, nil))
            }
        }
        let fetched = read
        deliver(ExternalUpdate(reason: .refresh, notifications: nil) { [self] in
            stateLock.withLock {
                var out: [Change] = []
                for (k, version, record) in fetched {
                    // A newer local write is in flight (it settles the record), or the
                    // record changed since it was read (a newer value was applied).
                    if pending[k] != nil || (confirmed[k] ?? "") != before[k] { continue }
                    if let record, let version {
                        confirmed[k] = version
                        out.append(.put(record))
                    } else {
                        confirmed[k] = nil
                        out.append(.delete(k))
                    }
                }
                return out
            }
        })
    }

    /// Compares everything in Redis with what this process knows (after the change feed
    /// was interrupted) and hands the differences to the server.
    private func runResync() {
        guard let c = conn else { return }
        let before: [RecordKey: String] = stateLock.withLock { confirmed }
        let items: [LoadedItem]
        do { items = try readAll(c) } catch {
            if let e = error as? RedisError, e.isConnectionLost {
                c.close()
                conn = nil
            }
            queue.lock()
            needResync = true
            queue.unlock()
            return
        }
        deliver(ExternalUpdate(reason: .resync, notifications: nil) { [self] in
            stateLock.withLock {
                var out: [Change] = []
                var present = Set<RecordKey>()
                for item in items {
                    present.insert(item.key)
                    let now = confirmed[item.key]
                    if pending[item.key] != nil || now != before[item.key] || now == item.version { continue }
                    confirmed[item.key] = item.version
                    out.append(.put(item.record))
                }
                for (k, v) in before where !present.contains(k) {
                    if pending[k] != nil || confirmed[k] != v { continue }
                    confirmed[k] = nil
                    out.append(.delete(k))
                }
                return out
            }
        })
    }

    // MARK: subscriber

    /// Subscribes (waiting until Redis confirms), then keeps the feed on its own thread,
    /// reconnecting with backoff and asking for a resync after each interruption.
    private func startSubscriber() throws(DomainError) {
        queue.lock()
        if subscriberRunning {
            queue.unlock()
            return
        }
        queue.unlock()
        let first: RedisConnection
        do { first = try subscribe() } catch {
            throw storageError("cannot subscribe to \(layout.channel): \(error.description)")
        }
        queue.lock()
        subscriberRunning = true
        subscriberConnection = first
        queue.unlock()
        subscriberQueue.async { [self] in subscriberLoop(first) }
    }

    private func subscribe() throws(RedisError) -> RedisConnection {
        let c = try RedisConnection(url: options.url, timeoutSeconds: options.connectTimeoutSeconds, name: "contextd-\(origin)-feed")
        // The confirmation is a push in RESP3, an array in RESP2: read it raw.
        var out: [UInt8] = []
        RESP.encode(["SUBSCRIBE", .text(layout.channel)], into: &out)
        try c.write(out)
        let r = try c.readReply()
        if let e = r.errorMessage { throw RedisError(description: "SUBSCRIBE: \(e)", isConnectionLost: true) }
        guard r.elements?.first?.string == "subscribe" else {
            throw RedisError(description: "SUBSCRIBE: unexpected reply", isConnectionLost: true)
        }
        // Wake up regularly to notice `close()`.
        c.setTimeout(0.5)
        return c
    }

    private func subscriberLoop(_ first: RedisConnection) {
        var c: RedisConnection? = first
        var delay = 0.05
        while true {
            queue.lock()
            let stop = closing
            queue.unlock()
            if stop { break }
            guard let live = c, live.isOpen else {
                do {
                    let fresh = try subscribe()
                    queue.lock()
                    subscriberConnection = fresh
                    let stop = closing
                    needResync = true  // messages may have been missed meanwhile
                    queue.broadcast()
                    queue.unlock()
                    if stop { fresh.close(); break }
                    c = fresh
                    delay = 0.05
                } catch {
                    usleep(useconds_t(delay * 1_000_000))
                    delay = min(options.maxBackoffSeconds, delay * 2)
                }
                continue
            }
            let message: RESPValue
            if !live.pendingPushes.isEmpty {
                message = live.pendingPushes.removeFirst()
            } else {
                do { message = try live.readReply() } catch {
                    if !RedisConnection.isTimeout(error) { live.close() }
                    continue
                }
            }
            guard let parts = message.elements, parts.count == 3, parts[0].string == "message", let payload = parts[2].bytes else { continue }
            handleFeed(payload)
        }
        c?.close()
        queue.lock()
        subscriberRunning = false
        subscriberConnection = nil
        queue.unlock()
        subscriberDone.signal()
    }

    private func handleFeed(_ payload: [UInt8]) {
        guard let v = try? JSONParser.parse(payload), let o = v.objectValue, let from = o["o"]?.stringValue, from != origin else { return }
        var items: [(change: Change, version: String, previous: String)] = []
        for e in o["c"]?.arrayValue ?? [] {
            guard let x = e["x"], let change = try? RecordCoding.decodeChange(x) else { continue }
            items.append((change, e["v"]?.stringValue ?? "", e["p"]?.stringValue ?? ""))
        }
        let notifications = o["n"]?.arrayValue ?? []
        let received = items
        deliver(ExternalUpdate(reason: .remote, notifications: notifications) { [self] in
            var reread: [RecordKey] = []
            let out: [Change] = stateLock.withLock {
                var out: [Change] = []
                for item in received {
                    let k = item.change.key
                    if pending[k] != nil {
                        // Our own write of it is in flight: read it back after that.
                        reread.append(k)
                        continue
                    }
                    let now = confirmed[k] ?? ""
                    // (A conversation's deletion also removes its messages: always apply.)
                    if now == item.version && k.kind != .conversation { continue }
                    if k.kind == .conversation, item.version.isEmpty {
                        confirmed[k] = nil
                        out.append(item.change)
                        continue
                    }
                    if now == item.previous {
                        confirmed[k] = item.version.isEmpty ? nil : item.version
                        out.append(item.change)
                    } else {
                        reread.append(k)
                    }
                }
                return out
            }
            if !reread.isEmpty { enqueue(.refresh(reread)) }
            return out
        })
    }
}
