// libFuzzer target: persistence decoding (ContextStore) — journal scanning and replay,
// snapshot files in every format, gzip, and a whole data directory loaded by FileBackend.
//
// Byte 0 picks the mode; the rest is the material:
//  0  raw journal bytes → Journal.scan; each entry's payload decoded and replayed.
//  1  payloads (split at 0xFF) framed as a valid journal → scan finds exactly them; a
//     truncation anywhere is a torn tail or a clean end, never corruption; a changed
//     byte never yields a record with a different payload.
//  2  raw snapshot bytes → SnapshotFile.decode; accepted files re-encode in every
//     format and decode to the same records.
//  3  as 2, gzip-compressed first (to reach the JSON inside), and raw gzip decompression.
//  4  a data directory (journal from payloads + a torn tail, a snapshot file) loaded by
//     FileBackend: start-up either refuses with a 1006 naming a file or loads; a
//     second load after the first sees the same records.
// Every decoded change set is replayed into a ContextEngine (restore must not crash).
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ContextCore
import JSONCore
@testable import ContextStore

/// A fresh engine per input (restored state must not accumulate across runs).
nonisolated(unsafe) var engine = ContextEngine(env: DomainEnvironment(clock: SystemClock(), ids: SequentialIDGenerator()))

func canonical(_ r: Record) -> [UInt8] {
    guard let o = try? RecordCoding.encode(r) else { require(false, "a decoded record does not encode"); return [] }
    return JSONWriter.encode(.object(o), options: [.sortedKeys])
}

func canonical(_ c: Change) -> [UInt8] {
    guard let v = try? RecordCoding.encode(c) else { require(false, "a decoded change does not encode"); return [] }
    return JSONWriter.encode(v, options: [.sortedKeys])
}

/// Decodes a payload; accepted change sets round-trip and are replayed.
func replay(_ payload: ArraySlice<UInt8>) {
    guard let changes = try? Journal.decodePayload(payload) else { return }
    guard let again = try? Journal.decodePayload(ArraySlice((try? Journal.encodePayload(changes)) ?? [])) else {
        require(false, "re-encoded journal payload does not decode"); return
    }
    require(again.count == changes.count && zip(again, changes).allSatisfy { canonical($0) == canonical($1) },
            "journal payload does not round-trip")
    try? engine.restore(changes)
}

func checkScan(_ raw: [UInt8]) -> Journal.Scan {
    let s = Journal.scan(raw)
    var last: UInt64 = 0
    var at = Journal.headerSize
    for e in s.entries {
        require(e.seq > last, "scan returned non-increasing sequence numbers")
        last = e.seq
        require(e.frame.lowerBound == at && e.frame.upperBound <= raw.count, "entry frame out of place")
        require(e.payload.lowerBound == e.frame.lowerBound + Journal.recordHeaderSize && e.payload.upperBound == e.frame.upperBound, "payload range inconsistent")
        at = e.frame.upperBound
    }
    require(s.validLength <= raw.count, "validLength past the end")
    if let t = s.torn { require(t.upperBound == raw.count && t.lowerBound == s.validLength, "torn range is not the tail after the valid part") }
    if s.torn == nil && s.corruption == nil && !raw.isEmpty { require(s.validLength == raw.count, "clean scan did not cover the file") }
    return s
}

func payloads(_ rest: ArraySlice<UInt8>) -> [[UInt8]] {
    rest.split(separator: 0xFF, omittingEmptySubsequences: false).map(Array.init)
}

func journal(_ ps: [[UInt8]]) -> [UInt8] {
    var out = Journal.header
    for (i, p) in ps.enumerated() { out += Journal.frame(seq: UInt64(i + 1), payload: p) }
    return out
}

func checkSnapshot(_ raw: [UInt8]) {
    guard let (file, _) = try? SnapshotFile.decode(raw, path: "fuzz.json") else { return }
    let records = file.records.map(canonical)
    for format in SnapshotFormat.allCases {
        let bytes: [UInt8]
        do { bytes = try file.encode(format: format) } catch { require(false, "an accepted snapshot does not encode as \(format): \(error)"); return }
        guard let (back, detected) = try? SnapshotFile.decode(bytes, path: "again") else {
            require(false, "a snapshot written as \(format) does not decode: \(String(decoding: bytes.prefix(300), as: UTF8.self))"); return
        }
        require(detected == format || (format != .jsonGzip && detected != .jsonGzip), "format \(format) detected as \(detected)")
        require(back.component == file.component && back.sequence == file.sequence && back.extra == file.extra, "snapshot header changed in a round trip")
        require(back.records.map(canonical) == records, "snapshot records changed in a round trip (\(format))")
    }
    try? engine.restore(file.records.map { .put($0) })
}

