#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ContextCore
import Dispatch
import JSONCore

/// The write-ahead journal: change records since the last snapshot.
///
/// Layout: a 16-byte header (`CTXDJRNL`, u32 version 1, u32 reserved) then records of
/// `u32 length | u32 crc32(seq ‖ payload) | u64 seq | payload` (little endian), where the
/// payload is one commit's changes as a compact JSON array. One commit = one record, so
/// a batch is atomic: it is replayed whole or not at all.
///
/// Group commit: `append` queues a record; one writer (a serial queue) takes everything
/// queued, writes it with one `write(2)` and syncs once, then fires every completion.
/// Records that arrive while a sync runs share the next one.
final class Journal: @unchecked Sendable {
    // @unchecked: mutable state is guarded by `lock` (queue, bytes, failure) or touched
    // only on `writer` (fd, size).
    static let magic: [UInt8] = Array("CTXDJRNL".utf8)
    static let headerSize = 16
    static let recordHeaderSize = 16
    static var header: [UInt8] { magic + [1, 0, 0, 0, 0, 0, 0, 0] }

    let path: String
    let durability: Durability
    private var fd: Int32
    private let writer = DispatchQueue(label: "contextd.journal.writer")
    private let lock = PThreadLock()
    private var pending: [(bytes: [UInt8], completion: (@Sendable (DomainError?) -> Void)?)] = []
    private var drainScheduled = false
    private var failure: DomainError?
    /// Bytes in the file (including queued, not yet written records).
    private var fileBytes: Int
    /// Called (on the writer queue) when the journal grows past `sizeLimit`.
    var sizeLimit = Int.max
    var onSizeLimit: (@Sendable () -> Void)?
    private var sizeLimitSignalled = false
    /// Tests: make the next batch's write fail after writing half of it (a disk-full
    /// write), to check the journal is cut back.
    var failNextWriteHalfway = false
    /// Runs before each sync (tests use it to hold a sync open).
    var beforeSync: (@Sendable () -> Void)?
    /// Counters for tests and benches.
    private(set) var syncCount = 0
    private(set) var writeCount = 0

    /// Opens (creating with a header if missing or empty) for appending at the end.
    init(path: String, durability: Durability) throws(DomainError) {
        self.path = path
        self.durability = durability
        if (POSIX.fileSize(path) ?? 0) == 0 {
            try POSIX.writeFileAtomically(path, Journal.header)
        }
        // Read-write: a journal deleted under the running server is read back from the
        // open descriptor and written again (see `reopenIfDeleted`).
        fd = open(path, O_RDWR | O_CLOEXEC)
        if fd < 0 { throw POSIX.fail(path, "cannot open the journal") }
        _ = fchmod(fd, 0o600)
        let end = lseek(fd, 0, SEEK_END)
        if end < 0 { throw POSIX.fail(path, "cannot seek") }
        fileBytes = Int(end)
    }

    var bytes: Int { lock.withLock { fileBytes } }
    var stats: (writes: Int, syncs: Int) { writer.sync { (writeCount, syncCount) } }

