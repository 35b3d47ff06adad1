import Foundation
import JSONRPC
import Testing

/// Every rule of PROTOCOL §1–§3, through the built binary over pipes.
@Suite("Wire, JSON-RPC and lifecycle (PROTOCOL §1–§3)")
struct LifecycleEndToEndTests {
    func frame(_ body: String) -> String { "Content-Length: \(body.utf8.count)\r\n\r\n\(body)" }

    @Test func pingWorksWithoutInitialize() throws {
        let s = try ServerProcess.start()
        #expect(try s.call("ping") == .object([:]))
        #expect(try s.closeInputAndWait() == 0)
    }

    @Test func idsAreEchoedExactly() throws {
        let s = try ServerProcess.start()
        for id in ["9007199254740993", "1.50", "-7", "\"abc\"", "\"é😀\"", "1e3"] {
            s.sendRaw(frame(#"{"jsonrpc":"2.0","id":\#(id),"method":"ping"}"#))
        }
        try s.closeInputAndWait()
        let text = String(decoding: s.stdoutBytes, as: UTF8.self)
        for id in ["9007199254740993", "1.50", "-7", "\"abc\"", "\"é😀\"", "1e3"] {
            #expect(text.contains(#"{"jsonrpc":"2.0","id":\#(id),"result":{}}"#), "id \(id) in \(text)")
        }
    }

    @Test func notificationsGetNoReply() throws {
        let s = try ServerProcess.start()
        s.notify("ping")
        s.notify("no/such/method")
        s.notify("initialized")
        #expect(try s.call("ping") == .object([:]))
        try s.closeInputAndWait()
        #expect(s.pendingMessages.isEmpty, "unexpected: \(s.pendingMessages)")
    }

    @Test func batches() throws {
        let s = try ServerProcess.start()
        s.sendRaw(frame(#"[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"ping"},{"jsonrpc":"2.0","id":2,"method":"nope"},{"x":1}]"#))
        let batch = try s.nextMessage()
        guard case .array(let replies) = batch else {
            Issue.record("expected an array, got \(batch)")
            return
        }
        #expect(replies.count == 3)
        #expect(replies[0] == ["jsonrpc": "2.0", "id": 1, "result": [:]])
        #expect(replies[1]["error"]?["code"] == -32601)
        #expect(replies[2]["id"] == .null)
        #expect(replies[2]["error"]?["code"] == -32600)

        s.sendRaw(frame("[]"))
        let empty = try s.nextMessage()
        #expect(empty["error"]?["code"] == -32600)
        #expect(empty["id"] == .null)

        s.sendRaw(frame(#"[{"jsonrpc":"2.0","method":"ping"},{"jsonrpc":"2.0","method":"initialized"}]"#))
        #expect(try s.call("ping") == .object([:]))
        try s.closeInputAndWait()
        #expect(s.pendingMessages.isEmpty, "a batch of notifications must get no reply: \(s.pendingMessages)")
    }

    @Test func malformedBodyGetsAnErrorAndTheNextFrameWorks() throws {
        let s = try ServerProcess.start()
        s.sendRaw(frame(#"{"jsonrpc":"2.0","id":1,"method":"ping""#))
        let e = try s.nextMessage()
        #expect(e["error"]?["code"] == -32700)
        #expect(e["id"] == .null)
        s.sendRaw(Array("Content-Length: 5\r\n\r\n".utf8) + [0x22, 0xFF, 0xFE, 0x22, 0x20])
        #expect(try s.nextMessage()["error"]?["code"] == -32700)
        s.sendRaw(frame("{} trailing"))
        #expect(try s.nextMessage()["error"]?["code"] == -32700)
        #expect(try s.call("ping") == .object([:]))
        #expect(try s.closeInputAndWait() == 0)
    }

    @Test func invalidRequestsAndParams() throws {
        let s = try ServerProcess.start()
        s.sendRaw(frame(#"{"jsonrpc":"2.0","id":"r1","method":5}"#))
        let r1 = try s.nextMessage()
        #expect(r1["id"] == "r1")
        #expect(r1["error"]?["code"] == -32600)
        s.sendRaw(frame(#"{"jsonrpc":"2.0","id":"r2","method":"ping","params":3}"#))
        #expect(try s.nextMessage()["error"]?["code"] == -32600)
        let arrayParams = try s.callExpectingError("events/subscribe", [["session"]])
        #expect(arrayParams.code == -32602)
        #expect(arrayParams.data?["field"] == "params")
        let badField = try s.callExpectingError("events/subscribe", ["topics": ["session", "nope"]])
        #expect(badField.code == -32602)
        #expect(badField.data?["field"] == "topics[1]")
        let unknown = try s.callExpectingError("no/such")
        #expect(unknown.code == -32601)
        // Unknown fields are ignored; "params": null is absent.
        #expect(try s.call("ping", ["whatever": 1]) == .object([:]))
        #expect(try s.call("ping", .null) == .object([:]))
        try s.closeInputAndWait()
    }

    @Test func initializeLSPShape() throws {
        let s = try ServerProcess.start()
        #expect(try s.call("ping") == .object([:]))  // ping may precede initialize
        let r = try s.call("initialize", ["processId": 1, "rootUri": "file:///tmp", "capabilities": [:], "clientInfo": ["name": "test"]])
        #expect(r["serverInfo"]?["name"] == "contextd")
        #expect(r["serverInfo"]?["version"]?.stringValue?.isEmpty == false)
        let caps = try #require(r["capabilities"])
        #expect(caps["limits"]?["maxMessageBytes"] == .int(64 << 20))
        #expect(caps["limits"]?["maxDepth"] == 256)
        #expect(caps["limits"]?["maxBatch"] == 1000)
        #expect(caps["store"]?["kind"] == "memory")
        #expect(caps["framing"] == "contentLength")
        #expect(r["protocolVersion"] == nil)
        s.notify("initialized")
        let again = try s.callExpectingError("initialize", ["processId": 1])
        #expect(again.code == -32600)
        try s.closeInputAndWait()
    }

    @Test func lateInitializeIsRefused() throws {
        let s = try ServerProcess.start()
        _ = try s.call("events/subscribe", ["topics": ["session"]])
        #expect(try s.callExpectingError("initialize", [:]).code == -32600)
        try s.closeInputAndWait()
    }

    @Test(arguments: [("2025-06-18", "2025-06-18"), ("2024-11-05", "2024-11-05"), ("2025-11-25", "2025-11-25"), ("1999-01-01", "2025-11-25")])
    func initializeMCPShapeNegotiatesVersion(_ requested: String, _ expected: String) throws {
        let s = try ServerProcess.start(framing: .ndjson)
        let r = try s.call("initialize", ["protocolVersion": .string(requested), "capabilities": [:], "clientInfo": ["name": "agent", "version": "1"]])
        #expect(r["protocolVersion"] == .string(expected))
        #expect(r["capabilities"]?["tools"] != nil)
        #expect(r["capabilities"]?["framing"] == "ndjson")
        s.notify("notifications/initialized")
        #expect(try s.call("ping") == .object([:]))
        try s.closeInputAndWait()
    }

    @Test func shutdownThenExitEndsWithZero() throws {
        let s = try ServerProcess.start()
        #expect(try s.call("shutdown") == .null)
        let after = try s.callExpectingError("ping")
        #expect(after.code == -32600)
        s.notify("exit")
        #expect(try s.waitForExit() == 0)
    }

    @Test func exitWithoutShutdownEndsWithOne() throws {
        let s = try ServerProcess.start()
        #expect(try s.call("ping") == .object([:]))
        s.notify("exit")
        #expect(try s.waitForExit() == 1)
    }

    @Test func endOfInputEndsWithZeroAfterFlushingReplies() throws {
        let s = try ServerProcess.start()
        var text = ""
        for i in 1...200 { text += frame(#"{"jsonrpc":"2.0","id":\#(i),"method":"ping"}"#) }
        s.sendRaw(text)
        #expect(try s.closeInputAndWait() == 0)
        #expect(s.pendingMessages.count == 200)
    }

    @Test func limitsAnswer1008AndTheStreamStaysInStep() throws {
        let s = try ServerProcess.start(arguments: ["--store", "memory", "--max-message-bytes", "1000", "--max-depth", "8", "--max-batch", "3"])
        s.sendRaw(frame(#"{"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":"\#(String(repeating: "x", count: 2000))"}}"#))
        let big = try s.nextMessage()
        #expect(big["id"] == .null)
        #expect(big["error"]?["code"] == 1008)
        #expect(big["error"]?["data"]?["limit"] == "maxMessageBytes")
        #expect(big["error"]?["data"]?["max"] == 1000)
        #expect(try s.call("ping") == .object([:]))

        s.sendRaw(frame(#"{"jsonrpc":"2.0","id":2,"method":"ping","params":{"a":[[[[[[[[1]]]]]]]]}}"#))
        let deep = try s.nextMessage()
        #expect(deep["error"]?["code"] == 1008)
        #expect(deep["error"]?["data"]?["limit"] == "maxDepth")

        s.sendRaw(frame(#"[{"jsonrpc":"2.0","id":3,"method":"shutdown"},{"jsonrpc":"2.0","id":4,"method":"ping"},{"jsonrpc":"2.0","id":5,"method":"ping"},{"jsonrpc":"2.0","id":6,"method":"ping"}]"#))
        let batch = try s.nextMessage()
        #expect(batch["error"]?["code"] == 1008)
        #expect(batch["error"]?["data"]?["limit"] == "maxBatch")
        // No member of the over-long batch ran: shutdown did not happen.
        #expect(try s.call("ping") == .object([:]))
        try s.closeInputAndWait()
    }

    @Test func domainLimitsAreConfigurableAndReported() throws {
        let s = try ServerProcess.start(arguments: ["--store", "memory", "--max-sessions", "2", "--max-string-bytes", "64"])
        let limits = try s.call("initialize", ["processId": 1])["capabilities"]?["limits"]
        #expect(limits?["maxSessions"] == 2)
        #expect(limits?["maxStringBytes"] == 64)
        _ = try s.call("session/create", ["name": "a", "mode": "planning"])
        _ = try s.call("session/create", ["name": "b", "mode": "planning"])
        let e = try s.callExpectingError("session/create", ["name": "c", "mode": "planning"])
        #expect(e.code == 1008)
        #expect(e.data?["limit"] == "maxSessions")
        #expect(e.data?["max"] == 2)
        let c = try s.call("memory/createConversation", ["title": "t"])
        let big = try s.callExpectingError("memory/addMessage", ["conversationId": c["id"]!, "role": "user", "content": .string(String(repeating: "x", count: 65))])
        #expect(big.code == 1008)
        #expect(big.data?["limit"] == "maxStringBytes")
        try s.closeInputAndWait()
    }

    @Test func cancelledRequestAnswers32800() throws {
        let s = try ServerProcess.start()
        s.sendRaw(frame(#"{"jsonrpc":"2.0","id":41,"method":"ping"}"#) + frame(#"{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":41}}"#))
        let r = try s.response(id: 41)
        #expect(r["error"]?["code"] == -32800)
        // MCP's form of the same.
        s.sendRaw(frame(#"{"jsonrpc":"2.0","id":"m1","method":"ping"}"#) + frame(#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"m1","reason":"user"}}"#))
        #expect(try s.response(id: "m1")["error"]?["code"] == -32800)
        // Cancelling something already finished, or unknown, is harmless.
        s.notify("$/cancelRequest", ["id": 999])
        #expect(try s.call("ping") == .object([:]))
        try s.closeInputAndWait()
    }

    @Test func ndjsonFramingIsDetectedAndUsedForReplies() throws {
        let s = try ServerProcess.start(framing: .ndjson)
        s.sendRaw("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n\n{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}\r\n")
        try s.closeInputAndWait()
        #expect(String(decoding: s.stdoutBytes, as: UTF8.self) == "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{}}\n")
    }

    @Test func stdoutCarriesOnlyFramesEvenWithDebugLogging() throws {
        let s = try ServerProcess.start(arguments: ["--store", "memory", "--log-level", "debug"])
        _ = try s.call("initialize", ["processId": 1])
        _ = try s.call("rpc.discover")
        _ = try s.callExpectingError("nope")
        s.sendRaw(frame("{bad"))
        _ = try s.nextMessage()
        _ = try s.call("shutdown")
        s.notify("exit")
        #expect(try s.waitForExit() == 0)
        // Re-decode stdout strictly: only well-formed Content-Length frames of JSON.
        var d = FrameDecoder()
        d.push(s.stdoutBytes)
        var count = 0
        while let f = d.next() {
            guard case .message(let body) = f else {
                Issue.record("non-frame bytes on stdout: \(f)")
                break
            }
            #expect(throws: Never.self) { try JSONParser.parse(body) }
            count += 1
        }
        #expect(count == 5)
        #expect(d.bufferedByteCount == 0)
        #expect(s.stderrText.contains("debug"))
    }

    @Test func rpcDiscoverReturnsTheOpenRPCDocument() throws {
        let s = try ServerProcess.start()
        let doc = try s.call("rpc.discover")
        #expect(doc["openrpc"]?.stringValue?.hasPrefix("1.3") == true)
        #expect(doc["methods"]?.arrayValue != nil)
        try s.closeInputAndWait()
    }

    @Test func eventsSubscribeAndUnsubscribe() throws {
        let s = try ServerProcess.start()
        #expect(try s.call("events/subscribe", ["topics": ["session", "store"]]) == ["topics": ["session", "store"]])
        #expect(try s.call("events/unsubscribe", ["topics": ["store"]]) == ["topics": ["session"]])
        #expect(try s.call("events/subscribe", [:])["topics"]?.arrayValue?.count == 5)
        #expect(try s.call("events/unsubscribe", [:]) == ["topics": []])
        try s.closeInputAndWait()
    }
}

@Suite("Command line")
struct CommandLineEndToEndTests {
    func run(_ args: [String], stdin: String = "") throws -> (code: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: ServerProcess.binaryPath)
        p.arguments = args
        let out = Pipe(), err = Pipe(), inp = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = inp
        try p.run()
        inp.fileHandleForWriting.write(Data(stdin.utf8))
        try inp.fileHandleForWriting.close()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    @Test func helpAndVersion() throws {
        let h = try run(["--help"])
        #expect(h.code == 0)
        #expect(h.out.contains("EXAMPLES"))
        #expect(h.out.contains("--data-dir"))
        let v = try run(["--version"])
        #expect(v.code == 0)
        #expect(v.out.hasPrefix("contextd "))
    }

    @Test func usageErrorsExit64() throws {
        let r = try run(["--durability", "sometimes"])
        #expect(r.code == 64)
        #expect(r.err.contains("--durability"))
        #expect(r.out.isEmpty)
        #expect(try run(["frobnicate"]).code == 64)
    }

    @Test func callPrintsResultOrErrorJSON() throws {
        let ok = try run(["call", "ping", "{}", "--store", "memory"])
        #expect(ok.code == 0)
        #expect(try JSONParser.parse(ok.out) == .object([:]))
        let bad = try run(["call", "no/such", "--store", "memory"])
        #expect(bad.code == 1)
        #expect(bad.out.isEmpty)
        #expect(try JSONParser.parse(bad.err)["code"] == -32601)
    }
}
