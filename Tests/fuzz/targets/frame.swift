// libFuzzer target: the wire layer (JSONRPC) — FrameDecoder with random splits, and a
// connection's JSON-RPC handling of the frames it yields.
//
// Input: byte 0 picks the limits and framing; the rest is the stream a client sends.
// Properties:
//  - bounded buffering: after `next()` returns nil the decoder holds at most
//    max(maxMessageBytes, maxHeaderBytes) bytes (a header or line that never ends
//    cannot grow memory);
//  - split invariance: when the whole stream decodes to messages only, every random
//    split into pushes decodes to the same messages;
//  - framing round trip: bodies carved from the input, framed by FrameEncoder, decode
//    back byte-identical under random splits (both framings);
//  - JSON-RPC (PROTOCOL §2, §12): processing the frames through an RPCConnection with
//    an echo dispatcher writes well-formed frames of valid JSON; each request with a
//    string/number id is answered exactly once with that id echoed byte-identical.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
@testable import JSONRPC
import JSONCore

func decodeAll(_ stream: [UInt8], maxMessageBytes: Int, maxHeaderBytes: Int, framing: Framing?, splits rng: inout SplitMix?, checkBound: Bool) -> [Frame] {
    var d = FrameDecoder(maxMessageBytes: maxMessageBytes, maxHeaderBytes: maxHeaderBytes, framing: framing)
    var frames: [Frame] = []
    var at = 0
    let bound = max(maxMessageBytes, maxHeaderBytes)
    while at < stream.count {
        var n = stream.count - at
        if rng != nil { n = 1 + rng!.below(min(n, 64)) }
        d.push(Array(stream[at..<(at + n)]))
        at += n
        while let f = d.next() { frames.append(f) }
        if checkBound {
            require(d.bufferedByteCount <= bound, "decoder buffers \(d.bufferedByteCount) bytes with limits \(maxMessageBytes)/\(maxHeaderBytes)")
        }
    }
    return frames
}

func onlyMessages(_ frames: [Frame]) -> Bool {
    frames.allSatisfy { if case .message = $0 { true } else { false } }
}

/// A dispatcher that echoes params (method "fail" answers an error).
final class EchoDispatcher: RPCDispatcher, @unchecked Sendable {
    func dispatch(method: String, params: JSONValue?, id: RequestID?, connection: RPCConnection) -> DispatchOutcome {
        if method == "fail" { return DispatchOutcome(.failure(RPCError(.internalError, "fail"))) }
        return DispatchOutcome(.success(params ?? .null))
    }
    func connectionDidClose(_ connection: RPCConnection) {}
}

/// The id (as JSON text) a single message must be answered with; nil = no reply with a
/// string/number id. PROTOCOL §12: an invalid request whose `id` is a string or number is
/// answered with that id; a response (`result`/`error`, no `method`) gets no reply.
func expectedAnswerID(_ v: JSONValue) -> String? {
    guard case .object(let o) = v, let id = o["id"] else { return nil }
    switch id {
    case .string, .number: break
    default: return nil
    }
    if o["jsonrpc"] == .string("2.0"), o["method"] == nil, o["result"] != nil || o["error"] != nil { return nil }
    return String(decoding: JSONWriter.encode(id), as: UTF8.self)
}

