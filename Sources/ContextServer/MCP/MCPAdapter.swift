import JSONCore

/// contextd as a Model Context Protocol server (PROTOCOL §11).
///
/// MCP is layered on the same JSON-RPC connection: an MCP client sends an MCP-shaped
/// `initialize` (its params carry `protocolVersion`), then `tools/*`, `prompts/*` and
/// `resources/*` requests. Tools are the contract's request methods, described by the
/// OpenRPC document; a tool call runs the method through the ordinary method table, so an
/// agent and an editor see exactly the same behaviour.
public enum MCPAdapter {
    /// MCP protocol versions this server speaks, oldest first.
    public static let supportedProtocolVersions = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"]

    /// The MCP version to answer with: the client's when supported, else the newest.
    public static func negotiate(_ requested: String?) -> String {
        if let requested, supportedProtocolVersions.contains(requested) { return requested }
        return supportedProtocolVersions[supportedProtocolVersions.count - 1]
    }

    /// Whether `initialize` params are MCP-shaped (they carry `protocolVersion`).
    public static func isMCPInitialize(_ params: JSONObject?) -> Bool {
        params?["protocolVersion"] != nil
    }

    /// Text for MCP's `instructions`: what the server is for and how an agent uses it.
    public static let instructions = """
        contextd keeps the working context of a software task: sessions (a unit of work \
        with a mode such as planning, building or debugging, and a lifecycle), \
        conversations with token-aware trimming, long-term memories, and Mustache templates. \
        Typical use: session_create, session_start, memory_createConversation, \
        memory_addMessage as work progresses, memory_remember for durable facts, and \
        context_build to assemble a token-bounded context for the next step. \
        Results are JSON; errors come back with isError true and a code (1001 not found, \
        1002 invalid transition, 1003 conflict, -32602 invalid arguments).
        """

    /// The `initialize` result: `base` (the contextd result: serverInfo, capabilities)
    /// extended, for MCP-shaped params, with the negotiated `protocolVersion`, the MCP
    /// capabilities (`tools`, `prompts`, `resources`) and `instructions`. LSP-shaped params
    /// get `base` unchanged.
    public static func initializeResult(params: JSONObject?, base: JSONValue) -> JSONValue {
        guard isMCPInitialize(params), case .object(var result) = base else { return base }
        let version = negotiate(params?["protocolVersion"]?.stringValue)
        var capabilities = result["capabilities"]?.objectValue ?? JSONObject()
        capabilities["tools"] = ["listChanged": false]
        capabilities["prompts"] = .object(JSONObject())
        capabilities["resources"] = .object(JSONObject())
        var out: JSONObject = ["protocolVersion": .string(version)]
        for (k, v) in result where k != "protocolVersion" && k != "capabilities" { out[k] = v }
        out["capabilities"] = .object(capabilities)
        if out["instructions"] == nil { out["instructions"] = .string(instructions) }
        result = out
        return .object(result)
    }

    // MARK: Tools

    /// Document methods that are not offered as tools: the connection's lifecycle and
    /// event subscriptions belong to the client, not to an agent's tool calls.
    public static let methodsNotAsTools: Set<String> = [
        "initialize", "shutdown", "ping", "rpc.discover", "events/subscribe", "events/unsubscribe",
    ]

    /// `session/create` → `session_create`.
    public static func toolName(forMethod method: String) -> String {
        method.replacingOccurrences(of: "/", with: "_")
    }

    /// The tool list (`tools/list` result `tools`), one per request method of `document`
    /// except `methodsNotAsTools`, with `inputSchema` from the method's params.
    public static func tools(from document: ProtocolDocument) -> [JSONValue] {
        document.methodNames.filter { !methodsNotAsTools.contains($0) }.compactMap { method in
            guard let schema = document.paramsSchema(method) else { return nil }
            var tool: JSONObject = ["name": .string(toolName(forMethod: method))]
            if let title = document.method(method)?["summary"]?.stringValue { tool["title"] = .string(title) }
            tool["description"] = .string(document.describe(method))
            tool["inputSchema"] = schema
            return .object(tool)
        }
    }

    /// The method a tool name stands for, if it is a tool of `document`.
    public static func method(forTool name: String, in document: ProtocolDocument) -> String? {
        document.methodNames.first { !methodsNotAsTools.contains($0) && toolName(forMethod: $0) == name }
    }

    /// A successful `tools/call` result. `structuredContent` must be an object in MCP, so
    /// any other result (a count, `null`) is wrapped as `{"result": value}`; the text
    /// content is the JSON of `structuredContent`.
    public static func toolResult(_ value: JSONValue) -> JSONValue {
        let structured: JSONValue = value.objectValue != nil ? value : ["result": value]
        return [
            "content": [["type": "text", "text": .string(JSONWriter.string(structured))]],
            "structuredContent": structured,
            "isError": false,
        ]
    }

    /// A failed `tools/call` result: the JSON-RPC error the method returned, as content
    /// with `isError: true` (MCP reports tool failures inside the result so the model sees them).
    public static func toolError(code: Int, message: String, data: JSONValue?) -> JSONValue {
        var error: JSONObject = ["code": .int(code), "message": .string(message)]
        if let data, !data.isNull { error["data"] = data }
        let structured = JSONValue.object(error)
        return [
            "content": [["type": "text", "text": .string(JSONWriter.string(structured))]],
            "structuredContent": structured,
            "isError": true,
        ]
    }

    // MARK: Resources

    /// What a `contextd://` URI names.
    public enum ResourceKind: String, Sendable {
        case session, conversation
    }

    /// `contextd://session/ID` or `contextd://conversation/ID`.
    public static func resourceURI(_ kind: ResourceKind, id: String) -> String {
        "contextd://\(kind.rawValue)/\(id)"
    }

    /// Parses a resource URI; `nil` for anything but `contextd://session|conversation/ID`.
    public static func parseResourceURI(_ uri: String) -> (kind: ResourceKind, id: String)? {
        let scheme = "contextd://"
        guard uri.hasPrefix(scheme) else { return nil }
        let rest = uri.dropFirst(scheme.count)
        guard let slash = rest.firstIndex(of: "/") else { return nil }
        guard let kind = ResourceKind(rawValue: String(rest[..<slash])) else { return nil }
        let id = String(rest[rest.index(after: slash)...])
        guard !id.isEmpty, !id.contains("/") else { return nil }
        return (kind, id)
    }

    /// MCP's error code for an unknown resource.
    public static let resourceNotFoundCode = -32002
}
