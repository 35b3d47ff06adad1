/// ContextServer: the wiring of contextd — one file per namespace registering its
/// methods, lifecycle, event fan-out, the MCP adapter, `rpc.discover` and transports.
/// Requests flow: connection (JSONRPC) → `Server.dispatch` → a handler in `Methods/`
/// → ContextCore → change records → the storage backend → reply once durable.
import ContextCore
import ContextStore
import Dispatch
import JSONRPC
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The registry type every namespace file extends.
public typealias MethodTable = MethodRegistry<RequestContext>

/// What a handler gets besides its params.
public struct RequestContext: @unchecked Sendable {
    // @unchecked: only used synchronously inside a handler, on the thread holding the
    // server's domain lock.
    public let server: Server
    public let engine: ContextEngine
    public let connection: RPCConnection?
    /// The raw params, e.g. for `workDoneToken`.
    public let rawParams: JSONValue?

    /// The configuration, with the workspace root from `initialize` filled in.
    public var config: ServerConfiguration {
        var c = server.config
        c.workspaceRoot = server.workspaceRoot.withLock { $0 }
        return c
    }
    public var backend: any StorageBackend { server.backend }

    /// A `$/progress` reporter for `token` (the params' `workDoneToken`); silent when
    /// the token is absent or the request came without a connection.
    public func progress(_ token: JSONValue? = nil) -> ProgressReporter {
        ProgressReporter(token: token ?? rawParams?["workDoneToken"], connection: connection)
    }

    /// Runs `body` between `$/progress` begin and end notifications (when the params
    /// carried a `workDoneToken`), for single-step long operations such as imports.
    public func withProgress<T>(_ title: String, _ body: () throws -> T) throws -> T {
        let p = progress()
        p.begin(title)
        do {
            let result = try body()
            p.end("\(title): done")
            return result
        } catch {
            p.end("\(title): failed")
            throw error
        }
    }

    /// Sends a store-topic event (`store/didSave`, `store/didLoad`, `store/didError`) to
    /// every subscribed connection.
    public func emitStoreEvent(_ method: String, _ params: JSONValue) {
        server.broadcast(topic: "store", method: method, params: params, gate: 0)
    }
}

/// Sends `$/progress {token, value: {kind, message?, percentage?}}` notifications.
public struct ProgressReporter: Sendable {
    let token: JSONValue?
    let connection: RPCConnection?

    public var isActive: Bool { token != nil && connection != nil }

    func send(_ kind: String, _ message: String?, _ percentage: Int?) {
        guard let token, let connection else { return }
        var value: JSONObject = ["kind": .string(kind)]
        if let message { value["message"] = .string(message) }
        if let percentage { value["percentage"] = .int(max(0, min(100, percentage))) }
        connection.sendNotification(method: "$/progress", params: ["token": token, "value": .object(value)])
        connection.flush()
    }

    public func begin(_ message: String? = nil) { send("begin", message, 0) }
    public func report(_ message: String? = nil, percentage: Int? = nil) { send("report", message, percentage) }
    public func end(_ message: String? = nil) { send("end", message, nil) }
}

/// Set while a commit call is still on the requesting thread.
final class InlineFlag: Sendable {
    let value = Atomic<Bool>(true)
}

/// Per-connection lifecycle state (PROTOCOL §3).
final class ConnectionState: Sendable {
    struct Values {
        var initializeAllowed = true
        var initialized = false
        var shutdown = false
        var isMCP = false
        var topics: Set<String> = []
        var authenticated = true
    }
    let values = Mutex(Values())
}

/// The server: the domain behind one lock, the storage backend, the method table and the
/// live connections.
public final class Server: RPCDispatcher, @unchecked Sendable {
    // @unchecked: `engine` and `table` are only touched while holding `domainLock`;
    // `connections` is guarded by its own Mutex; the rest is immutable after init.
    public let config: ServerConfiguration
    public let backend: any StorageBackend
    public let log: Logger
    let engine: ContextEngine
    let tracker = CommitTracker()
    let domainLock = Mutex(())
    private(set) var table = MethodTable()
    private let connections = Mutex<[Int: RPCConnection]>([:])
    private let nextConnectionID = Atomic<Int>(1)
    /// The workspace root a client's `initialize` named.
    let workspaceRoot = Mutex<String?>(nil)
    /// Set by `exit`: the code the process ends with.
    public let exitCode = Atomic<Int>(-1)
    /// Signalled once the first request has run (the background loader of a lazy
    /// start-up waits for it, so it does not delay the first reply).
    let firstRequest = DispatchSemaphore(value: 0)
    private let firstRequestSeen = Atomic<Bool>(false)

    public init(config: ServerConfiguration, backend: any StorageBackend, engine: ContextEngine, log: Logger) {
        self.config = config
        self.backend = backend
        self.engine = engine
        self.log = log
        var t = MethodTable()
        t.registerLifecycleMethods()
        t.registerSessionMethods()
        t.registerGroupMethods()
        t.registerMemoryMethods()
        t.registerContextMethods()
        t.registerTemplateMethods()
        t.registerStoreMethods()
        t.registerMCPMethods()
        table = t
    }

