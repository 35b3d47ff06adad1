import JSONCore
import Testing

@Suite("JSON parser: RFC 8259 exactly")
struct JSONParserTests {
    static let valid: [(String, JSONValue)] = [
        ("null", .null), ("true", true), ("false", false),
        ("0", .number(JSONNumber(literal: "0"))), ("-0", .number(JSONNumber(literal: "-0"))),
        ("1.50", .number(JSONNumber(literal: "1.50"))), ("-12.5e+3", .number(JSONNumber(literal: "-12.5e+3"))),
        ("1E-2", .number(JSONNumber(literal: "1E-2"))), ("9007199254740993", .number(JSONNumber(literal: "9007199254740993"))),
        ("123456789012345678901234567890", .number(JSONNumber(literal: "123456789012345678901234567890"))),
        ("\"\"", ""), ("\"abc\"", "abc"), (#""\"\\\/\b\f\n\r\t""#, "\"\\/\u{08}\u{0C}\n\r\t"),
        (#""\u0041\u00e9\u4e2d""#, "Aé中"), (#""\uD83D\uDE00""#, "😀"), ("\"héllo 中文 😀\"", "héllo 中文 😀"),
        (#""\u0000""#, "\u{0}"), ("[]", []), ("{}", [:]), (" \t\r\n[1, \"a\" ,{ \"k\" : null } ] \n", [1, "a", ["k": nil]]),
        (#"{"a":{"b":[true,false,null]}}"#, ["a": ["b": [true, false, nil]]]),
        (#"{"a":1,"a":2}"#, ["a": 2]),  // last member wins
    ]

    @Test(arguments: valid)
    func acceptsValid(_ text: String, _ expected: JSONValue) throws {
        let v = try JSONParser.parse(text)
        #expect(v == expected)
    }

    static let invalid: [String] = [
        "", " ", "nul", "tru", "falsey", "NaN", "Infinity", "-", "+1", "01", "1.", ".5", "1e", "1e+", "0x10", "1.5.2",
        "\"abc", "\"\\x\"", "\"\\u12\"", "\"\\u12G4\"", "\"\\uD800\"", "\"\\uDC00\"", "\"\\uD800\\u0041\"",
        "\"a\u{01}b\"", "\"tab\there\"", "[1,]", "[,1]", "[1 2]", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{a:1}",
        "{'a':1}", "[1]]", "{} {}", "[1] x", "\"a\" \"b\"", "[", "{", "]", "}", "/* c */ 1", "1 // c", "\u{FEFF}1",
    ]

    @Test(arguments: invalid)
    func rejectsInvalid(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(text) }
    }

    static let invalidUTF8: [[UInt8]] = [
        [0x22, 0xFF, 0x22], [0x22, 0xC0, 0x80, 0x22], [0x22, 0xC3, 0x22], [0x22, 0xE0, 0x80, 0x80, 0x22],
        [0x22, 0xED, 0xA0, 0x80, 0x22],  // UTF-8 encoded surrogate
        [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22],  // above U+10FFFF
        [0x22, 0xF8, 0x88, 0x80, 0x80, 0x80, 0x22], [0x22, 0x80, 0x22], [0x22, 0xE2, 0x82, 0x22],
    ]

    @Test(arguments: invalidUTF8)
    func rejectsInvalidUTF8(_ bytes: [UInt8]) {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(bytes) }
    }

    /// Regression (issue 9 review): each member was inserted with a linear duplicate
    /// search, so an object of n keys cost n²/2 string comparisons — a 650 KB message of
    /// 40,000 keys took 76 s, a 64 MiB one hours. Duplicate-key semantics must not change.
    @Test func objectsWithManyKeysParseInLinearTime() throws {
        let n = 200_000
        var text = "{"
        for i in 0..<n { text += "\"k\(i)\":\(i)," }
        text += "\"k0\":\"last\",\"k7\":\"again\"}"
        let clock = ContinuousClock()
        var value: JSONValue = .null
        let elapsed = clock.measure { value = try! JSONParser.parse(text) }
        #expect(elapsed < .seconds(20), "took \(elapsed)")
        guard case .object(let o) = value else { Issue.record("not an object"); return }
        #expect(o.count == n)
        // The last duplicate wins, at the first one's position.
        #expect(o["k0"] == "last")
        #expect(o["k7"] == "again")
        #expect(Array(o.keys.prefix(3)) == ["k0", "k1", "k2"])
        #expect(o["k199999"] == .int(199_999))
        // Small objects keep the same rules.
        #expect(try JSONParser.parse(#"{"a":1,"b":2,"a":3}"#) == ["a": 3, "b": 2])
        guard case .object(let small) = try JSONParser.parse(#"{"a":1,"b":2,"a":3}"#) else { return }
        #expect(small.keys == ["a", "b"])
    }

    @Test func acceptsEveryValidUTF8Length() throws {
        let v = try JSONParser.parse(Array("\"a\u{7F}\u{80}\u{7FF}\u{800}\u{FFFF}\u{10000}\u{10FFFF}\"".utf8))
        #expect(v == .string("a\u{7F}\u{80}\u{7FF}\u{800}\u{FFFF}\u{10000}\u{10FFFF}"))
    }

    @Test func reportsOffsets() {
        do {
            _ = try JSONParser.parse("[1, 2, x]")
            Issue.record("expected failure")
        } catch {
            #expect(error.offset == 7)
        }
        do {
            _ = try JSONParser.parse("{} x")
            Issue.record("expected failure")
        } catch {
            #expect(error.reason == .trailingContent)
            #expect(error.offset == 3)
        }
    }

    @Test func depthLimitCountsEachLevelFromOne() throws {
        let ok = String(repeating: "[", count: 4) + String(repeating: "]", count: 4)
        #expect(throws: Never.self) { try JSONParser.parse(ok, maxDepth: 4) }
        let deep = String(repeating: "[", count: 5) + String(repeating: "]", count: 5)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(deep, maxDepth: 4) }
        let mixed = #"{"a":[{"b":[1]}]}"#  // 4 levels
        #expect(throws: Never.self) { try JSONParser.parse(mixed, maxDepth: 4) }
        #expect(throws: JSONParseError.self) { try JSONParser.parse(mixed, maxDepth: 3) }
        // A hostile 100k-deep document fails cleanly instead of overflowing the stack.
        let hostile = String(repeating: "[", count: 100_000)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(hostile) }
    }

    /// The string scanner reads eight bytes at a time: put every kind of special byte at
    /// every offset of a long string.
    @Test func specialBytesAtEveryOffset() throws {
        for pos in 0..<24 {
            let prefix = String(repeating: "a", count: pos), suffix = String(repeating: "b", count: 17)
            #expect(try JSONParser.parse("\"\(prefix)\\n\(suffix)\"") == .string(prefix + "\n" + suffix))
            #expect(try JSONParser.parse("\"\(prefix)é\(suffix)\"") == .string(prefix + "é" + suffix))
            #expect(try JSONParser.parse("\"\(prefix)\"") == .string(prefix))
            #expect(throws: JSONParseError.self) { try JSONParser.parse("\"\(prefix)\u{01}\(suffix)\"") }
            #expect(throws: JSONParseError.self) { try JSONParser.parse(Array("\"\(prefix)".utf8) + [0xFF] + Array("\(suffix)\"".utf8)) }
            #expect(throws: JSONParseError.self) { try JSONParser.parse("\"\(prefix)\(suffix)") }
        }
    }

    @Test func numbersKeepTheirDigits() throws {
        for text in ["9007199254740993", "1.50", "-0.000", "1e400", "12345678901234567890.123456789"] {
            let v = try JSONParser.parse(text)
            #expect(JSONWriter.string(v) == text)
        }
    }
}

@Suite("JSON writer")
struct JSONWriterTests {
    @Test func escapesPerRFC8259() {
        let s: JSONValue = .string("q\"b\\n\nr\rt\tc\u{01}\u{1F}/é😀")
        #expect(JSONWriter.string(s) == #""q\"b\\n\nr\rt\tc\u0001\u001f/é😀""#)
    }

    @Test func roundTripsThroughTheParser() throws {
        let v: JSONValue = ["a": [1, 2.5, "x", nil, true], "b": ["c": "d\u{0}e"], "": []]
        let text = JSONWriter.string(v)
        #expect(try JSONParser.parse(text) == v)
        let pretty = JSONWriter.string(v, options: [.pretty, .sortedKeys])
        #expect(try JSONParser.parse(pretty) == v)
    }

    @Test func keepsInsertionOrderOrSorts() {
        var o = JSONObject()
        o["z"] = 1
        o["a"] = 2
        #expect(JSONWriter.string(.object(o)) == #"{"z":1,"a":2}"#)
        #expect(JSONWriter.string(.object(o), options: .sortedKeys) == #"{"a":2,"z":1}"#)
    }
}

@Suite("Codable bridge")
struct JSONCodableTests {
    struct Params: Codable, Equatable {
        var name: String
        var count: Int?
        var tags: [String]?
        var nested: Inner?
        struct Inner: Codable, Equatable { var flag: Bool }
    }

    @Test func decodesAndNamesTheOffendingField() throws {
        let ok = try JSONValueDecoder().decode(Params.self, from: ["name": "x", "count": 3, "tags": ["a"], "nested": ["flag": true]])
        #expect(ok == Params(name: "x", count: 3, tags: ["a"], nested: .init(flag: true)))
        // null counts as absent for optionals.
        #expect(try JSONValueDecoder().decode(Params.self, from: ["name": "x", "count": nil]).count == nil)

        func failure(_ v: JSONValue) -> JSONDecodingFailure? {
            do {
                _ = try JSONValueDecoder().decode(Params.self, from: v)
                return nil
            } catch { return JSONDecodingFailure(error) }
        }
        #expect(failure([:])?.field == "name")
        #expect(failure(["name": 1])?.field == "name")
        #expect(failure(["name": 1])?.expected == "expected string, got number")
        #expect(failure(["name": "x", "count": 1.5])?.field == "count")
        #expect(failure(["name": "x", "tags": ["a", 2]])?.field == "tags[1]")
        #expect(failure(["name": "x", "nested": ["flag": "yes"]])?.field == "nested.flag")
    }

    @Test func encodesOmittingNilOptionals() throws {
        let v = try JSONValueEncoder().encode(Params(name: "x", count: nil, tags: ["t"], nested: nil))
        #expect(JSONWriter.string(v) == #"{"name":"x","tags":["t"]}"#)
    }
}

/// The writer and parser scan strings eight bytes at a time; a byte that needs escaping
/// (or is non-ASCII) at any offset of any word must be found.
@Suite("JSON strings: word-at-a-time scanning")
struct JSONStringScanTests {
    static let specials = ["\"", "\\", "\n", "\u{0}", "\u{1f}", "\t", "é", "東", "🎉", "\u{7f}", " "]

    /// The JSON text of `s` escaped byte by byte (the reference).
    static func reference(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{8}": out += "\\b"
            case "\u{c}": out += "\\f"
            default:
                if u.value < 0x20 { out += "\\u00" + (u.value < 0x10 ? "0" : "") + String(u.value, radix: 16) } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }

    @Test func everyOffsetOfEveryWord() throws {
        for length in 0..<27 {
            for at in 0...length {
                for sp in Self.specials {
                    var s = String(repeating: "a", count: length)
                    s.insert(contentsOf: sp, at: s.index(s.startIndex, offsetBy: at))
                    var w = JSONWriter()
                    w.writeString(s)
                    let text = String(decoding: w.bytes, as: UTF8.self)
                    #expect(text == Self.reference(s), "length \(length) at \(at) \(sp.debugDescription)")
                    #expect(try JSONParser.parse(w.bytes) == .string(s))
                }
            }
        }
    }

    @Test func rawControlBytesAndQuotesAreFoundAfterNonASCII() throws {
        // A raw control byte past an accent (the parser resumes its word loop after it).
        for pad in 0..<20 {
            let body = "é" + String(repeating: "b", count: pad) + "\u{1}" + "cccccccc"
            #expect(throws: JSONParseError.self) { try JSONParser.parse("\"" + body + "\"") }
            let word = "é" + String(repeating: "b", count: pad)
            #expect(try JSONParser.parse("[\"" + word + "\",1]") == [.string(word), 1])
        }
    }
}

@Suite("Pretty re-indenting")
struct JSONPrettyTests {
    @Test func reindentedCompactTextEqualsThePrettyWriter() throws {
        let values: [JSONValue] = [
            [:], [], "s", 1, nil, true,
            ["a": [], "b": [:], "c": [1, [2, [3, [:]]], ["x": "y"]], "d": "q\"u:o{t}e[s],\\", "e": -1.5e-7],
            [["k": ["deep": [["z": nil]]]], [], "", "\\\"", "}\u{1}"],
        ]
        for v in values {
            for level in [0, 1, 2] {
                var w = JSONWriter()
                w.appendPretty(compact: JSONWriter.encode(v), level: level)
                var expected = JSONWriter.string(v, options: [.pretty])
                if level > 0 { expected = expected.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\n" + String(repeating: "  ", count: level)) }
                #expect(String(decoding: w.bytes, as: UTF8.self) == expected, "\(v) at level \(level)")
            }
        }
    }
}
