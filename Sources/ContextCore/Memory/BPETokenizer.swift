/// An exact byte-pair-encoding tokenizer for OpenAI's `.tiktoken` vocabularies
/// (`cl100k_base`, `o200k_base`): the encoding's pre-tokenization pattern, implemented
/// by hand over Unicode scalars (no regular-expression engine), then tiktoken's merge
/// loop (repeatedly join the adjacent pair of lowest rank) over each piece's bytes.
/// Counts are identical to tiktoken's `encode_ordinary` (special tokens are text).
public struct BPETokenizer: TokenCounter {
    /// Which pre-tokenization pattern an encoding uses.
    public enum Pattern: Sendable {
        case cl100k, o200k
        public init?(encodingName: String) {
            switch encodingName {
            case "cl100k_base": self = .cl100k
            case "o200k_base": self = .o200k
            default: return nil
            }
        }
    }

    public let name: String
    public let pattern: Pattern
    let ranks: RankTable

    /// Parses the contents of a `.tiktoken` file (one `base64-token rank` per line).
    public init(name: String, pattern: Pattern, vocabulary: [UInt8]) throws(DomainError) {
        self.name = name
        self.pattern = pattern
        ranks = try RankTable(tiktoken: vocabulary, name: name)
    }

    /// The number of tokens in the vocabulary.
    public var vocabularySize: Int { ranks.count }

    public func count(_ text: String) -> Int {
        var n = 0
        forEachPiece(text) { piece in n += ranks.countBPE(piece) }
        return n
    }

    /// The token ranks (ids) of `text`.
    public func encode(_ text: String) -> [Int] {
        var out: [Int] = []
        forEachPiece(text) { piece in ranks.encodeBPE(piece, into: &out) }
        return out
    }

    /// The pre-tokenization pieces of `text` (for tests).
    public func pieces(_ text: String) -> [String] {
        var out: [String] = []
        forEachPiece(text) { out.append(String(decoding: $0, as: UTF8.self)) }
        return out
    }

    func forEachPiece(_ text: String, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        var text = text
        let cl = pattern == .cl100k
        text.withUTF8 { (bytes: UnsafeBufferPointer<UInt8>) -> Void in
            let scalars = PreTokenizer.classify(bytes)
            var i = 0
            let n = scalars.count
            while i < n {
                let e = cl ? PreTokenizer.cl100k(scalars, i) : PreTokenizer.o200k(scalars, i)
                body(UnsafeBufferPointer(rebasing: bytes[scalars.offset(i)..<scalars.offset(e)]))
                i = e
            }
        }
    }
}

// MARK: Pre-tokenization

/// The cl100k_base and o200k_base split patterns, by hand:
///
/// cl100k: `'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s`
///
/// o200k: `[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?
/// |[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?
/// |\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`
///
/// Alternation is ordered (first alternative that matches wins), as in fancy-regex.
/// `\s` is Unicode White_Space.
enum PreTokenizer {
    // Class flags.
    static let NL: UInt16 = 1, SP: UInt16 = 2, WS: UInt16 = 4, NUM: UInt16 = 8, LET: UInt16 = 16, MARK: UInt16 = 32
    static let UP: UInt16 = 64, LO: UInt16 = 128, APOS: UInt16 = 256, SLASH: UInt16 = 512
    static let ANYWS: UInt16 = NL | SP | WS

    struct Scalars {
        var flags: [UInt16] = []
        /// Lowercase ASCII letter the scalar case-folds to when it is one of `stmdlvre`, else 0.
        var fold: [UInt8] = []
        var offsets: [Int] = []  // byte offset of each scalar, plus the end
        var count: Int { flags.count }
        @inline(__always) func offset(_ i: Int) -> Int { offsets[i] }
    }

    static let asciiFlags: [UInt16] = (0..<128).map { c -> UInt16 in
        switch c {
        case 10, 13: return NL
        case 32: return SP
        case 9, 11, 12: return WS
        case 39: return APOS
        case 47: return SLASH
        case 48...57: return NUM
        case 65...90: return LET | UP
        case 97...122: return LET | LO
        default: return 0
        }
    }

    static func flags(of v: UInt32) -> UInt16 {
        switch v {
        case 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000: return WS
        default: break
        }
        guard let s = Unicode.Scalar(v) else { return 0 }
        switch s.properties.generalCategory {
        case .uppercaseLetter, .titlecaseLetter: return LET | UP
        case .lowercaseLetter: return LET | LO
        case .modifierLetter, .otherLetter: return LET | UP | LO
        case .nonspacingMark, .spacingMark, .enclosingMark: return MARK | UP | LO
        case .decimalNumber, .letterNumber, .otherNumber: return NUM
        default: return 0
        }
    }

