/// Writes JSON text into a byte buffer.
///
/// Compact by default; `pretty` indents with two spaces; `sortedKeys` orders object
/// members by key (for golden tests and stable files). Strings are escaped per RFC 8259
/// with a fast path that copies runs of bytes needing no escape.
public struct JSONWriter {
    public struct Options: OptionSet, Sendable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        public static let pretty = Options(rawValue: 1)
        public static let sortedKeys = Options(rawValue: 2)
    }

    public var bytes: [UInt8]
    public let options: Options

    public init(options: Options = [], capacity: Int = 256) {
        self.options = options
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// One value as compact (or `options`-shaped) text.
    public static func string(_ value: JSONValue, options: Options = []) -> String {
        String(decoding: encode(value, options: options), as: UTF8.self)
    }

    public static func encode(_ value: JSONValue, options: Options = []) -> [UInt8] {
        var w = JSONWriter(options: options)
        w.write(value)
        return w.bytes
    }

    public mutating func write(_ value: JSONValue) {
        write(value, indent: 0)
    }

    mutating func newline(_ indent: Int) {
        bytes.append(0x0A)
        for _ in 0..<(indent * 2) { bytes.append(0x20) }
    }

    mutating func write(_ value: JSONValue, indent: Int) {
        switch value {
        case .null: appendASCII("null")
        case .bool(let b): appendASCII(b ? "true" : "false")
        case .number(let n): appendRaw(n.text)
        case .string(let s): writeString(s)
        case .array(let a):
            bytes.append(UInt8(ascii: "["))
            if a.isEmpty {
                bytes.append(UInt8(ascii: "]"))
                return
            }
            let pretty = options.contains(.pretty)
            for (k, v) in a.enumerated() {
                if k > 0 { bytes.append(UInt8(ascii: ",")) }
                if pretty { newline(indent + 1) }
                write(v, indent: indent + 1)
            }
            if pretty { newline(indent) }
            bytes.append(UInt8(ascii: "]"))
        case .object(let o):
            bytes.append(UInt8(ascii: "{"))
            if o.isEmpty {
                bytes.append(UInt8(ascii: "}"))
                return
            }
            let pretty = options.contains(.pretty)
            var first = true
            func member(_ k: String, _ v: JSONValue) {
                if !first { bytes.append(UInt8(ascii: ",")) }
                first = false
                if pretty { newline(indent + 1) }
                writeString(k)
                bytes.append(UInt8(ascii: ":"))
                if pretty { bytes.append(0x20) }
                write(v, indent: indent + 1)
            }
            if options.contains(.sortedKeys) {
                for (k, v) in o.storage.sorted(by: { $0.key < $1.key }) { member(k, v) }
            } else {
                for (k, v) in o.storage { member(k, v) }
            }
            if pretty { newline(indent) }
            bytes.append(UInt8(ascii: "}"))
        }
    }

    // MARK: Pieces, for types that write themselves (`JSONFastEncodable`)

    /// Appends literal ASCII JSON text (punctuation and keys: `,"name":`).
    @inline(__always) public mutating func raw(_ s: StaticString) { appendASCII(s) }

    /// An integer in decimal.
    public mutating func writeInt(_ v: Int64) {
        if v >= 0, v < 10 {
            bytes.append(UInt8(ascii: "0") + UInt8(v))
            return
        }
        var m = v.magnitude
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { buf in
            var i = 20
            repeat {
                i -= 1
                buf[i] = UInt8(ascii: "0") + UInt8(m % 10)
                m /= 10
            } while m > 0
            if v < 0 { bytes.append(UInt8(ascii: "-")) }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buf[i..<20]))
        }
    }
    @inline(__always) public mutating func writeInt(_ v: Int) { writeInt(Int64(v)) }

    /// A double as `JSONNumber` writes it (shortest round-trip form, integral values
    /// without a fraction).
    public mutating func writeDouble(_ d: Double) {
        var t = JSONNumber(d).text
        t.withUTF8 { bytes.append(contentsOf: $0) }
    }

    public mutating func writeBool(_ b: Bool) { if b { appendASCII("true") } else { appendASCII("false") } }

    /// An object value (same as `write(.object(o))`).
    public mutating func write(_ o: JSONObject) { write(.object(o), indent: 0) }

    /// An array of strings.
    public mutating func writeStrings(_ a: [String]) {
        bytes.append(UInt8(ascii: "["))
        for (k, s) in a.enumerated() {
            if k > 0 { bytes.append(UInt8(ascii: ",")) }
            writeString(s)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    /// An array of values that write themselves.
    public mutating func writeArray<T: JSONFastEncodable>(_ a: [T]) {
        bytes.append(UInt8(ascii: "["))
        for (k, v) in a.enumerated() {
            if k > 0 { bytes.append(UInt8(ascii: ",")) }
            v.writeJSON(into: &self)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    @inline(__always) mutating func appendASCII(_ s: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    @inline(__always) mutating func appendRaw(_ s: String) {
        var s = s
        s.withUTF8 { bytes.append(contentsOf: $0) }
    }

    /// Whether byte `c` can be copied into a JSON string literal as is.
    @inline(__always) static func isPlain(_ c: UInt8) -> Bool {
        c >= 0x20 && c != 0x22 && c != 0x5C
    }

    public mutating func writeString(_ s: String) {
        var s = s
        s.withUTF8 { utf8 in writeString(utf8) }
    }

    static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// The high bit of every byte of `x` that needs escaping in a string (< 0x20, `"` or
    /// `\\`) set, and possibly of bytes after one: exact for "any" (the classic has-zero /
    /// has-less word tricks), not for which. The parser shares it.
    @inline(__always) static func escapeBits(_ x: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let quote = x ^ (ones &* 0x22), backslash = x ^ (ones &* 0x5C)
        return (((x &- ones &* 0x20) & ~x) | ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash)) & 0x8080_8080_8080_8080
    }

    @inline(__always) static func needsEscape(_ x: UInt64) -> Bool { escapeBits(x) != 0 }
    @inline(__always) static func needsEscape(_ x: UInt64, _ y: UInt64) -> Bool { (escapeBits(x) | escapeBits(y)) != 0 }

    public mutating func writeString(_ utf8: UnsafeBufferPointer<UInt8>) {
        bytes.append(UInt8(ascii: "\""))
        var runStart = 0
        var i = 0
        let n = utf8.count
        guard let base = utf8.baseAddress else {
            bytes.append(UInt8(ascii: "\""))
            return
        }
        let raw = UnsafeRawPointer(base)
        while i < n {
            // Sixteen (two words, for instruction-level parallelism), then eight bytes
            // needing no escape at a time.
            while i + 16 <= n,
                !JSONWriter.needsEscape(
                    UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)),
                    UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self)))
            {
                i += 16
            }
            while i + 8 <= n, !JSONWriter.needsEscape(UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i, as: UInt64.self))) {
                i += 8
            }
            // Then the word that needs an escape (or the tail), byte by byte.
            let stop = min(n, i + 8)
            while i < stop {
                let c = utf8[i]
                i += 1
                if JSONWriter.isPlain(c) { continue }
                if runStart < i - 1 { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<(i - 1)])) }
                runStart = i
                switch c {
                case 0x22: bytes.append(0x5C); bytes.append(0x22)
                case 0x5C: bytes.append(0x5C); bytes.append(0x5C)
                case 0x0A: bytes.append(0x5C); bytes.append(UInt8(ascii: "n"))
                case 0x0D: bytes.append(0x5C); bytes.append(UInt8(ascii: "r"))
                case 0x09: bytes.append(0x5C); bytes.append(UInt8(ascii: "t"))
                case 0x08: bytes.append(0x5C); bytes.append(UInt8(ascii: "b"))
                case 0x0C: bytes.append(0x5C); bytes.append(UInt8(ascii: "f"))
                default:
                    bytes.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30])
                    bytes.append(JSONWriter.hexDigits[Int(c >> 4)])
                    bytes.append(JSONWriter.hexDigits[Int(c & 0xF)])
                }
            }
        }
        if runStart < n { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<n])) }
        bytes.append(UInt8(ascii: "\""))
    }
}

