import Foundation
import JSONRPC
import Testing

/// Every method of PROTOCOL §5 through the built binary, with error codes, `data` and
/// the `group/didChange` events a subscribed client receives.
@Suite("Groups end to end (PROTOCOL §5)")
struct GroupEndToEndTests {
    func nextEvent(_ s: ServerProcess) throws -> (String, String) {
        let p = try s.nextNotification(method: "group/didChange")
        return (p["event"]?.stringValue ?? "?", p["group"]?["id"]?.stringValue ?? "?")
    }

    @Test func groupsFromCreateToDelete() throws {
        let s = try ServerProcess.start()
        defer { _ = try? s.closeInputAndWait() }
        try s.call("events/subscribe", ["topics": ["group"]])
        try s.call("session/create", ["name": "a", "mode": "building", "id": "a"])
        try s.call("session/create", ["name": "b", "mode": "testing", "id": "b"])

        let g = try s.call("group/create", ["name": "Release 2", "description": "spring", "tags": ["rel"], "metadata": ["owner": "kim", "x": 1]])
        let id = try #require(g["id"]?.stringValue)
        #expect(g["status"] == "active" && g["sessionIds"] == [] && g["tags"] == ["rel"] && g["description"] == "spring")
        #expect(try nextEvent(s) == ("created", id))
        #expect(try s.call("group/get", ["id": .string(id)]) == g)

        try s.call("group/addSession", ["groupId": .string(id), "sessionId": "b"])
        #expect(try nextEvent(s) == ("sessionAdded", id))
        #expect(try s.call("group/addSession", ["groupId": .string(id), "sessionId": "a"])["sessionIds"] == ["b", "a"])
        let members = try s.call("group/sessions", ["groupId": .string(id)])
        #expect(members["sessions"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == ["b", "a"])
        #expect(try s.call("group/removeSession", ["groupId": .string(id), "sessionId": "b"])["sessionIds"] == ["a"])

        let e1 = try s.callExpectingError("group/addSession", ["groupId": .string(id), "sessionId": "zz"])
        #expect(e1.code == 1001 && e1.data == ["kind": "session", "id": "zz"])
        let e2 = try s.callExpectingError("group/addSession", ["groupId": "nope", "sessionId": "a"])
        #expect(e2.code == 1001 && e2.data == ["kind": "group", "id": "nope"])
        let e3 = try s.callExpectingError("group/addSession", ["groupId": .string(id)])
        #expect(e3.code == -32602 && e3.data?["field"] == "sessionId")

        let m = try s.call("group/updateMetadata", ["id": .string(id), "metadata": ["x": nil, "y": [true]]])
        #expect(m["metadata"] == ["owner": "kim", "y": [true]])

        // Transitions: active ⇄ closed, closed → archived.
        #expect(try s.call("group/setStatus", ["id": .string(id), "status": "closed"])["status"] == "closed")
        let closed = try s.callExpectingError("group/addSession", ["groupId": .string(id), "sessionId": "b"])
        #expect(closed.code == 1005 && closed.data == ["groupId": .string(id), "status": "closed"])
        let closedRemove = try s.callExpectingError("group/removeSession", ["groupId": .string(id), "sessionId": "a"])
        #expect(closedRemove.code == 1005)
        #expect(try s.call("group/setStatus", ["id": .string(id), "status": "active"])["status"] == "active")
        try s.call("group/setStatus", ["id": .string(id), "status": "closed"])
        #expect(try s.call("group/setStatus", ["id": .string(id), "status": "archived"])["status"] == "archived")
        let illegal = try s.callExpectingError("group/setStatus", ["id": .string(id), "status": "active"])
        #expect(illegal.code == 1002 && illegal.data == ["id": .string(id), "from": "archived", "action": "active", "allowed": []])
        let badStatus = try s.callExpectingError("group/setStatus", ["id": .string(id), "status": "open"])
        #expect(badStatus.code == -32602 && badStatus.data?["field"] == "status")

        // Skip the events of the steps above, in order.
        var events: [String] = []
        for _ in 0..<7 { events.append(try nextEvent(s).0) }
        #expect(events == ["sessionAdded", "sessionRemoved", "updated", "closed", "reopened", "closed", "archived"])

        #expect(try s.call("group/delete", ["id": .string(id)]) == ["removed": [.string(id)]])
        #expect(try nextEvent(s) == ("deleted", id))
        #expect(try s.callExpectingError("group/get", ["id": .string(id)]).code == 1001)
        #expect(try s.call("session/get", ["id": "a"])["id"] == "a")  // sessions stay
    }

    @Test func listAndSessionDeletionLeavesGroups() throws {
        let s = try ServerProcess.start()
        defer { _ = try? s.closeInputAndWait() }
        try s.call("session/create", ["name": "a", "mode": "building", "id": "a"])
        try s.call("group/create", ["name": "g1", "tags": ["x"], "id": "g1"])
        usleep(3_000)
        try s.call("group/create", ["name": "g2", "id": "g2"])
        usleep(3_000)
        try s.call("group/create", ["name": "g3", "tags": ["x"], "id": "g3"])
        try s.call("group/setStatus", ["id": "g3", "status": "closed"])
        func ids(_ p: JSONValue) throws -> [String] {
            try s.call("group/list", p)["groups"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
        }
        #expect(try ids([:]) == ["g3", "g2", "g1"])
        #expect(try ids(["tag": "x"]) == ["g3", "g1"])
        #expect(try ids(["tag": "x", "status": "active"]) == ["g1"])

        try s.call("group/addSession", ["groupId": "g1", "sessionId": "a"])
        try s.call("group/addSession", ["groupId": "g2", "sessionId": "a"])
        try s.call("events/subscribe", ["topics": ["group", "session"]])
        try s.call("session/delete", ["id": "a"])
        #expect(try s.call("group/get", ["id": "g1"])["sessionIds"] == [])
        #expect(try s.call("group/get", ["id": "g2"])["sessionIds"] == [])
        #expect(try nextEvent(s) == ("sessionRemoved", "g1"))
        #expect(try nextEvent(s) == ("sessionRemoved", "g2"))
        #expect(try s.nextNotification(method: "session/didChange")["event"] == "deleted")
    }
}