    static func classify(_ b: UnsafeBufferPointer<UInt8>) -> Scalars {
        var s = Scalars()
        s.flags.reserveCapacity(b.count)
        s.fold.reserveCapacity(b.count)
        s.offsets.reserveCapacity(b.count + 1)
        var i = 0
        let n = b.count
        while i < n {
            let c = b[i]
            s.offsets.append(i)
            if c < 0x80 {
                s.flags.append(asciiFlags[Int(c)])
                let l = c | 0x20
                switch l {
                case UInt8(ascii: "s"), UInt8(ascii: "t"), UInt8(ascii: "m"), UInt8(ascii: "d"), UInt8(ascii: "l"),
                    UInt8(ascii: "v"), UInt8(ascii: "r"), UInt8(ascii: "e"):
                    s.fold.append(l)
                default: s.fold.append(0)
                }
                i += 1
                continue
            }
            var len = 1
            var v: UInt32 = 0xFFFD
            if c & 0xE0 == 0xC0, i + 1 < n {
                len = 2
                v = UInt32(c & 0x1F) << 6 | UInt32(b[i + 1] & 0x3F)
            } else if c & 0xF0 == 0xE0, i + 2 < n {
                len = 3
                v = UInt32(c & 0x0F) << 12 | UInt32(b[i + 1] & 0x3F) << 6 | UInt32(b[i + 2] & 0x3F)
            } else if c & 0xF8 == 0xF0, i + 3 < n {
                len = 4
                v = UInt32(c & 0x07) << 18 | UInt32(b[i + 1] & 0x3F) << 12 | UInt32(b[i + 2] & 0x3F) << 6 | UInt32(b[i + 3] & 0x3F)
            }
            s.flags.append(flags(of: v))
            s.fold.append(v == 0x17F ? UInt8(ascii: "s") : 0)
            i += len
        }
        s.offsets.append(n)
        return s
    }

    @inline(__always) static func has(_ f: UInt16, _ m: UInt16) -> Bool { f & m != 0 }

    /// `[^\r\n\p{L}\p{N}]`
    @inline(__always) static func isPrefixClass(_ f: UInt16) -> Bool { f & (NL | LET | NUM) == 0 }
    /// `[^\s\p{L}\p{N}]`
    @inline(__always) static func isPunct(_ f: UInt16) -> Bool { f & (ANYWS | LET | NUM) == 0 }

    static func whitespaceTail(_ s: Scalars, _ i: Int, cl100k: Bool) -> Int {
        let n = s.count
        var e = i
        while e < n, has(s.flags[e], ANYWS) { e += 1 }
        if cl100k, e == n { return n }  // \s++$
        var p = e - 1  // \s*[\r\n]  (o200k: \s*[\r\n]+ ends at the same place)
        while p >= i, !has(s.flags[p], NL) { p -= 1 }
        if p >= i { return p + 1 }
        if e == n { return n }  // o200k \s+(?!\S) at the end
        if e - i >= 2 { return e - 1 }  // \s+(?!\S)
        return cl100k ? i + 1 : e  // \s  (o200k: \s+)
    }

    static func cl100k(_ s: Scalars, _ i: Int) -> Int {
        let n = s.count
        let f = s.flags[i]
        if has(f, APOS), i + 1 < n {
            switch s.fold[i + 1] {
            case UInt8(ascii: "s"), UInt8(ascii: "d"), UInt8(ascii: "m"), UInt8(ascii: "t"): return i + 2
            case UInt8(ascii: "l") where i + 2 < n && s.fold[i + 2] == UInt8(ascii: "l"): return i + 3
            case UInt8(ascii: "v") where i + 2 < n && s.fold[i + 2] == UInt8(ascii: "e"): return i + 3
            case UInt8(ascii: "r") where i + 2 < n && s.fold[i + 2] == UInt8(ascii: "e"): return i + 3
            default: break
            }
        }
        if has(f, LET) || (isPrefixClass(f) && i + 1 < n && has(s.flags[i + 1], LET)) {
            var j = i + 1
            while j < n, has(s.flags[j], LET) { j += 1 }
            return j
        }
        if has(f, NUM) {
            var j = i + 1
            while j < n, j < i + 3, has(s.flags[j], NUM) { j += 1 }
            return j
        }
        if isPunct(f) || (has(f, SP) && i + 1 < n && isPunct(s.flags[i + 1])) {
            var j = i + 1
            while j < n, isPunct(s.flags[j]) { j += 1 }
            while j < n, has(s.flags[j], NL) { j += 1 }
            return j
        }
        return whitespaceTail(s, i, cl100k: true)
    }

