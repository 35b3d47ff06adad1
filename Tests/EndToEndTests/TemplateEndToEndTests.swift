import Foundation
import JSONRPC
import Testing

/// Every template/* method of PROTOCOL §8 through the real binary, path confinement
/// included.
@Suite struct TemplateEndToEndTests {
    func start(_ root: String) throws -> ServerProcess {
        try ServerProcess.start(arguments: ["--store", "memory", "--allow-path", root])
    }

    @Test func createGetUpdateRenderDelete() throws {
        let s = try ServerProcess.start()
        defer { s.stop() }
        let created = try s.call("template/create", [
            "name": "Greeting", "type": "prompt", "content": "Hello {{who}}{{#punct}}{{punct}}{{/punct}}",
            "description": "Says hello", "tags": ["demo", "demo", "hello"],
            "variables": [["name": "who", "required": true, "type": "string"], ["name": "spare"]],
        ])
        let t = try #require(created["template"])
        let id = try #require(t["id"]?.stringValue)
        #expect(t["version"] == "1.0.0")
        #expect(t["builtin"] == false)
        #expect(t["tags"] == ["demo", "hello"])
        #expect(t["variables"]?.arrayValue?.map { $0["name"] } == ["who", "spare", "punct"])
        #expect(created["warnings"] == [["kind": "unused", "variable": "spare"], ["kind": "undeclared", "variable": "punct"]])
        #expect(t["createdAt"]?.stringValue?.hasSuffix("Z") == true)

        #expect(try s.call("template/get", ["id": .string(id)]) == t)
        #expect(try s.call("template/get", ["name": "GREETING"]) == t)
        let missing = try s.callExpectingError("template/get", ["id": "nope"])
        #expect(missing.code == 1001)
        #expect(missing.data == ["kind": "template", "id": "nope"])

        #expect(try s.call("template/render", ["id": .string(id), "variables": ["who": "Ann", "punct": "!"]]) == ["text": "Hello Ann!"])
        #expect(try s.call("template/render", ["name": "greeting", "variables": ["who": "<b>"], "escape": "html"]) == ["text": "Hello &lt;b&gt;"])
        let mv = try s.callExpectingError("template/render", ["id": .string(id)])
        #expect(mv.code == 1004)
        #expect(mv.data == ["template": "Greeting", "missing": ["who"]])
        let strict = try s.callExpectingError("template/render", ["id": .string(id), "variables": ["who": "x"], "strict": true])
        #expect(strict.data?["missing"] == ["punct"])
        let typed = try s.callExpectingError("template/render", ["id": .string(id), "variables": ["who": 5]])
        #expect(typed.code == -32602)
        #expect(typed.data?["field"] == "variables.who")
        #expect(try s.callExpectingError("template/render", ["id": .string(id), "escape": "xml"]).code == -32602)

        let updated = try s.call("template/update", ["id": .string(id), "content": "Bye {{who}}", "expectedVersion": "1.0.0"])
        #expect(updated["template"]?["version"] == "1.0.1")
        #expect(updated["warnings"] == [["kind": "unused", "variable": "spare"], ["kind": "unused", "variable": "punct"]])
        let stale = try s.callExpectingError("template/update", ["id": .string(id), "content": "x", "expectedVersion": "1.0.0"])
        #expect(stale.code == 1003)
        #expect(try s.call("template/render", ["id": .string(id), "variables": ["who": "Ann"]]) == ["text": "Bye Ann"])
        let bad = try s.callExpectingError("template/update", ["id": .string(id), "content": "{{#open}}"])
        #expect(bad.code == -32602)
        #expect(bad.data?["field"] == "content")

        #expect(try s.call("template/list", ["query": "SAYS"])["templates"]?.arrayValue?.map { $0["id"] } == [.string(id)])
        #expect(try s.call("template/list", ["tag": "hello"])["templates"]?.arrayValue?.count == 1)
        #expect(try s.call("template/delete", ["id": .string(id)]) == ["removed": [.string(id)]])
        #expect(try s.callExpectingError("template/delete", ["id": .string(id)]).code == 1001)
        #expect(try s.callExpectingError("template/create", ["name": "x", "type": "poem", "content": ""]).data?["field"] == "type")
        try s.closeInputAndWait()
    }

