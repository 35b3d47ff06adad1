import CZlib
import ContextCore
import JSONCore

/// How snapshot files are written (`store/setFormat`). Files in any format always load:
/// the format is detected from the content (gzip magic bytes, else JSON).
public enum SnapshotFormat: String, Sendable, CaseIterable, Codable {
    /// Indented JSON, for people reading the files.
    case json
    /// JSON without whitespace.
    case compactJson
    /// Compact JSON compressed with gzip (zlib deflate, RFC 1952 framing).
    case jsonGzip

    public init(from decoder: any Decoder) throws {
        let s = try decoder.singleValueContainer().decode(String.self)
        guard let f = SnapshotFormat(rawValue: s) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "one of json, compactJson, jsonGzip"))
        }
        self = f
    }

    /// The file extension used for this format.
    var fileExtension: String { self == .jsonGzip ? ".json.gz" : ".json" }

    /// Detects the format of file content: gzip magic `1f 8b`; JSON starting with `{`
    /// (`json` when the text has line breaks, else `compactJson`); nil otherwise.
    public static func detect(_ bytes: [UInt8]) -> SnapshotFormat? {
        if bytes.count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B { return .jsonGzip }
        var i = 0
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
        guard i < bytes.count, bytes[i] == UInt8(ascii: "{") else { return nil }
        let probe = bytes[i..<min(bytes.count, i + 4096)]
        return probe.contains(0x0A) ? .json : .compactJson
    }
}

/// gzip through the system zlib.
public enum Gzip {
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    /// Compresses into gzip framing. Level 1 (fastest): JSON still shrinks ~5–10×.
    public static func compress(_ input: [UInt8], level: Int32 = 1) throws(Failure) -> [UInt8] {
        var s = z_stream()
        guard deflateInit2_(&s, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw Failure(message: "deflateInit failed")
        }
        defer { deflateEnd(&s) }
        var out = [UInt8](repeating: 0, count: Int(deflateBound(&s, uLong(input.count))) + 32)
        var produced = 0
        var status: Int32 = Z_OK
        input.withUnsafeBufferPointer { inp in
            s.next_in = UnsafeMutablePointer(mutating: inp.baseAddress)
            s.avail_in = uInt(inp.count)
            out.withUnsafeMutableBufferPointer { o in
                s.next_out = o.baseAddress
                s.avail_out = uInt(o.count)
                status = deflate(&s, Z_FINISH)
                produced = o.count - Int(s.avail_out)
            }
        }
        guard status == Z_STREAM_END else { throw Failure(message: "deflate failed (\(status))") }
        out.removeLast(out.count - produced)
        return out
    }

    /// Decompresses gzip data (all members). Truncated or damaged input throws.
    public static func decompress(_ input: [UInt8]) throws(Failure) -> [UInt8] {
        var s = z_stream()
        guard inflateInit2_(&s, 15 + 16, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw Failure(message: "inflateInit failed")
        }
        defer { inflateEnd(&s) }
        var out: [UInt8] = []
        out.reserveCapacity(input.count * 6)
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        var status: Int32 = Z_OK
        var failure: String?
        input.withUnsafeBufferPointer { inp in
            s.next_in = UnsafeMutablePointer(mutating: inp.baseAddress)
            s.avail_in = uInt(inp.count)
            while true {
                chunk.withUnsafeMutableBufferPointer { c in
                    s.next_out = c.baseAddress
                    s.avail_out = uInt(c.count)
                    status = inflate(&s, Z_NO_FLUSH)
                    out.append(contentsOf: c[0..<(c.count - Int(s.avail_out))])
                }
                if status == Z_STREAM_END {
                    if s.avail_in == 0 { break }
                    // Another gzip member follows.
                    guard inflateReset(&s) == Z_OK else { failure = "inflateReset failed"; break }
                    continue
                }
                if status != Z_OK {
                    failure = "damaged gzip data (zlib status \(status))"
                    break
                }
                if s.avail_in == 0 && s.avail_out != 0 {
                    failure = "truncated gzip data"
                    break
                }
            }
        }
        if let failure { throw Failure(message: failure) }
        return out
    }
}

/// One snapshot file: `{schemaVersion, component, sequence, savedAt, ..., records: [...]}`.
///
/// `sequence` is the journal sequence number the file reflects: journal records of the
/// component with a higher number are replayed on top of it.
public struct SnapshotFile: Sendable {
    /// The schema version written by this build.
    public static let currentSchemaVersion = 1

