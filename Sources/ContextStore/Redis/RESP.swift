/// The Redis serialization protocol: RESP2 and RESP3 replies, and command encoding.
///
/// Commands are always sent as arrays of bulk strings. Replies are parsed incrementally
/// from a byte buffer so pipelined replies can be read back one after another.
public enum RESPValue: Sendable, Equatable {
    case simple(String)
    case error(String)
    case integer(Int64)
    /// A bulk string (`$`) or verbatim string (`=`); nil is RESP2's null bulk string.
    case bulk([UInt8]?)
    /// An array (`*`), set (`~`) or push (`>`, with `isPush`); nil is RESP2's null array.
    case array([RESPValue]?)
    case push([RESPValue])
    case map([(RESPValue, RESPValue)])
    case null
    case double(Double)
    case boolean(Bool)

    public static func == (a: RESPValue, b: RESPValue) -> Bool {
        switch (a, b) {
        case (.simple(let x), .simple(let y)), (.error(let x), .error(let y)): x == y
        case (.integer(let x), .integer(let y)): x == y
        case (.bulk(let x), .bulk(let y)): x == y
        case (.array(let x), .array(let y)): x == y
        case (.push(let x), .push(let y)): x == y
        case (.map(let x), .map(let y)): x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        case (.null, .null): true
        case (.double(let x), .double(let y)): x == y
        case (.boolean(let x), .boolean(let y)): x == y
        default: false
        }
    }

    /// The value as text (simple, bulk, verbatim), else nil.
    public var string: String? {
        switch self {
        case .simple(let s): s
        case .bulk(let b?): String(decoding: b, as: UTF8.self)
        case .integer(let i): String(i)
        default: nil
        }
    }

    public var bytes: [UInt8]? {
        switch self {
        case .bulk(let b): b
        case .simple(let s): Array(s.utf8)
        default: nil
        }
    }

    /// Elements of an array, set or push; a map flattened (key, value, key, value…).
    public var elements: [RESPValue]? {
        switch self {
        case .array(let a): a
        case .push(let a): a
        case .map(let m): m.flatMap { [$0.0, $0.1] }
        default: nil
        }
    }

    public var isNull: Bool {
        switch self {
        case .null, .bulk(nil), .array(nil): true
        default: false
        }
    }

    public var errorMessage: String? {
        if case .error(let e) = self { return e }
        return nil
    }
}

enum RESP {
    /// Appends one command (an array of bulk strings) to `out`.
    static func encode(_ args: [RedisArg], into out: inout [UInt8]) {
        out.append(UInt8(ascii: "*"))
        appendDecimal(args.count, &out)
        out.append(13); out.append(10)
        for a in args {
            out.append(UInt8(ascii: "$"))
            switch a {
            case .text(let s):
                var s = s
                s.withUTF8 { u in
                    appendDecimal(u.count, &out)
                    out.append(13); out.append(10)
                    out.append(contentsOf: u)
                }
            case .bytes(let b):
                appendDecimal(b.count, &out)
                out.append(13); out.append(10)
                out.append(contentsOf: b)
            }
            out.append(13); out.append(10)
        }
    }

    static func appendDecimal(_ n: Int, _ out: inout [UInt8]) {
        if n == 0 { out.append(UInt8(ascii: "0")); return }
        var digits: [UInt8] = []
        var v = n
        if v < 0 { out.append(UInt8(ascii: "-")); v = -v }
        while v > 0 { digits.append(UInt8(ascii: "0") + UInt8(v % 10)); v /= 10 }
        out.append(contentsOf: digits.reversed())
    }

    struct ProtocolError: Error, CustomStringConvertible {
        let description: String
    }

    /// Parses one reply starting at `pos` in `buf`. Returns nil when the buffer does not
    /// hold a whole reply yet (nothing consumed); advances `pos` past it otherwise.
    static func parse(_ buf: UnsafeBufferPointer<UInt8>, _ pos: inout Int) throws(ProtocolError) -> RESPValue? {
        var p = pos
        guard let v = try parseValue(buf, &p) else { return nil }
        pos = p
        return v
    }

