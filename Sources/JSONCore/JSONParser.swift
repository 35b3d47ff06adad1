/// A parse failure with the byte offset where the input stopped being JSON.
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Reason: Sendable, Equatable {
        case unexpectedEnd
        case unexpectedByte(UInt8)
        case invalidNumber
        case invalidEscape
        case invalidUnicodeEscape
        case invalidUTF8
        case controlCharacterInString
        case trailingContent
        case depthLimitExceeded(Int)
    }
    public let reason: Reason
    /// Byte offset into the input.
    public let offset: Int

    public init(_ reason: Reason, at offset: Int) {
        self.reason = reason
        self.offset = offset
    }

    public var description: String {
        let what: String
        switch reason {
        case .unexpectedEnd: what = "unexpected end of input"
        case .unexpectedByte(let b):
            what = (b >= 0x20 && b < 0x7F) ? "unexpected character '\(Character(UnicodeScalar(b)))'" : "unexpected byte 0x\(String(b, radix: 16))"
        case .invalidNumber: what = "invalid number"
        case .invalidEscape: what = "invalid escape sequence"
        case .invalidUnicodeEscape: what = "invalid \\u escape (bad hex digits or unpaired surrogate)"
        case .invalidUTF8: what = "invalid UTF-8"
        case .controlCharacterInString: what = "unescaped control character in string"
        case .trailingContent: what = "trailing content after the JSON value"
        case .depthLimitExceeded(let max): what = "nesting deeper than \(max) levels"
        }
        return "\(what) at byte \(offset)"
    }
}

/// An RFC 8259 parser over UTF-8 bytes.
///
/// Exact: it accepts every valid document and rejects every invalid one (invalid JSON,
/// invalid UTF-8 anywhere in strings, unpaired surrogate escapes, trailing content).
/// Numbers keep their literal text. Nesting depth counts each array/object level, the
/// top level being 1.
public struct JSONParser {
    /// The default nesting-depth limit.
    public static let defaultMaxDepth = 256

    /// Parses one JSON text that must span all of `bytes` (surrounding whitespace allowed).
    public static func parse(_ bytes: [UInt8], maxDepth: Int = defaultMaxDepth) throws(JSONParseError) -> JSONValue {
        try bytes.withUnsafeBufferPointer { (buf) throws(JSONParseError) -> JSONValue in
            try parse(UnsafeRawBufferPointer(buf), maxDepth: maxDepth)
        }
    }

    public static func parse(_ text: String, maxDepth: Int = defaultMaxDepth) throws(JSONParseError) -> JSONValue {
        try parse(Array(text.utf8), maxDepth: maxDepth)
    }

    public static func parse(_ buffer: UnsafeRawBufferPointer, maxDepth: Int = defaultMaxDepth) throws(JSONParseError) -> JSONValue {
        var p = Cursor(buffer.bindMemory(to: UInt8.self), maxDepth: maxDepth)
        p.skipWhitespace()
        let value = try p.parseValue(depth: 0)
        p.skipWhitespace()
        if p.i != p.end { throw JSONParseError(.trailingContent, at: p.i) }
        return value
    }

    struct Cursor {
        let b: UnsafeBufferPointer<UInt8>
        var i: Int = 0
        let end: Int
        let maxDepth: Int
        /// Scratch space for strings that contain escapes.
        var scratch: [UInt8] = []

        init(_ b: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
            self.b = b
            self.end = b.count
            self.maxDepth = maxDepth
        }

        @inline(__always) mutating func skipWhitespace() {
            while i < end {
                let c = b[i]
                if c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { i += 1 } else { return }
            }
        }

        mutating func parseValue(depth: Int) throws(JSONParseError) -> JSONValue {
            guard i < end else { throw JSONParseError(.unexpectedEnd, at: i) }
            switch b[i] {
            case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
            case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
            case UInt8(ascii: "\""): return .string(try parseString())
            case UInt8(ascii: "t"): try literal("true"); return .bool(true)
            case UInt8(ascii: "f"): try literal("false"); return .bool(false)
            case UInt8(ascii: "n"): try literal("null"); return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
            default: throw JSONParseError(.unexpectedByte(b[i]), at: i)
            }
        }

        mutating func literal(_ word: StaticString) throws(JSONParseError) {
            let n = word.utf8CodeUnitCount
            let w = word.utf8Start
            for k in 0..<n {
                guard i + k < end else { throw JSONParseError(.unexpectedEnd, at: i + k) }
                if b[i + k] != w[k] { throw JSONParseError(.unexpectedByte(b[i + k]), at: i + k) }
            }
            i += n
        }

