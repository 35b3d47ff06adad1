#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ContextCore
import Dispatch
import JSONCore
import Testing

@testable import ContextStore

/// The durable-backend conformance suite: what any backend that keeps data must do
/// (load returns what was committed, deletes really delete, a batch is atomic). Run
/// against the file backend in each snapshot format. Its backend-level cases run against
/// the file backend and Redis in `BackendConformanceFileAndRedis` (RedisBackendTests.swift).
@Suite struct DurableBackendConformance {
    @Test(arguments: SnapshotFormat.allCases)
    func everyKindSurvivesRestartFromJournalAndFromSnapshots(format: SnapshotFormat) throws {
        let dir = TempDir()
        let records = Fixtures.everyKind
        var expected = Folded()
        do {
            let (b, loaded) = try open(dir.path, options(format))
            #expect(loaded.isEmpty)
            for r in records { try commitSync(b, [.put(r)]) }
            expected.apply(records.map { .put($0) })
            b.close()
        }
        // From the journal alone.
        do {
            let (b, loaded) = try open(dir.path, options(format))
            #expect(Folded(loaded) == expected)
            let report = try b.save(from: FoldedSource(Folded(loaded)), components: nil)
            #expect(report.components == StoreComponents.all)
            #expect(b.status().journalBytes == Journal.headerSize)
            b.close()
        }
        // From the snapshots alone (the journal was truncated).
        do {
            let (b, loaded) = try open(dir.path, options(format))
            #expect(Folded(loaded) == expected)
            #expect(POSIX.exists(dir.sub("sessions" + format.fileExtension)))
            #expect(POSIX.exists(dir.sub("conversations/c-conv1" + format.fileExtension)))
            #expect(POSIX.exists(dir.sub("conversations/c-conv2" + format.fileExtension)))
            b.close()
        }
    }

    @Test(arguments: SnapshotFormat.allCases)
    func deletesReallyDelete(format: SnapshotFormat) throws {
        let dir = TempDir()
        var state = Folded()
        let (b, _) = try open(dir.path, options(format))
        let all = Fixtures.everyKind
        try commitSync(b, all.map { .put($0) })
        state.apply(all.map { .put($0) })
        _ = try b.save(from: FoldedSource(state), components: nil)
        // Delete one record of each kind, some after the snapshot, one conversation whole.
        let deletions: [Change] = [
            .delete(RecordKey(.session, "ses_1")), .delete(RecordKey(.checkpoint, "chk_1", parent: "ses_1")),
            .delete(RecordKey(.message, "msg_1", parent: "conv1")), .delete(RecordKey(.memory, "mem_1")),
            .delete(RecordKey(.conversation, "conv2")), .delete(RecordKey(.message, "msg_3", parent: "conv2")),
            .delete(RecordKey(.setting, "editor.theme")),
        ]
        try commitSync(b, deletions)
        state.apply(deletions)
        b.close()
        let (b2, loaded) = try open(dir.path, options(format))
        #expect(Folded(loaded) == state)
        _ = try b2.save(from: FoldedSource(state), components: nil)
        #expect(!POSIX.exists(dir.sub("conversations/c-conv2" + format.fileExtension)))
        b2.close()
        let (b3, loaded3) = try open(dir.path, options(format))
        #expect(Folded(loaded3) == state)
        #expect(loaded3.allSatisfy { $0.key.id != "ses_1" && $0.key.id != "msg_3" })
        b3.close()
    }

    @Test(arguments: SnapshotFormat.allCases)
    func aBatchIsAtomic(format: SnapshotFormat) throws {
        let dir = TempDir()
        let (b, _) = try open(dir.path, options(format))
        let first: [Change] = [.put(Fixtures.record(.session, "a"))]
        let batch: [Change] = (0..<50).map { .put(Fixtures.record(.message, "m\($0)")) }
        try commitSync(b, first)
        try commitSync(b, batch)
        b.close()
        // Tear the last write anywhere: the batch is either all there or not at all.
        let journal = try POSIX.readFile(dir.sub("journal"))
        let lastStart = Journal.scan(journal).entries[1].frame.lowerBound
        for cut in [lastStart + 1, lastStart + 16, (lastStart + journal.count) / 2, journal.count - 1] {
            try POSIX.writeFileAtomically(dir.sub("journal"), Array(journal[..<cut]))
            let (b2, loaded) = try open(dir.path, options(format))
            #expect(Folded(loaded) == Folded(first))
            b2.close()
        }
    }

