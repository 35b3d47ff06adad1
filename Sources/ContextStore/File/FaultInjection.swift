#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A test hook for the fault tests (Tests/EndToEndTests/FaultEndToEndTests.swift): makes
/// chosen storage operations fail as a broken disk would. Off unless the environment
/// asks for it; it costs one set lookup per operation when off.
///
/// - `CONTEXTD_FAULT_INJECT` — comma-separated faults:
///   - `journal-write`: a journal write stops halfway with ENOSPC (a full disk);
///   - `journal-fsync`: the journal's fsync fails with EIO;
///   - `create`: creating a file in the data directory fails with EROFS (a read-only
///     directory, for when permission bits cannot stop the process, e.g. as root).
/// - `CONTEXTD_FAULT_TRIGGER` — a path: the faults are active only while that file
///   exists, so a test can arm and disarm them while the server runs. Unset = always.
///
/// Not for production use; documented in SECURITY.md.
enum FaultInjection {
    enum Kind: String, CaseIterable, Sendable {
        case journalWrite = "journal-write"
        case journalFsync = "journal-fsync"
        case create
    }

    static let armed: Set<Kind> = {
        guard let raw = getenv("CONTEXTD_FAULT_INJECT") else { return [] }
        let names = String(cString: raw).split(separator: ",").map { $0.trimmingCharacters(in: " ") }
        return Set(names.compactMap { Kind(rawValue: $0) })
    }()

    static let trigger: String? = getenv("CONTEXTD_FAULT_TRIGGER").map { String(cString: $0) }

    /// Whether `kind` should fail now.
    @inline(__always)
    static func active(_ kind: Kind) -> Bool {
        if armed.isEmpty || !armed.contains(kind) { return false }
        guard let trigger else { return true }
        return access(trigger, F_OK) == 0
    }
}

private extension Substring {
    func trimmingCharacters(in set: Character) -> String {
        var s = self
        while s.first == set { s = s.dropFirst() }
        while s.last == set { s = s.dropLast() }
        return String(s)
    }
}
