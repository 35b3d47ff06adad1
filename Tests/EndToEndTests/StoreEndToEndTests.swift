import Foundation
import JSONRPC
import Testing

/// PROTOCOL §9 and the Store decisions of §12, through the built binary over pipes.
@Suite("Persistence (PROTOCOL §9)")
struct StoreEndToEndTests {
    func start(_ dir: String, _ extra: [String] = []) throws -> ServerProcess {
        try ServerProcess.start(arguments: ["--data-dir", dir] + extra)
    }

    @Test func statusShapeAndPrivateDirectory() throws {
        let root = ServerProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let dir = root + "/data"
        let s = try start(dir)
        let st = try s.call("store/status")
        #expect(st["kind"] == "file")
        #expect(st["directory"]?.stringValue == dir)
        #expect(st["format"] == "json")
        #expect(st["durability"] == "fsync")
        #expect(st["autoSave"]?["enabled"] == true)
        #expect(st["journalBytes"]?.intValue == 16)
        #expect(st["files"]?.arrayValue?.contains { $0["name"] == "journal" } == true)
        #expect(st["lastSaveAt"] == nil)
        let saved = try s.call("store/save", ["components": ["sessions", "settings"]])
        #expect(saved["components"] == ["sessions", "settings"])
        #expect(try s.call("store/status")["lastSaveAt"]?.stringValue != nil)
        #expect(try s.closeInputAndWait() == 0)
        let attrs = try FileManager.default.attributesOfItem(atPath: dir)
        #expect((attrs[.posixPermissions] as? Int) == 0o700)
        for f in ["journal", "sessions.json", "settings.json", "contextd.lock"] {
            let a = try FileManager.default.attributesOfItem(atPath: dir + "/" + f)
            #expect((a[.posixPermissions] as? Int) == 0o600, "\(f)")
        }
    }

    @Test func memoryStoreReportsItselfAndRefusesSnapshots() throws {
        let s = try ServerProcess.start()
        let st = try s.call("store/status")
        #expect(st["kind"] == "memory")
        let e = try s.callExpectingError("store/save")
        #expect(e.code == 1006)
        #expect(try s.closeInputAndWait() == 0)
    }

    @Test func formatSettingPersistsAcrossRestarts() throws {
        let dir = ServerProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do {
            let s = try start(dir)
            #expect(try s.call("store/setFormat", ["format": "jsonGzip"]) == ["format": "jsonGzip"])
            let bad = try s.callExpectingError("store/setFormat", ["format": "yaml"])
            #expect(bad.code == -32602)
            #expect(bad.data?["field"] == "format")
            #expect(try s.call("store/enableAutoSave", ["intervalSeconds": 42]) == ["enabled": true, "intervalSeconds": 42])
            try s.closeInputAndWait()
        }
        let s = try start(dir)
        let st = try s.call("store/status")
        #expect(st["format"] == "jsonGzip")
        #expect(st["autoSave"] == ["enabled": true, "intervalSeconds": 42])
        _ = try s.call("store/save")
        let det = try s.call("store/detectFormat", ["path": .string(dir + "/settings.json.gz")])
        #expect(det["format"] == "jsonGzip")
        #expect(det["component"] == "settings")
        let outside = try s.callExpectingError("store/detectFormat", ["path": "/etc/hostname"])
        #expect(outside.code == 1007)
        #expect(try s.call("store/disableAutoSave")["enabled"] == false)
        try s.closeInputAndWait()
    }

    @Test func backupRestoreWithProgressAndTamperRefusal() throws {
        let dir = ServerProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let s = try start(dir)
        _ = try s.call("store/setFormat", ["format": "compactJson"])
        let backup = try s.call("store/backup", ["workDoneToken": "b1"])
        let path = try #require(backup["path"]?.stringValue)
        #expect(path.hasPrefix(dir + "/backups/backup-"))
        #expect(backup["files"]?.intValue ?? 0 >= 6)
        #expect(try s.nextNotification(method: "$/progress")["value"]?["kind"] == "begin")
        let listed = try s.call("store/listBackups")["backups"]?.arrayValue ?? []
        #expect(listed.map { $0["path"] } == [.string(path)])
        // Change the state, then restore.
        _ = try s.call("store/setFormat", ["format": "jsonGzip"])
        Thread.sleep(forTimeInterval: 1.1)
        let restored = try s.call("store/restore", ["path": .string(path), "workDoneToken": "r1"])
        #expect(restored["restored"]?.stringValue == path)
        #expect(restored["previous"]?.stringValue?.hasPrefix(dir + "/backups/backup-") == true)
        #expect(try s.call("store/status")["format"] == "compactJson")
        // Tamper with the backup: refused with 1006, the live state stays.
        let file = path + "/settings.json"
        var text = try String(contentsOfFile: file, encoding: .utf8)
        text = text.replacingOccurrences(of: "compactJson", with: "jsonGzip000")
        try text.write(toFile: file, atomically: false, encoding: .utf8)
        let e = try s.callExpectingError("store/restore", ["path": .string(path)])
        #expect(e.code == 1006)
        #expect(e.message.contains("checksum"))
        #expect(try s.call("store/status")["format"] == "compactJson")
        try s.closeInputAndWait()
    }

    @Test func aSecondServerOnTheSameDirectoryIsRefusedNamingThePid() throws {
        let dir = ServerProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let first = try start(dir)
        _ = try first.call("ping")
        let second = try start(dir)
        let code = try second.waitForExit()
        #expect(code != 0)
        #expect(second.stderrText.contains("lock"))
        #expect(second.stderrText.contains("pid \(first.process.processIdentifier)"), "\(second.stderrText)")
        try first.closeInputAndWait()
    }

    @Test func aCorruptFileStopsStartUpUntilRepaired() throws {
        let dir = ServerProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do {
            let s = try start(dir)
            _ = try s.call("store/save")
            try s.closeInputAndWait()
        }
        try "{}".write(toFile: dir + "/groups.json", atomically: false, encoding: .utf8)
        let refused = try start(dir)
        #expect(try refused.waitForExit() != 0)
        #expect(refused.stderrText.contains(dir + "/groups.json"))
        #expect(refused.stderrText.contains("doctor --repair"))
        #expect(try String(contentsOfFile: dir + "/groups.json", encoding: .utf8) == "{}")
        let repaired = try start(dir, ["--repair"])
        #expect(try repaired.call("ping") == [:])
        try repaired.closeInputAndWait()
        let q = try FileManager.default.contentsOfDirectory(atPath: dir + "/quarantine")
        #expect(q.count == 1 && q[0].hasPrefix("groups.json."))
    }
}
