import Foundation
import JSONCore
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Storage faults through the built binary (issue 9, PROTOCOL §2 error 1006): a full disk,
/// a failing fsync, a read-only data directory and a journal deleted under the running
/// server. Each must answer 1006 with a clear message (or repair itself), keep serving
/// reads, and lose nothing already acknowledged — checked by restarting on the same
/// directory.
///
/// Faults the process cannot be made to meet for real are injected through the store's
/// test hook: `CONTEXTD_FAULT_INJECT` names the faults, and they are active only while
/// the file named by `CONTEXTD_FAULT_TRIGGER` exists (see FaultInjection.swift).
@Suite("Storage faults (issue 9)")
struct FaultEndToEndTests {
    struct Setup {
        let root: String
        var dir: String { root + "/data" }
        var trigger: String { root + "/fault-trigger" }
        init() { root = ServerProcess.temporaryDirectory() }
        func cleanup() { try? FileManager.default.removeItem(atPath: root) }
        func arm() { FileManager.default.createFile(atPath: trigger, contents: Data()) }
        func disarm() { try? FileManager.default.removeItem(atPath: trigger) }

        func start(faults: String? = nil) throws -> ServerProcess {
            var env = ProcessInfo.processInfo.environment
            env["CONTEXTD_FAULT_INJECT"] = faults
            env["CONTEXTD_FAULT_TRIGGER"] = faults == nil ? nil : trigger
            return try ServerProcess(arguments: ["--data-dir", dir], environment: env)
        }
    }

    /// Creates a template named `name`; returns its id.
    @discardableResult
    func create(_ s: ServerProcess, _ name: String) throws -> String {
        let r = try s.call("template/create", ["name": .string(name), "type": "prompt", "content": .string("Hello {{who}} from \(name)")])
        return try #require(r["template"]?["id"]?.stringValue)
    }

    func createExpectingError(_ s: ServerProcess, _ name: String) throws -> ServerError {
        try s.callExpectingError("template/create", ["name": .string(name), "type": "prompt", "content": "x"])
    }

    /// Reads still work: the template comes back by name and renders.
    func expectReadable(_ s: ServerProcess, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let t = try s.call("template/get", ["name": .string(name)])
        #expect(t["name"]?.stringValue == name, sourceLocation: sourceLocation)
        let r = try s.call("template/render", ["name": .string(name), "variables": ["who": "you"]])
        #expect(JSONWriter.string(r).contains("Hello you from \(name)"), sourceLocation: sourceLocation)
    }

    /// Restarts without faults and checks every acknowledged template is there.
    func expectDurable(_ setup: Setup, _ names: [String], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let s = try setup.start()
        defer { s.stop() }
        for name in names { try expectReadable(s, name, sourceLocation: sourceLocation) }
        #expect(try s.closeInputAndWait() == 0, sourceLocation: sourceLocation)
    }

    func expectStorageError(_ e: ServerError, mentioning words: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(e.code == 1006, "\(e)", sourceLocation: sourceLocation)
        #expect(e.data?["reason"]?.stringValue?.isEmpty == false, "1006 data needs a reason: \(e)", sourceLocation: sourceLocation)
        for w in words {
            #expect(e.message.lowercased().contains(w.lowercased()), "message should mention '\(w)': \(e.message)", sourceLocation: sourceLocation)
        }
    }

    @Test func diskFullAnswers1006AndTheJournalRecovers() throws {
        let setup = Setup()
        defer { setup.cleanup() }
        do {
            let s = try setup.start(faults: "journal-write")
            defer { s.stop() }
            try create(s, "before-1")
            try create(s, "before-2")
            setup.arm()
            let e = try createExpectingError(s, "during")
            expectStorageError(e, mentioning: ["journal", "write failed"])
            #expect(e.data?["path"]?.stringValue?.hasSuffix("/journal") == true, "\(e)")
            // Reads keep working while the disk is full.
            try expectReadable(s, "before-1")
            #expect(try s.call("store/status")["kind"] == "file")
            // Space comes back: the half-written record was cut, later writes succeed.
            setup.disarm()
            try create(s, "after")
            #expect(try s.closeInputAndWait() == 0)
        }
        try expectDurable(setup, ["before-1", "before-2", "after"])
    }