    @Test func builtinsListStatisticsAndReadOnly() throws {
        let s = try ServerProcess.start()
        defer { s.stop() }
        let list = try #require(try s.call("template/list")["templates"]?.arrayValue)
        #expect(list.count == 15)
        #expect(Set(list.compactMap { $0["name"]?.stringValue }) == [
            "Function", "Code Review", "Bug Fix", "Function Documentation", "Status Update Email", "Test Suite", "Model",
            "Repository", "Service", "HTTP Handler", "Feature Planning", "Implementation", "Testing", "Documentation", "Deployment",
        ])
        #expect(list.allSatisfy { $0["builtin"] == true })
        #expect(try s.call("template/list", ["type": "email"])["templates"]?.arrayValue?.map { $0["name"] } == ["Status Update Email"])
        let stats = try s.call("template/statistics")
        #expect(stats["total"] == 15)
        #expect(stats["byType"] == ["code": 6, "prompt": 2, "workflow": 5, "documentation": 1, "email": 1, "custom": 0])
        #expect(stats["tagCloud"]?["code"] == 9)
        let ro = try s.callExpectingError("template/delete", ["id": "builtin-function"])
        #expect(ro.code == 1003)
        #expect(try s.callExpectingError("template/update", ["id": "builtin-model", "content": "x"]).code == 1003)
        let text = try s.call("template/render", ["name": "Function", "variables": [
            "language": "Go", "functionName": "Sum", "purpose": "adds numbers",
        ]])["text"]?.stringValue
        #expect(text?.hasPrefix("Write a Go function named `Sum`.") == true)
        try s.closeInputAndWait()
    }

    @Test func extractVariables() throws {
        let s = try ServerProcess.start()
        defer { s.stop() }
        #expect(try s.call("template/extractVariables", ["content": "{{b}}{{#a.x}}{{c}}{{/a.x}}{{^d}}{{/d}}{{>p}}{{b}}"]) == ["variables": ["b", "a.x", "c", "d"]])
        #expect(try s.callExpectingError("template/extractVariables", ["content": "{{#a}}"]).code == -32602)
        try s.closeInputAndWait()
    }

    @Test func partialsDepthAndEvents() throws {
        let s = try ServerProcess.start()
        defer { s.stop() }
        _ = try s.call("events/subscribe", ["topics": ["template"]])
        _ = try s.call("template/create", ["name": "a", "type": "custom", "content": "{{>b}}"])
        let ev = try s.nextNotification(method: "template/didChange")
        #expect(ev["event"] == "created")
        #expect(ev["template"]?["name"] == "a")
        _ = try s.call("template/create", ["name": "b", "type": "custom", "content": "{{>a}}"])
        let e = try s.callExpectingError("template/render", ["name": "a"])
        #expect(e.code == 1008)
        #expect(e.data == ["limit": "partialDepth", "max": 16, "value": 17])
        _ = try s.call("template/create", ["name": "c", "type": "custom", "content": "[{{>missing}}]"])
        #expect(try s.call("template/render", ["name": "c"]) == ["text": "[]"])
        #expect(try s.callExpectingError("template/render", ["name": "c", "strict": true]).code == 1001)
        try s.closeInputAndWait()
    }

    @Test func exportAndImportWithConflictPolicies() throws {
        let s = try ServerProcess.start()
        defer { s.stop() }
        let t = try s.call("template/create", ["name": "Exp", "type": "code", "content": "{{x}}", "metadata": ["k": [1, 2]]])["template"]!
        let snap = try s.call("template/export", ["id": t["id"]!])
        #expect(snap["schemaVersion"] == 1)
        #expect(snap["template"] == t)
        #expect(try s.callExpectingError("template/import", ["snapshot": snap]).code == 1003)
        let replaced = try s.call("template/import", ["snapshot": snap, "onConflict": "replace"])
        #expect(replaced["id"] == t["id"])
        let copy = try s.call("template/import", ["snapshot": snap, "onConflict": "newId"])
        #expect(copy["id"] != t["id"])
        #expect(copy["name"] == "Exp (2)")
        #expect(copy["metadata"] == ["k": [1, 2]])
        #expect(try s.callExpectingError("template/import", ["snapshot": ["schemaVersion": 9, "template": snap["template"]!]]).code == -32602)
        #expect(try s.callExpectingError("template/import", ["snapshot": snap, "onConflict": "merge"]).code == -32602)
        try s.closeInputAndWait()
    }

    @Test func saveLoadAndLoadDirectory() throws {
        let root = ServerProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let s = try start(root)
        defer { s.stop() }
        let t = try s.call("template/create", ["name": "Saved", "type": "prompt", "content": "Hi {{n}}"])["template"]!
        let path = root + "/saved.json"
        let saved = try s.call("template/saveToFile", ["id": t["id"]!, "path": .string(path)])
        #expect(saved["bytes"]?.intValue ?? 0 > 0)
        let attrs = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attrs[.posixPermissions] as? Int) == 0o600)
        #expect(try FileManager.default.contentsOfDirectory(atPath: root) == ["saved.json"])  // no temp files left
        let onDisk = try JSONParser.parse(Array(try Data(contentsOf: URL(fileURLWithPath: path))))
        #expect(onDisk["schemaVersion"] == 1)
        #expect(onDisk["template"]?["name"] == "Saved")

        // Loading the same template again conflicts; a fresh copy loads.
        #expect(try s.callExpectingError("template/loadFromFile", ["path": .string(path)]).code == 1003)
        _ = try s.call("template/delete", ["id": t["id"]!])
        let loaded = try s.call("template/loadFromFile", ["path": .string(path)])
        #expect(loaded["id"] == t["id"])
        #expect(try s.call("template/render", ["name": "saved", "variables": ["n": "Bo"]]) == ["text": "Hi Bo"])
        #expect(try s.call("template/saveToFile", ["id": "builtin-model", "path": .string(root + "/model.json")])["bytes"] != nil)

        // A directory with good, bad and irrelevant files.
        let dir = root + "/lib"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Data(#"{"schemaVersion":1,"template":{"name":"One","type":"custom","content":"1 {{a}}"}}"#.utf8).write(to: URL(fileURLWithPath: dir + "/a.json"))
        try Data(#"{"name":"Two","type":"email","content":"2"}"#.utf8).write(to: URL(fileURLWithPath: dir + "/b.json"))
        try Data("{ not json".utf8).write(to: URL(fileURLWithPath: dir + "/c.json"))
        try Data(#"{"schemaVersion":1,"template":{"name":"Bad","type":"custom","content":"{{#x}}"}}"#.utf8).write(to: URL(fileURLWithPath: dir + "/d.json"))
        try Data("ignored".utf8).write(to: URL(fileURLWithPath: dir + "/notes.txt"))
        try FileManager.default.createDirectory(atPath: dir + "/sub.json", withIntermediateDirectories: true)
        try Data(#"{"name":"Deep","type":"custom","content":""}"#.utf8).write(to: URL(fileURLWithPath: dir + "/sub.json/e.json"))

        _ = try s.call("events/subscribe", ["topics": ["template"]])
        let result = try s.call("template/loadDirectory", ["path": .string(dir), "workDoneToken": "load-1"])
        #expect(result["loaded"]?.arrayValue?.map { $0["name"] } == ["One", "Two"])
        let failed = try #require(result["failed"]?.arrayValue)
        #expect(failed.count == 2)
        #expect(failed[0]["path"]?.stringValue?.hasSuffix("/c.json") == true)
        #expect(failed[1]["path"]?.stringValue?.hasSuffix("/d.json") == true)
        #expect(failed.allSatisfy { $0["error"]?.stringValue?.isEmpty == false })
        #expect(failed[1]["code"] == -32602)
        let begin = try s.nextNotification(method: "$/progress")
        #expect(begin["token"] == "load-1")
        #expect(begin["value"]?["kind"] == "begin")
        var kinds: [String] = []
        while kinds.last != "end" { kinds.append(try s.nextNotification(method: "$/progress")["value"]?["kind"]?.stringValue ?? "") }
        #expect(kinds == ["report", "report", "report", "report", "end"])
        #expect(try s.nextNotification(method: "template/didChange")["event"] == "imported")
        #expect(try s.call("template/get", ["name": "two"])["type"] == "email")
        try s.closeInputAndWait()
    }

    @Test func pathsOutsideTheRootsAreRefused() throws {
        let base = ServerProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: base) }
        let root = base + "/root"
        let outside = base + "/outside"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        try Data(#"{"name":"Secret","type":"custom","content":"s"}"#.utf8).write(to: URL(fileURLWithPath: outside + "/secret.json"))
        try FileManager.default.createSymbolicLink(atPath: root + "/escape", withDestinationPath: outside)
        try FileManager.default.createSymbolicLink(atPath: root + "/link.json", withDestinationPath: outside + "/secret.json")
        try FileManager.default.createDirectory(atPath: root + "/dir", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: root + "/dir/evil.json", withDestinationPath: outside + "/secret.json")
        try Data(#"{"name":"Fine","type":"custom","content":"f"}"#.utf8).write(to: URL(fileURLWithPath: root + "/dir/fine.json"))

        let s = try start(root)
        defer { s.stop() }
        func refused(_ method: String, _ params: JSONValue) throws {
            let e = try s.callExpectingError(method, params)
            #expect(e.code == 1007, "\(method) \(params): \(e)")
            #expect(e.data?["allowedRoots"] == [.string(root)])
            #expect(e.data?["path"] == params["path"])
        }
        let escapes: [String] = [
            root + "/../outside/secret.json", root + "/escape/secret.json", root + "/link.json", outside + "/secret.json", "/etc/passwd",
        ]
        for p in escapes { try refused("template/loadFromFile", ["path": .string(p)]) }
        try refused("template/loadDirectory", ["path": .string(root + "/escape")])
        try refused("template/loadDirectory", ["path": .string(root + "/..")])
        try refused("template/saveToFile", ["id": "builtin-model", "path": .string(root + "/../outside/x.json")])
        try refused("template/saveToFile", ["id": "builtin-model", "path": .string(root + "/escape/x.json")])
        try refused("template/saveToFile", ["id": "builtin-model", "path": .string(root + "/link.json")])
        try refused("template/saveToFile", ["id": "builtin-model", "path": .string(root + "/a\u{0}.json")])
        try refused("template/saveToFile", ["id": "builtin-model", "path": "relative.json"])  // no workspace root
        #expect(!FileManager.default.fileExists(atPath: outside + "/x.json"))
        #expect(try String(contentsOfFile: outside + "/secret.json", encoding: .utf8).contains("Secret"))

        // A directory load skips and reports the escaping symlink, loads the rest.
        let r = try s.call("template/loadDirectory", ["path": .string(root + "/dir")])
        #expect(r["loaded"]?.arrayValue?.map { $0["name"] } == ["Fine"])
        #expect(r["failed"]?.arrayValue?.first?["code"] == 1007)
        #expect(try s.callExpectingError("template/get", ["name": "Secret"]).code == 1001)
        try s.closeInputAndWait()
    }

    @Test func workspaceRootFromInitializeIsAnAllowedRoot() throws {
        let root = ServerProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let s = try ServerProcess.start()
        defer { s.stop() }
        _ = try s.call("initialize", ["rootUri": .string("file://" + root), "capabilities": [:]])
        let saved = try s.call("template/saveToFile", ["id": "builtin-testing", "path": "testing.json"])
        #expect(saved["path"]?.stringValue?.hasSuffix("/testing.json") == true)
        #expect(FileManager.default.fileExists(atPath: root + "/testing.json"))
        #expect(try s.call("template/loadFromFile", ["path": "testing.json", "onConflict": "newId"])["name"] == "Testing (2)")
        try s.closeInputAndWait()
    }

    @Test func userTemplatesPersistAcrossRestarts() throws {
        let dataDir = ServerProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dataDir) }
        let s = try ServerProcess.start(arguments: ["--data-dir", dataDir])
        let t = try s.call("template/create", ["name": "Durable", "type": "custom", "content": "{{x}}"])["template"]!
        try s.closeInputAndWait()
        s.stop()
        let s2 = try ServerProcess.start(arguments: ["--data-dir", dataDir])
        defer { s2.stop() }
        #expect(try s2.call("template/get", ["name": "durable"]) == t)
        #expect(try s2.call("template/statistics")["total"] == 16)
        try s2.closeInputAndWait()
    }
}
