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
