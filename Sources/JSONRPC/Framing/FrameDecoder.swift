/// The two framings a connection may speak (PROTOCOL §1), detected from the first
/// non-whitespace byte the client sends.
public enum Framing: String, Sendable {
    /// LSP base protocol: `Content-Length: N\r\n\r\n` + body.
    case contentLength
    /// Newline-delimited JSON: one message per line (MCP stdio).
    case ndjson
}

/// One unit the decoder produces.
public enum Frame: Equatable, Sendable {
    /// A complete message body (not yet parsed as JSON).
    case message([UInt8])
    /// A body longer than the limit was read and discarded; the stream stays in step.
    case oversized(length: Int)
    /// The header block could not be understood (no Content-Length, bad value, too long);
    /// the decoder skipped to the end of that header block.
    case badHeader(String)
}

/// An incremental decoder: push bytes as they arrive, pull whole frames.
///
/// A frame split at any byte, or many frames in one push, both work. Header names are
/// case-insensitive; `Content-Type` and unknown headers are ignored. Bodies over
/// `maxMessageBytes` are skipped without being buffered.
public struct FrameDecoder: Sendable {
    public private(set) var framing: Framing?
    public let maxMessageBytes: Int
    /// A header block longer than this is refused (a header that never ends).
    public let maxHeaderBytes: Int

    var buffer: [UInt8] = []
    var start = 0
    /// Content-Length mode: the length of the body being waited for.
    var pendingLength: Int?
    /// Bytes of an oversized body still to discard.
    var discarding = 0
    var discardedTotal = 0
    /// NDJSON: an over-long line is being skipped until its newline.
    var skippingLine = false
    var skippedLineBytes = 0

    public init(maxMessageBytes: Int = 64 << 20, maxHeaderBytes: Int = 8192, framing: Framing? = nil) {
        self.maxMessageBytes = maxMessageBytes
        self.maxHeaderBytes = maxHeaderBytes
        self.framing = framing
    }

    /// Bytes buffered but not yet returned as frames.
    public var bufferedByteCount: Int { buffer.count - start }

    public mutating func push(_ bytes: UnsafeRawBufferPointer) {
        if start > 0 && start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        } else if start > 65536 && start * 2 > buffer.count {
            buffer.removeSubrange(0..<start)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    public mutating func push(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { push($0) }
    }

    /// The next complete frame, or `nil` when more bytes are needed.
    public mutating func next() -> Frame? {
        if framing == nil {
            // Skip leading whitespace, then decide.
            while start < buffer.count, isSpace(buffer[start]) { start += 1 }
            guard start < buffer.count else { return nil }
            let c = buffer[start]
            framing = (c == UInt8(ascii: "{") || c == UInt8(ascii: "[")) ? .ndjson : .contentLength
        }
        switch framing! {
        case .contentLength: return nextContentLength()
        case .ndjson: return nextLine()
        }
    }

    @inline(__always) func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 }

    mutating func nextLine() -> Frame? {
        while true {
            guard start < buffer.count else { return nil }
            let end = buffer.count
            var i = start
            var found = -1
            buffer.withUnsafeBufferPointer { b in
                while i < end {
                    if b[i] == 0x0A { found = i; break }
                    i += 1
                }
            }
            if found < 0 {
                // No newline yet. Refuse to buffer more than the limit.
                let pending = end - start
                if skippingLine || pending > maxMessageBytes {
                    skippingLine = true
                    skippedLineBytes += pending
                    start = end
                }
                return nil
            }
            let lineStart = start
            start = found + 1
            if skippingLine {
                skippingLine = false
                let total = skippedLineBytes + (found - lineStart)
                skippedLineBytes = 0
                return .oversized(length: total)
            }
            var lineEnd = found
            if lineEnd > lineStart, buffer[lineEnd - 1] == 0x0D { lineEnd -= 1 }
            // Blank lines between messages are ignored.
            var allSpace = true
            for k in lineStart..<lineEnd where !isSpace(buffer[k]) {
                allSpace = false
                break
            }
            if allSpace { continue }
            if lineEnd - lineStart > maxMessageBytes { return .oversized(length: lineEnd - lineStart) }
            return .message(Array(buffer[lineStart..<lineEnd]))
        }
    }