    public var component: String
    public var sequence: UInt64
    public var savedAt: Timestamp?
    public var records: [Record]
    /// Other top-level members (e.g. `conversationId`), kept as read.
    public var extra: JSONObject

    public init(component: String, sequence: UInt64, savedAt: Timestamp?, records: [Record], extra: JSONObject = [:]) {
        self.component = component
        self.sequence = sequence
        self.savedAt = savedAt
        self.records = records
        self.extra = extra
    }

    /// A migration turns a file object of version N into version N+1.
    public typealias Migration = @Sendable (JSONObject) throws -> JSONObject

    /// Serialises in `format`. Records are encoded in parallel chunks for large files.
    public func encode(format: SnapshotFormat) throws(DomainError) -> [UInt8] {
        try SnapshotFile.encode(component: component, sequence: sequence, savedAt: savedAt, records: records[...], extra: extra, format: format)
    }

    /// `SnapshotFile(...).encode(format:)` for records in a slice (no copy of them).
    ///
    /// `buffer`: storage to write into (see `RecordWriter.init(pretty:buffer:)`); the
    /// result reuses it except for gzip.
    static func encode(
        component: String, sequence: UInt64, savedAt: Timestamp?, records: ArraySlice<Record>, extra: JSONObject, format: SnapshotFormat,
        buffer: [UInt8]? = nil
    ) throws(DomainError) -> [UInt8] {
        var head = JSONObject(minimumCapacity: 6)
        head.appendUnchecked("schemaVersion", .int(SnapshotFile.currentSchemaVersion))
        head.appendUnchecked("component", .string(component))
        head.appendUnchecked("sequence", .number(JSONNumber(sequence)))
        if let savedAt { head.appendUnchecked("savedAt", .string(savedAt.iso8601)) }
        for (k, v) in extra { head.appendUnchecked(k, v) }
        let pretty = format == .json
        // Written by hand around the records so each record is encoded on its own
        // (no single giant tree), straight into the file's buffer; big files are
        // encoded in parallel chunks.
        let headBytes = JSONWriter.encode(.object(head), options: pretty ? [.pretty] : [])
        var rw = buffer.map { RecordWriter(pretty: pretty, buffer: $0) } ?? RecordWriter(pretty: pretty, capacity: records.count * 256 + headBytes.count + 32)
        var headPart = Array(headBytes.dropLast())  // drop "}" (or "\n}")
        if pretty, headPart.last == 0x0A { headPart.removeLast() }
        rw.appendRaw(headPart)
        rw.appendRaw(Array((pretty ? ",\n  \"records\": [" : ",\"records\":[").utf8))
        do throws(RecordCoding.Failure) {
            if records.count < 2048 {
                try SnapshotFile.encodeRecords(records, records.indices, pretty: pretty, into: &rw)
            } else {
                for (n, p) in try SnapshotFile.encodeChunks(records, pretty: pretty).enumerated() {
                    if n > 0 { rw.appendByte(UInt8(ascii: ",")) }
                    rw.appendRaw(p)
                }
            }
        } catch {
            throw .storage(path: nil, reason: error.message)
        }
        rw.appendRaw(Array((pretty ? (records.isEmpty ? "]\n}\n" : "\n  ]\n}\n") : "]}").utf8))
        let out = rw.take()
        if format == .jsonGzip {
            do { return try Gzip.compress(out) } catch { throw .storage(path: nil, reason: error.message) }
        }
        return out
    }

    /// Appends `records[range]`, comma-separated, to `rw`.
    static func encodeRecords(_ records: ArraySlice<Record>, _ range: Range<Int>, pretty: Bool, into rw: inout RecordWriter) throws(RecordCoding.Failure) {
        let indent: [UInt8] = [0x0A, 0x20, 0x20, 0x20, 0x20]
        let start = rw.count
        for i in range {
            if i > range.lowerBound { rw.appendByte(UInt8(ascii: ",")) }
            if pretty { rw.appendRaw(indent) }
            try rw.write(records[i])
            // Size the buffer from the first records instead of doubling it repeatedly.
            if i == range.lowerBound + 15 && range.count > 32 {
                rw.reserve(total: start + (rw.count - start) / 16 * range.count * 21 / 20 + 64)
            }
        }
    }

