import ContextCore
import Testing

/// The estimator per script: exact cl100k_base counts (from the reference) and the
/// accepted band around each.
@Suite("Heuristic token estimator")
struct TokenEstimatorTests {
    let est = HeuristicTokenEstimator()

    @Test(arguments: [
        // (text, cl100k_base count, tolerance)
        ("hello world", 2, 0),
        ("The quick brown fox jumps over the lazy dog.", 10, 1),
        ("1234567", 3, 0),  // digits in threes, exactly as cl100k_base
        ("func add(_ a: Int, _ b: Int) -> Int { a + b }", 19, 4),
        ("今天天气很好，我们决定去公园散步。", 21, 4),
        ("東京の桜は今年、例年より一週間ほど早く咲きました。", 29, 5),
        ("오늘 회의에서는 다음 분기의 개발 일정", 18, 4),
        ("🎉🎉🎉 congrats 🥳", 14, 3),
        ("", 0, 0),
    ] as [(String, Int, Int)])
    func perScript(_ text: String, _ exact: Int, _ tolerance: Int) {
        let n = est.count(text)
        #expect(abs(n - exact) <= tolerance, "\(text): estimate \(n), cl100k_base \(exact)")
    }

    @Test func monotoneAndLinearInRepetition() {
        let one = est.count("A sentence of ordinary English prose. ")
        let ten = est.count(String(repeating: "A sentence of ordinary English prose. ", count: 10))
        #expect(ten >= one * 9 && ten <= one * 11)
    }

    @Test func registryDefaultsToEstimator() throws {
        let r = TokenizerRegistry()
        #expect(r.defaultName == "estimate")
        #expect(try r.counter(named: nil).count("hello world") == 2)
        #expect(throws: DomainError.self) { try r.counter(named: "nope") }
        #expect(throws: DomainError.self) { try TokenizerRegistry(configured: [("cl100k_base", Array("not a vocab".utf8))]) }
    }
}
