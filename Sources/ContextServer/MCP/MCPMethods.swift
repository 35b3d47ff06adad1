import ContextCore
import JSONRPC

// The MCP methods (PROTOCOL §11). They are wire methods but not part of the OpenRPC
// document: tools are the document's methods, run through the same method table, so an
// agent sees exactly what an editor sees. Prompts and resources are read through the
// table too (`template/*`, `session/*`, `memory/*`), so they follow the contract's shapes.

struct ToolCallParams: Decodable, Sendable {
    let name: String
    let arguments: JSONValue?
}

struct PromptGetParams: Decodable, Sendable {
    let name: String
    let arguments: JSONValue?
}

struct ResourceReadParams: Decodable, Sendable {
    let uri: String
}

/// Wire methods the server registers that the OpenRPC document deliberately does not list:
/// MCP's methods and the lifecycle notifications (documented in protocol/README.md).
public let methodsOutsideProtocolDocument: Set<String> = [
    "initialized", "notifications/initialized", "exit",
    "tools/list", "tools/call", "prompts/list", "prompts/get", "resources/list", "resources/read",
    "resources/templates/list",
]

extension MethodTable {
    /// Registers the MCP methods (`tools/*`, `prompts/*`, `resources/*`; PROTOCOL §11).
    mutating func registerMCPMethods() {
        register("tools/list", NoParams.self) { _, _ in
            JSONValue.object(["tools": .array(MCPTools.list)])
        }
        register("tools/call", ToolCallParams.self) { p, ctx in
            guard let method = MCPTools.methodsByTool[p.name] else {
                throw RPCError.invalidParams(field: "name", expected: "a tool name from tools/list", message: "unknown tool: \(p.name)")
            }
            let arguments = p.arguments ?? .object(JSONObject())
            guard arguments.objectValue != nil else {
                return MCPAdapter.toolError(
                    code: ErrorCode.invalidParams.rawValue, message: "invalid arguments: expected an object, got \(arguments.typeName)",
                    data: ["field": "arguments", "expected": "an object"])
            }
            do {
                return MCPAdapter.toolResult(try ctx.invoke(method, arguments))
            } catch {
                let e = ctx.server.mapError(error, method: method)
                return MCPAdapter.toolError(code: e.code.rawValue, message: e.message, data: e.data)
            }
        }
        register("prompts/list", NoParams.self) { _, ctx in
            let templates = try ctx.invoke("template/list", ["type": "prompt"])["templates"]?.arrayValue ?? []
            return JSONValue.object(["prompts": .array(templates.map(MCPAdapter.prompt(fromTemplate:)))])
        }
        register("prompts/get", PromptGetParams.self) { p, ctx in
            let template: JSONValue
            do {
                template = try ctx.invoke("template/get", ["name": .string(p.name)])
            } catch let e as DomainError {
                guard case .notFound = e else { throw e }
                throw RPCError.invalidParams(field: "name", expected: "a prompt name from prompts/list", message: "unknown prompt: \(p.name)")
            }
            guard template["type"]?.stringValue == "prompt", let id = template["id"] else {
                throw RPCError.invalidParams(field: "name", expected: "a prompt name from prompts/list", message: "unknown prompt: \(p.name)")
            }
            let variables = p.arguments?.objectValue ?? JSONObject()
            let rendered: JSONValue
            do {
                rendered = try ctx.invoke("template/render", ["id": id, "variables": .object(variables)])
            } catch let e as DomainError {
                guard case .missingVariables(_, let missing) = e else { throw e }
                throw RPCError(
                    .invalidParams, "missing required arguments: \(missing.joined(separator: ", "))",
                    data: ["field": "arguments", "expected": .string("values for \(missing.joined(separator: ", "))")])
            }
            var result: JSONObject = [:]
            if let d = template["description"]?.stringValue, !d.isEmpty { result["description"] = .string(d) }
            result["messages"] = [["role": "user", "content": ["type": "text", "text": rendered["text"] ?? ""]]]
            return JSONValue.object(result)
        }
        register("resources/list", NoParams.self) { _, ctx in
            var resources: [JSONValue] = []
            for s in try ctx.invokePaged("session/list", key: "sessions") {
                guard let id = s["id"]?.stringValue else { continue }
                resources.append(MCPAdapter.resource(.session, id: id, name: s["name"]?.stringValue ?? id,
                    description: "Session (\(s["mode"]?.stringValue ?? "?"), \(s["status"]?.stringValue ?? "?"))"))
            }
            for c in try ctx.invokePaged("memory/listConversations", key: "conversations") {
                guard let id = c["id"]?.stringValue else { continue }
                resources.append(MCPAdapter.resource(.conversation, id: id, name: c["title"]?.stringValue ?? id,
                    description: "Conversation (\(c["messageCount"]?.intValue ?? 0) messages)"))
            }
            return JSONValue.object(["resources": .array(resources)])
        }
        register("resources/templates/list", NoParams.self) { _, _ in
            JSONValue.object(["resourceTemplates": .array(MCPAdapter.resourceTemplates)])
        }
        register("resources/read", ResourceReadParams.self) { p, ctx in
            let notFound = RPCError(.resourceNotFound, "resource not found: \(p.uri)", data: ["uri": .string(p.uri)])
            guard let (kind, id) = MCPAdapter.parseResourceURI(p.uri) else { throw notFound }
            let body: JSONValue
            do {
                switch kind {
                case .session:
                    body = try ctx.invoke("session/get", ["id": .string(id)])
                case .conversation:
                    guard case .object(var c) = try ctx.invoke("memory/getConversation", ["id": .string(id)]) else { throw notFound }
                    c["messages"] = try ctx.invoke("memory/getMessages", ["conversationId": .string(id)])["messages"] ?? []
                    body = .object(c)
                }
            } catch let e as DomainError {
                if case .notFound = e { throw notFound }
                if case .invalidArgument = e { throw notFound }
                throw e
            } catch let e as RPCError where e.code == .invalidParams {
                throw notFound  // e.g. an id that is not a valid id
            }
            return JSONValue.object([
                "contents": [["uri": .string(p.uri), "mimeType": "application/json", "text": .string(JSONWriter.string(body))]]
            ])
        }
    }
}