    @Test(arguments: [Durability.fsync, .os, .none])
    func everyDurabilityKeepsWhatWasFlushed(durability: Durability) throws {
        let dir = TempDir()
        let (b, _) = try open(dir.path, options(.compactJson, durability))
        var state = Folded()
        for i in 0..<300 {
            let c: [Change] = [.put(Fixtures.record(.message, "m\(i)", parent: "c\(i % 7)"))]
            b.commit(c) { _ in }
            state.apply(c)
        }
        b.flush()
        b.close()
        let (b2, loaded) = try open(dir.path, options(.compactJson, durability))
        #expect(Folded(loaded) == state)
        b2.close()
    }

    @Test func journalRecordsAfterASnapshotAreReplayedAndOnlyThose() throws {
        let dir = TempDir()
        let (b, _) = try open(dir.path, options(.json))
        var state = Folded()
        let a: [Change] = [.put(Fixtures.record(.conversation, "c1")), .put(Fixtures.record(.message, "m1", parent: "c1"))]
        try commitSync(b, a)
        state.apply(a)
        _ = try b.save(from: FoldedSource(state), components: ["conversations"])
        // A partial save cannot truncate the journal: other components are not covered.
        #expect(b.status().journalBytes > Journal.headerSize)
        let more: [Change] = [.put(Fixtures.record(.message, "m2", parent: "c1")), .put(Fixtures.record(.session, "s1"))]
        try commitSync(b, more)
        state.apply(more)
        b.close()
        let (b2, loaded) = try open(dir.path, options(.json))
        #expect(Folded(loaded) == state)
        // m1 comes from the snapshot only (not replayed a second time).
        #expect(loaded.filter { $0.key.id == "m1" }.count == 1)
        b2.close()
    }

    @Test func onlyChangedConversationsAreRewritten() throws {
        let dir = TempDir()
        let (b, _) = try open(dir.path, options(.compactJson))
        var state = Folded()
        let initial: [Change] = (0..<20).flatMap { i -> [Change] in
            [.put(Fixtures.record(.conversation, "c\(i)")), .put(Fixtures.record(.message, "m\(i)", parent: "c\(i)"))]
        }
        try commitSync(b, initial)
        state.apply(initial)
        _ = try b.save(from: FoldedSource(state), components: nil)
        var inodes: [String: ino_t] = [:]
        for i in 0..<20 {
            var st = stat()
            stat(dir.sub("conversations/c-c\(i).json"), &st)
            inodes["c\(i)"] = st.st_ino
        }
        let one: [Change] = [.put(Fixtures.record(.message, "new", parent: "c3"))]
        try commitSync(b, one)
        state.apply(one)
        let report = try b.save(from: FoldedSource(state), components: ["conversations"])
        #expect(report.files == 2)  // c3 and the index
        for i in 0..<20 {
            var st = stat()
            stat(dir.sub("conversations/c-c\(i).json"), &st)
            #expect((st.st_ino == inodes["c\(i)"]) == (i != 3), "c\(i)")
        }
        b.close()
        let (b2, loaded) = try open(dir.path, options(.compactJson))
        #expect(Folded(loaded) == state)
        b2.close()
    }

    @Test func formatChangePersistsAndOldFilesStillLoad() throws {
        let dir = TempDir()
        var state = Folded(Fixtures.everyKind.map { .put($0) })
        do {
            let (b, _) = try open(dir.path, options(.jsonGzip))
            try commitSync(b, Fixtures.everyKind.map { .put($0) })
            _ = try b.save(from: FoldedSource(state), components: nil)
            try b.setFormat(.json)
            state.apply([.put(.setting(key: "store.format", value: "json"))])
            b.close()
        }
        do {
            // Started with another default: the persisted setting wins.
            let (b, loaded) = try open(dir.path, options(.compactJson))
            #expect(b.status().format == .json)
            #expect(Folded(loaded) == state)
            _ = try b.save(from: FoldedSource(state), components: nil)
            #expect(POSIX.exists(dir.sub("sessions.json")))
            #expect(!POSIX.exists(dir.sub("sessions.json.gz")))
            #expect(!POSIX.exists(dir.sub("conversations/c-conv1.json.gz")))
            b.close()
        }
        let (b, loaded) = try open(dir.path, options(.compactJson))
        #expect(Folded(loaded) == state)
        b.close()
    }