    /// Encodes large record lists in 16 parallel chunks.
    static func encodeChunks(_ records: ArraySlice<Record>, pretty: Bool) throws(RecordCoding.Failure) -> [[UInt8]] {
        let chunkCount = 16
        let chunkSize = (records.count + chunkCount - 1) / chunkCount
        let results = ResultBox(count: chunkCount)
        DispatchBridge.concurrentPerform(chunkCount) { c in
            let lo = records.startIndex + c * chunkSize, hi = min(records.endIndex, lo + chunkSize)
            guard lo < hi else { results.set(c, .success([])); return }
            var rw = RecordWriter(pretty: pretty, capacity: (hi - lo) * 256)
            do throws(RecordCoding.Failure) {
                try SnapshotFile.encodeRecords(records, lo..<hi, pretty: pretty, into: &rw)
                results.set(c, .success(rw.take()))
            } catch {
                results.set(c, .failure(error))
            }
        }
        var parts: [[UInt8]] = []
        for c in 0..<chunkCount {
            switch results.get(c) {
            case .success(let b): if !b.isEmpty { parts.append(b) }
            case .failure(let e): throw e
            case nil: break
            }
        }
        return parts
    }

    /// Reads a snapshot file's bytes in any format. `path` names the file in errors.
    public static func decode(
        _ raw: [UInt8], path: String, migrations: [Int: Migration] = [:]
    ) throws(DomainError) -> (SnapshotFile, SnapshotFormat) {
        func bad(_ why: String) -> DomainError {
            .storage(path: path, reason: "\(why); the file was left untouched — run `contextd doctor --repair` to quarantine it, or restore a backup")
        }
        if raw.isEmpty { throw bad("the file is empty") }
        guard let format = SnapshotFormat.detect(raw) else { throw bad("not a contextd snapshot (neither JSON nor gzip)") }
        var bytes = raw
        if format == .jsonGzip {
            do { bytes = try Gzip.decompress(raw) } catch { throw bad(error.message) }
        }
        let value: JSONValue
        do { value = try JSONParser.parse(bytes) } catch { throw bad("invalid JSON: \(error.description)") }
        guard case .object(var o) = value else { throw bad("the top level must be an object") }
        guard let versionValue = o["schemaVersion"] else { throw bad("missing 'schemaVersion'") }
        guard var version = versionValue.intValue else { throw bad("'schemaVersion' must be an integer") }
        if version > currentSchemaVersion {
            throw .storage(path: path, reason: "written by a newer contextd (schemaVersion \(version); this build reads up to \(currentSchemaVersion)); upgrade contextd — the file was left untouched")
        }
        while version < currentSchemaVersion {
            guard let m = migrations[version] else {
                throw bad("schemaVersion \(version) is not supported (no migration to \(currentSchemaVersion))")
            }
            do { o = try m(o) } catch { throw bad("migration from schemaVersion \(version) failed: \(error)") }
            version += 1
            o["schemaVersion"] = .int(version)
        }
        guard let component = o["component"]?.stringValue else { throw bad("missing 'component'") }
        guard let seqText = o["sequence"], case .number(let n) = seqText, let seq = UInt64(n.text) else {
            throw bad("missing or invalid 'sequence'")
        }
        guard case .array(let items)? = o["records"] else { throw bad("missing 'records' array") }
        var records: [Record] = []
        records.reserveCapacity(items.count)
        for (i, item) in items.enumerated() {
            do { records.append(try RecordCoding.decodeRecord(item)) } catch { throw bad("record \(i): \(error.message)") }
        }
        var extra = JSONObject()
        for (k, v) in o where !["schemaVersion", "component", "sequence", "savedAt", "records"].contains(k) {
            extra.appendUnchecked(k, v)
        }
        let savedAt = o["savedAt"]?.stringValue.flatMap { Timestamp(iso8601: $0) }
        return (SnapshotFile(component: component, sequence: seq, savedAt: savedAt, records: records, extra: extra), format)
    }
}

/// Per-slot results written from concurrent workers.
final class ResultBox: @unchecked Sendable {
    // @unchecked: each slot is written by exactly one worker; read after all finished
    // (concurrentPerform returns only when every iteration has), under the lock anyway.
    private let lock = PThreadLock()
    private var slots: [Result<[UInt8], RecordCoding.Failure>?]
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ r: Result<[UInt8], RecordCoding.Failure>) { lock.withLock { slots[i] = r } }
    func get(_ i: Int) -> Result<[UInt8], RecordCoding.Failure>? { lock.withLock { slots[i] } }
}
