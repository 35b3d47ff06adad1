import Foundation
import JSONRPC
import Testing

/// Every method of PROTOCOL §4 through the built binary, with error codes, `data` and
/// the `session/didChange` events a subscribed client receives.
@Suite("Sessions end to end (PROTOCOL §4)")
struct SessionEndToEndTests {
    /// The `{event, session.id}` of the next `session/didChange`.
    func nextEvent(_ s: ServerProcess) throws -> (String, String) {
        let p = try s.nextNotification(method: "session/didChange")
        return (p["event"]?.stringValue ?? "?", p["session"]?["id"]?.stringValue ?? "?")
    }

    func expectError(
        _ s: ServerProcess, _ method: String, _ params: JSONValue, code: Int, data: JSONValue? = nil,
        field: String? = nil, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let e = try s.callExpectingError(method, params)
        #expect(e.code == code, "\(method): \(e)", sourceLocation: sourceLocation)
        if let data { #expect(e.data == data, "\(method): \(e)", sourceLocation: sourceLocation) }
        if let field { #expect(e.data?["field"]?.stringValue == field, "\(method): \(e)", sourceLocation: sourceLocation) }
    }

    @Test func createGetUpdateDeleteWithEvents() throws {
        let s = try ServerProcess.start()
        defer { _ = try? s.closeInputAndWait() }
        #expect(try s.call("events/subscribe", ["topics": ["session"]]) == ["topics": ["session"]])

        let created = try s.call(
            "session/create",
            ["name": "Auth refactor", "mode": "refactoring", "projectId": "web", "tags": ["a", "b", "a"], "metadata": ["k": 1],
             "context": ["file": "auth.swift"]])
        let id = try #require(created["id"]?.stringValue)
        #expect(created["status"] == "idle")
        #expect(created["tags"] == ["a", "b"])
        #expect(created["activeMs"] == 0)
        #expect(created["startedAt"] == nil && created["endedAt"] == nil && created["phase"] == nil)
        #expect(created["createdAt"]?.stringValue?.hasSuffix("Z") == true)
        #expect(created["createdAt"]?.stringValue?.count == 24)  // YYYY-MM-DDTHH:MM:SS.mmmZ
        let ev = try s.nextNotification(method: "session/didChange")
        #expect(ev["event"] == "created" && ev["session"] == created)

        #expect(try s.call("session/get", ["id": .string(id)]) == created)
        let updated = try s.call("session/update", ["id": .string(id), "name": "Auth rewrite", "mode": "building"])
        #expect(updated["name"] == "Auth rewrite" && updated["mode"] == "building" && updated["projectId"] == "web")
        #expect(try nextEvent(s) == ("updated", id))

        #expect(try s.call("session/delete", ["id": .string(id)]) == ["removed": [.string(id)]])
        #expect(try nextEvent(s) == ("deleted", id))
        try expectError(s, "session/get", ["id": .string(id)], code: 1001, data: ["kind": "session", "id": .string(id)])
        try expectError(s, "session/delete", ["id": .string(id)], code: 1001, data: ["kind": "session", "id": .string(id)])
    }

    @Test func createValidation() throws {
        let s = try ServerProcess.start()
        defer { _ = try? s.closeInputAndWait() }
        try s.call("session/create", ["name": "x", "mode": "testing", "id": "fixed.id-1"])
        try expectError(
            s, "session/create", ["name": "y", "mode": "testing", "id": "fixed.id-1"], code: 1003,
            data: ["kind": "session", "id": "fixed.id-1", "reason": "a session with this id already exists"])
        try expectError(s, "session/create", ["name": "y", "mode": "testing", "id": "bad id"], code: -32602, field: "id")
        try expectError(s, "session/create", ["name": "y", "mode": "nope"], code: -32602, field: "mode")
        try expectError(s, "session/create", ["mode": "testing"], code: -32602, field: "name")
        try expectError(s, "session/create", ["name": "", "mode": "testing"], code: -32602, field: "name")
        try expectError(s, "session/create", ["name": "y", "mode": "testing", "tags": "t"], code: -32602, field: "tags")
        try expectError(s, "session/get", ["id": 5], code: -32602, field: "id")
        try expectError(s, "session/get", [:], code: -32602, field: "id")
    }

    @Test func lifecycleTransitionsAndErrors() throws {
        let s = try ServerProcess.start()
        defer { _ = try? s.closeInputAndWait() }
        try s.call("events/subscribe", ["topics": ["session"]])
        try s.call("session/create", ["name": "x", "mode": "building", "id": "a"])
        #expect(try nextEvent(s) == ("created", "a"))

        let started = try s.call("session/start", ["id": "a"])
        #expect(started["status"] == "active" && started["startedAt"] != nil)
        #expect(try nextEvent(s) == ("started", "a"))  // one event per action: not also `updated`
        try expectError(
            s, "session/start", ["id": "a"], code: 1002,
            data: ["id": "a", "from": "active", "action": "start", "allowed": ["pause", "complete", "fail", "rollback"]])
        try expectError(
            s, "session/resume", ["id": "a"], code: 1002,
            data: ["id": "a", "from": "active", "action": "resume", "allowed": ["pause", "complete", "fail", "rollback"]])

        usleep(30_000)
        let paused = try s.call("session/pause", ["id": "a"])
        #expect(paused["status"] == "paused" && paused["lastPausedAt"] != nil)
        let activeAtPause = try #require(paused["activeMs"]?.intValue)
        #expect(activeAtPause >= 25)
        #expect(try nextEvent(s) == ("paused", "a"))
        usleep(60_000)
        #expect(try s.call("session/get", ["id": "a"])["activeMs"]?.intValue == activeAtPause)  // paused time never counts

        #expect(try s.call("session/resume", ["id": "a"])["status"] == "active")
        #expect(try nextEvent(s) == ("resumed", "a"))
        let done = try s.call("session/complete", ["id": "a"])
        #expect(done["status"] == "completed" && done["endedAt"] != nil)
        #expect(try nextEvent(s) == ("completed", "a"))
        for action in ["start", "pause", "resume", "complete"] {
            try expectError(s, "session/\(action)", ["id": "a"], code: 1002, data: ["id": "a", "from": "completed", "action": .string(action), "allowed": []])
        }
        try expectError(s, "session/fail", ["id": "a", "reason": "r"], code: 1002, data: ["id": "a", "from": "completed", "action": "fail", "allowed": []])

        try s.call("session/create", ["name": "y", "mode": "building", "id": "b"])
        try expectError(s, "session/fail", ["id": "b"], code: -32602, field: "reason")
        try expectError(s, "session/fail", ["id": "b", "reason": ""], code: -32602, field: "reason")
        let failed = try s.call("session/fail", ["id": "b", "reason": "out of budget"])
        #expect(failed["status"] == "failed" && failed["failureReason"] == "out of budget")
        try expectError(s, "session/pause", ["id": "b"], code: 1002, data: ["id": "b", "from": "failed", "action": "pause", "allowed": ["rollback"]])
        try expectError(s, "session/pause", ["id": "nope"], code: 1001, data: ["kind": "session", "id": "nope"])
    }

    @Test func exclusiveStartPausesTheProjectsActiveSessions() throws {
        let s = try ServerProcess.start()
        defer { _ = try? s.closeInputAndWait() }
        for id in ["p1", "p2", "q1"] {
            try s.call("session/create", ["name": .string(id), "mode": "building", "id": .string(id), "projectId": .string(String(id.prefix(1)))])
        }
        try s.call("session/start", ["id": "p1"])
        try s.call("session/start", ["id": "q1"])
        try s.call("events/subscribe", ["topics": ["session"]])
        #expect(try s.call("session/start", ["id": "p2", "exclusive": true])["status"] == "active")
        #expect(try nextEvent(s) == ("paused", "p1"))
        #expect(try nextEvent(s) == ("started", "p2"))
        #expect(try s.call("session/get", ["id": "p1"])["status"] == "paused")
        #expect(try s.call("session/get", ["id": "q1"])["status"] == "active")
    }

    @Test func tagsMetadataAndContext() throws {
        let s = try ServerProcess.start()
        defer { _ = try? s.closeInputAndWait() }
        try s.call("session/create", ["name": "x", "mode": "debugging", "id": "a"])
        try s.call("session/addTag", ["id": "a", "tag": "z"])
        try s.call("session/addTag", ["id": "a", "tag": "y"])
        #expect(try s.call("session/addTag", ["id": "a", "tag": "z"])["tags"] == ["z", "y"])
        #expect(try s.call("session/removeTag", ["id": "a", "tag": "z"])["tags"] == ["y"])
        try expectError(s, "session/addTag", ["id": "a"], code: -32602, field: "tag")

        #expect(try s.call("session/setMetadata", ["id": "a", "key": "owner", "value": ["name": "kim"]])["metadata"] == ["owner": ["name": "kim"]])
        #expect(try s.call("session/setMetadata", ["id": "a", "key": "owner", "value": nil])["metadata"] == [:])
        try expectError(s, "session/setMetadata", ["id": "a", "key": "k"], code: -32602, field: "value")

        try s.call("session/setContext", ["id": "a", "key": "file", "value": "main.swift"])
        try s.call("session/setContext", ["id": "a", "key": "line", "value": 42])
        #expect(try s.call("session/getContext", ["id": "a"]) == ["context": ["file": "main.swift", "line": 42]])
        #expect(try s.call("session/getContext", ["id": "a", "key": "line"]) == ["key": "line", "value": 42])
        try s.call("session/setContext", ["id": "a", "key": "line", "value": nil])
        #expect(try s.call("session/getContext", ["id": "a", "key": "line"]) == ["key": "line"])
        try expectError(s, "session/getContext", ["id": "zz"], code: 1001, data: ["kind": "session", "id": "zz"])
    }

    @Test func listRecentCountStatisticsAndTrim() throws {
        let s = try ServerProcess.start()
        defer { _ = try? s.closeInputAndWait() }
        let specs: [(String, String, String?)] = [
            ("Login bug", "debugging", "web"), ("login page", "building", "web"), ("API", "building", "api"),
            ("Deploy", "deployment", nil), ("Tests", "testing", "web"),
        ]
        for (i, (name, mode, project)) in specs.enumerated() {
            var p: JSONObject = ["name": .string(name), "mode": .string(mode), "id": .string("s\(i)")]
            if let project { p["projectId"] = .string(project) }
            try s.call("session/create", .object(p))
            usleep(3_000)  // distinct creation times
        }
        try s.call("session/addTag", ["id": "s1", "tag": "ui"])
        try s.call("session/start", ["id": "s2"])
        try s.call("session/start", ["id": "s3"])
        try s.call("session/complete", ["id": "s3"])
        try s.call("session/fail", ["id": "s4", "reason": "flaky"])

        let all = try s.call("session/list")
        #expect(all["sessions"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == ["s4", "s3", "s2", "s1", "s0"])
        #expect(all["nextCursor"] == nil)
        func ids(_ p: JSONValue) throws -> [String] {
            try s.call("session/list", p)["sessions"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
        }
        #expect(try ids(["nameContains": "LOGIN"]) == ["s1", "s0"])
        #expect(try ids(["projectId": "web", "mode": "building"]) == ["s1"])
        #expect(try ids(["status": "active"]) == ["s2"])
        #expect(try ids(["tag": "ui"]) == ["s1"])
        try expectError(s, "session/list", ["status": "running"], code: -32602, field: "status")
        try expectError(s, "session/list", ["limit": 0], code: -32602, field: "limit")
        try expectError(s, "session/list", ["cursor": "junk"], code: -32602, field: "cursor")

        // Paging with an opaque cursor.
        var seen: [String] = []
        var cursor: JSONValue?
        repeat {
            var p: JSONObject = ["limit": 2]
            if let cursor { p["cursor"] = cursor }
            let page = try s.call("session/list", .object(p))
            seen += page["sessions"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
            cursor = page["nextCursor"]
        } while cursor != nil
        #expect(seen == ["s4", "s3", "s2", "s1", "s0"])

        let recent = try s.call("session/recent", ["limit": 2])
        #expect(recent["sessions"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == ["s4", "s3"])

        #expect(try s.call("session/count") == 5)
        #expect(try s.call("session/count", ["status": "active"]) == 1)
        try s.call("session/recordUsage", ["id": "s2", "inputTokens": 1000, "outputTokens": 200, "costUsd": 0.05])
        let stats = try s.call("session/statistics")
        #expect(stats["total"] == 5 && stats["active"] == 1)
        #expect(stats["byMode"] == ["planning": 0, "building": 2, "testing": 1, "refactoring": 0, "debugging": 1, "deployment": 1])
        #expect(stats["byStatus"] == ["idle": 2, "active": 1, "paused": 0, "completed": 1, "failed": 1])
        #expect(stats["usage"] == ["inputTokens": 1000, "outputTokens": 200, "costUsd": 0.05])

        try s.call("events/subscribe", ["topics": ["session"]])
        #expect(try s.call("session/trimHistory", ["keep": 1]) == ["removed": ["s3"]])  // s4 ended later
        #expect(try nextEvent(s) == ("deleted", "s3"))
        #expect(try s.call("session/trimHistory", ["keep": 0]) == ["removed": ["s4"]])
        #expect(try s.call("session/count") == 3)
        try expectError(s, "session/trimHistory", ["keep": -1], code: -32602, field: "keep")
        try expectError(s, "session/trimHistory", [:], code: -32602, field: "keep")
    }

    @Test func modesCarryRealGuidance() throws {
        let s = try ServerProcess.start()
        defer { _ = try? s.closeInputAndWait() }
        let modes = try #require(try s.call("session/modes")["modes"]?.arrayValue)
        #expect(modes.compactMap { $0["mode"]?.stringValue } == ["planning", "building", "testing", "refactoring", "debugging", "deployment"])
        for m in modes {
            #expect((m["description"]?.stringValue?.count ?? 0) > 20)
            #expect((m["guidance"]?.stringValue?.count ?? 0) > 400)
        }
    }

    @Test func productionTracking() throws {
        let s = try ServerProcess.start()
        defer { _ = try? s.closeInputAndWait() }
        try s.call("session/create", ["name": "episode 12", "mode": "building", "id": "v"])
        let p1 = try s.call("session/setPhase", ["id": "v", "phase": "research"])
        #expect(p1["phase"] == "research")
        #expect(p1["phaseHistory"]?.arrayValue?.count == 1)
        try s.call("session/recordUsage", ["id": "v", "model": "big", "inputTokens": 100, "outputTokens": 50, "costUsd": 0.1])
        try s.call("session/setPhase", ["id": "v", "phase": "audio"])
        try s.call("session/recordUsage", ["id": "v", "inputTokens": 10, "costUsd": 0.2])
        let u = try s.call("session/recordUsage", ["id": "v", "phase": "research", "outputTokens": 5])
        #expect(u["usage"]?["inputTokens"] == 110 && u["usage"]?["outputTokens"] == 55)
        #expect(u["usage"]?["costUsd"]?.doubleValue == 0.3)
        #expect(u["usage"]?["byPhase"] == ["research": ["inputTokens": 100, "outputTokens": 55, "costUsd": 0.1], "audio": ["inputTokens": 10, "outputTokens": 0, "costUsd": 0.2]])
        #expect(u["usage"]?["byModel"]?["big"]?["inputTokens"] == 100)
        try expectError(s, "session/recordUsage", ["id": "v", "inputTokens": -1], code: -32602, field: "inputTokens")
        try expectError(s, "session/recordUsage", ["id": "v", "inputTokens": "many"], code: -32602, field: "inputTokens")

        let q = try s.call("session/recordQuality", ["id": "v", "score": 87.5, "notes": "clear voice"])
        let entry = try #require(q["quality"]?.arrayValue?.first)
        #expect(entry["phase"] == "audio" && entry["score"]?.doubleValue == 87.5 && entry["notes"] == "clear voice" && entry["at"] != nil)
        try expectError(s, "session/recordQuality", ["id": "v", "score": 101], code: -32602, field: "score")
        try expectError(s, "session/recordQuality", ["id": "v"], code: -32602, field: "score")
        try expectError(s, "session/setPhase", ["id": "v", "phase": ""], code: -32602, field: "phase")
    }

    @Test func checkpointsAndRollbackOfAFailedRun() throws {
        let s = try ServerProcess.start()
        defer { _ = try? s.closeInputAndWait() }
        try s.call("session/create", ["name": "pipeline", "mode": "building", "id": "p", "tags": ["v1"]])
        try s.call("session/start", ["id": "p"])
        try s.call("session/setPhase", ["id": "p", "phase": "scripting"])
        try s.call("session/setContext", ["id": "p", "key": "draft", "value": 1])
        let cp = try s.call("session/checkpoint", ["id": "p", "label": "script ready"])
        #expect(cp.objectValue?.keys.sorted() == ["createdAt", "id", "label", "phase", "sessionId"])
        #expect(cp["label"] == "script ready" && cp["phase"] == "scripting" && cp["sessionId"] == "p")
        let auto = try s.call("session/checkpoint", ["id": "p"])
        #expect(auto["label"] == "checkpoint 2")
        let list = try s.call("session/checkpoints", ["id": "p"])
        #expect(list["checkpoints"]?.arrayValue?.count == 2)
        #expect(list["checkpoints"]?.arrayValue?.allSatisfy { $0["state"] == nil } == true)

        try s.call("session/setPhase", ["id": "p", "phase": "audio"])
        try s.call("session/setContext", ["id": "p", "key": "draft", "value": 2])
        try s.call("session/addTag", ["id": "p", "tag": "broken"])
        try s.call("session/fail", ["id": "p", "reason": "tts outage"])
        try s.call("events/subscribe", ["topics": ["session"]])

        let back = try s.call("session/rollback", ["id": "p", "checkpointId": cp["id"]!])
        #expect(back["status"] == "paused" && back["phase"] == "scripting" && back["tags"] == ["v1"])
        #expect(back["context"] == ["draft": 1])
        #expect(back["endedAt"] == nil && back["failureReason"] == nil)
        #expect(try nextEvent(s) == ("rolledBack", "p"))
        #expect(try s.call("session/resume", ["id": "p"])["status"] == "active")

        try expectError(s, "session/rollback", ["id": "p", "checkpointId": "nope"], code: 1001, data: ["kind": "checkpoint", "id": "nope"])
        try expectError(s, "session/rollback", ["id": "p"], code: -32602, field: "checkpointId")
        try s.call("session/complete", ["id": "p"])
        try expectError(
            s, "session/rollback", ["id": "p", "checkpointId": cp["id"]!], code: 1002,
            data: ["id": "p", "from": "completed", "action": "rollback", "allowed": []])
        try expectError(s, "session/checkpoints", ["id": "nope"], code: 1001, data: ["kind": "session", "id": "nope"])
    }

    @Test func exportImportRoundTrip() throws {
        let s = try ServerProcess.start()
        defer { _ = try? s.closeInputAndWait() }
        try s.call("session/create", ["name": "full", "mode": "planning", "id": "e", "projectId": "p", "tags": ["t"], "metadata": ["m": [1, 2]], "context": ["c": true]])
        try s.call("session/start", ["id": "e"])
        try s.call("session/setPhase", ["id": "e", "phase": "one"])
        try s.call("session/recordUsage", ["id": "e", "inputTokens": 3, "costUsd": 0.01])
        try s.call("session/recordQuality", ["id": "e", "score": 50])
        try s.call("session/checkpoint", ["id": "e", "label": "c1"])
        try s.call("session/pause", ["id": "e"])
        let snap = try s.call("session/export", ["id": "e", "includeConversations": true])
        #expect(snap["schemaVersion"] == 1 && snap["kind"] == "session")
        #expect(snap["conversations"] == [])
        #expect(snap["checkpoints"]?.arrayValue?.first?["state"] != nil)
        let original = try s.call("session/get", ["id": "e"])

        try expectError(
            s, "session/import", ["snapshot": snap], code: 1003,
            data: ["kind": "session", "id": "e", "reason": "a session with this id already exists"])
        let copy = try s.call("session/import", ["snapshot": snap, "onConflict": "newId"])
        #expect(copy["id"] != "e" && copy["name"] == "full")
        #expect(try s.call("session/checkpoints", ["id": copy["id"]!])["checkpoints"]?.arrayValue?.count == 1)
        try expectError(s, "session/import", ["snapshot": snap, "onConflict": "merge"], code: -32602, field: "onConflict")
        guard case .object(var bad) = snap else { return }
        bad["schemaVersion"] = 99
        try expectError(s, "session/import", ["snapshot": .object(bad)], code: -32602, field: "snapshot.schemaVersion")

        // Into a fresh server: every field comes back.
        let t = try ServerProcess.start()
        defer { _ = try? t.closeInputAndWait() }
        let imported = try t.call("session/import", ["snapshot": snap])
        #expect(imported == original)
        #expect(try t.call("session/export", ["id": "e", "includeConversations": true]).objectValue?.filter { $0.key != "exportedAt" }.count
            == snap.objectValue?.filter { $0.key != "exportedAt" }.count)
        var again = try t.call("session/export", ["id": "e", "includeConversations": true])
        again = .object(JSONObject((again.objectValue ?? [:]).map { ($0.key, $0.key == "exportedAt" ? snap["exportedAt"]! : $0.value) }))
        #expect(again == snap)
        try t.call("session/update", ["id": "e", "name": "changed"])
        #expect(try t.call("session/import", ["snapshot": snap, "onConflict": "replace"])["name"] == "full")
    }

    /// Checkpoints, rollback, delete and export/import with the session's conversations.
    @Test func conversationsFollowTheirSession() throws {
        let s = try ServerProcess.start()
        defer { _ = try? s.closeInputAndWait() }
        try s.call("session/create", ["name": "run", "mode": "building", "id": "r"])
        try s.call("session/start", ["id": "r"])
        let conv = try s.call("memory/createConversation", ["title": "main", "sessionId": "r"])
        let cid = try #require(conv["id"])
        try s.call("memory/addMessage", ["conversationId": cid, "role": "user", "content": "write the script"])
        try s.call("memory/addMessage", ["conversationId": cid, "role": "assistant", "content": "here it is"])
        let cp = try s.call("session/checkpoint", ["id": "r", "label": "script"])
        try s.call("memory/addMessage", ["conversationId": cid, "role": "user", "content": "now the audio"])
        let late = try s.call("memory/createConversation", ["title": "later", "sessionId": "r"])
        try s.call("memory/addMessage", ["conversationId": late["id"]!, "role": "user", "content": "kept"])
        try s.call("session/fail", ["id": "r", "reason": "tts down"])

        func contents(_ c: JSONValue) throws -> [String] {
            try s.call("memory/getMessages", ["conversationId": c])["messages"]?.arrayValue?.compactMap { $0["content"]?.stringValue } ?? []
        }
        #expect(try contents(cid).count == 3)
        let back = try s.call("session/rollback", ["id": "r", "checkpointId": cp["id"]!])
        #expect(back["status"] == "paused")
        #expect(try contents(cid) == ["write the script", "here it is"])
        #expect(try contents(late["id"]!) == ["kept"])

        // Export with conversations, import into a fresh server: messages come along.
        let snap = try s.call("session/export", ["id": "r", "includeConversations": true])
        #expect(snap["conversations"]?.arrayValue?.count == 2)
        let t = try ServerProcess.start()
        defer { _ = try? t.closeInputAndWait() }
        try t.call("session/import", ["snapshot": snap])
        let listed = try t.call("memory/getMessages", ["conversationId": cid])["messages"]?.arrayValue?.compactMap { $0["content"]?.stringValue }
        #expect(listed == ["write the script", "here it is"])
        #expect(try t.call("memory/getConversation", ["id": cid])["sessionId"] == "r")

        // Delete without cascade: conversations stay, unlinked.
        #expect(try s.call("session/delete", ["id": "r"]) == ["removed": ["r"]])
        let kept = try s.call("memory/getConversation", ["id": cid])
        #expect(kept["sessionId"] == nil)
        // With cascade: they go too.
        #expect(try t.call("session/delete", ["id": "r", "cascade": true]) == ["removed": ["r"]])
        #expect(try t.callExpectingError("memory/getConversation", ["id": cid]).code == 1001)
    }
}