    @Test func reloadReturnsOnlyTheAskedComponents() throws {
        let dir = TempDir()
        let (b, _) = try open(dir.path, options(.json))
        try commitSync(b, Fixtures.everyKind.map { .put($0) })
        let changes = try b.reload(components: ["sessions"])
        #expect(Set(changes.map(\.key.kind)) == [.session, .checkpoint])
        #expect(throws: DomainError.self) { try b.reload(components: ["nope"]) }
        b.close()
    }
}

@Suite struct FileBackendSafetyTests {
    @Test func permissionsArePrivate() throws {
        let dir = TempDir()
        let data = dir.sub("nested/data")
        let (b, _) = try open(data, options(.json))
        try commitSync(b, Fixtures.everyKind.map { .put($0) })
        _ = try b.save(from: FoldedSource(Folded(Fixtures.everyKind.map { .put($0) })), components: nil)
        _ = try b.backup(from: FoldedSource(Folded(Fixtures.everyKind.map { .put($0) })), to: nil, progress: nil)
        b.close()
        #expect(POSIX.mode(data) == 0o700)
        func walk(_ d: String) {
            for name in POSIX.list(d) {
                let p = d + "/" + name
                if POSIX.isDirectory(p) {
                    #expect(POSIX.mode(p) == 0o700, "\(p)")
                    walk(p)
                } else {
                    #expect(POSIX.mode(p) == 0o600, "\(p)")
                }
            }
        }
        walk(data)
    }

    @Test func aSecondOpenIsRefusedNamingThePid() throws {
        let dir = TempDir()
        let (b, _) = try open(dir.path, options(.json))
        do {
            _ = try FileBackend(directory: dir.path, options: options(.json))
            Issue.record("a second backend took the lock")
        } catch {
            #expect(error.message.contains("lock"))
            #expect(error.message.contains("pid \(getpid())"))
        }
        b.close()
        // Released on close.
        let (b2, _) = try open(dir.path, options(.json))
        b2.close()
    }

    enum Damage: String, CaseIterable {
        case garbage, truncated, emptyObject, emptyFile, newerVersion, flippedByte
    }

    static let damagedFiles = ["sessions", "settings", "conversations/c-conv1", "conversations/index"]

    @Test(arguments: damagedFiles, Damage.allCases)
    func aDamagedFileStopsStartUpAndIsLeftAlone(file: String, damage: Damage) throws {
        for format in SnapshotFormat.allCases {
            let dir = TempDir()
            let state = Folded(Fixtures.everyKind.map { .put($0) })
            do {
                let (b, _) = try open(dir.path, options(format))
                try commitSync(b, Fixtures.everyKind.map { .put($0) })
                _ = try b.save(from: FoldedSource(state), components: nil)
                try commitSync(b, [.put(Fixtures.record(.message, "after", parent: "conv1"))])
                b.close()
            }
            let target = dir.sub(file + format.fileExtension)
            let original = try POSIX.readFile(target)
            let damaged: [UInt8]
            switch damage {
            case .garbage: damaged = Array("not json at all".utf8)
            case .truncated: damaged = Array(original[..<(original.count * 2 / 3)])
            case .emptyObject: damaged = Array("{}".utf8)
            case .emptyFile: damaged = []
            case .newerVersion:
                damaged = Array("{\"schemaVersion\": 999, \"component\": \"sessions\", \"sequence\": 1, \"records\": []}".utf8)
            case .flippedByte:
                var d = original
                // Inside the payload, past any header.
                d[d.count / 2] = format == .jsonGzip ? d[d.count / 2] ^ 0xFF : UInt8(ascii: "\u{1}")
                damaged = d
            }
            try POSIX.writeFileAtomically(target, damaged)
            let before = snapshotOfTree(dir.path)
            do {
                _ = try open(dir.path, options(format))
                Issue.record("\(file) \(damage) \(format): loaded a damaged store")
            } catch {
                guard case .storage(let path, let reason) = error else {
                    Issue.record("wrong error \(error)")
                    continue
                }
                #expect(path == target, "\(error)")
                #expect(reason.contains(damage == .newerVersion ? "newer" : "doctor"), "\(reason)")
            }
            // Nothing deleted or overwritten.
            #expect(snapshotOfTree(dir.path) == before, "\(file) \(damage) \(format)")
            // doctor finds it; --repair quarantines it and the store opens again.
            let check = Doctor.check(directory: dir.path, repair: false)
            #expect(!check.ok)
            #expect(check.problems.contains { $0.path == target })
            #expect(snapshotOfTree(dir.path) == before)
            let repaired = Doctor.check(directory: dir.path, repair: true)
            #expect(repaired.ok, "\(repaired.problems)")
            #expect(!POSIX.exists(target))
            let quarantined = POSIX.list(dir.sub("quarantine"))
            #expect(quarantined.count == 1)
            #expect(readBytes(dir.sub("quarantine/" + quarantined[0])) == damaged)
            let (b, loaded) = try open(dir.path, options(format))
            // The journal's record is still there.
            #expect(loaded.contains { $0.key.id == "after" })
            b.close()
        }
    }