    static func o200kContraction(_ s: Scalars, _ e: Int) -> Int {
        let n = s.count
        guard e + 1 < n, has(s.flags[e], APOS) else { return e }
        let a = s.fold[e + 1]
        let b: UInt8 = e + 2 < n ? s.fold[e + 2] : 0
        switch a {
        case UInt8(ascii: "s"), UInt8(ascii: "t"), UInt8(ascii: "m"), UInt8(ascii: "d"): return e + 2
        case UInt8(ascii: "r") where b == UInt8(ascii: "e"): return e + 3
        case UInt8(ascii: "v") where b == UInt8(ascii: "e"): return e + 3
        case UInt8(ascii: "l") where b == UInt8(ascii: "l"): return e + 3
        default: return e
        }
    }

    static func o200k(_ s: Scalars, _ i: Int) -> Int {
        let n = s.count
        let f = s.flags[i]
        let starts = isPrefixClass(f) && i + 1 < n ? [i + 1, i] : [i]
        // Alternative 1: P? UP* LO+ C?
        for st in starts {
            var u = st
            while u < n, has(s.flags[u], UP) { u += 1 }
            var k = u
            while k >= st {
                if k < n, has(s.flags[k], LO) {
                    var e = k + 1
                    while e < n, has(s.flags[e], LO) { e += 1 }
                    return o200kContraction(s, e)
                }
                k -= 1
            }
        }
        // Alternative 2: P? UP+ LO* C?
        for st in starts {
            var u = st
            while u < n, has(s.flags[u], UP) { u += 1 }
            if u > st {
                var e = u
                while e < n, has(s.flags[e], LO) { e += 1 }
                return o200kContraction(s, e)
            }
        }
        if has(f, NUM) {
            var j = i + 1
            while j < n, j < i + 3, has(s.flags[j], NUM) { j += 1 }
            return j
        }
        if isPunct(f) || (has(f, SP) && i + 1 < n && isPunct(s.flags[i + 1])) {
            var j = i + 1
            while j < n, isPunct(s.flags[j]) { j += 1 }
            while j < n, has(s.flags[j], NL | SLASH) { j += 1 }
            return j
        }
        return whitespaceTail(s, i, cl100k: false)
    }
}

// MARK: Ranks

/// Token bytes → rank, as an open-addressing hash table over one byte arena.
final class RankTable: Sendable {
    let arena: [UInt8]
    let starts: [Int32]
    let lengths: [Int32]
    let rankOf: [Int32]
    let slots: [Int32]  // entry index + 1, 0 = empty
    let mask: Int
    let count: Int

    init(tiktoken bytes: [UInt8], name: String) throws(DomainError) {
        var arena: [UInt8] = []
        var starts: [Int32] = [], lengths: [Int32] = [], rankOf: [Int32] = []
        arena.reserveCapacity(bytes.count)
        var line = 0
        var i = 0
        let n = bytes.count
        func bad() -> DomainError {
            .invalidArgument(field: "tokenizer", expected: "a .tiktoken file for \(name) (base64 token and rank per line); line \(line) is not")
        }
        while i < n {
            line += 1
            var e = i
            while e < n, bytes[e] != 10 { e += 1 }
            var lineEnd = e
            if lineEnd > i, bytes[lineEnd - 1] == 13 { lineEnd -= 1 }
            if lineEnd > i {
                var sp = i
                while sp < lineEnd, bytes[sp] != 32 { sp += 1 }
                guard sp < lineEnd else { throw bad() }
                let start = arena.count
                guard Self.decodeBase64(bytes[i..<sp], into: &arena) else { throw bad() }
                var rank = 0
                var k = sp + 1
                guard k < lineEnd else { throw bad() }
                while k < lineEnd {
                    let d = bytes[k]
                    guard d >= 48, d <= 57 else { throw bad() }
                    rank = rank * 10 + Int(d - 48)
                    guard rank < Int(Int32.max) else { throw bad() }
                    k += 1
                }
                starts.append(Int32(start))
                lengths.append(Int32(arena.count - start))
                rankOf.append(Int32(rank))
            }
            i = e + 1
        }
        guard !starts.isEmpty else { throw bad() }
        var cap = 1
        while cap < starts.count * 2 { cap <<= 1 }
        var slots = [Int32](repeating: 0, count: cap)
        let mask = cap - 1
        arena.withUnsafeBufferPointer { a in
            for e in starts.indices {
                let p = UnsafeBufferPointer(rebasing: a[Int(starts[e])..<Int(starts[e] + lengths[e])])
                var h = Self.hash(p) & mask
                while slots[h] != 0 { h = (h + 1) & mask }
                slots[h] = Int32(e + 1)
            }
        }
        self.arena = arena
        self.starts = starts
        self.lengths = lengths
        self.rankOf = rankOf
        self.slots = slots
        self.mask = mask
        self.count = starts.count
    }