extension JSONWriter {
    /// Appends `compact` (compact JSON text, as this writer or `JSONByteEncoder` writes
    /// it) re-indented: exactly what a `.pretty` writer writes for the same value, nested
    /// `level` levels deep (continuation lines start with `2 × level` spaces). One pass
    /// over the bytes, so pretty output costs little more than compact output.
    public mutating func appendPretty(compact: [UInt8], level: Int = 0) {
        compact.withUnsafeBufferPointer { appendPretty(compact: $0, level: level) }
    }

    public mutating func appendPretty(compact b: UnsafeBufferPointer<UInt8>, level: Int = 0) {
        let n = b.count
        var depth = level
        var i = 0
        bytes.reserveCapacity(bytes.count + n + n / 4)
        @inline(__always) func newline(_ d: Int, _ out: inout [UInt8]) {
            out.append(0x0A)
            for _ in 0..<(2 * d) { out.append(0x20) }
        }
        while i < n {
            let c = b[i]
            switch c {
            case UInt8(ascii: "\""):
                // Copy the string through its closing quote (escapes copied as they are).
                var j = i + 1
                while j < n {
                    let d = b[j]
                    if d == UInt8(ascii: "\\") {
                        j += 2
                        continue
                    }
                    j += 1
                    if d == UInt8(ascii: "\"") { break }
                }
                j = min(j, n)
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: b[i..<j]))
                i = j
                continue
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                let close = c == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
                if i + 1 < n, b[i + 1] == close {
                    bytes.append(c)
                    bytes.append(close)
                    i += 2
                    continue
                }
                bytes.append(c)
                depth += 1
                newline(depth, &bytes)
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                newline(depth, &bytes)
                bytes.append(c)
            case UInt8(ascii: ","):
                bytes.append(c)
                newline(depth, &bytes)
            case UInt8(ascii: ":"):
                bytes.append(c)
                bytes.append(0x20)
            default:
                bytes.append(c)
            }
            i += 1
        }
    }
}
