import JSONRPC
import Testing

@Suite("Frame decoder")
struct FrameDecoderTests {
    static let bodies = [#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#, #"{"a":"é😀"}"#, "[1,2,3]"]

    static func framed(_ bodies: [String]) -> [UInt8] {
        var out: [UInt8] = []
        for b in bodies { FrameEncoder.append(Array(b.utf8), framing: .contentLength, to: &out) }
        return out
    }

    static func drain(_ d: inout FrameDecoder) -> [Frame] {
        var frames: [Frame] = []
        while let f = d.next() { frames.append(f) }
        return frames
    }

    @Test func allAtOnce() {
        var d = FrameDecoder()
        d.push(Self.framed(Self.bodies))
        #expect(Self.drain(&d) == Self.bodies.map { .message(Array($0.utf8)) })
        #expect(d.framing == .contentLength)
    }

    @Test func byteByByte() {
        var d = FrameDecoder()
        var frames: [Frame] = []
        for b in Self.framed(Self.bodies) {
            d.push([b])
            frames += Self.drain(&d)
        }
        #expect(frames == Self.bodies.map { .message(Array($0.utf8)) })
    }

    @Test func splitAtEveryPosition() {
        let bytes = Self.framed(Self.bodies)
        for cut in 0...bytes.count {
            var d = FrameDecoder()
            d.push(Array(bytes[..<cut]))
            var frames = Self.drain(&d)
            d.push(Array(bytes[cut...]))
            frames += Self.drain(&d)
            #expect(frames == Self.bodies.map { .message(Array($0.utf8)) }, "cut at \(cut)")
        }
    }

    @Test func headersCaseInsensitiveUnknownIgnored() {
        var d = FrameDecoder()
        d.push(Array("content-type: application/vscode-jsonrpc; charset=utf-8\r\nX-Whatever: 1\r\nCONTENT-LENGTH:  2 \r\n\r\n{}".utf8))
        #expect(Self.drain(&d) == [.message(Array("{}".utf8))])
    }

    @Test func missingOrBadContentLength() {
        var d = FrameDecoder()
        d.push(Array("Content-Type: x\r\n\r\nContent-Length: abc\r\n\r\nContent-Length: 2\r\n\r\n{}".utf8))
        let frames = Self.drain(&d)
        #expect(frames.count == 3)
        if case .badHeader = frames[0] {} else { Issue.record("expected badHeader, got \(frames[0])") }
        if case .badHeader = frames[1] {} else { Issue.record("expected badHeader, got \(frames[1])") }
        #expect(frames[2] == .message(Array("{}".utf8)))
    }

    @Test func oversizedBodyIsDiscardedAndStreamStaysInStep() {
        var d = FrameDecoder(maxMessageBytes: 10)
        let big = String(repeating: "x", count: 50)
        d.push(Array("Content-Length: 50\r\n\r\n\(big)Content-Length: 2\r\n\r\n{}".utf8))
        #expect(Self.drain(&d) == [.oversized(length: 50), .message(Array("{}".utf8))])
    }

    @Test func endlessHeaderIsRefused() {
        var d = FrameDecoder(maxHeaderBytes: 100)
        d.push(Array(("Content-Length: 1" + String(repeating: "0", count: 200)).utf8))
        if case .badHeader = d.next() {} else { Issue.record("expected badHeader") }
    }

    @Test func ndjsonDetectedAndSplit() {
        var d = FrameDecoder()
        d.push(Array("  \n{\"a\":1}\r\n\n[2]\n{\"b\"".utf8))
        #expect(Self.drain(&d) == [.message(Array("{\"a\":1}".utf8)), .message(Array("[2]".utf8))])
        #expect(d.framing == .ndjson)
        d.push(Array(":3}\n".utf8))
        #expect(Self.drain(&d) == [.message(Array("{\"b\":3}".utf8))])
    }

    @Test func ndjsonOverlongLineDiscarded() {
        var d = FrameDecoder(maxMessageBytes: 8)
        d.push(Array("{\"aaaaaaaaaaaaaaaaaaa".utf8))
        #expect(d.next() == nil)
        d.push(Array("\":1}\n{}\n".utf8))
        let frames = Self.drain(&d)
        #expect(frames.count == 2)
        if case .oversized = frames[0] {} else { Issue.record("expected oversized") }
        #expect(frames[1] == .message(Array("{}".utf8)))
    }
}

@Suite("Message classification (PROTOCOL §2, §12)")
struct MessageTests {
    static func classify(_ text: String) throws -> IncomingMessage { IncomingMessage.classify(try JSONParser.parse(text)) }