    /// The line from `p` to CRLF (exclusive); nil when incomplete.
    private static func line(_ buf: UnsafeBufferPointer<UInt8>, _ p: inout Int) -> Range<Int>? {
        var i = p
        while i + 1 < buf.count {
            if buf[i] == 13 && buf[i + 1] == 10 {
                let r = p..<i
                p = i + 2
                return r
            }
            i += 1
        }
        return nil
    }

    private static func integer(_ buf: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) throws(ProtocolError) -> Int64 {
        var v: Int64 = 0
        var neg = false
        var i = r.lowerBound
        if i < r.upperBound, buf[i] == UInt8(ascii: "-") { neg = true; i += 1 } else if i < r.upperBound, buf[i] == UInt8(ascii: "+") { i += 1 }
        guard i < r.upperBound else { throw ProtocolError(description: "empty integer") }
        while i < r.upperBound {
            let d = buf[i]
            guard d >= 48, d <= 57 else { throw ProtocolError(description: "invalid integer") }
            v = v &* 10 &+ Int64(d - 48)
            i += 1
        }
        return neg ? -v : v
    }

    private static func text(_ buf: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: buf[r]), as: UTF8.self)
    }

    private static func parseValue(_ buf: UnsafeBufferPointer<UInt8>, _ p: inout Int) throws(ProtocolError) -> RESPValue? {
        guard p < buf.count else { return nil }
        let type = buf[p]
        p += 1
        guard let l = line(buf, &p) else { return nil }
        switch type {
        case UInt8(ascii: "+"): return .simple(text(buf, l))
        case UInt8(ascii: "-"): return .error(text(buf, l))
        case UInt8(ascii: ":"): return .integer(try integer(buf, l))
        case UInt8(ascii: "_"): return .null
        case UInt8(ascii: "#"): return .boolean(l.count == 1 && buf[l.lowerBound] == UInt8(ascii: "t"))
        case UInt8(ascii: ","): return .double(Double(text(buf, l)) ?? .nan)
        case UInt8(ascii: "("): return .simple(text(buf, l))  // big number, as text
        case UInt8(ascii: "$"), UInt8(ascii: "="), UInt8(ascii: "!"):
            let n = try integer(buf, l)
            if n < 0 { return .bulk(nil) }
            let len = Int(n)
            guard p + len + 2 <= buf.count else { return nil }
            var bytes = Array(UnsafeBufferPointer(rebasing: buf[p..<(p + len)]))
            p += len + 2
            if type == UInt8(ascii: "!") { return .error(String(decoding: bytes, as: UTF8.self)) }
            if type == UInt8(ascii: "=") , bytes.count >= 4 { bytes.removeFirst(4) }  // "txt:"
            return .bulk(bytes)
        case UInt8(ascii: "*"), UInt8(ascii: "~"), UInt8(ascii: ">"):
            let n = try integer(buf, l)
            if n < 0 { return .array(nil) }
            var items: [RESPValue] = []
            items.reserveCapacity(Int(min(n, 1 << 16)))
            for _ in 0..<n {
                guard let v = try parseValue(buf, &p) else { return nil }
                items.append(v)
            }
            return type == UInt8(ascii: ">") ? .push(items) : .array(items)
        case UInt8(ascii: "%"), UInt8(ascii: "|"):
            let n = try integer(buf, l)
            var pairs: [(RESPValue, RESPValue)] = []
            for _ in 0..<max(0, n) {
                guard let k = try parseValue(buf, &p), let v = try parseValue(buf, &p) else { return nil }
                pairs.append((k, v))
            }
            if type == UInt8(ascii: "|") {
                // Attributes precede the real reply: skip them.
                return try parseValue(buf, &p)
            }
            return .map(pairs)
        default:
            throw ProtocolError(description: "unexpected reply type byte \(type)")
        }
    }
}

/// One argument of a command.
public enum RedisArg: Sendable, ExpressibleByStringLiteral {
    case text(String)
    case bytes([UInt8])
    public init(stringLiteral value: String) { self = .text(value) }
}
