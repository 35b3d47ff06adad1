import ContextCore
import JSONCore
import Testing

@testable import ContextServer

/// Results that write their own JSON give the bytes Codable gives.
@Suite("Result encoding")
struct ResultEncodingTests {
    @Test func addMessageResultWritesWhatCodableWrites() throws {
        let m = Message(
            id: "msg_1", conversationId: "conv_1", role: .assistant, content: "a \"b\"\n", metadata: ["k": [1, nil]],
            createdAt: Timestamp(milliseconds: 1_700_000_000_123), tokens: 7,
            toolCalls: [ToolCall(id: "t", name: "f", arguments: ["x": 1.5])])
        for trimmed in [[], ["msg_0", "msg_\u{e9}"]] {
            let r = AddMessageResult(message: m, trimmed: trimmed)
            var w = JSONWriter()
            r.writeJSON(into: &w)
            #expect(String(decoding: w.bytes, as: UTF8.self) == JSONWriter.string(try JSONValueEncoder().encode(r)))
        }
    }
}

/// Params that read themselves give the values and the failures Codable gives.
@Suite("Params decoding")
struct ParamsDecodingTests {
    @Test func sessionIDParamsMatchTheCodablePath() throws {
        let cases: [JSONObject] = [
            ["id": "ses_1"], ["id": "ses_1", "extra": 1], [:], ["id": 3], ["id": nil], ["id": ["x"]], ["Id": "a"], ["id": ""],
        ]
        for o in cases {
            let codable: Result<String, JSONDecodingFailure> = Result {
                try JSONValueDecoder().decode(SessionIDParams.self, from: .object(o)).id
            }.mapError { JSONDecodingFailure($0) }
            let fast: Result<String, JSONDecodingFailure> = Result { () throws(JSONDecodingFailure) in try SessionIDParams(object: o).id }
            switch (codable, fast) {
            case (.success(let a), .success(let b)): #expect(a == b)
            case (.failure(let a), .failure(let b)):
                #expect(a.field == b.field && a.expected == b.expected && a.message == b.message, "\(o): \(a) vs \(b)")
            default: Issue.record("\(o): Codable \(codable), fast \(fast)")
            }
        }
    }
}
