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
            forEachWord(bytes: buf) { w, r in body(String(decoding: w, as: UTF8.self), r) }
        }
    }

    /// Like `forEachWord(in:)`, handing each folded word as UTF-8 bytes (valid only
    /// during the call); ASCII words never become a `String`.
    public static func forEachFoldedWord(in text: String, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        var text = text
        text.withUTF8 { buf in forEachWord(bytes: buf) { w, _ in body(w) } }
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

    /// `foldTable` flattened: the folded bytes of scalar v are
    /// `foldBytes[foldOffsets[v]..<foldOffsets[v + 1]]`.
    static let foldFlat: (bytes: [UInt8], offsets: [UInt32]) = {
        var bytes: [UInt8] = []
        var offsets: [UInt32] = [0]
        for f in foldTable {
            bytes.append(contentsOf: f.utf8)
            offsets.append(UInt32(bytes.count))
        }
        return (bytes, offsets)
    }()

    /// The tables the byte-level scanner reads, as raw pointers made once (never freed):
    /// reading them costs no lazy-global check, retain or bounds check per byte or word.
    struct Tables: @unchecked Sendable {
        // @unchecked: immutable after creation.
        let ascii: UnsafePointer<UInt8>
        let classes: UnsafePointer<ScalarClass>
        let foldBytes: UnsafePointer<UInt8>
        let foldOffsets: UnsafePointer<UInt32>

        static let shared: Tables = {
            func immortal<T>(_ a: [T]) -> UnsafePointer<T> {
                let p = UnsafeMutablePointer<T>.allocate(capacity: a.count)
                p.initialize(from: a, count: a.count)
                return UnsafePointer(p)
            }
            return Tables(
                ascii: immortal(asciiFold), classes: immortal(classTable),
                foldBytes: immortal(foldFlat.bytes), foldOffsets: immortal(foldFlat.offsets))
        }()
    }

    /// Folds the word `w` into `out` without leaving the byte level; returns the length,
    /// or nil when a scalar needs the full algorithm or `out` is too small.
    static func foldBytes(_ w: UnsafeBufferPointer<UInt8>, into out: UnsafeMutableBufferPointer<UInt8>, _ tables: Tables) -> Int? {
        var o = 0
        let cap = out.count
        let fb = tables.foldBytes, fo = tables.foldOffsets
        var i = 0
        let n = w.count
        while i < n {
            let c = w[i]
            if c < 0x80 {
                guard o < cap else { return nil }
                out[o] = c >= 0x41 && c <= 0x5A ? c | 0x20 : c
                o += 1
                i += 1
                continue
            }
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
            } else {
                return nil
            }
            guard i + len <= n else { return nil }
            for k in 1..<len { v = (v << 6) | UInt32(w[i + k] & 0x3F) }
            if v < 0x2500 {
                let a = Int(fo[Int(v)]), b = Int(fo[Int(v) + 1])
                guard o + (b - a) <= cap else { return nil }
                for k in a..<b {
                    out[o] = fb[k]
                    o += 1
                }
            } else if let sc = Unicode.Scalar(v), classify(sc) == .single {
                guard o + len <= cap else { return nil }
                for k in 0..<len {
                    out[o] = w[i + k]
                    o += 1
                }
            } else {
                return nil
            }
            i += len
        }
        return o
    }

    enum ScalarClass { case separator, word, single }

    /// `classify` for every scalar below U+2500, computed once.
    static let classTable: [ScalarClass] = (0..<0x2500).map { v in Unicode.Scalar(UInt32(v)).map(classify) ?? .separator }

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

    static let scratchSize = 256

    static func forEachWord(bytes buf: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>, Range<Int>) -> Void) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: scratchSize) { scratch in
            forEachWord(bytes: buf, scratch: scratch, body)
        }
    }

    /// Per ASCII byte: its folded (lower-case) form when it is a word byte, else 0.
    static let asciiFold: [UInt8] = (0..<128).map { c in
        let b = UInt8(c)
        guard isASCIIWordByte(b) else { return 0 }
        return b >= 0x41 && b <= 0x5A ? b | 0x20 : b
    }

    static func forEachWord(
        bytes buf: UnsafeBufferPointer<UInt8>, scratch: UnsafeMutableBufferPointer<UInt8>,
        _ body: (UnsafeBufferPointer<UInt8>, Range<Int>) -> Void
    ) {
        forEachWord(bytes: buf, scratch: scratch, tables: Tables.shared, body)
    }

    static func forEachWord(
        bytes buf: UnsafeBufferPointer<UInt8>, scratch: UnsafeMutableBufferPointer<UInt8>, tables: Tables,
        _ body: (UnsafeBufferPointer<UInt8>, Range<Int>) -> Void
    ) {
        let fold = tables.ascii, classes = tables.classes
        let n = buf.count
        var i = 0
        var start = -1  // start of the current word, or -1
        var ascii = true

        func emit(_ s: Int, _ e: Int, _ isASCII: Bool) {
            if isASCII, e - s <= scratch.count {
                for k in s..<e { scratch[k - s] = fold[Int(buf[k])] }
                body(UnsafeBufferPointer(rebasing: scratch[0..<(e - s)]), s..<e)
            } else {
                if let len = foldBytes(UnsafeBufferPointer(rebasing: buf[s..<e]), into: scratch, tables) {
                    if len > 0 { body(UnsafeBufferPointer(rebasing: scratch[0..<len]), s..<e) }
                    return
                }
                let raw = String(decoding: UnsafeBufferPointer(rebasing: buf[s..<e]), as: UTF8.self)
                var folded = TextFolding.fold(raw)
                if !folded.isEmpty { folded.withUTF8 { body($0, s..<e) } }
            }
        }

        while i < n {
            let c = buf[i]
            if c < 0x80 {
                if fold[Int(c)] != 0 {
                    if start < 0 {
                        // Fast path: an ASCII word folded into the scratch in one pass,
                        // emitted at once when an ASCII separator (or the end) ends it.
                        var j = i
                        let room = min(n, i + scratch.count)
                        while j < room {
                            let b = buf[j]
                            if b &- 0x61 < 26 {  // lower-case: already folded
                                scratch[j - i] = b
                            } else {
                                guard b < 0x80 else { break }
                                let f = fold[Int(b)]
                                if f == 0 { break }
                                scratch[j - i] = f
                            }
                            j += 1
                        }
                        if j == n || (j < room && buf[j] < 0x80) {
                            body(UnsafeBufferPointer(rebasing: scratch[0..<(j - i)]), i..<j)
                            i = j
                            continue
                        }
                        start = i  // non-ASCII follows, or a very long word: the general path
                        ascii = true
                        i = j
                        continue
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
            let cls: ScalarClass = v < 0x2500 ? classes[Int(v)] : (Unicode.Scalar(v).map(classify) ?? .separator)
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
