import ContextCore
import JSONCore
import Testing

@testable import ContextStore

@Suite struct ChecksumTests {
    /// Regression (found by the `store` fuzz target): a timestamp with more than three
    /// fractional digits — valid ISO 8601 — trapped (`digits..<3` with digits > 3), so a
    /// snapshot with such a `savedAt`, or any such timestamp a client sent, crashed
    /// the process.
    @Test(arguments: [
        ("2026-01-02T03:04:05.6780Z", Int64(1_767_323_045_678)),
        ("2026-01-02T03:04:05.123456789Z", 1_767_323_045_123),
        ("2026-01-02T03:04:05.6Z", 1_767_323_045_600),
        ("2026-01-02T03:04:05Z", 1_767_323_045_000),
    ])
    func timestampsWithAnyNumberOfFractionalDigits(text: String, millis: Int64) throws {
        #expect(Timestamp(iso8601: text)?.milliseconds == millis)
        #expect(Timestamp(iso8601: "2026-01-02T03:04:05.6780") == nil)  // no zone: refused, not a crash
        let snapshot = #"{"schemaVersion":1,"component":"groups","sequence":7,"savedAt":""# + text + #"","records":[]}"#
        let (file, _) = try SnapshotFile.decode(Array(snapshot.utf8), path: "groups.json")
        #expect(file.savedAt?.milliseconds == millis)
        // The fuzzer's input: no zone designator after four digits.
        let crash = #"{"schemaVersion":1,"component":"groups","sequence":7,"savedAt":"2026-01-02T03:04:05.6780","records":[]}"#
        #expect(try SnapshotFile.decode(Array(crash.utf8), path: "groups.json").0.savedAt == nil)
    }

    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
    ])
    func sha256Vectors(input: String, hex: String) {
        #expect(SHA256.hex(Array(input.utf8)) == hex)
    }

    @Test func sha256StreamingMatchesOneShot() {
        let data = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        for split in [0, 1, 63, 64, 65, 4097, 9999] {
            var s = SHA256()
            s.update(Array(data[..<split]))
            s.update(Array(data[split...]))
            #expect(s.finalizeHex() == SHA256.hex(data))
        }
        // One million 'a' (FIPS 180-2 vector).
        #expect(SHA256.hex([UInt8](repeating: 0x61, count: 1_000_000)) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func crc32Vector() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
    }
}

@Suite struct SnapshotFormatTests {
    @Test func gzipRoundTripAndDamage() throws {
        let input = Array(String(repeating: "{\"hello\": \"world\"} ", count: 5000).utf8)
        let z = try Gzip.compress(input)
        #expect(z.count < input.count / 10)
        #expect(z[0] == 0x1F && z[1] == 0x8B)
        #expect(try Gzip.decompress(z) == input)
        #expect(throws: Gzip.Failure.self) { try Gzip.decompress(Array(z[..<(z.count / 2)])) }
        var bad = z
        bad[z.count / 2] ^= 0xFF
        #expect(throws: Gzip.Failure.self) { try Gzip.decompress(bad) }
    }

    @Test(arguments: SnapshotFormat.allCases)
    func encodeDetectDecode(format: SnapshotFormat) throws {
        let records = Fixtures.everyKind
        let file = SnapshotFile(component: "sessions", sequence: 42, savedAt: Timestamp(milliseconds: 1_700_000_000_123), records: records)
        let bytes = try file.encode(format: format)
        #expect(SnapshotFormat.detect(bytes) == format)
        let (back, detected) = try SnapshotFile.decode(bytes, path: "x")
        #expect(detected == format)
        #expect(back.sequence == 42)
        #expect(back.savedAt == Timestamp(milliseconds: 1_700_000_000_123))
        #expect(Folded(back.records.map { .put($0) }) == Folded(records.map { .put($0) }))
        if format != .jsonGzip {
            // Valid JSON with schemaVersion on top.
            let v = try JSONParser.parse(bytes)
            #expect(v["schemaVersion"]?.intValue == SnapshotFile.currentSchemaVersion)
        }
    }