func tempDir() -> String {
    var template = Array("/tmp/contextd-fuzz-XXXXXX".utf8CString)
    let p = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    require(p != nil, "mkdtemp failed")
    return String(cString: p!)
}

func writeFile(_ path: String, _ bytes: [UInt8]) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    require(fd >= 0, "cannot create \(path)")
    bytes.withUnsafeBytes { _ = write(fd, $0.baseAddress, $0.count) }
    close(fd)
}

func loadAll(_ dir: String) -> Result<[Change], DomainError> {
    var options = FileBackendOptions(durability: .none)
    options.autoSaveIntervalSeconds = nil
    do {
        let b = try FileBackend(directory: dir, options: options)
        defer { b.close() }
        return .success(try b.load())
    } catch {
        return .failure(error)
    }
}

func checkDirectory(_ rest: ArraySlice<UInt8>) {
    let dir = tempDir()
    defer { POSIX.removeTree(dir) }
    // The material: payloads; the last one is written as a torn tail (half a record).
    var ps = payloads(rest)
    let tail = ps.count > 1 ? ps.removeLast() : []
    var j = journal(ps)
    if !tail.isEmpty {
        let t = Journal.frame(seq: UInt64(ps.count + 1), payload: tail)
        j += t[..<(t.count / 2)]
    }
    writeFile(dir + "/journal", j)
    // The first payload doubles as a sessions snapshot when it looks like one.
    if let first = ps.first, first.first == UInt8(ascii: "{") { writeFile(dir + "/sessions.json", first) }
    switch loadAll(dir) {
    case .failure(let e):
        guard case .storage(let path, let reason) = e else { require(false, "start-up failed with a non-storage error: \(e)"); return }
        require(path != nil && !reason.isEmpty, "a storage error must name the file and say why")
    case .success(let first):
        try? engine.restore(first)
        // The torn tail was cut: a second start loads the same state, with no warning.
        switch loadAll(dir) {
        case .failure(let e): require(false, "a directory that loaded once refuses the second time: \(e)")
        case .success(let second):
            require(second.map(canonical) == first.map(canonical), "the second load differs from the first")
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzStore(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = inputBytes(data, size)
    guard let mode = bytes.first else { return 0 }
    let rest = bytes.dropFirst()
    var rng = bytes.withUnsafeBytes { SplitMix(hashing: $0) }
    engine = ContextEngine(env: DomainEnvironment(clock: SystemClock(), ids: SequentialIDGenerator()))
    switch mode % 5 {
    case 0:
        let raw = Array(rest)
        let s = checkScan(raw)
        for e in s.entries { replay(raw[e.payload]) }
    case 1:
        let ps = payloads(rest)
        let j = journal(ps)
        let s = checkScan(j)
        require(s.corruption == nil && s.torn == nil && s.entries.count == ps.count, "a valid journal did not scan whole")
        for e in s.entries { replay(j[e.payload]) }
        // Truncation: a torn tail, or (at a record boundary) a clean shorter journal.
        let cut = Journal.headerSize + rng.below(j.count - Journal.headerSize + 1)
        let t = checkScan(Array(j[..<cut]))
        require(t.corruption == nil, "a truncated journal was reported corrupt: \(t.corruption ?? "")")
        // One changed byte: no entry may carry a payload that was not written.
        if j.count > Journal.headerSize {
            var damaged = j
            let at = Journal.headerSize + rng.below(j.count - Journal.headerSize)
            damaged[at] ^= UInt8(1 + rng.below(255))
            let d = checkScan(damaged)
            for (k, e) in d.entries.enumerated() where k < ps.count {
                if Array(damaged[e.payload]) != ps[k] {
                    // Only possible if the change hit a length field and the CRC still matched: reject.
                    require(false, "a damaged journal yielded a payload that was never written (record \(k + 1))")
                }
            }
        }
    case 2:
        checkSnapshot(Array(rest))
    case 3:
        if let z = try? Gzip.compress(Array(rest)) {
            guard let back = try? Gzip.decompress(z) else { require(false, "gzip round trip failed"); return 0 }
            require(back == Array(rest), "gzip round trip changed the bytes")
            checkSnapshot(z)
        }
        _ = try? Gzip.decompress(Array(rest))
    default:
        checkDirectory(rest)
    }
    return 0
}