    @Test func fsyncErrorAnswers1006AndRefusesLaterWrites() throws {
        let setup = Setup()
        defer { setup.cleanup() }
        do {
            let s = try setup.start(faults: "journal-fsync")
            defer { s.stop() }
            try create(s, "before-1")
            try create(s, "before-2")
            setup.arm()
            expectStorageError(try createExpectingError(s, "during"), mentioning: ["fsync failed"])
            // After a failed fsync nothing written since the last good one can be trusted:
            // the journal refuses further writes (even with the fault gone) until restart.
            setup.disarm()
            expectStorageError(try createExpectingError(s, "later"), mentioning: ["journal cannot be written", "restart"])
            try expectReadable(s, "before-2")
            #expect(try s.closeInputAndWait() == 0)
        }
        try expectDurable(setup, ["before-1", "before-2"])
    }

    /// How this process can make a directory read-only: permission bits (not as root),
    /// else the immutable attribute (root with CAP_LINUX_IMMUTABLE), else nil (inject).
    enum ReadOnlyMechanism { case permissions, immutable }

    static func chattr(_ flag: String, _ path: String) -> Bool {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["chattr", flag, path]
        p.standardError = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }

    static func makeReadOnly(_ dir: String) -> ReadOnlyMechanism? {
        if getuid() != 0 {
            return chmod(dir, 0o500) == 0 ? .permissions : nil
        }
        guard chattr("+i", dir) else { return nil }
        // Check it really stops creation here (some file systems ignore the attribute).
        if FileManager.default.createFile(atPath: dir + "/.probe", contents: Data()) {
            try? FileManager.default.removeItem(atPath: dir + "/.probe")
            _ = chattr("-i", dir)
            return nil
        }
        return .immutable
    }

    static func undoReadOnly(_ dir: String, _ m: ReadOnlyMechanism?) {
        switch m {
        case .permissions?: _ = chmod(dir, 0o700)
        case .immutable?: _ = chattr("-i", dir)
        case nil: break
        }
    }

    @Test func readOnlyDataDirectory() throws {
        let setup = Setup()
        defer { setup.cleanup() }
        do {
            // The injected fault is armed only when no real mechanism is available.
            let s = try setup.start(faults: "create")
            defer { s.stop() }
            try create(s, "before")
            let mechanism = Self.makeReadOnly(setup.dir)
            if mechanism == nil { setup.arm() }
            defer { Self.undoReadOnly(setup.dir, mechanism) }
            // Snapshots need new files: refused with a clear 1006 naming the file.
            let e = try s.callExpectingError("store/save")
            expectStorageError(e, mentioning: ["cannot create"])
            #expect(e.data?["path"]?.stringValue?.hasPrefix(setup.dir) == true, "\(e)")
            let b = try s.callExpectingError("store/backup")
            #expect(b.code == 1006, "\(b)")
            // The open journal still takes writes: they are acknowledged and durable.
            try create(s, "while-read-only")
            try expectReadable(s, "before")
            Self.undoReadOnly(setup.dir, mechanism)
            setup.disarm()
            _ = try s.call("store/save")
            try create(s, "after")
            #expect(try s.closeInputAndWait() == 0)
        }
        try expectDurable(setup, ["before", "while-read-only", "after"])
    }

    @Test func journalDeletedUnderARunningServerIsWrittenAgain() throws {
        let setup = Setup()
        defer { setup.cleanup() }
        let journal = setup.dir + "/journal"
        do {
            let s = try setup.start()
            defer { s.stop() }
            try create(s, "before-1")
            try create(s, "before-2")
            #expect(unlink(journal) == 0)
            // The next write notices, puts the journal back from the open descriptor
            // (every acknowledged record) and goes on.
            try create(s, "after-delete")
            #expect(FileManager.default.fileExists(atPath: journal))
            try expectReadable(s, "before-1")
            // Renamed away instead of deleted: the same.
            #expect(rename(journal, setup.dir + "/journal.moved") == 0)
            try create(s, "after-rename")
            #expect(try s.closeInputAndWait() == 0)
        }
        try expectDurable(setup, ["before-1", "before-2", "after-delete", "after-rename"])
    }

    @Test func journalThatCannotBeWrittenAgainAnswers1006() throws {
        let setup = Setup()
        defer { setup.cleanup() }
        let journal = setup.dir + "/journal"
        let s = try setup.start(faults: "create")
        defer { s.stop() }
        try create(s, "before")
        // Deleted, and the directory refuses new files: the write fails with a 1006
        // that says what happened; reads go on.
        #expect(unlink(journal) == 0)
        setup.arm()
        let e = try createExpectingError(s, "during")
        expectStorageError(e, mentioning: ["deleted while contextd was running"])
        try expectReadable(s, "before")
        // Once files can be created again the journal is written back and writes resume.
        setup.disarm()
        try create(s, "after")
        #expect(try s.closeInputAndWait() == 0)
        try expectDurable(setup, ["before", "after"])
    }
}
