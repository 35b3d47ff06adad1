import JSONCore

/// contextd as a Model Context Protocol server (PROTOCOL §11).
///
/// MCP is layered on the same JSON-RPC connection: an MCP client sends an MCP-shaped
/// `initialize` (its params carry `protocolVersion`), then `tools/*`, `prompts/*` and
/// `resources/*` requests. Tools are the contract's request methods, described by the
/// OpenRPC document; a tool call runs the method through the ordinary method table, so an
/// agent and an editor see exactly the same behaviour.
public enum MCPAdapter {
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

extension MCPAdapter {
    /// An MCP prompt (`prompts/list` item) for a template: name = template name,
    /// arguments = its variables.
    public static func prompt(fromTemplate t: JSONValue) -> JSONValue {
        var prompt: JSONObject = ["name": t["name"] ?? ""]
        if let d = t["description"]?.stringValue, !d.isEmpty { prompt["description"] = .string(d) }
        var arguments: [JSONValue] = []
        for v in t["variables"]?.arrayValue ?? [] {
            guard let name = v["name"]?.stringValue else { continue }
            var a: JSONObject = ["name": .string(name)]
            if let d = v["description"]?.stringValue, !d.isEmpty { a["description"] = .string(d) }
            // A variable with a default never blocks rendering, so it is not required here.
            let required = v["required"]?.boolValue == true && v["default"] == nil
            a["required"] = .bool(required)
            arguments.append(.object(a))
        }
        prompt["arguments"] = .array(arguments)
        return .object(prompt)
    }

    /// An MCP resource (`resources/list` item).
    public static func resource(_ kind: ResourceKind, id: String, name: String, description: String) -> JSONValue {
        [
            "uri": .string(resourceURI(kind, id: id)),
            "name": .string(name),
            "description": .string(description),
            "mimeType": "application/json",
        ]
    }

    /// `resources/templates/list`: the two URI shapes, for clients that build URIs themselves.
    public static let resourceTemplates: [JSONValue] = [
        [
            "uriTemplate": "contextd://session/{id}", "name": "session", "mimeType": "application/json",
            "description": "A session (JSON): mode, status, tags, metadata, context, phase, usage.",
        ],
        [
            "uriTemplate": "contextd://conversation/{id}", "name": "conversation", "mimeType": "application/json",
            "description": "A conversation (JSON) with its messages, oldest first.",
        ],
    ]
}