    @Test func aTornJournalTailIsCutAndKeptAside() throws {
        let dir = TempDir()
        var state = Folded()
        do {
            let (b, _) = try open(dir.path, options(.json))
            for i in 0..<10 {
                let c: [Change] = [.put(Fixtures.record(.memory, "mem\(i)"))]
                try commitSync(b, c)
                state.apply(c)
            }
            b.close()
        }
        let torn = Journal.frame(seq: 11, payload: Array("[{\"op\":\"put\",\"kind\":\"memory\",\"value\":{\"id\":\"x\"}}]".utf8))
        let partial = Array(torn[..<(torn.count - 5)])
        let fd = Glibc_open(dir.sub("journal"))
        _ = partial.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        let (b, loaded) = try open(dir.path, options(.json))
        #expect(Folded(loaded) == state)
        #expect(b.warnings.contains { $0.contains("torn") })
        let aside = POSIX.list(dir.path).filter { $0.hasPrefix("journal.torn-") }
        #expect(aside.count == 1)
        #expect(readBytes(dir.sub(aside[0])) == partial)
        // The cut journal accepts new records that load after a restart.
        try commitSync(b, [.put(Fixtures.record(.memory, "later"))])
        state.apply([.put(Fixtures.record(.memory, "later"))])
        b.close()
        let (b2, loaded2) = try open(dir.path, options(.json))
        #expect(Folded(loaded2) == state)
        #expect(b2.warnings.isEmpty)
        b2.close()
    }

    @Test func aJournalDamagedInTheMiddleStopsStartUpUntilRepaired() throws {
        let dir = TempDir()
        do {
            let (b, _) = try open(dir.path, options(.json))
            for i in 0..<5 { try commitSync(b, [.put(Fixtures.record(.memory, "mem\(i)"))]) }
            b.close()
        }
        var raw = try POSIX.readFile(dir.sub("journal"))
        let third = Journal.scan(raw).entries[2]
        raw[third.payload.lowerBound + 3] ^= 0x20
        try POSIX.writeFileAtomically(dir.sub("journal"), raw)
        do {
            _ = try open(dir.path, options(.json))
            Issue.record("loaded a damaged journal")
        } catch {
            #expect(error.message.contains("journal"))
            #expect(error.message.contains("doctor --repair"))
        }
        #expect(readBytes(dir.sub("journal")) == raw)
        let report = Doctor.check(directory: dir.path, repair: true)
        #expect(report.ok)
        #expect(POSIX.list(dir.sub("quarantine")).count == 1)
        let (b, loaded) = try open(dir.path, options(.json))
        #expect(Folded(loaded) == Folded((0..<2).map { .put(Fixtures.record(.memory, "mem\($0)")) }))
        b.close()
    }

    @Test func repairOptionQuarantinesAndStarts() throws {
        let dir = TempDir()
        do {
            let (b, _) = try open(dir.path, options(.json))
            try commitSync(b, Fixtures.everyKind.map { .put($0) })
            _ = try b.save(from: FoldedSource(Folded(Fixtures.everyKind.map { .put($0) })), components: nil)
            b.close()
        }
        try POSIX.writeFileAtomically(dir.sub("templates.json"), Array("{}".utf8))
        var o = options(.json)
        o.repair = true
        let (b, loaded) = try open(dir.path, o)
        #expect(!loaded.contains { $0.key.kind == .template })
        #expect(loaded.contains { $0.key.kind == .session })
        #expect(b.warnings.contains { $0.contains("templates.json") })
        b.close()
    }
}