        mutating func parseObject(depth: Int) throws(JSONParseError) -> JSONValue {
            if depth > maxDepth { throw JSONParseError(.depthLimitExceeded(maxDepth), at: i) }
            i += 1  // {
            var obj = JSONObject()
            var index: [String: Int]?
            skipWhitespace()
            guard i < end else { throw JSONParseError(.unexpectedEnd, at: i) }
            if b[i] == UInt8(ascii: "}") {
                i += 1
                return .object(obj)
            }
            obj.storage.reserveCapacity(4)  // one allocation for the usual small object
            while true {
                skipWhitespace()
                guard i < end else { throw JSONParseError(.unexpectedEnd, at: i) }
                guard b[i] == UInt8(ascii: "\"") else { throw JSONParseError(.unexpectedByte(b[i]), at: i) }
                let key = try parseString()
                skipWhitespace()
                guard i < end else { throw JSONParseError(.unexpectedEnd, at: i) }
                guard b[i] == UInt8(ascii: ":") else { throw JSONParseError(.unexpectedByte(b[i]), at: i) }
                i += 1
                skipWhitespace()
                let value = try parseValue(depth: depth)
                // Duplicate keys: the last value wins, at the first one's position. A
                // linear search for small objects; past 16 members a hash index, so a
                // message with very many keys parses in linear time (it was quadratic).
                if index == nil && obj.count < 16 {
                    obj[key] = value
                } else {
                    if index == nil {
                        var built: [String: Int] = [:]
                        built.reserveCapacity(64)
                        for (k, e) in obj.storage.enumerated() { built[e.key] = k }
                        index = built
                    }
                    if let at = index![key] {
                        obj.storage[at].value = value
                    } else {
                        index![key] = obj.storage.count
                        obj.storage.append((key, value))
                    }
                }
                skipWhitespace()
                guard i < end else { throw JSONParseError(.unexpectedEnd, at: i) }
                let c = b[i]
                i += 1
                if c == UInt8(ascii: ",") { continue }
                if c == UInt8(ascii: "}") { return .object(obj) }
                throw JSONParseError(.unexpectedByte(c), at: i - 1)
            }
        }

        mutating func parseArray(depth: Int) throws(JSONParseError) -> JSONValue {
            if depth > maxDepth { throw JSONParseError(.depthLimitExceeded(maxDepth), at: i) }
            i += 1  // [
            var arr: [JSONValue] = []
            skipWhitespace()
            guard i < end else { throw JSONParseError(.unexpectedEnd, at: i) }
            if b[i] == UInt8(ascii: "]") {
                i += 1
                return .array(arr)
            }
            while true {
                skipWhitespace()
                arr.append(try parseValue(depth: depth))
                skipWhitespace()
                guard i < end else { throw JSONParseError(.unexpectedEnd, at: i) }
                let c = b[i]
                i += 1
                if c == UInt8(ascii: ",") { continue }
                if c == UInt8(ascii: "]") { return .array(arr) }
                throw JSONParseError(.unexpectedByte(c), at: i - 1)
            }
        }

        @inline(__always) func isDigit(_ c: UInt8) -> Bool { c &- 0x30 < 10 }

        mutating func parseNumber() throws(JSONParseError) -> JSONNumber {
            let start = i
            if b[i] == UInt8(ascii: "-") { i += 1 }
            guard i < end else { throw JSONParseError(.invalidNumber, at: i) }
            if b[i] == UInt8(ascii: "0") {
                i += 1
            } else if isDigit(b[i]) {
                while i < end, isDigit(b[i]) { i += 1 }
            } else {
                throw JSONParseError(.invalidNumber, at: i)
            }
            if i < end, b[i] == UInt8(ascii: ".") {
                i += 1
                guard i < end, isDigit(b[i]) else { throw JSONParseError(.invalidNumber, at: i) }
                while i < end, isDigit(b[i]) { i += 1 }
            }
            if i < end, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
                i += 1
                if i < end, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
                guard i < end, isDigit(b[i]) else { throw JSONParseError(.invalidNumber, at: i) }
                while i < end, isDigit(b[i]) { i += 1 }
            }
            // A number directly followed by a digit-like continuation (e.g. "01") is caught
            // by the caller as trailing content / unexpected byte.
            return JSONNumber(literal: String(decoding: UnsafeBufferPointer(rebasing: b[start..<i]), as: UTF8.self))
        }