    @Test func largeFileEncodesInParallelChunksAndStillParses() throws {
        let records = (0..<5000).map { Fixtures.record(.message, "m\($0)") }
        for format in SnapshotFormat.allCases {
            let bytes = try SnapshotFile(component: "conversations", sequence: 1, savedAt: nil, records: records).encode(format: format)
            let (back, _) = try SnapshotFile.decode(bytes, path: "x")
            #expect(back.records.count == 5000)
            #expect(back.records.last?.key.id == "m4999")
        }
    }

    @Test func migrationHookUpgradesOlderFiles() throws {
        // A hypothetical version-0 layout: records under "items".
        let old: JSONValue = ["schemaVersion": 0, "component": "sessions", "sequence": 3, "items": [["kind": "session", "value": try JSONValueEncoder().encode(Fixtures.record(.session, "s1").sessionValue)]]]
        let bytes = JSONWriter.encode(old)
        #expect(throws: DomainError.self) { try SnapshotFile.decode(bytes, path: "old.json") }
        let m: SnapshotFile.Migration = { o in
            var o = o
            o["records"] = o["items"]
            _ = o.removeValue(forKey: "items")
            return o
        }
        let (file, _) = try SnapshotFile.decode(bytes, path: "old.json", migrations: [0: m])
        #expect(file.records.first?.key == RecordKey(.session, "s1"))
    }

    @Test(arguments: [
        ("{}", "schemaVersion"),
        ("{\"schemaVersion\": 99, \"component\": \"sessions\", \"sequence\": 1, \"records\": []}", "newer contextd"),
        ("{\"schemaVersion\": 1, \"component\": \"sessions\", \"sequence\": 1, \"records\": [{\"kind\": \"bogus\", \"value\": {}}]}", "unknown record kind"),
        ("{\"schemaVersion\": 1, \"component\": \"sessions\", \"sequence\": 1, \"records\": [{\"kind\": \"session\", \"value\": {}}]}", "id"),
        ("{\"schemaVersion\": 1, \"component\": \"sessions\", \"records\": []}", "sequence"),
        ("{\"schemaVersion\": 1, \"component\": \"sessions\", \"sequence\": 1, \"records\": [", "invalid JSON"),
        ("", "empty"),
        ("garbage", "neither JSON nor gzip"),
    ])
    func badFilesGiveClearErrors(text: String, mentions: String) {
        do {
            _ = try SnapshotFile.decode(Array(text.utf8), path: "/d/sessions.json")
            Issue.record("decoded a bad file")
        } catch {
            guard case .storage(let path, let reason) = error else {
                Issue.record("wrong error \(error)")
                return
            }
            #expect(path == "/d/sessions.json")
            #expect(reason.contains(mentions), "\(reason)")
        }
    }
}

@Suite struct JournalScanTests {
    func journal(_ payloads: [String]) -> [UInt8] {
        var out = Journal.header
        for (i, p) in payloads.enumerated() { out += Journal.frame(seq: UInt64(i + 1), payload: Array(p.utf8)) }
        return out
    }

    @Test func readsRecords() {
        let b = journal(["[]", "[1]", "[2,3]"])
        let s = Journal.scan(b)
        #expect(s.entries.map(\.seq) == [1, 2, 3])
        #expect(s.torn == nil && s.corruption == nil)
        #expect(s.validLength == b.count)
    }