@Suite struct BackupTests {
    @Test(arguments: SnapshotFormat.allCases)
    func backupRestoreRoundTrip(format: SnapshotFormat) throws {
        let dir = TempDir()
        let (b, _) = try open(dir.path, options(format))
        let a = Folded(Fixtures.everyKind.map { .put($0) })
        try commitSync(b, Fixtures.everyKind.map { .put($0) })
        let progress = ProgressLog()
        let backup = try b.backup(from: FoldedSource(a), to: nil, progress: progress.record)
        #expect(backup.path.hasPrefix(dir.sub("backups/backup-")))
        #expect(backup.files > 5)
        #expect(POSIX.exists(backup.path + "/manifest.json"))
        #expect(progress.entries.last?.1 == 100)
        // Change the state: B.
        var bState = a
        let change: [Change] = [.delete(RecordKey(.session, "ses_1")), .put(Fixtures.record(.session, "ses_new")), .put(Fixtures.record(.conversation, "conv9"))]
        try commitSync(b, change)
        bState.apply(change)
        sleep(1)  // distinct backup names
        let report = try b.restore(from: backup.path, source: FoldedSource(bState), progress: nil)
        #expect(Folded(report.changes) == a)
        #expect(report.restored == backup.path)
        #expect(b.listBackups().map(\.path) == [backup.path, report.previous])
        // The previous state was kept.
        #expect(POSIX.exists(report.previous + "/manifest.json"))
        // New writes after the restore survive a restart on top of the restored state.
        try commitSync(b, [.put(Fixtures.record(.memory, "after-restore"))])
        b.close()
        let (b2, loaded) = try open(dir.path, options(format))
        var expected = a
        expected.apply([.put(Fixtures.record(.memory, "after-restore"))])
        #expect(Folded(loaded) == expected)
        #expect(!POSIX.exists(dir.sub("conversations/c-conv9" + format.fileExtension)))
        // Restoring the "previous" backup brings B back.
        let back = try b2.restore(from: report.previous, source: FoldedSource(expected), progress: nil)
        #expect(Folded(back.changes) == bState)
        b2.close()
    }

    @Test(arguments: ["sessions.json", "conversations/c-conv1.json", "manifest.json"])
    func aTamperedBackupIsRefusedAndLiveDataUntouched(file: String) throws {
        let dir = TempDir()
        let (b, _) = try open(dir.path, options(.json))
        let a = Folded(Fixtures.everyKind.map { .put($0) })
        try commitSync(b, Fixtures.everyKind.map { .put($0) })
        let backup = try b.backup(from: FoldedSource(a), to: nil, progress: nil)
        var bState = a
        try commitSync(b, [.put(Fixtures.record(.session, "ses_2"))])
        bState.apply([.put(Fixtures.record(.session, "ses_2"))])
        _ = try b.save(from: FoldedSource(bState), components: nil)
        // Tamper: change one byte (keeping valid JSON where possible).
        let p = backup.path + "/" + file
        var bytes = try POSIX.readFile(p)
        if let i = bytes.firstIndex(of: UInt8(ascii: "1")) { bytes[i] = UInt8(ascii: "7") } else { bytes.append(0x20) }
        try POSIX.writeFileAtomically(p, bytes)
        let live = snapshotOfTree(dir.path).filter { !$0.key.hasPrefix("backups/") }
        do {
            _ = try b.restore(from: backup.path, source: FoldedSource(bState), progress: nil)
            Issue.record("restored a tampered backup")
        } catch {
            guard case .storage = error else {
                Issue.record("wrong error \(error)")
                return
            }
        }
        #expect(snapshotOfTree(dir.path).filter { !$0.key.hasPrefix("backups/") } == live)
        #expect(!POSIX.list(dir.path).contains { $0.hasPrefix(".restore-staging") })
        b.close()
        let (b2, loaded) = try open(dir.path, options(.json))
        #expect(Folded(loaded) == bState)
        b2.close()
    }

