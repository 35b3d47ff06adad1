import ContextCore
import Foundation
import JSONRPC

struct InitializeParams: Decodable, Sendable {
    // LSP shape
    let processId: Int?
    let rootUri: String?
    let rootPath: String?
    let workspaceFolders: [WorkspaceFolder]?
    // MCP shape
    let protocolVersion: String?
    // both
    let clientInfo: JSONValue?
    let capabilities: JSONValue?

    struct WorkspaceFolder: Decodable, Sendable {
        let uri: String
        let name: String?
    }
}

struct SubscribeParams: Decodable, Sendable {
    let topics: [String]?
}

/// The event topics a client may subscribe to (PROTOCOL §3, §10).
let eventTopics = ["session", "group", "memory", "template", "store"]

/// MCP protocol versions accepted (PROTOCOL §12), oldest first.
public let mcpProtocolVersions = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"]

extension Server {
    /// Lifecycle rules that apply before any handler runs (PROTOCOL §3, §12). Returns an
    /// outcome when the message must not reach its handler.
    func lifecycleCheck(method: String, params: JSONValue?, isRequest: Bool, state: ConnectionState, connection: RPCConnection?) -> DispatchOutcome? {
        if method == "exit" {
            let wasShutdown = state.values.withLock { $0.shutdown }
            exitCode.store(wasShutdown ? 0 : 1, ordering: .relaxed)
            connection?.close()
            return DispatchOutcome(.success(.null))
        }
        let (shutdown, initializeAllowed, authenticated) = state.values.withLock { ($0.shutdown, $0.initializeAllowed, $0.authenticated) }
        if !authenticated {
            // A token-protected listener: nothing but a correct `initialize` is served,
            // and a failure closes the connection.
            let token = (method == "initialize" ? config.authToken : nil).flatMap { expected -> Bool? in
                let presented = params?["authToken"]?.stringValue ?? params?["initializationOptions"]?["authToken"]?.stringValue
                return presented.map { constantTimeEqual($0, expected) }
            }
            if token != true {
                log.warn("connection refused: missing or wrong auth token")
                connection?.close()
                return DispatchOutcome(.failure(RPCError(.invalidRequest, "authentication required: send the server's token in initialize params as authToken")))
            }
            state.values.withLock { $0.authenticated = true }
        }
        if shutdown {
            return DispatchOutcome(.failure(RPCError(.invalidRequest, "the server is shutting down: only 'exit' is accepted after 'shutdown'")))
        }
        if method == "initialize" {
            guard isRequest else { return DispatchOutcome(.success(.null)) }  // as a notification it would have no effect
            if !initializeAllowed {
                return DispatchOutcome(
                    .failure(RPCError(.invalidRequest, "'initialize' must be the first request of a connection and is accepted once")))
            }
            state.values.withLock { $0.initializeAllowed = false }
        } else if isRequest, method != "ping" {
            state.values.withLock { $0.initializeAllowed = false }
        }
        return nil
    }

    func initializeResult(_ p: InitializeParams, connection: RPCConnection?) -> JSONValue {
        // The workspace root becomes an allowed root for template files.
        var root: String?
        if let uri = p.workspaceFolders?.first?.uri ?? p.rootUri { root = Self.path(fromFileURI: uri) } else { root = p.rootPath }
        if let root { setWorkspaceRoot(root) }
        let isMCP = p.protocolVersion != nil
        if let st = state(of: connection) { st.values.withLock { $0.initialized = true; $0.isMCP = isMCP } }

        var limits: JSONObject = [
            "maxMessageBytes": .int(config.wireLimits.maxMessageBytes),
            "maxDepth": .int(config.wireLimits.maxDepth),
            "maxBatch": .int(config.wireLimits.maxBatch),
        ]
        let d = config.domainLimits
        limits["maxStringBytes"] = .int(d.maxStringBytes)
        limits["maxSessions"] = .int(d.maxSessions)
        limits["maxConversations"] = .int(d.maxConversations)
        limits["maxMessagesPerConversation"] = .int(d.maxMessagesPerConversation)
        limits["maxTemplateOutputBytes"] = .int(d.maxTemplateOutputBytes)
        limits["maxPartialDepth"] = .int(d.maxPartialDepth)

        var caps: JSONObject = [
            "namespaces": ["session", "group", "memory", "context", "template", "store", "events"],
            "framing": .string(connection?.framing.rawValue ?? "contentLength"),
            "framings": ["contentLength", "ndjson"],
            "limits": .object(limits),
            "tokenizer": .string(config.tokenizers.first?.name ?? "estimate"),
            "store": ["kind": .string(backend.kind), "durability": .string(backend.durability.rawValue)],
            "events": .array(eventTopics.map { .string($0) }),
        ]
        var result: JSONObject = [
            "serverInfo": ["name": "contextd", "version": .string(config.version)]
        ]
        if let requested = p.protocolVersion {
            let negotiated = mcpProtocolVersions.contains(requested) ? requested : mcpProtocolVersions.last!
            result["protocolVersion"] = .string(negotiated)
            caps["tools"] = ["listChanged": false]
            caps["prompts"] = ["listChanged": false]
            caps["resources"] = ["subscribe": false, "listChanged": false]
            result["instructions"] = .string(
                "contextd keeps the working context of AI-assisted development: sessions, conversations, long-term memories and templates. Use session_* tools to track work, memory_* to store and search conversation history, memory_remember/memory_recall for long-term facts, context_build to assemble a prompt context, template_* to render reusable prompts.")
        }
        result["capabilities"] = .object(caps)
        return .object(result)
    }