    @Test func requestsAndNotifications() throws {
        guard case .request(let id, "a/b", let params) = try Self.classify(#"{"jsonrpc":"2.0","id":"x","method":"a/b","params":{"k":1}}"#) else {
            Issue.record("not a request")
            return
        }
        #expect(id == .string("x"))
        #expect(params == ["k": 1])
        guard case .notification("n", nil) = try Self.classify(#"{"jsonrpc":"2.0","method":"n","params":null}"#) else {
            Issue.record("not a notification with absent params")
            return
        }
    }

    static let invalid: [(String, RequestID?)] = [
        (#"{"jsonrpc":"2.0","id":5,"method":1}"#, .number(JSONNumber(literal: "5"))),
        (#"{"jsonrpc":"1.0","id":"s","method":"m"}"#, .string("s")),
        (#"{"id":7,"method":"m"}"#, .number(JSONNumber(literal: "7"))),
        (#"{"jsonrpc":"2.0","id":{"x":1},"method":"m"}"#, nil),
        (#"{"jsonrpc":"2.0","id":true,"method":"m"}"#, nil),
        (#"{"jsonrpc":"2.0","id":3,"method":"m","params":5}"#, .number(JSONNumber(literal: "3"))),
        (#"{"jsonrpc":"2.0","id":3,"method":"m","params":"s"}"#, .number(JSONNumber(literal: "3"))),
        (#"{"jsonrpc":"2.0","id":4}"#, .number(JSONNumber(literal: "4"))),
        ("1", nil), (#""x""#, nil),
    ]

    @Test(arguments: invalid)
    func invalidRequestsKeepTheirID(_ text: String, _ expectedID: RequestID?) throws {
        guard case .invalid(let id, let error) = try Self.classify(text) else {
            Issue.record("\(text) was accepted")
            return
        }
        #expect(id == expectedID)
        #expect(error.code == .invalidRequest)
    }

    @Test func idsEchoByteIdentical() throws {
        for literal in ["9007199254740993", "1.50", "-0", "1e3", "\"é\""] {
            let v = try JSONParser.parse(literal)
            let bytes = ResponseWriter.result(id: RequestID(v), .null)
            #expect(String(decoding: bytes, as: UTF8.self) == #"{"jsonrpc":"2.0","id":\#(literal),"result":null}"#)
        }
    }
}

@Suite("Method registry")
struct MethodRegistryTests {
    struct P: Decodable, Sendable { let name: String; let n: Int? }

    @Test func decodesParamsAndReportsTheField() throws {
        var r = MethodRegistry<Int>()
        r.register("m", P.self) { p, ctx in ["name": .string(p.name), "ctx": .int(ctx)] as JSONValue }
        let h = try #require(r.handler(for: "m"))
        #expect(try h(["name": "x"], 7).value == ["name": "x", "ctx": 7])
        for (params, field) in [(JSONValue.object([:]), "name"), (["name": 3], "name"), (["name": "x", "n": "y"], "n")] {
            do {
                _ = try h(params, 0)
                Issue.record("accepted \(params)")
            } catch let e as RPCError {
                #expect(e.code == .invalidParams)
                #expect(e.data?["field"] == .string(field))
            }
        }
        do {
            _ = try h([1, 2], 0)
            Issue.record("accepted array params")
        } catch let e as RPCError {
            #expect(e.code == .invalidParams)
            #expect(e.data?["field"] == "params")
        }
        #expect(r.methodNames == ["m"])
    }
}