    @Test func anInterruptedRestoreIsCompletedAtStart() throws {
        let dir = TempDir()
        let a = Folded(Fixtures.everyKind.map { .put($0) })
        let staged: [String]
        do {
            let (b, _) = try open(dir.path, options(.json))
            try commitSync(b, Fixtures.everyKind.map { .put($0) })
            _ = try b.save(from: FoldedSource(a), components: nil)
            staged = b.liveSnapshotFiles()
            // Stage a copy of the current files as if a restore had verified them.
            try POSIX.makeDirectory(dir.sub(".restore-staging-x/conversations"))
            for f in staged { try POSIX.writeFileAtomically(dir.sub(".restore-staging-x/" + f), try POSIX.readFile(dir.sub(f))) }
            // The live state moves on: a new session and a new conversation file.
            var later = a
            later.apply([.put(Fixtures.record(.conversation, "convX")), .put(Fixtures.record(.session, "sesX"))])
            try commitSync(b, [.put(Fixtures.record(.conversation, "convX")), .put(Fixtures.record(.session, "sesX"))])
            _ = try b.save(from: FoldedSource(later), components: nil)
            b.close()
        }
        // Crash after the marker was written and half the files were moved.
        let marker: JSONValue = ["staging": ".restore-staging-x", "files": .array(staged.map { .string($0) })]
        try POSIX.writeFileAtomically(dir.sub("restore-in-progress"), JSONWriter.encode(marker))
        try POSIX.move(dir.sub(".restore-staging-x/sessions.json"), dir.sub("sessions.json"))
        let (b, loaded) = try open(dir.path, options(.json))
        #expect(Folded(loaded) == a)
        #expect(!POSIX.exists(dir.sub("restore-in-progress")))
        #expect(!POSIX.exists(dir.sub(".restore-staging-x")))
        b.close()
    }
}

final class ProgressLog: @unchecked Sendable {
    private let lock = PThreadLock()
    private var items: [(String, Int?)] = []
    var entries: [(String, Int?)] { lock.withLock { items } }
    var record: StoreProgress { { m, p in self.lock.withLock { self.items.append((m, p)) } } }
}

func Glibc_open(_ p: String) -> Int32 {
    #if canImport(Glibc)
    return Glibc.open(p, O_WRONLY | O_APPEND)
    #else
    return Darwin.open(p, O_WRONLY | O_APPEND)
    #endif
}

@Suite struct GroupCommitTests {
    @Test func commitsQueuedDuringASyncShareTheNextOne() throws {
        let dir = TempDir()
        let (b, _) = try open(dir.path, options(.compactJson, .fsync))
        let journal = try #require(b.journalIfOpen)
        let gate = DispatchSemaphore(value: 0)
        let entered = DispatchSemaphore(value: 0)
        let first = FlagBox()
        journal.beforeSync = {
            if first.setOnce() {
                entered.signal()
                gate.wait()
            }
        }
        let done = DispatchGroup()
        done.enter()
        b.commit([.put(Fixtures.record(.session, "s0"))]) { _ in done.leave() }
        entered.wait()  // the writer is inside the first sync
        for i in 1...99 {
            done.enter()
            b.commit([.put(Fixtures.record(.session, "s\(i)"))]) { e in
                #expect(e == nil)
                done.leave()
            }
        }
        gate.signal()
        done.wait()
        let stats = b.journalStats
        #expect(stats.syncs == 2, "\(stats)")
        #expect(stats.writes == 2)
        b.close()
        let (b2, loaded) = try open(dir.path, options(.compactJson))
        #expect(loaded.count == 100)
        b2.close()
    }

    @Test func replyWaitsForTheSync() throws {
        let dir = TempDir()
        let (b, _) = try open(dir.path, options(.compactJson, .fsync))
        let journal = try #require(b.journalIfOpen)
        let synced = FlagBox()
        journal.beforeSync = {
            usleep(50_000)
            _ = synced.setOnce()
        }
        let done = DispatchSemaphore(value: 0)
        b.commit([.put(Fixtures.record(.session, "s"))]) { _ in
            #expect(synced.isSet)
            done.signal()
        }
        done.wait()
        b.close()
    }
}

final class FlagBox: @unchecked Sendable {
    private let lock = PThreadLock()
    private var set = false
    func setOnce() -> Bool { lock.withLock { defer { set = true }; return !set } }
    var isSet: Bool { lock.withLock { set } }
}