func checkConnection(_ frames: [Frame], framing: Framing, limits: WireLimits) {
    // Output to an anonymous temporary file, read back after.
    var template = Array("/tmp/contextd-fuzz-XXXXXX".utf8CString)
    let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
    require(fd >= 0, "mkstemp failed")
    template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
    defer { close(fd) }
    let conn = RPCConnection(id: 1, input: -1, output: fd, limits: limits, tracker: CommitTracker())
    conn.process(frames, dispatcher: EchoDispatcher())
    conn.flush()
    let size = Int(lseek(fd, 0, SEEK_END))
    var out = [UInt8](repeating: 0, count: size)
    _ = lseek(fd, 0, SEEK_SET)
    var got = 0
    while got < size {
        let n = out.withUnsafeMutableBytes { read(fd, $0.baseAddress! + got, size - got) }
        require(n > 0, "cannot read back the output")
        got += n
    }
    // Every reply is a well-formed frame of valid JSON.
    var none: SplitMix? = nil
    let replies = decodeAll(out, maxMessageBytes: Int.max, maxHeaderBytes: 8192, framing: .contentLength, splits: &none, checkBound: false)
    var answered: [String: Int] = [:]
    for r in replies {
        guard case .message(let body) = r else { require(false, "reply stream has a bad frame: \(r)"); return }
        let v: JSONValue
        do { v = try JSONParser.parse(body, maxDepth: Int.max) } catch {
            require(false, "reply is not JSON: \(error) — \(String(decoding: body, as: UTF8.self).prefix(200))"); return
        }
        let items: [JSONValue]
        if case .array(let a) = v { items = a } else { items = [v] }
        for item in items {
            guard case .object(let o) = item, o["jsonrpc"] == .string("2.0"), let id = o["id"] else {
                require(false, "reply is not a JSON-RPC response: \(String(decoding: body, as: UTF8.self).prefix(200))"); return
            }
            require((o["result"] == nil) != (o["error"] == nil), "a response needs exactly one of result and error")
            if id != .null { answered[String(decoding: JSONWriter.encode(id), as: UTF8.self), default: 0] += 1 }
        }
    }
    // Requests with a valid id, in frames that parse and are within limits.
    var expected: [String: Int] = [:]
    var cancelled = Set<String>()
    for f in frames {
        guard case .message(let body) = f, let v = try? JSONParser.parse(body, maxDepth: limits.maxDepth) else { continue }
        var members: [JSONValue] = [v]
        if case .array(let a) = v {
            if a.count > limits.maxBatch { continue }
            members = a
        }
        for m in members {
            if let id = expectedAnswerID(m) { expected[id, default: 0] += 1 }
            if case .object(let o) = m, o["method"] == .string("$/cancelRequest"), o["id"] == nil,
               case .object(let p)? = o["params"], let cid = p["id"] {
                cancelled.insert(String(decoding: JSONWriter.encode(cid), as: UTF8.self))
            }
        }
    }
    for (id, n) in expected {
        require(answered[id] == n, "request id \(id) sent \(n)×, answered \(answered[id] ?? 0)×")
    }
    for (id, n) in answered where expected[id] == nil {
        require(false, "answered id \(id) (\(n)×) that no valid request carried")
    }
    _ = cancelled
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFrame(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = inputBytes(data, size)
    guard let control = bytes.first else { return 0 }
    let stream = Array(bytes.dropFirst())
    let maxMessage = [16, 64, 1024, 1 << 20][Int(control & 3)]
    let maxHeader = [32, 8192][Int(control >> 2 & 1)]
    let framing: Framing? = [nil, nil, .contentLength, .ndjson][Int(control >> 3 & 3)]
    var rng: SplitMix? = bytes.withUnsafeBytes { SplitMix(hashing: $0) }
    var none: SplitMix? = nil

    let whole = decodeAll(stream, maxMessageBytes: maxMessage, maxHeaderBytes: maxHeader, framing: framing, splits: &none, checkBound: true)
    let split = decodeAll(stream, maxMessageBytes: maxMessage, maxHeaderBytes: maxHeader, framing: framing, splits: &rng, checkBound: true)
    if onlyMessages(whole) && onlyMessages(split) {
        require(whole == split, "split decoding gave \(split.count) frames, whole \(whole.count)")
    }
    for f in whole {
        if case .message(let body) = f { require(body.count <= maxMessage, "message of \(body.count) bytes over the \(maxMessage) limit") }
    }

    // Framing round trip over bodies carved from the stream at 0xFF bytes.
    let bodies = stream.split(separator: 0xFF, omittingEmptySubsequences: false).map(Array.init)
    var encoded: [UInt8] = []
    for b in bodies { FrameEncoder.append(b, framing: .contentLength, to: &encoded) }
    let back = decodeAll(encoded, maxMessageBytes: 1 << 20, maxHeaderBytes: 8192, framing: nil, splits: &rng, checkBound: true)
    require(back == bodies.map { Frame.message($0) }, "Content-Length round trip lost or changed bodies")
    // NDJSON: lines without newlines, not blank, not ending in CR.
    let lines = bodies.map { $0.filter { $0 != 0x0A } }.filter { l in
        l.contains { !($0 == 0x20 || $0 == 0x0D || $0 == 0x09) } && l.last != 0x0D
    }
    var ndjson: [UInt8] = []
    for l in lines { FrameEncoder.append(l, framing: .ndjson, to: &ndjson) }
    let backLines = decodeAll(ndjson, maxMessageBytes: 1 << 20, maxHeaderBytes: 8192, framing: .ndjson, splits: &rng, checkBound: true)
    require(backLines == lines.map { Frame.message($0) }, "NDJSON round trip lost or changed lines")

    // JSON-RPC handling of what the decoder produced.
    var limits = WireLimits()
    limits.maxMessageBytes = maxMessage
    limits.maxDepth = control & 0x20 != 0 ? 4 : 256
    limits.maxBatch = control & 0x40 != 0 ? 2 : 1000
    checkConnection(whole, framing: framing ?? .contentLength, limits: limits)
    return 0
}