    static let base64Values: [UInt8] = {
        var t = [UInt8](repeating: 255, count: 256)
        for (i, c) in Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8).enumerated() { t[Int(c)] = UInt8(i) }
        return t
    }()

    static func decodeBase64(_ s: ArraySlice<UInt8>, into out: inout [UInt8]) -> Bool {
        var acc: UInt32 = 0, bits = 0
        var sawPad = false
        for c in s {
            if c == 61 {  // '='
                sawPad = true
                continue
            }
            if sawPad { return false }
            let v = base64Values[Int(c)]
            if v == 255 { return false }
            acc = (acc << 6) | UInt32(v)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: acc >> UInt32(bits)))
            }
        }
        return true
    }

    @inline(__always)
    static func hash(_ p: UnsafeBufferPointer<UInt8>) -> Int {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in p {
            h ^= UInt64(b)
            h = h &* 0x100_0000_01b3
        }
        return Int(truncatingIfNeeded: h ^ (h >> 29))
    }

    /// The rank of `p`, or -1.
    @inline(__always)
    func rank(_ p: UnsafeBufferPointer<UInt8>) -> Int {
        arena.withUnsafeBufferPointer { a in
            var h = Self.hash(p) & mask
            while true {
                let e = Int(slots[h])
                if e == 0 { return -1 }
                let idx = e - 1
                let len = Int(lengths[idx])
                if len == p.count {
                    let st = Int(starts[idx])
                    var same = true
                    for k in 0..<len where a[st + k] != p[k] {
                        same = false
                        break
                    }
                    if same { return Int(rankOf[idx]) }
                }
                h = (h + 1) & mask
            }
        }
    }

    /// tiktoken's `byte_pair_merge`: the boundaries of the final parts.
    func merge(_ piece: UnsafeBufferPointer<UInt8>) -> [Int] {
        let n = piece.count
        var starts = Array(0...n)
        var pairRank = [Int](repeating: Int.max, count: n + 1)
        func r(_ a: Int, _ b: Int) -> Int {
            let v = rank(UnsafeBufferPointer(rebasing: piece[a..<b]))
            return v < 0 ? Int.max : v
        }
        for i in 0..<(n - 1) { pairRank[i] = r(i, i + 2) }
        var np = n + 1  // number of boundaries
        while np > 2 {
            var minRank = Int.max, mi = -1
            for i in 0..<(np - 1) where pairRank[i] < minRank {
                minRank = pairRank[i]
                mi = i
            }
            if mi < 0 { break }
            // parts[mi] absorbs parts[mi+1].
            pairRank[mi] = mi + 3 < np ? r(starts[mi], starts[mi + 3]) : Int.max
            if mi > 0 { pairRank[mi - 1] = mi + 2 < np ? r(starts[mi - 1], starts[mi + 2]) : Int.max }
            starts.remove(at: mi + 1)
            pairRank.remove(at: mi + 1)
            np -= 1
        }
        return Array(starts[0..<np])
    }

    func countBPE(_ piece: UnsafeBufferPointer<UInt8>) -> Int {
        if piece.count <= 1 { return piece.count }
        if rank(piece) >= 0 { return 1 }
        return merge(piece).count - 1
    }

    func encodeBPE(_ piece: UnsafeBufferPointer<UInt8>, into out: inout [Int]) {
        if piece.isEmpty { return }
        let whole = rank(piece)
        if whole >= 0 {
            out.append(whole)
            return
        }
        let b = merge(piece)
        for k in 0..<(b.count - 1) { out.append(rank(UnsafeBufferPointer(rebasing: piece[b[k]..<b[k + 1]]))) }
    }
}
