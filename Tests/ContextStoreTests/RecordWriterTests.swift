import ContextCore
import JSONCore
import Testing

@testable import ContextStore

/// The streaming record writer must write exactly what the tree path writes
/// (`JSONWriter` over `RecordCoding.encode`), compact and pretty.
@Suite struct RecordWriterTests {
    static var records: [Record] {
        var m = Message(
            id: "msg_9", conversationId: "conv_9", role: .assistant, content: "Line 1\nLine \"2\"\t\\ café ✓ 🚀 \u{01}",
            metadata: ["model": "x", "latencyMs": 1234.5, "ok": true, "nested": ["a": [1, 2, ["b": .null]], "e": [:], "f": []]],
            createdAt: Timestamp(milliseconds: 1_795_000_000_123), tokens: 57)
        m.toolCalls = [ToolCall(id: "call_1", name: "read_file", arguments: ["path": "/src/main.swift", "range": [1, 200]]), ToolCall(id: "call_2", name: "x", arguments: [:])]
        m.toolCallId = "call_0"
        var c = Conversation(id: "conv_9", title: "Tïtle", createdAt: Timestamp(milliseconds: 0), updatedAt: Timestamp(milliseconds: -1))
        c.metadata = ["k": ["deep": [["x": 1]]]]
        c.maxMessages = 10
        c.messageCount = Int.max
        c.tokenCount = Int.min
        return Fixtures.everyKind + [
            .message(m), .conversation(c),
            .setting(key: "s", value: ["a": [1, "two", 3.5, false], "b": [:]]),
            .setting(key: "empty", value: [:]), .setting(key: "n", value: .null),
        ]
    }

    static func tree(_ r: Record, pretty: Bool) throws -> [UInt8] {
        let o = try RecordCoding.encode(r)
        guard pretty else { return JSONWriter.encode(.object(o)) }
        var out: [UInt8] = []
        for b in JSONWriter.encode(.object(o), options: [.pretty]) {
            out.append(b)
            if b == 0x0A { out.append(contentsOf: [0x20, 0x20, 0x20, 0x20]) }
        }
        return out
    }

    @Test(arguments: [false, true])
    func sameBytesAsTheTree(pretty: Bool) throws {
        for r in Self.records {
            var w = RecordWriter(pretty: pretty, capacity: 64)
            try w.write(r)
            let got = w.take()
            let want = try Self.tree(r, pretty: pretty)
            #expect(String(decoding: got, as: UTF8.self) == String(decoding: want, as: UTF8.self), "\(r.kind) \(r.key.id)")
        }
    }

    @Test(arguments: SnapshotFormat.allCases)
    func snapshotFileBytesUnchanged(format: SnapshotFormat) throws {
        // The file around the records, as written before the streaming writer.
        let records = Self.records + (0..<3000).map { Fixtures.record(.message, "m\($0)") }
        for rs in [Array(records.prefix(5)), records, []] {
            let file = SnapshotFile(component: "conversations", sequence: 7, savedAt: Timestamp(milliseconds: 5), records: rs, extra: ["conversationId": "c"])
            let pretty = format == .json
            var head = JSONObject()
            head["schemaVersion"] = 1
            head["component"] = "conversations"
            head["sequence"] = 7
            head["savedAt"] = .string(Timestamp(milliseconds: 5).iso8601)
            head["conversationId"] = "c"
            var want = Array(JSONWriter.encode(.object(head), options: pretty ? [.pretty] : []).dropLast())
            if pretty, want.last == 0x0A { want.removeLast() }
            want += Array((pretty ? ",\n  \"records\": [" : ",\"records\":[").utf8)
            for (i, r) in rs.enumerated() {
                if i > 0 { want.append(UInt8(ascii: ",")) }
                if pretty { want += [0x0A, 0x20, 0x20, 0x20, 0x20] }
                want += try Self.tree(r, pretty: pretty)
            }
            want += Array((pretty ? (rs.isEmpty ? "]\n}\n" : "\n  ]\n}\n") : "]}").utf8)
            let got = try file.encode(format: format)
            if format == .jsonGzip {
                #expect(try Gzip.decompress(got) == want)
            } else {
                #expect(got == want)
            }
        }
    }

    // Types a stream cannot follow: the writer must fall back to the tree's output.
    struct TwiceKeyed: Encodable {
        enum K: String, CodingKey { case a, b }
        func encode(to e: any Encoder) throws {
            var c = e.container(keyedBy: K.self)
            try c.encode(1, forKey: .a)
            try c.encode("x", forKey: .b)
            try c.encode(2, forKey: .a)  // replaces (tree keeps the first position)
        }
    }

    struct Interleaved: Encodable {
        enum K: String, CodingKey { case a, b, c }
        func encode(to e: any Encoder) throws {
            var c = e.container(keyedBy: K.self)
            var n1 = c.nestedUnkeyedContainer(forKey: .a)
            var n2 = c.nestedUnkeyedContainer(forKey: .b)
            try n2.encode(2)
            try n1.encode(1)  // back to a container opened earlier
            try c.encode(true, forKey: .c)
        }
    }

    struct SwallowsErrors: Encodable {
        enum K: String, CodingKey { case a, b }
        func encode(to e: any Encoder) throws {
            var c = e.container(keyedBy: K.self)
            try c.encode(1, forKey: .a)
            try? c.encode(2, forKey: .a)
            try c.encode(3, forKey: .b)
        }
    }

    struct Nothing: Encodable {
        func encode(to e: any Encoder) throws {}
    }

    struct Wrapper<T: Encodable>: Encodable {
        enum K: String, CodingKey { case v, after }
        let v: T
        func encode(to e: any Encoder) throws {
            var c = e.container(keyedBy: K.self)
            try c.encode(v, forKey: .v)
            try c.encode("end", forKey: .after)
        }
    }

    /// What the byte encoder does with them: the same value as the tree (a key written
    /// twice appears twice, and the last one wins when read, as in the tree), or a
    /// refusal for interleaved containers — never different JSON.
    func check<T: Encodable>(_ v: T, refused: Bool = false) throws {
        if refused {
            #expect(throws: EncodingError.self) { try JSONByteEncoder().encode(v) }
            return
        }
        #expect(try JSONParser.parse(try JSONByteEncoder().encode(v)) == (try JSONValueEncoder().encode(v)))
    }

    @Test func irregularEncodersMatchOrAreRefused() throws {
        try check(TwiceKeyed())
        try check(Interleaved(), refused: true)
        try check(SwallowsErrors())
        try check(Nothing())
        try check(Wrapper(v: Nothing()))
        try check(Wrapper(v: TwiceKeyed()))
        try check(Wrapper(v: [1, 2]))
        try check(Wrapper(v: ["k": JSONValue.array([1, ["z": 2]])]))
    }
}