    mutating func nextContentLength() -> Frame? {
        while true {
            if discarding > 0 {
                let n = min(discarding, buffer.count - start)
                start += n
                discarding -= n
                if discarding > 0 { return nil }
                let total = discardedTotal
                discardedTotal = 0
                return .oversized(length: total)
            }
            if let length = pendingLength {
                guard buffer.count - start >= length else {
                    // A large body: room for all of it at once, so it is not copied again
                    // at every doubling while it arrives.
                    if length > 65536, buffer.capacity - start < length {
                        if start > 0 {
                            buffer.removeSubrange(0..<start)
                            start = 0
                        }
                        buffer.reserveCapacity(length + 4096)
                    }
                    return nil
                }
                let body = Array(buffer[start..<(start + length)])
                start += length
                pendingLength = nil
                return .message(body)
            }
            // Find the end of the header block.
            while start < buffer.count, isSpace(buffer[start]) { start += 1 }  // stray CRLF between frames
            guard start < buffer.count else { return nil }
            var headerEnd = -1
            var i = start
            let end = buffer.count
            buffer.withUnsafeBufferPointer { b in
                while i + 3 < end {
                    if b[i] == 0x0D && b[i + 1] == 0x0A && b[i + 2] == 0x0D && b[i + 3] == 0x0A {
                        headerEnd = i
                        break
                    }
                    i += 1
                }
            }
            if headerEnd < 0 {
                if end - start > maxHeaderBytes {
                    start = end
                    return .badHeader("header block longer than \(maxHeaderBytes) bytes")
                }
                return nil
            }
            let (length, problem) = buffer.withUnsafeBufferPointer { b in
                Self.parseHeaderBlock(UnsafeBufferPointer(rebasing: b[start..<headerEnd]))
            }
            start = headerEnd + 4
            guard let n = length else {
                return .badHeader(problem ?? "missing Content-Length header")
            }
            if n > maxMessageBytes {
                discarding = n
                discardedTotal = n
                continue
            }
            pendingLength = n
        }
    }
}

extension FrameDecoder {
    /// Parses a header block (without its final CRLFCRLF) at the byte level: returns the
    /// Content-Length, or a problem. Header names are case-insensitive; other headers
    /// are ignored.
    static func parseHeaderBlock(_ h: UnsafeBufferPointer<UInt8>) -> (Int?, String?) {
        var length: Int?
        var problem: String?
        var lineStart = 0
        let n = h.count
        while lineStart < n {
            var lineEnd = lineStart
            while lineEnd < n, h[lineEnd] != 0x0A { lineEnd += 1 }
            var e = lineEnd
            if e > lineStart, h[e - 1] == 0x0D { e -= 1 }
            if e > lineStart {
                var colon = lineStart
                while colon < e, h[colon] != UInt8(ascii: ":") { colon += 1 }
                if colon == e {
                    problem = "header line without ':'"
                } else if isContentLength(h, lineStart, colon) {
                    var i = colon + 1
                    while i < e, h[i] == 0x20 || h[i] == 0x09 { i += 1 }
                    var j = e
                    while j > i, h[j - 1] == 0x20 || h[j - 1] == 0x09 { j -= 1 }
                    var value = 0
                    var ok = j > i && j - i <= 18
                    if ok {
                        for k in i..<j {
                            let d = h[k] &- 0x30
                            if d > 9 { ok = false; break }
                            value = value * 10 + Int(d)
                        }
                    }
                    if ok {
                        length = value
                    } else {
                        problem = "invalid Content-Length '\(String(decoding: UnsafeBufferPointer(rebasing: h[i..<j]), as: UTF8.self))'"
                    }
                }
            }
            lineStart = lineEnd + 1
        }
        return (length, problem)
    }

    @inline(__always)
    static func isContentLength(_ h: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int) -> Bool {
        let name: StaticString = "content-length"
        guard to - from == name.utf8CodeUnitCount else { return false }
        let p = name.utf8Start
        for k in 0..<(to - from) where h[from + k] | 0x20 != p[k] { return false }
        return true
    }
}

extension String {
    func trimmingASCIISpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}

/// Frames outgoing message bodies.
public enum FrameEncoder {
    static let headerPrefix: [UInt8] = Array("Content-Length: ".utf8)

    /// `Content-Length: N\r\n\r\n`, digits written as bytes.
    @inline(__always)
    public static func appendHeader(length: Int, to out: inout [UInt8]) {
        out.append(contentsOf: headerPrefix)
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        var v = length
        withUnsafeMutableBytes(of: &digits) { d in
            repeat {
                d[count] = UInt8(truncatingIfNeeded: 0x30 + v % 10)
                v /= 10
                count += 1
            } while v > 0
            for k in stride(from: count - 1, through: 0, by: -1) { out.append(d[k]) }
        }
        out.append(contentsOf: [0x0D, 0x0A, 0x0D, 0x0A])
    }

    /// Appends one framed message to `out`.
    public static func append(_ body: [UInt8], framing: Framing, to out: inout [UInt8]) {
        switch framing {
        case .contentLength:
            appendHeader(length: body.count, to: &out)
            out.append(contentsOf: body)
        case .ndjson:
            out.append(contentsOf: body)
            out.append(0x0A)
        }
    }
}