@Suite struct JournalFaultTests {
    @Test func aFailedWriteIsCutBackAndLaterWritesSucceed() throws {
        let dir = TempDir()
        let (b, _) = try open(dir.path, options(.compactJson))
        try commitSync(b, [.put(Fixtures.record(.session, "before"))])
        let journal = try #require(b.journalIfOpen)
        let sizeBefore = POSIX.fileSize(dir.sub("journal"))
        journal.failNextWriteHalfway = true
        #expect(throws: DomainError.self) { try commitSync(b, [.put(Fixtures.record(.session, "failed"))]) }
        #expect(POSIX.fileSize(dir.sub("journal")) == sizeBefore)
        try commitSync(b, [.put(Fixtures.record(.session, "after"))])
        b.close()
        let (b2, loaded) = try open(dir.path, options(.compactJson))
        #expect(Set(loaded.map(\.key.id)) == ["before", "after"])
        #expect(b2.warnings.isEmpty)
        b2.close()
    }

    /// Regression (issue 9 fault tests): a journal deleted or renamed away under a running
    /// backend kept taking writes into the unlinked file, so everything acknowledged was
    /// gone at the next start. The next write now puts the journal back from the open
    /// descriptor.
    @Test(arguments: [false, true])
    func aJournalDeletedUnderARunningBackendIsWrittenAgain(renamed: Bool) throws {
        let dir = TempDir()
        let (b, _) = try open(dir.path, options(.compactJson))
        try commitSync(b, [.put(Fixtures.record(.session, "one"))])
        try commitSync(b, [.put(Fixtures.record(.session, "two"))])
        if renamed {
            #expect(rename(dir.sub("journal"), dir.sub("journal.old")) == 0)
        } else {
            #expect(unlink(dir.sub("journal")) == 0)
        }
        try commitSync(b, [.put(Fixtures.record(.session, "three"))])
        #expect(POSIX.exists(dir.sub("journal")))
        try commitSync(b, [.put(Fixtures.record(.session, "four"))])
        b.close()
        let (b2, loaded) = try open(dir.path, options(.compactJson))
        #expect(loaded.map(\.key.id) == ["one", "two", "three", "four"])
        #expect(b2.warnings.isEmpty)
        b2.close()
    }
}

@Suite struct FormatDuplicateTests {
    /// A crash during a format change can leave `x.json` and `x.json.gz`; the higher
    /// sequence wins, and the next save must not remove the file it just wrote.
    @Test func duplicateVariantsResolveBySequenceAndSurviveTheNextSave() throws {
        let dir = TempDir()
        var state = Folded()
        do {
            let (b, _) = try open(dir.path, options(.json))
            try commitSync(b, [.put(Fixtures.record(.session, "old"))])
            state.apply([.put(Fixtures.record(.session, "old"))])
            _ = try b.save(from: FoldedSource(state), components: nil)
            b.close()
        }
        let oldJSON = try POSIX.readFile(dir.sub("sessions.json"))
        do {
            let (b, _) = try open(dir.path, options(.json))
            try commitSync(b, [.put(Fixtures.record(.session, "new"))])
            state.apply([.put(Fixtures.record(.session, "new"))])
            try b.setFormat(.jsonGzip)
            _ = try b.save(from: FoldedSource(state), components: nil)
            b.close()
        }
        // Put the older variant back, as if its removal had not happened.
        try POSIX.writeFileAtomically(dir.sub("sessions.json"), oldJSON)
        state.apply([.put(.setting(key: "store.format", value: "jsonGzip"))])
        do {
            let (b, loaded) = try open(dir.path, options(.json))
            #expect(Folded(loaded) == state)
            // Back to json: the save writes sessions.json, the name of the stale variant.
            try b.setFormat(.json)
            state.apply([.put(.setting(key: "store.format", value: "json"))])
            _ = try b.save(from: FoldedSource(state), components: nil)
            #expect(POSIX.exists(dir.sub("sessions.json")))
            #expect(!POSIX.exists(dir.sub("sessions.json.gz")))
            b.close()
        }
        let (b, loaded) = try open(dir.path, options(.json))
        #expect(Folded(loaded) == state)
        b.close()
    }
}
