import ContextCore
import ContextServer
import ContextStore
import JSONCore
import JSONRPC
import Testing

@Suite("MCP adapter (PROTOCOL §11)")
struct MCPAdapterTests {
    let server: Server

    init() throws { server = try ProtocolDocumentTests.makeServer() }

    func call(_ method: String, _ params: JSONValue? = nil) throws -> JSONValue {
        try server.call(method: method, params: params).get()
    }

    func callError(_ method: String, _ params: JSONValue? = nil) -> RPCError? {
        if case .failure(let e) = server.call(method: method, params: params) { return e }
        return nil
    }

    // MARK: initialize

    @Test(arguments: [
        ("2024-11-05", "2024-11-05"), ("2025-03-26", "2025-03-26"), ("2025-06-18", "2025-06-18"),
        ("2025-11-25", "2025-11-25"), ("2099-01-01", "2025-11-25"), ("", "2025-11-25"),
    ])
    func initializeNegotiatesTheVersion(requested: String, answered: String) throws {
        let r = try call("initialize", ["protocolVersion": .string(requested), "capabilities": [:], "clientInfo": ["name": "t"]])
        #expect(r["protocolVersion"]?.stringValue == answered)
        #expect(r["capabilities"]?["tools"]?["listChanged"] == false)
        #expect(r["capabilities"]?["prompts"] != nil)
        #expect(r["capabilities"]?["resources"] != nil)
        #expect(r["serverInfo"]?["name"] == "contextd")
    }

    @Test func lspInitializeHasNoMCPFields() throws {
        let r = try call("initialize", ["processId": 1, "rootUri": .null, "capabilities": [:]])
        #expect(r["protocolVersion"] == nil)
        #expect(r["capabilities"]?["tools"] == nil)
    }

    @Test func initializedNotificationsAreAccepted() throws {
        #expect(try call("notifications/initialized") == .null)
        #expect(try call("ping") == .object([:]))
    }

    // MARK: tools

    @Test(arguments: [("session/create", "session_create"), ("memory/addMessage", "memory_addMessage"), ("context/build", "context_build")])
    func toolNames(method: String, tool: String) {
        #expect(MCPAdapter.toolName(forMethod: method) == tool)
        #expect(MCPAdapter.method(forTool: tool, in: .embedded) == method)
    }

    @Test(arguments: ["initialize", "shutdown", "ping", "rpc.discover", "events/subscribe", "events/unsubscribe"])
    func lifecycleMethodsAreNotTools(method: String) {
        #expect(MCPAdapter.method(forTool: MCPAdapter.toolName(forMethod: method), in: .embedded) == nil)
    }

    @Test func toolsListHasOneToolPerContractMethod() throws {
        let tools = try #require(try call("tools/list")["tools"]?.arrayValue)
        let doc = ProtocolDocument.embedded
        let expected = doc.methodNames.filter { !MCPAdapter.methodsNotAsTools.contains($0) }
        #expect(tools.compactMap { $0["name"]?.stringValue } == expected.map(MCPAdapter.toolName(forMethod:)))
        for tool in tools {
            let schema = try #require(tool["inputSchema"])
            #expect(schema["type"] == "object")
            #expect(schema["properties"]?.objectValue != nil)
            #expect(tool["description"]?.stringValue?.isEmpty == false)
            #expect(!JSONWriter.string(schema).contains("$ref"), "\(tool["name"]!) has an unresolved $ref")
        }
        let create = try #require(tools.first { $0["name"] == "session_create" })
        #expect(create["inputSchema"]?["required"] == ["name", "mode"])
        #expect(create["inputSchema"]?["properties"]?["mode"]?["enum"]?.arrayValue?.count == 6)
    }

    @Test func unknownToolIsAProtocolError() {
        #expect(callError("tools/call", ["name": "no_such_tool", "arguments": [:]])?.code == .invalidParams)
        #expect(callError("tools/call", ["name": "ping"])?.code == .invalidParams)
    }

    @Test func nonObjectArgumentsAreAToolError() throws {
        let r = try call("tools/call", ["name": "session_get", "arguments": [1, 2]])
        #expect(r["isError"] == true)
        #expect(r["structuredContent"]?["code"] == .int(-32602))
    }

    @Test func toolCallRunsTheMethod() throws {
        let created = try call("tools/call", ["name": "session_create", "arguments": ["name": "agent", "mode": "planning"]])
        #expect(created["isError"] == false)
        let session = try #require(created["structuredContent"])
        #expect(session["name"] == "agent")
        #expect(created["content"]?.arrayValue?.first?["type"] == "text")
        let text = try #require(created["content"]?.arrayValue?.first?["text"]?.stringValue)
        #expect(try JSONParser.parse(text) == session)

        let got = try call("tools/call", ["name": "session_get", "arguments": ["id": session["id"]!]])
        #expect(got["structuredContent"] == session)

        let missing = try call("tools/call", ["name": "session_get", "arguments": ["id": "nope"]])
        #expect(missing["isError"] == true)
        #expect(missing["structuredContent"]?["code"] == 1001)
        #expect(missing["structuredContent"]?["data"] == ["kind": "session", "id": "nope"])

        let invalid = try call("tools/call", ["name": "session_create", "arguments": ["name": "x"]])
        #expect(invalid["isError"] == true)
        #expect(invalid["structuredContent"]?["data"]?["field"] == "mode")
    }