    @Test func tornTailsAreRecognised() {
        let full = journal(["[\"a\"]", "[\"bb\"]", "[\"ccc\"]"])
        let lastStart = Journal.scan(full).entries[2].frame.lowerBound
        // Every cut inside the last record is a torn tail.
        for cut in (lastStart + 1)..<full.count {
            let s = Journal.scan(Array(full[..<cut]))
            #expect(s.entries.count == 2)
            #expect(s.torn == lastStart..<cut)
            #expect(s.corruption == nil)
        }
        // A last record with a bad checksum is torn; so is a zero-filled tail.
        var bad = full
        bad[full.count - 1] ^= 0x55
        #expect(Journal.scan(bad).torn == lastStart..<full.count)
        let zeros = journal(["[1]"]) + [UInt8](repeating: 0, count: 100)
        #expect(Journal.scan(zeros).torn != nil)
        #expect(Journal.scan(zeros).entries.count == 1)
    }

    @Test func damageInTheMiddleIsCorruption() {
        var b = journal(["[\"a\"]", "[\"bb\"]", "[\"ccc\"]"])
        let second = Journal.scan(b).entries[1]
        b[second.payload.lowerBound] ^= 0x01
        let s = Journal.scan(b)
        #expect(s.corruption != nil)
        #expect(s.torn == nil)
        #expect(s.entries.count == 1)
    }

    @Test func badHeaderOrNewerVersionIsCorruption() {
        #expect(Journal.scan(Array("NOTAJRNL00000000".utf8)).corruption != nil)
        var h = Journal.header
        h[8] = 2
        #expect(Journal.scan(h).corruption?.contains("newer") == true)
    }
}

@Suite struct DataDirectoryTests {
    @Test(arguments: [
        ("/x/explicit", ["CONTEXTD_DATA_DIR": "/env", "XDG_DATA_HOME": "/xdg", "HOME": "/home/u"], "/x/explicit"),
        (nil, ["CONTEXTD_DATA_DIR": "/env", "XDG_DATA_HOME": "/xdg", "HOME": "/home/u"], "/env"),
        (nil, ["CONTEXTD_DATA_DIR": "", "XDG_DATA_HOME": "/xdg", "HOME": "/home/u"], "/xdg/contextd"),
        (nil, ["HOME": "/home/u"], "/home/u/.local/share/contextd"),
        ("~/d", ["HOME": "/home/u"], "/home/u/d"),
        ("", ["HOME": "/home/u", "XDG_DATA_HOME": "/xdg"], "/xdg/contextd"),
    ] as [(String?, [String: String], String)])
    func resolution(explicit: String?, env: [String: String], expected: String) {
        #expect(DataDirectory.resolve(explicit: explicit, environment: env) == expected)
    }
}

@Suite struct RecordWritingTests {
    /// The journal and Redis write records straight from the models; the bytes must be
    /// those of the tree (`encode` then `JSONWriter`), for records and changes of every kind.
    @Test func directWritingEqualsTheTree() throws {
        for r in Fixtures.everyKind {
            #expect(try RecordCoding.bytes(r) == JSONWriter.encode(.object(try RecordCoding.encode(r))), "\(r.kind)")
            for change in [Change.put(r), .delete(r.key)] {
                var w = JSONWriter()
                try RecordCoding.write(change, into: &w)
                #expect(w.bytes == JSONWriter.encode(try RecordCoding.encode(change)))
                let back = try RecordCoding.decodeChange(try JSONParser.parse(w.bytes))
                #expect(JSONWriter.encode(try RecordCoding.encode(back)) == w.bytes)
                var pretty = JSONWriter(options: [.pretty])
                try RecordCoding.write(change, into: &pretty)
                #expect(pretty.bytes == JSONWriter.encode(try RecordCoding.encode(change), options: [.pretty]))
            }
        }
        // A payload of several changes is one JSON array that decodes back.
        let changes = Fixtures.everyKind.map(Change.put)
        let payload = try Journal.encodePayload(changes)
        #expect(try Journal.encodePayload(try Journal.decodePayload(ArraySlice(payload))) == payload)
        #expect(payload.first == UInt8(ascii: "[") && payload.last == UInt8(ascii: "]"))
    }
}