        @inline(__always) func hexValue(_ c: UInt8) -> UInt32? {
            switch c {
            case 0x30...0x39: UInt32(c - 0x30)
            case 0x41...0x46: UInt32(c - 0x41 + 10)
            case 0x61...0x66: UInt32(c - 0x61 + 10)
            default: nil
            }
        }

        mutating func readHex4() throws(JSONParseError) -> UInt32 {
            guard i + 4 <= end else { throw JSONParseError(.invalidUnicodeEscape, at: i) }
            var v: UInt32 = 0
            for k in 0..<4 {
                guard let h = hexValue(b[i + k]) else { throw JSONParseError(.invalidUnicodeEscape, at: i + k) }
                v = v << 4 | h
            }
            i += 4
            return v
        }

        /// Validates one UTF-8 sequence starting at `i` (a non-ASCII lead byte) and returns
        /// its length. Rejects overlongs, surrogates and code points above U+10FFFF.
        @inline(__always) func utf8SequenceLength(at j: Int) -> Int? {
            let c0 = b[j]
            @inline(__always) func cont(_ k: Int) -> Bool { j + k < end && b[j + k] & 0xC0 == 0x80 }
            switch c0 {
            case 0xC2...0xDF:
                return cont(1) ? 2 : nil
            case 0xE0:
                guard j + 2 < end, b[j + 1] >= 0xA0, b[j + 1] <= 0xBF, cont(2) else { return nil }
                return 3
            case 0xE1...0xEC, 0xEE...0xEF:
                return cont(1) && cont(2) ? 3 : nil
            case 0xED:
                guard j + 2 < end, b[j + 1] >= 0x80, b[j + 1] <= 0x9F, cont(2) else { return nil }
                return 3
            case 0xF0:
                guard j + 3 < end, b[j + 1] >= 0x90, b[j + 1] <= 0xBF, cont(2), cont(3) else { return nil }
                return 4
            case 0xF1...0xF3:
                return cont(1) && cont(2) && cont(3) ? 4 : nil
            case 0xF4:
                guard j + 3 < end, b[j + 1] >= 0x80, b[j + 1] <= 0x8F, cont(2), cont(3) else { return nil }
                return 4
            default:
                return nil
            }
        }