    @Test func toolResultShapes() throws {
        let object = MCPAdapter.toolResult(["a": 1])
        #expect(object["structuredContent"] == ["a": 1])
        #expect(object["content"]?.arrayValue?.first?["text"] == #"{"a":1}"#)
        #expect(object["isError"] == false)
        let scalar = MCPAdapter.toolResult(3)
        #expect(scalar["structuredContent"] == ["result": 3])
        #expect(scalar["content"]?.arrayValue?.first?["text"] == #"{"result":3}"#)
        let null = MCPAdapter.toolResult(.null)
        #expect(null["structuredContent"] == ["result": .null])
        let error = MCPAdapter.toolError(code: 1001, message: "gone", data: ["kind": "session", "id": "x"])
        #expect(error["isError"] == true)
        #expect(error["structuredContent"] == ["code": 1001, "message": "gone", "data": ["kind": "session", "id": "x"]])
        #expect(MCPAdapter.toolError(code: -32602, message: "m", data: nil)["structuredContent"]?["data"] == nil)
    }

    // MARK: prompts

    @Test func promptFromTemplate() {
        let t: JSONValue = [
            "name": "Explain", "description": "d", "type": "prompt",
            "variables": [
                ["name": "a", "required": true, "description": "first"],
                ["name": "b", "required": true, "default": "x"],
                ["name": "c", "required": false],
            ],
        ]
        #expect(
            MCPAdapter.prompt(fromTemplate: t) == [
                "name": "Explain", "description": "d",
                "arguments": [
                    ["name": "a", "description": "first", "required": true],
                    ["name": "b", "required": false],
                    ["name": "c", "required": false],
                ],
            ])
    }

    @Test func promptsListAndGetUsePromptTemplates() throws {
        let created = try call(
            "template/create",
            ["name": "Summarize", "type": "prompt", "content": "Summarize {{topic}} in {{n}} words", "description": "short summary"])
        #expect(created["template"]?["type"] == "prompt")
        _ = try call("template/create", ["name": "Not A Prompt", "type": "code", "content": "{{x}}"])
        let prompts = try #require(try call("prompts/list")["prompts"]?.arrayValue)
        let names = prompts.compactMap { $0["name"]?.stringValue }
        #expect(names.contains("Summarize"))
        #expect(!names.contains("Not A Prompt"))

        let got = try call("prompts/get", ["name": "Summarize", "arguments": ["topic": "MCP", "n": "10"]])
        #expect(got["messages"] == [["role": "user", "content": ["type": "text", "text": "Summarize MCP in 10 words"]]])
        #expect(got["description"] == "short summary")
        #expect(callError("prompts/get", ["name": "Not A Prompt"])?.code == .invalidParams)
        #expect(callError("prompts/get", ["name": "Nothing"])?.code == .invalidParams)
    }

    // MARK: resources

    @Test(arguments: [
        ("contextd://session/s-1", "session", "s-1"), ("contextd://conversation/c.2", "conversation", "c.2"),
    ])
    func parsesResourceURIs(uri: String, kind: String, id: String) throws {
        let parsed = try #require(MCPAdapter.parseResourceURI(uri))
        #expect(parsed.kind.rawValue == kind)
        #expect(parsed.id == id)
        #expect(MCPAdapter.resourceURI(parsed.kind, id: id) == uri)
    }

    @Test(arguments: ["contextd://session/", "contextd://group/g", "http://session/x", "contextd://session/a/b", "contextd://session"])
    func rejectsOtherURIs(uri: String) {
        #expect(MCPAdapter.parseResourceURI(uri) == nil)
    }

    @Test func unknownResourceIs32002() {
        let e = callError("resources/read", ["uri": "contextd://session/none"])
        #expect(e?.code == .resourceNotFound)
        #expect(e?.data == ["uri": "contextd://session/none"])
        #expect(callError("resources/read", ["uri": "file:///etc/passwd"])?.code == .resourceNotFound)
    }

    @Test func resourceTemplates() throws {
        let templates = try #require(try call("resources/templates/list")["resourceTemplates"]?.arrayValue)
        #expect(templates.compactMap { $0["uriTemplate"]?.stringValue } == ["contextd://session/{id}", "contextd://conversation/{id}"])
    }

    @Test func resourcesListAndRead() throws {
        let s = try call("session/create", ["name": "res", "mode": "testing"])
        let id = try #require(s["id"]?.stringValue)
        let resources = try #require(try call("resources/list")["resources"]?.arrayValue)
        let uri = "contextd://session/\(id)"
        #expect(resources.contains { $0["uri"]?.stringValue == uri && $0["mimeType"] == "application/json" })
        let read = try call("resources/read", ["uri": .string(uri)])
        let content = try #require(read["contents"]?.arrayValue?.first)
        #expect(content["uri"]?.stringValue == uri)
        #expect(try JSONParser.parse(try #require(content["text"]?.stringValue)) == s)
    }
}
