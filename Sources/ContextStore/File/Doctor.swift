#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ContextCore

/// What `contextd doctor [--repair]` found (and did).
public struct DoctorReport: Sendable, Encodable {
    public struct Problem: Sendable, Encodable, Equatable {
        /// The file (or directory) concerned.
        public var path: String
        public var problem: String
        /// What was done (with repair) or what to do.
        public var action: String?
        /// Whether repair fixed it.
        public var repaired: Bool
    }
    public var directory: String
    /// No problem is left (after repair, if asked).
    public var ok: Bool
    public var repair: Bool
    /// Files checked and the records they hold.
    public var files: Int
    public var records: Int
    public var journalRecords: Int
    public var problems: [Problem]
    /// Informational notes (e.g. an interrupted restore that the next start completes).
    public var notes: [String]
}

/// Checks a data directory; with `repair`, sets aside what cannot be read.
///
/// Repair never deletes: unreadable snapshot files move to `quarantine/`, a torn journal
/// tail is cut and kept in `journal.torn-<time>`, and a journal damaged in the middle is
/// copied to `quarantine/` whole before the journal is rewritten with the records that
/// precede the damage.
public enum Doctor {
    /// `contextd doctor [--repair]`. Takes the data directory's lock for a repair (a
    /// running server holding it is reported, and nothing is changed).
    public static func check(directory: String, repair: Bool) -> DoctorReport {
        guard POSIX.isDirectory(directory) else {
            return DoctorReport(
                directory: directory, ok: true, repair: repair, files: 0, records: 0, journalRecords: 0, problems: [],
                notes: ["the data directory does not exist yet (it is created on first use)"])
        }
        var lock: LockFile?
        do { lock = try LockFile(directory: directory) } catch {
            if repair {
                return DoctorReport(
                    directory: directory, ok: false, repair: repair, files: 0, records: 0, journalRecords: 0,
                    problems: [.init(path: POSIX.join(directory, "contextd.lock"), problem: error.message, action: "stop the server, then run the repair again", repaired: false)],
                    notes: [])
            }
        }
        defer { lock?.release() }
        var report = run(directory: directory, repair: repair, lockHeld: true, migrations: [:])
        if lock == nil { report.notes.append("a running contextd holds the lock; files were checked read-only") }
        return report
    }