    /// Frames one record.
    static func frame(seq: UInt64, payload: [UInt8]) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(payload.count + recordHeaderSize)
        appendLE(&out, UInt32(payload.count))
        var seqBytes = [UInt8]()
        appendLE(&seqBytes, seq)
        let crc = CRC32.checksum(payload, seed: CRC32.checksum(seqBytes))
        appendLE(&out, crc)
        out += seqBytes
        out += payload
        return out
    }

    static func appendLE<T: FixedWidthInteger>(_ out: inout [UInt8], _ v: T) {
        var x = v.littleEndian
        withUnsafeBytes(of: &x) { out.append(contentsOf: $0) }
    }

    /// Queues one framed record. `completion` fires per `durability` (immediately for
    /// `none`), exactly once.
    func append(_ record: [UInt8], completion: @escaping @Sendable (DomainError?) -> Void) {
        var immediate: DomainError?? = nil
        lock.withLock {
            if let failure {
                immediate = .some(failure)
                return
            }
            fileBytes += record.count
            if durability == .none {
                pending.append((record, nil))
                immediate = .some(nil)
            } else {
                pending.append((record, completion))
            }
            if !drainScheduled {
                drainScheduled = true
                writer.async { self.drain() }
            }
        }
        if let immediate { completion(immediate) }
    }

    /// Group-commit pacing (writer queue only): the size of the last synced batch and
    /// the recent fsync latency.
    private var lastBatchSize = 0
    private var syncSeconds = 0.002

    private func drain() {
        while true {
            // Clients answered by the last sync send their next requests a moment later;
            // waiting a fraction of an fsync for them to arrive fills the next batch
            // instead of splitting them over two syncs.
            if durability == .fsync && lastBatchSize > 1 {
                let target = lastBatchSize
                let deadline = Journal.monotonic() + min(syncSeconds * 0.5, 0.002)
                while true {
                    let n = lock.withLock { pending.count }
                    if n == 0 || n >= target || Journal.monotonic() >= deadline { break }
                    usleep(25)
                }
            }
            // `none` answers before writing: let records gather for a moment, so a
            // pipelined client costs one write(2) and one wake-up per batch, not per record.
            if durability == .none { usleep(200) }
            let batch: [(bytes: [UInt8], completion: (@Sendable (DomainError?) -> Void)?)] = lock.withLock {
                let b = pending
                pending.removeAll(keepingCapacity: true)
                if b.isEmpty { drainScheduled = false }
                return b
            }
            if batch.isEmpty { return }
            lastBatchSize = batch.count
            let error = writeBatch(batch.map(\.bytes))
            for entry in batch { entry.completion?(error) }
            if error == nil, let onSizeLimit {
                let over = lock.withLock { () -> Bool in
                    if fileBytes > sizeLimit && !sizeLimitSignalled {
                        sizeLimitSignalled = true
                        return true
                    }
                    return false
                }
                if over { onSizeLimit() }
            }
        }
    }

    /// One write(2) (and one sync for `fsync`) for the whole batch. On failure the file is
    /// cut back to where the batch started, so a later record never follows garbage.
    private func writeBatch(_ records: [[UInt8]]) -> DomainError? {
        var buffer: [UInt8]
        if records.count == 1 {
            buffer = records[0]
        } else {
            buffer = []
            buffer.reserveCapacity(records.reduce(0) { $0 + $1.count })
            for r in records { buffer += r }
        }
        writeCount += 1
        do throws(DomainError) {
            try reopenIfDeleted()
        } catch {
            // Nothing was written: the records are refused, later batches try again.
            let sub = buffer.count
            lock.withLock { fileBytes -= sub }
            return error
        }
        let start = lseek(fd, 0, SEEK_END)
        do throws(DomainError) {
            if start < 0 { throw POSIX.fail(path, "cannot seek") }
            if failNextWriteHalfway || FaultInjection.active(.journalWrite) {
                failNextWriteHalfway = false
                try POSIX.writeAll(fd, Array(buffer[..<(buffer.count / 2)]), path: path)
                throw POSIX.fail(path, "write failed", ENOSPC)
            }
            try POSIX.writeAll(fd, buffer, path: path)
            if durability == .fsync {
                beforeSync?()
                syncCount += 1
                let t0 = Journal.monotonic()
                var rc = POSIX.syncData(fd)
                if FaultInjection.active(.journalFsync) {
                    rc = -1
                    errno = EIO
                }
                syncSeconds = syncSeconds * 0.8 + (Journal.monotonic() - t0) * 0.2
                if rc != 0 {
                    // After a failed fsync the kernel may have dropped the dirty pages:
                    // nothing written since the last good sync can be trusted.
                    let e = POSIX.fail(path, "fsync failed")
                    markFailed(e)
                    return e
                }
            }
            return nil
        } catch {
            let sub = buffer.count
            lock.withLock { fileBytes -= sub }
            if start >= 0 && ftruncate(fd, start) == 0 { return error }
            markFailed(error)
            return error
        }
    }

    /// Writer queue only. When the journal file was deleted (or renamed away) while the
    /// server runs, the open descriptor still holds every acknowledged record but a
    /// restart would not find them: write the descriptor's content back to `path`
    /// (atomically) and continue there. Costs one fstat per batch.
    private func reopenIfDeleted() throws(DomainError) {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return }
        var here = stat()
        let linked = st.st_nlink > 0 && stat(path, &here) == 0 && here.st_ino == st.st_ino && here.st_dev == st.st_dev
        if linked { return }
        let size = Int(lseek(fd, 0, SEEK_END))
        if size < 0 { throw POSIX.fail(path, "cannot seek") }
        var content = [UInt8](repeating: 0, count: size)
        var got = 0
        while got < size {
            let n = content.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + got, size - got, off_t(got)) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { throw POSIX.fail(path, "the journal was deleted while contextd was running and cannot be read back") }
            got += n
        }
        do throws(DomainError) {
            try POSIX.writeFileAtomically(path, content)
        } catch {
            let why: String
            if case .storage(_, let r) = error { why = r } else { why = error.message }
            throw .storage(path: path, reason: "the journal was deleted while contextd was running and cannot be written again (\(why)); nothing acknowledged was lost while this server runs — fix the data directory, then run store/save")
        }
        let nfd = open(path, O_RDWR | O_CLOEXEC)
        if nfd < 0 { throw POSIX.fail(path, "cannot reopen the journal") }
        _ = Glibc_close(fd)
        fd = nfd
    }

    private func markFailed(_ e: DomainError) {
        let reason: String
        if case .storage(_, let r) = e { reason = r } else { reason = e.message }
        lock.withLock {
            failure = .storage(path: path, reason: "the journal cannot be written (\(reason)); restart contextd after fixing the cause — nothing acknowledged was lost")
        }
    }

    /// Blocks until every queued record has been written (and synced per durability).
    /// With `none`, this is where background writes are made durable (one fsync).
    func flush() {
        writer.sync {
            drain()
            if durability != .fsync { _ = POSIX.syncData(fd) }
        }
    }

    /// Rewrites the journal keeping only records with a sequence above `sequence`
    /// (atomic: temp file, fsync, rename, fsync the directory). Waits for queued writes.
    func compact(keepingAfter sequence: UInt64) throws(DomainError) {
        let result: Result<Void, DomainError> = writer.sync {
            drain()
            do throws(DomainError) {
                let raw = try POSIX.readFile(path)
                let scan = Journal.scan(raw)
                var out = Journal.header
                for e in scan.entries where e.seq > sequence { out += raw[e.frame] }
                // A torn tail can only be the very last write; keep it out of the new file.
                try POSIX.writeFileAtomically(path, out)
                let nfd = open(path, O_RDWR | O_CLOEXEC)
                if nfd < 0 { throw POSIX.fail(path, "cannot reopen the journal") }
                _ = Glibc_close(fd)
                fd = nfd
                lock.withLock {
                    fileBytes = out.count
                    sizeLimitSignalled = false
                }
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        try result.get()
    }

    func close() {
        flush()
        writer.sync {
            if fd >= 0 { _ = Glibc_close(fd) }
            fd = -1
        }
        lock.withLock {
            if failure == nil { failure = .storage(path: path, reason: "the store is closed") }
        }
    }

    static func monotonic() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    // MARK: reading

    struct Entry {
        var seq: UInt64
        var payload: Range<Int>
        var frame: Range<Int>
    }

    struct Scan {
        var entries: [Entry] = []
        /// Bytes up to the end of the last good record.
        var validLength = 0
        /// A torn tail (short or unfinished last record) to cut.
        var torn: Range<Int>?
        /// Damage that is not a torn tail: start-up must stop.
        var corruption: String?
    }

    static func readLE<T: FixedWidthInteger>(_ b: [UInt8], _ at: Int, _: T.Type) -> T {
        var v: T = 0
        for i in 0..<MemoryLayout<T>.size { v |= T(b[at + i]) << (8 * i) }
        return v
    }

    /// Checks a journal's bytes. A bad record is a torn tail when it runs past the end of
    /// the file, is the last record, or only zero bytes follow it; anything else is
    /// corruption.
    static func scan(_ b: [UInt8]) -> Scan {
        var s = Scan()
        if b.isEmpty { return s }
        guard b.count >= headerSize, Array(b[0..<8]) == magic else {
            s.corruption = "not a contextd journal (bad header)"
            return s
        }
        let version = readLE(b, 8, UInt32.self)
        guard version == 1 else {
            s.corruption = version > 1 ? "journal version \(version) is newer than this build reads (1); upgrade contextd" : "unknown journal version \(version)"
            return s
        }
        var at = headerSize
        s.validLength = at
        var lastSeq: UInt64 = 0
        func tornOrCorrupt(_ why: String, recordEnd: Int?) {
            let tail = b[at...]
            if recordEnd == nil || recordEnd == b.count || tail.allSatisfy({ $0 == 0 }) {
                s.torn = at..<b.count
            } else {
                s.corruption = "\(why) at byte \(at) (record \(s.entries.count + 1)), with \(b.count - at) bytes after it"
            }
        }
        while at < b.count {
            if b.count - at < recordHeaderSize {
                tornOrCorrupt("short record header", recordEnd: nil)
                return s
            }
            let length = Int(readLE(b, at, UInt32.self))
            let crc = readLE(b, at + 4, UInt32.self)
            let seq = readLE(b, at + 8, UInt64.self)
            let end = at + recordHeaderSize + length
            if end > b.count {
                tornOrCorrupt("short record", recordEnd: nil)
                return s
            }
            let actual = b.withUnsafeBytes { raw in
                CRC32.checksum(UnsafeRawBufferPointer(rebasing: raw[(at + recordHeaderSize)..<end]), seed: CRC32.checksum(UnsafeRawBufferPointer(rebasing: raw[(at + 8)..<(at + 16)])))
            }
            if actual != crc {
                tornOrCorrupt("checksum mismatch", recordEnd: end)
                return s
            }
            if seq <= lastSeq {
                s.corruption = "sequence numbers go backwards at byte \(at) (\(seq) after \(lastSeq))"
                return s
            }
            lastSeq = seq
            s.entries.append(Entry(seq: seq, payload: (at + recordHeaderSize)..<end, frame: at..<end))
            at = end
            s.validLength = at
        }
        return s
    }

    /// Decodes one record's payload (a JSON array of changes).
    static func decodePayload(_ bytes: ArraySlice<UInt8>) throws(RecordCoding.Failure) -> [Change] {
        let v: JSONValue
        do { v = try JSONParser.parse(Array(bytes)) } catch { throw RecordCoding.Failure(message: "invalid JSON: \(error.description)") }
        guard case .array(let items) = v else { throw RecordCoding.Failure(message: "a journal record must hold an array of changes") }
        var out: [Change] = []
        out.reserveCapacity(items.count)
        for item in items { out.append(try RecordCoding.decodeChange(item)) }
        return out
    }

    static func encodePayload(_ changes: [Change]) throws(RecordCoding.Failure) -> [UInt8] {
        var w = JSONWriter(capacity: 256)
        w.bytes.append(UInt8(ascii: "["))
        for (i, c) in changes.enumerated() {
            if i > 0 { w.bytes.append(UInt8(ascii: ",")) }
            try RecordCoding.write(c, into: &w)
        }
        w.bytes.append(UInt8(ascii: "]"))
        return w.bytes
    }
}

func Glibc_close(_ fd: Int32) -> Int32 {
    #if canImport(Glibc)
    return Glibc.close(fd)
    #else
    return Darwin.close(fd)
    #endif
}