/// The tool list, built once from the embedded document.
enum MCPTools {
    static let list: [JSONValue] = MCPAdapter.tools(from: .embedded)
    /// Tool name → wire method, for `tools/call`.
    static let methodsByTool: [String: String] = Dictionary(
        uniqueKeysWithValues: ProtocolDocument.embedded.methodNames.filter { !MCPAdapter.methodsNotAsTools.contains($0) }
            .map { (MCPAdapter.toolName(forMethod: $0), $0) })
}

extension RequestContext {
    /// Runs another method of the table inside the current request (same domain lock,
    /// same change records), as if `params` had been sent for `method`.
    func invoke(_ method: String, _ params: JSONValue) throws -> JSONValue {
        guard let entry = server.table.entries[method] else {
            throw RPCError(.methodNotFound, "method not found: \(method)", data: ["method": .string(method)])
        }
        let inner = RequestContext(server: server, engine: engine, connection: connection, rawParams: params)
        return try entry.handler(params, inner).value
    }

    /// Every item of a paginated list method (following `nextCursor`).
    func invokePaged(_ method: String, key: String) throws -> [JSONValue] {
        var items: [JSONValue] = []
        var cursor: JSONValue?
        var pages = 0
        repeat {
            pages += 1
            guard pages <= 100_000 else { break }  // a cursor that never ends is a bug; stop rather than spin
            var params: JSONObject = [:]
            if let cursor { params["cursor"] = cursor }
            let page = try invoke(method, .object(params))
            items += page[key]?.arrayValue ?? []
            cursor = page["nextCursor"]
        } while cursor != nil && cursor != .null
        return items
    }
}