    static func run(directory: String, repair: Bool, lockHeld: Bool, migrations: [Int: SnapshotFile.Migration]) -> DoctorReport {
        var r = DoctorReport(directory: directory, ok: true, repair: repair, files: 0, records: 0, journalRecords: 0, problems: [], notes: [])
        let stamp = FileBackend.fileTime(POSIX.now())
        let quarantine = POSIX.join(directory, "quarantine")

        func quarantineFile(_ p: String, copy: Bool = false) -> String? {
            do throws(DomainError) {
                try POSIX.makeDirectory(quarantine)
                let rel = p.hasPrefix(directory + "/") ? String(p.dropFirst(directory.count + 1)) : POSIX.basename(p)
                var dest = POSIX.join(quarantine, rel.replacingSlashes() + "." + stamp)
                var n = 1
                while POSIX.exists(dest) {
                    n += 1
                    dest = POSIX.join(quarantine, rel.replacingSlashes() + "." + stamp + "-\(n)")
                }
                if copy { try POSIX.writeFileAtomically(dest, try POSIX.readFile(p)) } else { try POSIX.move(p, dest) }
                try POSIX.syncDirectory(quarantine)
                try POSIX.syncDirectory(POSIX.dirname(p))
                return dest
            } catch {
                r.problems.append(.init(path: p, problem: "could not quarantine: \(error.message)", action: nil, repaired: false))
                return nil
            }
        }

        // Permissions: conversations hold code and secrets.
        func checkMode(_ p: String, want: Int) {
            guard let m = POSIX.mode(p), m & 0o077 != 0 else { return }
            var fixed = false
            if repair { fixed = chmod(p, mode_t(want)) == 0 }
            r.problems.append(
                .init(
                    path: p, problem: "mode \(String(m, radix: 8)) lets other users read it",
                    action: fixed ? "set to \(String(want, radix: 8))" : "chmod \(String(want, radix: 8)) \(p)", repaired: fixed))
        }
        checkMode(directory, want: 0o700)

        if POSIX.exists(POSIX.join(directory, FileBackend.restoreMarker)) {
            r.notes.append("an interrupted restore will be completed at the next start")
        }

        // Snapshot files.
        var snapshots: [String] = []
        for name in POSIX.list(directory) where FileBackend.isTopLevelSnapshotName(name) { snapshots.append(POSIX.join(directory, name)) }
        let convDir = POSIX.join(directory, "conversations")
        if POSIX.isDirectory(convDir) {
            checkMode(convDir, want: 0o700)
            for name in POSIX.list(convDir) where name.hasSuffix(".json") || name.hasSuffix(".json.gz") {
                snapshots.append(POSIX.join(convDir, name))
            }
        }
        for p in snapshots {
            r.files += 1
            checkMode(p, want: 0o600)
            do throws(DomainError) {
                let (file, _) = try SnapshotFile.decode(try POSIX.readFile(p), path: p, migrations: migrations)
                r.records += file.records.count
            } catch {
                var action = "run `contextd doctor --repair` to move it to quarantine/ (its records are then lost from the store), or restore a backup"
                var fixed = false
                if repair, let dest = quarantineFile(p) {
                    action = "moved to \(dest)"
                    fixed = true
                }
                r.problems.append(.init(path: p, problem: reason(error), action: action, repaired: fixed))
            }
        }

        // The journal.
        let jp = POSIX.join(directory, "journal")
        if POSIX.exists(jp) {
            r.files += 1
            checkMode(jp, want: 0o600)
            do throws(DomainError) {
                let raw = try POSIX.readFile(jp)
                let scan = Journal.scan(raw)
                var goodEntries = scan.entries
                var damage = scan.corruption
                for (i, e) in scan.entries.enumerated() {
                    do { _ = try Journal.decodePayload(raw[e.payload]) } catch {
                        damage = "record with sequence \(e.seq) cannot be read: \(error.message)"
                        goodEntries = Array(scan.entries[..<i])
                        break
                    }
                }
                r.journalRecords = goodEntries.count
                if let damage {
                    var action = "run `contextd doctor --repair`: it quarantines a copy of the journal and keeps the \(goodEntries.count) readable records before the damage"
                    var fixed = false
                    if repair, let dest = quarantineFile(jp, copy: true) {
                        var out = Journal.header
                        for e in goodEntries { out += raw[e.frame] }
                        do {
                            try POSIX.writeFileAtomically(jp, out)
                            action = "copied to \(dest); kept the \(goodEntries.count) records before the damage"
                            fixed = true
                        } catch {
                            action = "copied to \(dest), but rewriting failed: \(error.message)"
                        }
                    }
                    r.problems.append(.init(path: jp, problem: damage, action: action, repaired: fixed))
                } else if let torn = scan.torn {
                    var action = "cut automatically at the next start (kept in journal.torn-<time>)"
                    var fixed = false
                    if repair {
                        let aside = POSIX.join(directory, "journal.torn-\(stamp)")
                        do throws(DomainError) {
                            try POSIX.writeFileAtomically(aside, Array(raw[torn]))
                            try POSIX.writeFileAtomically(jp, Array(raw[..<torn.lowerBound]))
                            action = "cut; the \(torn.count) bytes are kept in \(aside)"
                            fixed = true
                        } catch {
                            action = "could not cut: \(error.message)"
                        }
                    }
                    r.problems.append(.init(path: jp, problem: "torn tail of \(torn.count) bytes at byte \(torn.lowerBound) (an unfinished write)", action: action, repaired: fixed))
                }
            } catch {
                r.problems.append(.init(path: jp, problem: reason(error), action: "check the file's permissions", repaired: false))
            }
        }
        r.ok = r.problems.allSatisfy(\.repaired)
        return r
    }

    private static func reason(_ e: DomainError) -> String {
        if case .storage(_, let reason) = e { return reason }
        return e.message
    }
}

extension String {
    func replacingSlashes() -> String { String(map { $0 == "/" ? "_" : $0 }) }
}