    /// Every wire method served, sorted.
    public var methodNames: [String] { table.methodNames }

    func setWorkspaceRoot(_ root: String) { workspaceRoot.withLock { $0 = root } }

    // MARK: Connections

    /// A new connection on `input`/`output`, registered for event fan-out.
    /// - Parameter requiresAuth: the client must present the auth token in `initialize`
    ///   before anything else (TCP listeners with `--auth-token-file`).
    public func makeConnection(input: Int32, output: Int32, requiresAuth: Bool = false) -> RPCConnection {
        let id = nextConnectionID.wrappingAdd(1, ordering: .relaxed).oldValue
        let st = ConnectionState()
        st.values.withLock { $0.authenticated = !requiresAuth }
        let c = RPCConnection(id: id, input: input, output: output, limits: config.wireLimits, tracker: tracker, attachment: st)
        connections.withLock { $0[id] = c }
        return c
    }

    public func connectionDidClose(_ connection: RPCConnection) {
        connections.withLock { $0[connection.id] = nil }
    }

    /// How many clients are connected.
    public var connectionCount: Int { connections.withLock { $0.count } }

    func state(of connection: RPCConnection?) -> ConnectionState? {
        connection.flatMap { $0.attachment as? ConnectionState }
    }

    /// Queues a notification for every connection subscribed to `topic`.
    func broadcast(topic: String, method: String, params: JSONValue, gate: UInt64) {
        let targets = connections.withLock { Array($0.values) }
        for c in targets {
            guard let st = state(of: c), st.values.withLock({ $0.topics.contains(topic) }) else { continue }
            c.sendNotification(method: method, params: params, gate: gate)
            // Checked after queueing: either the commit already completed (flush now) or
            // its completion will flush every connection.
            if gate <= tracker.durable { c.flush() }
        }
    }

    func flushAll() {
        let targets = connections.withLock { Array($0.values) }
        for c in targets where c.hasPendingOutput { c.flush() }
    }

    // MARK: Dispatch

    public func dispatch(method: String, params: JSONValue?, id: RequestID?, connection: RPCConnection) -> DispatchOutcome {
        execute(method: method, params: params, id: id, connection: connection)
    }

    /// Runs one request or notification: lifecycle rules, then the handler under the
    /// domain lock, then hands the change records to the backend and fans out events.
    public func execute(method: String, params: JSONValue?, id: RequestID?, connection: RPCConnection?) -> DispatchOutcome {
        let isRequest = id != nil
        log.debug(isRequest ? "request \(id!) \(method)" : "notification \(method)")
        if let st = state(of: connection) {
            if let refusal = lifecycleCheck(method: method, params: params, isRequest: isRequest, state: st, connection: connection) {
                return refusal
            }
        }
        guard let entry = table.entries[method] else {
            return DispatchOutcome(.failure(RPCError(.methodNotFound, "method not found: \(method)", data: ["method": .string(method)])))
        }
        defer {
            if !firstRequestSeen.load(ordering: .relaxed), !firstRequestSeen.exchange(true, ordering: .relaxed) { firstRequest.signal() }
        }
        return domainLock.withLock { _ -> DispatchOutcome in
            let ctx = RequestContext(server: self, engine: engine, connection: connection, rawParams: params)
            let result: Result<RPCResult, RPCError>
            do {
                result = .success(try entry.handler(params, ctx))
            } catch {
                result = .failure(mapError(error, method: method))
            }
            let (changes, events) = engine.effects.isEmpty ? ([], []) : engine.effects.drain()
            var gate = tracker.latestIssued
            var owns = false
            if !changes.isEmpty {
                gate = tracker.issue()
                owns = true
                let g = gate
                // A commit that completes at once (`--durability none`, or a failure)
                // completes here, inside the request: its reply is not queued yet and the
                // reader flushes after the chunk, so flushing every connection now would
                // cost a write(2) per pipelined request for nothing.
                let inline = InlineFlag()
                commitChanges(changes, events: events) { [weak self] error in
                    guard let self else { return }
                    if let error {
                        self.log.error("commit failed: \(error.message)")
                        self.broadcast(topic: "store", method: "store/didError", params: Self.storeErrorParams(error), gate: 0)
                    }
                    self.tracker.complete(g, error: error.map { self.mapError($0, method: method) })
                    if !inline.value.load(ordering: .acquiring) { self.flushAll() }
                }
                inline.value.store(false, ordering: .releasing)
            }
            for event in events { publish(event, gate: gate) }
            return DispatchOutcome(body: result, gate: gate, ownsGate: owns)
        }
    }

    static func storeErrorParams(_ e: DomainError) -> JSONValue {
        var o: JSONObject = ["message": .string(e.message)]
        if case .storage(let path?, _) = e { o["path"] = .string(path) }
        return .object(o)
    }

    /// Whether any connection subscribed to `topic` (events are encoded only then).
    func hasSubscribers(topic: String) -> Bool {
        let targets = connections.withLock { Array($0.values) }
        return targets.contains { c in state(of: c)?.values.withLock { $0.topics.contains(topic) } ?? false }
    }

