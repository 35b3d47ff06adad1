import Foundation

/// Splits text into searchable words and folds them, the same way for documents and
/// queries, so that matching is case- and diacritic-insensitive.
///
/// - A word is a maximal run of letters, digits and combining marks (Unicode general
///   categories L*, N*, M*). Everything else (spaces, punctuation, `_`, symbols, emoji)
///   separates words.
/// - Han ideographs, kana and other scripts written without spaces are split one
///   character per word, so a query for `東京` requires both characters.
/// - Folding: canonical decomposition (NFD), removal of combining marks (canonical
///   combining class ≠ 0), then Unicode lowercasing. `Crème` → `creme`, `ÅNGSTRÖM` →
///   `angstrom`. ASCII words take a fast path that never leaves the byte level.
public enum TextFolding {
    /// Calls `body(word, utf8Range)` for each folded word of `text`, in order.
    /// `utf8Range` locates the original (unfolded) word in `text.utf8`.
    public static func forEachWord(in text: String, _ body: (String, Range<Int>) -> Void) {
        var text = text
        text.withUTF8 { buf in
            forEachWord(bytes: buf, body)
        }
    }

    /// The folded words of `text`, in order (duplicates kept).
    public static func words(_ text: String) -> [String] {
        var out: [String] = []
        forEachWord(in: text) { w, _ in out.append(w) }
        return out
    }

    /// Folds one word (or any text) the way the index does, without splitting it.
    public static func fold(_ word: String) -> String {
        if word.utf8.allSatisfy({ $0 < 0x80 }) { return word.lowercased() }
        // Per-scalar table for the scripts below U+2500 and identity for CJK; NFD only
        // reorders combining marks, which are stripped, so folding scalar by scalar is exact.
        var out = ""
        for s in word.unicodeScalars {
            let v = s.value
            if v < UInt32(foldTable.count) {
                out += foldTable[Int(v)]
            } else if classify(s) == .single {
                out.unicodeScalars.append(s)
            } else {
                return foldSlow(word)
            }
        }
        return out
    }

    static func foldSlow(_ word: String) -> String {
        var scalars = String.UnicodeScalarView()
        for s in word.decomposedStringWithCanonicalMapping.unicodeScalars
        where s.properties.canonicalCombiningClass == .notReordered {
            scalars.append(s)
        }
        return String(scalars).lowercased()
    }

    /// The folded form of every scalar below U+2500 (Latin, Greek, Cyrillic, Hebrew,
    /// Arabic, Indic, …), computed once with the full algorithm.
    static let foldTable: [String] = (0..<0x2500).map { v in
        guard let s = Unicode.Scalar(UInt32(v)) else { return "" }
        return foldSlow(String(Character(s)))
    }

    enum ScalarClass { case separator, word, single }

    @inline(__always)
    static func classify(_ s: Unicode.Scalar) -> ScalarClass {
        let v = s.value
        // Scripts written without spaces: one character = one word.
        if (0x3040...0x30FF).contains(v) || (0x3400...0x4DBF).contains(v) || (0x4E00...0x9FFF).contains(v)
            || (0xF900...0xFAFF).contains(v) || (0x20000...0x3FFFF).contains(v) || (0x0E00...0x0EFF).contains(v)
            || (0x31F0...0x31FF).contains(v) || (0xFF66...0xFF9F).contains(v)
        {
            // Combining marks of these scripts stay attached (they are stripped anyway).
            switch s.properties.generalCategory {
            case .nonspacingMark, .spacingMark, .enclosingMark: return .word
            default: return .single
            }
        }
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
            .decimalNumber, .letterNumber, .otherNumber, .nonspacingMark, .spacingMark, .enclosingMark:
            return .word
        default:
            return .separator
        }
    }

    @inline(__always)
    static func isASCIIWordByte(_ c: UInt8) -> Bool {
        (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || (c >= 0x30 && c <= 0x39)
    }

    static func forEachWord(bytes buf: UnsafeBufferPointer<UInt8>, _ body: (String, Range<Int>) -> Void) {
        let n = buf.count
        var i = 0
        var start = -1  // start of the current word, or -1
        var ascii = true
        var lower = [UInt8]()
        lower.reserveCapacity(32)

        func emit(_ s: Int, _ e: Int, _ isASCII: Bool) {
            if isASCII {
                lower.removeAll(keepingCapacity: true)
                for k in s..<e {
                    let c = buf[k]
                    lower.append(c >= 0x41 && c <= 0x5A ? c | 0x20 : c)
                }
                body(String(decoding: lower, as: UTF8.self), s..<e)
            } else {
                let raw = String(decoding: UnsafeBufferPointer(rebasing: buf[s..<e]), as: UTF8.self)
                let folded = fold(raw)
                if !folded.isEmpty { body(folded, s..<e) }
            }
        }

        while i < n {
            let c = buf[i]
            if c < 0x80 {
                if isASCIIWordByte(c) {
                    if start < 0 {
                        start = i
                        ascii = true
                    }
                } else if start >= 0 {
                    emit(start, i, ascii)
                    start = -1
                }
                i += 1
                continue
            }
            // Decode one scalar.
            var len = 1
            var v: UInt32 = 0
            if c & 0xE0 == 0xC0 {
                len = 2
                v = UInt32(c & 0x1F)
            } else if c & 0xF0 == 0xE0 {
                len = 3
                v = UInt32(c & 0x0F)
            } else if c & 0xF8 == 0xF0 {
                len = 4
                v = UInt32(c & 0x07)
            }
            if i + len > n { len = n - i }
            for k in 1..<max(len, 1) { v = (v << 6) | UInt32(buf[i + k] & 0x3F) }
            let cls = Unicode.Scalar(v).map(classify) ?? .separator
            switch cls {
            case .word:
                if start < 0 { start = i }
                ascii = false
            case .separator:
                if start >= 0 {
                    emit(start, i, ascii)
                    start = -1
                }
            case .single:
                if start >= 0 { emit(start, i, ascii) }
                emit(i, i + len, false)
                start = -1
            }
            i += len
        }
        if start >= 0 { emit(start, n, ascii) }
    }
}
