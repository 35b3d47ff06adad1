import ContextCore
import JSONCore

/// Writes a snapshot's records as JSON text into one byte buffer: compact records
/// straight from the models (`RecordCoding.write`: the byte encoder and the hand-written
/// writers of the hot types, no `JSONValue` tree), and for the pretty `json` format the
/// same compact text re-indented in one pass (`JSONWriter.appendPretty`) under the
/// snapshot's `records` array.
///
/// The output is byte for byte what `JSONWriter` makes of `RecordCoding.encode(record)`
/// (compact, or pretty with continuation lines indented 4 spaces); the tests compare both.
struct RecordWriter {
    private var w: JSONWriter
    /// A record's compact text before it is re-indented (pretty only; reused).
    private var scratch = JSONWriter(capacity: 0)
    let pretty: Bool

    /// `pretty`: indented as a member of a snapshot's `records` array (4 spaces deep).
    init(pretty: Bool, capacity: Int) {
        self.pretty = pretty
        w = JSONWriter(capacity: capacity)
    }

    /// Writes into `buffer`'s storage (emptied, its capacity kept): a buffer recycled
    /// from an earlier file costs no new pages.
    init(pretty: Bool, buffer: consuming [UInt8]) {
        self.pretty = pretty
        buffer.removeAll(keepingCapacity: true)
        w = JSONWriter(capacity: 0)
        w.bytes = buffer
    }

    /// The bytes written so far (the buffer is handed over; the writer is then empty).
    mutating func take() -> [UInt8] {
        defer { w.bytes = [] }
        return w.bytes
    }

    mutating func appendRaw(_ bytes: [UInt8]) { w.bytes.append(contentsOf: bytes) }

    var count: Int { w.bytes.count }

    /// Makes room for `bytes` in all (beyond what the buffer holds now).
    mutating func reserve(total bytes: Int) {
        if bytes > w.bytes.capacity { w.bytes.reserveCapacity(bytes) }
    }
    mutating func appendByte(_ b: UInt8) { w.bytes.append(b) }

    mutating func write(_ record: Record) throws(RecordCoding.Failure) {
        guard pretty else {
            try RecordCoding.write(record, into: &w)
            return
        }
        scratch.bytes.removeAll(keepingCapacity: true)
        try RecordCoding.write(record, into: &scratch)
        w.appendPretty(compact: scratch.bytes, level: 2)
    }
}