    func publish(_ event: DomainEvent, gate: UInt64) {
        guard hasSubscribers(topic: event.topic) else { return }
        let (method, params) = Self.notification(for: event)
        broadcast(topic: event.topic, method: method, params: params, gate: gate)
    }

    /// The `*/didChange` notification of a domain event.
    static func notification(for event: DomainEvent) -> (method: String, params: JSONValue) {
        let encoder = JSONValueEncoder()
        let params: JSONValue
        let method: String
        switch event {
        case .session(let name, let session):
            method = "session/didChange"
            params = ["event": .string(name), "session": (try? encoder.encode(session)) ?? .null]
        case .group(let name, let group):
            method = "group/didChange"
            params = ["event": .string(name), "group": (try? encoder.encode(group)) ?? .null]
        case .memory(let name, let conversationId, let messageIds):
            method = "memory/didChange"
            var o: JSONObject = ["event": .string(name)]
            if let conversationId { o["conversationId"] = .string(conversationId) }
            if let messageIds { o["messageIds"] = .array(messageIds.map { .string($0) }) }
            params = .object(o)
        case .template(let name, let template):
            method = "template/didChange"
            params = ["event": .string(name), "template": (try? encoder.encode(template)) ?? .null]
        }
        return (method, params)
    }

    /// Maps any error a handler throws to the JSON-RPC error the client sees.
    func mapError(_ error: any Error, method: String) -> RPCError {
        switch error {
        case let e as RPCError:
            return e
        case let e as DomainError:
            return Self.rpcError(e)
        case let e as JSONDecodingFailure:
            return RPCError(.invalidParams, "invalid params: \(e.message)", data: ["field": .string(e.field), "expected": .string(e.expected)])
        default:
            log.error("internal error in \(method): \(error)")
            return RPCError(.internalError, "internal error in \(method)")
        }
    }

    /// The one mapping from domain errors to JSON-RPC errors (PROTOCOL §2).
    public static func rpcError(_ e: DomainError) -> RPCError {
        let strings: ([String]) -> JSONValue = { .array($0.map { .string($0) }) }
        switch e {
        case .notFound(let kind, let id):
            return RPCError(.notFound, e.message, data: ["kind": .string(kind), "id": .string(id)])
        case .invalidTransition(let id, let from, let action, let allowed):
            return RPCError(.invalidTransition, e.message, data: ["id": .string(id), "from": .string(from), "action": .string(action), "allowed": strings(allowed)])
        case .conflict(let kind, let id, let reason):
            return RPCError(.conflict, e.message, data: ["kind": .string(kind), "id": .string(id), "reason": .string(reason)])
        case .missingVariables(let template, let missing):
            return RPCError(.missingVariables, e.message, data: ["template": .string(template), "missing": strings(missing)])
        case .groupClosed(let groupId, let status):
            return RPCError(.groupClosed, e.message, data: ["groupId": .string(groupId), "status": .string(status)])
        case .storage(let path, let reason):
            var o: JSONObject = ["reason": .string(reason)]
            if let path { o["path"] = .string(path) }
            return RPCError(.storageError, e.message, data: .object(o))
        case .pathNotAllowed(let path, let roots):
            return RPCError(.pathNotAllowed, e.message, data: ["path": .string(path), "allowedRoots": strings(roots)])
        case .limitExceeded(let limit, let max, let value):
            return RPCError.limitExceeded(limit: limit, max: max, value: value)
        case .invalidArgument(let field, let expected):
            return RPCError(.invalidParams, e.message, data: ["field": .string(field), "expected": .string(expected)])
        }
    }

    // MARK: Running

    /// Serves one connection on stdin/stdout until end of input or `exit`; returns the
    /// process exit code (PROTOCOL §3: 0 after `shutdown` or at EOF, 1 for `exit`
    /// without `shutdown`).
    public func serveStdio() -> Int32 {
        let c = makeConnection(input: 0, output: 1)
        c.runReadLoop(dispatcher: self)
        finish(c)
        let code = exitCode.load(ordering: .relaxed)
        return code < 0 ? 0 : Int32(code)
    }

    /// Flushes every acknowledged write and every pending reply.
    public func finish(_ connection: RPCConnection?) {
        backend.flush()
        if let connection {
            // Replies gated on commits that the flush just completed.
            var spins = 0
            while connection.hasPendingOutput, spins < 10_000 {
                connection.flush()
                if connection.hasPendingOutput { usleep(1000) }
                spins += 1
            }
        }
    }

    /// Runs one request without a connection (`contextd call`), waiting until it is durable.
    public func call(method: String, params: JSONValue?) -> Result<JSONValue, RPCError> {
        let outcome = execute(method: method, params: params, id: .number(JSONNumber(1)), connection: nil)
        backend.flush()
        if outcome.ownsGate, let failure = tracker.takeFailure(outcome.gate) { return .failure(failure) }
        return outcome.result
    }
}