    /// Compares secrets in time independent of where they differ.
    func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        var diff = UInt8(x.count == y.count ? 0 : 1)
        for i in 0..<min(x.count, y.count) { diff |= x[i] ^ y[i] }
        return diff == 0
    }

    static func path(fromFileURI uri: String) -> String? {
        guard uri.hasPrefix("file://") else { return nil }
        var rest = String(uri.dropFirst(7))
        if !rest.hasPrefix("/"), let slash = rest.firstIndex(of: "/") { rest = String(rest[slash...]) }  // file://host/path
        return rest.removingPercentEncoding ?? rest
    }
}

extension MethodTable {
    mutating func registerLifecycleMethods() {
        register("initialize", InitializeParams.self) { p, ctx in
            ctx.server.initializeResult(p, connection: ctx.connection)
        }
        register("initialized", NoParams.self) { _, _ in JSONValue.null }
        register("notifications/initialized", NoParams.self) { _, _ in JSONValue.null }
        register("ping", NoParams.self) { _, _ in JSONValue.object([:]) }
        register("shutdown", NoParams.self) { _, ctx in
            ctx.server.state(of: ctx.connection)?.values.withLock { $0.shutdown = true }
            ctx.backend.flush()
            return JSONValue.null
        }
        register("exit", NoParams.self) { _, _ in JSONValue.null }  // handled by the lifecycle check
        register("rpc.discover", NoParams.self) { _, _ in try OpenRPCDocument.value() }
        register("events/subscribe", SubscribeParams.self) { p, ctx in
            let topics = p.topics ?? eventTopics
            for (k, t) in topics.enumerated() where !eventTopics.contains(t) {
                throw RPCError.invalidParams(field: "topics[\(k)]", expected: "one of \(eventTopics.joined(separator: ", "))")
            }
            guard let st = ctx.server.state(of: ctx.connection) else { return JSONValue.object(["topics": []]) }
            let now = st.values.withLock { v in
                v.topics.formUnion(topics)
                return v.topics
            }
            return ["topics": .array(eventTopics.filter(now.contains).map { .string($0) })]
        }
        register("events/unsubscribe", SubscribeParams.self) { p, ctx in
            guard let st = ctx.server.state(of: ctx.connection) else { return JSONValue.object(["topics": []]) }
            let now = st.values.withLock { v in
                if let topics = p.topics { v.topics.subtract(topics) } else { v.topics.removeAll() }
                return v.topics
            }
            return ["topics": .array(eventTopics.filter(now.contains).map { .string($0) })]
        }
    }
}

/// The OpenRPC document (`protocol/contextd.openrpc.json`), embedded in the binary as
/// generated source (`protocol/embed.py` writes `OpenRPCEmbedded.swift`; a test keeps
/// the two identical), so a copied binary still answers `rpc.discover`.
enum OpenRPCDocument {
    private static let parsed: Result<JSONValue, RPCError> = {
        do {
            return .success(try JSONParser.parse(openRPCDocumentText))
        } catch {
            return .failure(RPCError(.internalError, "the embedded OpenRPC document is invalid: \(error)"))
        }
    }()

    static func value() throws -> JSONValue { try parsed.get() }
}