        mutating func parseString() throws(JSONParseError) -> String {
            i += 1  // opening quote
            let start = i
            // Fast path: no escapes. Eight plain ASCII bytes at a time (no quote,
            // backslash, control or non-ASCII byte), then byte by byte.
            // After a special byte (non-ASCII, mostly) the word loop resumes, so one accent
            // does not send the rest of a long string to the byte loop.
            let base = UnsafeRawPointer(b.baseAddress!)
            while i < end {
                // Sixteen bytes (two words, for instruction-level parallelism), then eight.
                while i + 16 <= end {
                    let x = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                    let y = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self))
                    if Self.specialBits(x) | Self.specialBits(y) != 0 { break }
                    i += 16
                }
                while i + 8 <= end {
                    let x = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                    if Self.hasSpecialByte(x) { break }
                    i += 8
                }
                // Byte by byte up to the end, an escape, or past one non-ASCII character.
                var escape = false
                while i < end {
                    let c = b[i]
                    if c == UInt8(ascii: "\"") {
                        let raw = UnsafeBufferPointer(rebasing: b[start..<i])
                        i += 1
                        if let known = Self.envelopeWord(raw) { return known }
                        return String(decoding: raw, as: UTF8.self)
                    }
                    if c == UInt8(ascii: "\\") {
                        escape = true
                        break
                    }
                    if c < 0x20 { throw JSONParseError(.controlCharacterInString, at: i) }
                    if c < 0x80 {
                        i += 1
                        continue
                    }
                    guard let n = utf8SequenceLength(at: i) else { throw JSONParseError(.invalidUTF8, at: i) }
                    i += n
                    break
                }
                if escape { break }
            }
            guard i < end else { throw JSONParseError(.unexpectedEnd, at: i) }
            // Slow path: escapes present.
            scratch.removeAll(keepingCapacity: true)
            scratch.append(contentsOf: UnsafeBufferPointer(rebasing: b[start..<i]))
            while i < end {
                let c = b[i]
                if c == UInt8(ascii: "\"") {
                    i += 1
                    return String(decoding: scratch, as: UTF8.self)
                }
                if c == UInt8(ascii: "\\") {
                    i += 1
                    guard i < end else { throw JSONParseError(.unexpectedEnd, at: i) }
                    let e = b[i]
                    i += 1
                    switch e {
                    case UInt8(ascii: "\""): scratch.append(0x22)
                    case UInt8(ascii: "\\"): scratch.append(0x5C)
                    case UInt8(ascii: "/"): scratch.append(0x2F)
                    case UInt8(ascii: "b"): scratch.append(0x08)
                    case UInt8(ascii: "f"): scratch.append(0x0C)
                    case UInt8(ascii: "n"): scratch.append(0x0A)
                    case UInt8(ascii: "r"): scratch.append(0x0D)
                    case UInt8(ascii: "t"): scratch.append(0x09)
                    case UInt8(ascii: "u"):
                        let escStart = i - 2
                        var scalar = try readHex4()
                        if scalar >= 0xD800 && scalar <= 0xDBFF {
                            guard i + 6 <= end, b[i] == UInt8(ascii: "\\"), b[i + 1] == UInt8(ascii: "u") else {
                                throw JSONParseError(.invalidUnicodeEscape, at: escStart)
                            }
                            i += 2
                            let low = try readHex4()
                            guard low >= 0xDC00 && low <= 0xDFFF else { throw JSONParseError(.invalidUnicodeEscape, at: escStart) }
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        } else if scalar >= 0xDC00 && scalar <= 0xDFFF {
                            throw JSONParseError(.invalidUnicodeEscape, at: escStart)
                        }
                        appendUTF8(scalar)
                    default:
                        throw JSONParseError(.invalidEscape, at: i - 2)
                    }
                    continue
                }
                if c < 0x20 { throw JSONParseError(.controlCharacterInString, at: i) }
                if c < 0x80 {
                    scratch.append(c)
                    i += 1
                } else {
                    guard let n = utf8SequenceLength(at: i) else { throw JSONParseError(.invalidUTF8, at: i) }
                    scratch.append(contentsOf: UnsafeBufferPointer(rebasing: b[i..<(i + n)]))
                    i += n
                }
            }
            throw JSONParseError(.unexpectedEnd, at: i)
        }

        /// Whether any byte of `x` is `"`, `\`, below 0x20, or 0x80 and above.
        /// The JSON-RPC envelope's keys and version, every message has them: returned as
        /// literals (no validation, no allocation) instead of decoded.
        @inline(__always) static func envelopeWord(_ w: UnsafeBufferPointer<UInt8>) -> String? {
            @inline(__always) func eq(_ lit: StaticString) -> Bool {
                guard lit.utf8CodeUnitCount == w.count else { return false }
                let l = lit.utf8Start
                for k in 0..<w.count where l[k] != w[k] { return false }
                return true
            }
            switch w.count {
            case 2: return eq("id") ? "id" : nil
            case 3: return eq("2.0") ? "2.0" : nil
            case 5: return eq("error") ? "error" : nil
            case 6: return eq("method") ? "method" : eq("params") ? "params" : eq("result") ? "result" : nil
            case 7: return eq("jsonrpc") ? "jsonrpc" : nil
            default: return nil
            }
        }

        /// Nonzero when any byte of `x` is a quote, a backslash, a control byte or non-ASCII.
        @inline(__always) static func specialBits(_ x: UInt64) -> UInt64 {
            (x & 0x8080_8080_8080_8080) | JSONWriter.escapeBits(x)
        }

        @inline(__always) static func hasSpecialByte(_ x: UInt64) -> Bool { specialBits(x) != 0 }

        @inline(__always) mutating func appendUTF8(_ v: UInt32) {
            if v < 0x80 {
                scratch.append(UInt8(v))
            } else if v < 0x800 {
                scratch.append(UInt8(0xC0 | (v >> 6)))
                scratch.append(UInt8(0x80 | (v & 0x3F)))
            } else if v < 0x10000 {
                scratch.append(UInt8(0xE0 | (v >> 12)))
                scratch.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
                scratch.append(UInt8(0x80 | (v & 0x3F)))
            } else {
                scratch.append(UInt8(0xF0 | (v >> 18)))
                scratch.append(UInt8(0x80 | ((v >> 12) & 0x3F)))
                scratch.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
                scratch.append(UInt8(0x80 | (v & 0x3F)))
            }
        }
    }
}
