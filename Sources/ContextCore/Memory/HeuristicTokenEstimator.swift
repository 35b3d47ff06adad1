/// The default token counter: a script-aware estimate of cl100k_base counts that needs
/// no vocabulary and runs in one pass over the UTF-8 bytes.
///
/// It mirrors how cl100k_base splits text, then prices each piece:
/// - a run of ASCII letters (the space before it is free) costs 1 token up to
///   `wordFree` letters and one more per `lettersPerToken` after that;
/// - digits go in groups of three (exactly like cl100k_base);
/// - a run of ASCII punctuation costs about one token per two characters, and the
///   newlines right after it are free; contractions (`'s`, `'ll`, …) cost one token;
/// - a whitespace run holding newlines costs one token, indentation one more;
/// - two-byte scripts (accented Latin, Greek, Cyrillic, Hebrew, Arabic, …) cost per
///   character, as do CJK ideographs, kana and Hangul (three-byte UTF-8), and emoji and
///   other four-byte characters.
///
/// Measured against cl100k_base (exact BPE) on the mixed corpus of `contextd-bench
/// memory` (English prose, code in several languages, CJK, emoji chat, numbers): the
/// per-sample mean absolute error is reported there and in the README.
public struct HeuristicTokenEstimator: TokenCounter {
    public static let name = "estimate"
    public var name: String { Self.name }

    public init() {}

    // Costs in 1/100 token.
    static let wordFree = 6
    static let lettersPerTokenCenti = 340  // letters per extra token ×100
    static let punctPairCost = 55  // per punctuation character after the first
    static let twoByteCost = 45
    static let cjkCost = 118
    static let kanaCost = 100
    static let hangulCost = 105
    static let otherThreeByteCost = 100
    static let fourByteCost = 210

    public func count(_ text: String) -> Int {
        var text = text
        return text.withUTF8 { Self.estimate($0) }
    }

    static let asciiClass: [UInt8] = (0..<128).map { c -> UInt8 in
        switch c {
        case 65...90, 97...122: 1  // letter
        case 48...57: 2  // digit
        case 32, 9: 3  // space
        case 10, 13: 4  // newline
        case 39: 6  // apostrophe
        default: 5  // punctuation
        }
    }

    static func estimate(_ b: UnsafeBufferPointer<UInt8>) -> Int {
        let n = b.count
        var centi = 0
        var i = 0
        while i < n {
            let c = b[i]
            if c >= 0x80 {
                if c >= 0xF0 {
                    centi += fourByteCost
                    i += 4
                } else if c >= 0xE0 {
                    // Lead E3 (kana, CJK punctuation), E4–E9 (ideographs), EA–ED (Hangul).
                    if c >= 0xE4, c <= 0xE9 {
                        centi += cjkCost
                    } else if c == 0xE3 {
                        centi += kanaCost
                    } else if c >= 0xEA, c <= 0xED {
                        centi += hangulCost
                    } else {
                        centi += otherThreeByteCost
                    }
                    i += 3
                } else {
                    centi += twoByteCost
                    i += 2
                }
                continue
            }
            switch asciiClass[Int(c)] {
            case 1:  // letters (a preceding space is part of the token)
                var j = i + 1
                while j < n, b[j] < 0x80, asciiClass[Int(b[j])] == 1 { j += 1 }
                let len = j - i
                centi += 100
                if len > wordFree { centi += (len - wordFree) * 10_000 / lettersPerTokenCenti }
                i = j
            case 2:  // digits: groups of three
                var j = i + 1
                while j < n, b[j] >= 48, b[j] <= 57 { j += 1 }
                centi += (j - i + 2) / 3 * 100
                i = j
            case 3:  // spaces / tabs
                var j = i + 1
                while j < n, b[j] == 32 || b[j] == 9 { j += 1 }
                if j < n, b[j] == 10 || b[j] == 13 {
                    i = j  // trailing spaces join the newline token
                } else {
                    if j - i >= 2 { centi += 100 }  // indentation / alignment run
                    i = j
                }
            case 4:  // newlines (with following indentation)
                var j = i + 1
                while j < n, b[j] == 10 || b[j] == 13 || b[j] == 32 || b[j] == 9 { j += 1 }
                centi += 100
                var k = j
                while k > i, b[k - 1] == 32 || b[k - 1] == 9 { k -= 1 }
                if j - k >= 2 { centi += 100 }
                i = j
            case 6:  // apostrophe: a contraction is one token
                if i + 1 < n, b[i + 1] < 0x80, asciiClass[Int(b[i + 1])] == 1 {
                    var j = i + 1
                    while j < n, b[j] < 0x80, asciiClass[Int(b[j])] == 1 { j += 1 }
                    let l = j - i - 1
                    if l <= 2 {
                        centi += 100
                        i = j
                        continue
                    }
                }
                fallthrough
            default:  // punctuation run, newlines after it are free
                var j = i + 1
                while j < n, b[j] < 0x80, asciiClass[Int(b[j])] >= 5 { j += 1 }
                centi += 100 + (j - i - 1) * punctPairCost
                while j < n, b[j] == 10 || b[j] == 13 { j += 1 }
                i = j
            }
        }
        return (centi + 50) / 100
    }
}
