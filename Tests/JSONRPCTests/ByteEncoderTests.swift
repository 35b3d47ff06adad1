import JSONCore
import Testing

/// The byte encoder against the tree encoder on shapes Codable allows: nested keyed and
/// unkeyed containers, optionals, nulls, numbers, embedded JSON values, super encoders,
/// and interleaved containers (refused, never wrong JSON).
@Suite("JSONByteEncoder")
struct JSONByteEncoderTests {
    struct Inner: Codable, Equatable {
        var a: Int
        var b: String?
        var c: [Double]
    }
    struct Outer: Codable, Equatable {
        var name: String
        var inner: Inner
        var list: [Inner]
        var maybe: Inner?
        var flags: [Bool?]
        var value: JSONValue
        var object: JSONObject
        var big: Int64
        var empty: [String]
        var nested: [[Int]]
    }
    /// Hand-written: nested containers, explicit nil, a super encoder, a single value.
    struct Manual: Encodable {
        enum K: String, CodingKey { case x, y, z, w, s }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: K.self)
            try c.encode(1, forKey: .x)
            var n = c.nestedContainer(keyedBy: K.self, forKey: .y)
            try n.encodeNil(forKey: .x)
            var u = n.nestedUnkeyedContainer(forKey: .z)
            try u.encode("a")
            var uu = u.nestedUnkeyedContainer()
            try uu.encode(2)
            try u.encode("b")
            try c.encode(true, forKey: .z)
            var w = c.nestedUnkeyedContainer(forKey: .w)
            try w.encodeNil()
            var sup = c.superEncoder().singleValueContainer()
            try sup.encode("super")
            try c.encodeIfPresent(nil as Int?, forKey: .s)
        }
    }
    struct Single: Encodable {
        func encode(to encoder: any Encoder) throws {
            var c = encoder.singleValueContainer()
            try c.encode([1, 2])
        }
    }
    struct Nothing: Encodable {
        func encode(to encoder: any Encoder) throws {}
    }
    struct Interleaved: Encodable {
        enum K: String, CodingKey { case a, b }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: K.self)
            var first = c.nestedUnkeyedContainer(forKey: .a)
            var second = c.nestedUnkeyedContainer(forKey: .b)
            try second.encode(1)
            try first.encode(2)  // the first array was already closed in the stream
        }
    }

    func text<T: Encodable>(_ v: T) throws -> String { String(decoding: try JSONByteEncoder().encode(v), as: UTF8.self) }
    func tree<T: Encodable>(_ v: T) throws -> String { JSONWriter.string(try JSONValueEncoder().encode(v)) }

    @Test func matchesTheTreeEncoder() throws {
        let i = Inner(a: -42, b: "q\"\\\n\u{0}é", c: [0.5, 1, -2.25e-7, 1e300])
        let o = Outer(
            name: "n", inner: i, list: [i, Inner(a: 0, b: nil, c: [])], maybe: nil, flags: [true, nil, false],
            value: ["x": [1, "2", nil, ["y": 1.50]]], object: ["k": "v", "e": [:]], big: Int64.min, empty: [], nested: [[], [1, 2], [3]])
        for v in [o, Outer(name: "", inner: i, list: [], maybe: i, flags: [], value: nil, object: [:], big: Int64.max, empty: ["x"], nested: [])] {
            #expect(try text(v) == tree(v))
            #expect(try JSONValueDecoder().decode(Outer.self, from: try JSONParser.parse(try JSONByteEncoder().encode(v))) == v)
        }
        #expect(try text(Manual()) == tree(Manual()))
        #expect(try text(Manual()) == #"{"x":1,"y":{"x":null,"z":["a",[2],"b"]},"z":true,"w":[null],"super":"super"}"#)
        #expect(try text(Single()) == "[1,2]")
        #expect(try text(Nothing()) == "null")
        #expect(try text([Nothing(), Nothing()]) == tree([Nothing(), Nothing()]))
        #expect(try text(["a": 1]) == tree(["a": 1]))
        #expect(try text(3.0) == "3" && text("s") == #""s""# && text(Optional<Int>.none) == "null")
    }

    @Test func appendsToAWriterAndFallsBackForOptions() throws {
        var w = JSONWriter()
        w.bytes.append(contentsOf: "[".utf8)
        try JSONByteEncoder.write(Inner(a: 1, b: nil, c: [2]), into: &w)
        #expect(String(decoding: w.bytes, as: UTF8.self) == #"[{"a":1,"c":[2]}"#)
        var p = JSONWriter(options: [.pretty])
        try JSONByteEncoder.write(Inner(a: 1, b: "x", c: []), into: &p)
        #expect(String(decoding: p.bytes, as: UTF8.self) == JSONWriter.string(try JSONValueEncoder().encode(Inner(a: 1, b: "x", c: [])), options: [.pretty]))
    }

    @Test func interleavedContainersAreRefused() {
        #expect(throws: EncodingError.self) { try JSONByteEncoder().encode(Interleaved()) }
    }
}
