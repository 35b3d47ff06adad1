import JSONCore
import Testing

@testable import ContextCore

@Suite("Groups")
struct GroupManagerTests {
    func groupEvents(_ f: SessionFixture) -> [String] {
        f.env.effects.drain().events.compactMap { if case .group(let e, let g) = $0 { "\(e):\(g.id)" } else { nil } }
    }

    @Test func createAndGet() throws {
        let f = SessionFixture()
        let g = try f.groups.create(name: "Release 1", description: "first", tags: ["r", "r", "q"], metadata: ["a": 1, "b": nil])
        #expect(g.id == "grp_1" && g.status == .active && g.sessionIds.isEmpty)
        #expect(g.tags == ["r", "q"] && g.metadata == ["a": 1])
        #expect(try f.groups.get("grp_1") == g)
        #expect(groupEvents(f) == ["created:grp_1"])
        #expect(sessionTestError { _ = try f.groups.get("nope") } == .notFound(kind: "group", id: "nope"))
        #expect(sessionTestError { _ = try f.groups.create(name: "") } == .invalidArgument(field: "name", expected: "a non-empty name"))
        #expect(sessionTestError { _ = try f.groups.create(name: "x", id: "grp_1") } == .conflict(kind: "group", id: "grp_1", reason: "a group with this id already exists"))
        let json = try JSONValueEncoder().encode(try f.groups.create(name: "plain"))
        #expect(json.objectValue?.keys == ["id", "name", "tags", "metadata", "status", "sessionIds", "createdAt", "updatedAt"])
    }

    /// Every (from, to) pair of group statuses.
    static let transitions: [(GroupStatus, GroupStatus, Bool)] = [
        (.active, .active, false), (.active, .closed, true), (.active, .archived, false),
        (.closed, .active, true), (.closed, .closed, false), (.closed, .archived, true),
        (.archived, .active, false), (.archived, .closed, false), (.archived, .archived, false),
    ]

    @Test("every group transition", arguments: transitions)
    func transition(from: GroupStatus, to: GroupStatus, legal: Bool) throws {
        let f = SessionFixture()
        let g = try f.groups.create(name: "g")
        switch from {
        case .active: break
        case .closed: try f.groups.setStatus(id: g.id, status: .closed)
        case .archived:
            try f.groups.setStatus(id: g.id, status: .closed)
            try f.groups.setStatus(id: g.id, status: .archived)
        }
        _ = f.env.effects.drain()
        let error = sessionTestError { try f.groups.setStatus(id: g.id, status: to) }
        if legal {
            #expect(error == nil)
            #expect(try f.groups.get(g.id).status == to)
            let event = to == .archived ? "archived" : to == .closed ? "closed" : "reopened"
            #expect(groupEvents(f) == ["\(event):\(g.id)"])
        } else {
            let allowed: [String] = from == .active ? ["closed"] : from == .closed ? ["active", "archived"] : []
            #expect(error == .invalidTransition(id: g.id, from: from.rawValue, action: to.rawValue, allowed: allowed))
            #expect(try f.groups.get(g.id).status == from)
        }
    }

    @Test func membership() throws {
        let f = SessionFixture()
        try f.sessions.create(name: "a", mode: .testing, id: "a")
        try f.sessions.create(name: "b", mode: .testing, id: "b")
        let g = try f.groups.create(name: "g")
        _ = f.env.effects.drain()
        try f.ops.addSession("b", toGroup: g.id)
        try f.ops.addSession("a", toGroup: g.id)
        try f.ops.addSession("b", toGroup: g.id)  // already a member: no change
        #expect(try f.groups.get(g.id).sessionIds == ["b", "a"])
        #expect(try f.ops.sessions(inGroup: g.id).map(\.id) == ["b", "a"])
        try f.ops.removeSession("b", fromGroup: g.id)
        #expect(try f.groups.get(g.id).sessionIds == ["a"])
        #expect(groupEvents(f) == ["sessionAdded:grp_1", "sessionAdded:grp_1", "sessionRemoved:grp_1"])

        #expect(sessionTestError { _ = try f.ops.addSession("zz", toGroup: g.id) } == .notFound(kind: "session", id: "zz"))
        #expect(sessionTestError { _ = try f.ops.addSession("a", toGroup: "nope") } == .notFound(kind: "group", id: "nope"))
        #expect(sessionTestError { _ = try f.ops.removeSession("zz", fromGroup: g.id) } == .notFound(kind: "session", id: "zz"))
        #expect(
            sessionTestError { _ = try f.ops.addSession("a b", toGroup: g.id) }
                == .invalidArgument(field: "sessionId", expected: "an id matching [A-Za-z0-9._-]{1,128}"))

        try f.groups.setStatus(id: g.id, status: .closed)
        #expect(sessionTestError { _ = try f.ops.addSession("b", toGroup: g.id) } == .groupClosed(groupId: g.id, status: "closed"))
        #expect(sessionTestError { _ = try f.ops.removeSession("a", fromGroup: g.id) } == .groupClosed(groupId: g.id, status: "closed"))
        try f.groups.setStatus(id: g.id, status: .archived)
        #expect(sessionTestError { _ = try f.ops.addSession("b", toGroup: g.id) } == .groupClosed(groupId: g.id, status: "archived"))
        #expect(try f.groups.get(g.id).sessionIds == ["a"])
    }

    @Test func updateMetadataMergesAndNullDeletes() throws {
        let f = SessionFixture()
        let g = try f.groups.create(name: "g", metadata: ["keep": 1, "drop": 2, "change": 3])
        f.clock.advance(5)
        _ = f.env.effects.drain()
        let u = try f.groups.updateMetadata(id: g.id, metadata: ["drop": nil, "change": "x", "new": [true]])
        #expect(u.metadata == ["keep": 1, "change": "x", "new": [true]])
        #expect(u.metadata.keys == ["keep", "change", "new"])
        #expect(u.updatedAt == f.clock.now())
        try f.groups.updateMetadata(id: g.id, metadata: ["keep": 1])  // no change, no event
        #expect(groupEvents(f) == ["updated:grp_1"])
    }

    @Test func listFiltersAndOrder() throws {
        let f = SessionFixture()
        try f.groups.create(name: "a", tags: ["t"], id: "a")
        try f.groups.create(name: "b", id: "b")
        f.clock.advance(1)
        try f.groups.create(name: "c", tags: ["t"], id: "c")
        try f.groups.setStatus(id: "a", status: .closed)
        #expect(f.groups.list().map(\.id) == ["c", "b", "a"])
        #expect(f.groups.list(tag: "t").map(\.id) == ["c", "a"])
        #expect(f.groups.list(tag: "t", status: .active).map(\.id) == ["c"])
        #expect(f.groups.list(status: .closed).map(\.id) == ["a"])
    }

    @Test func deleteGroupLeavesSessions() throws {
        let f = SessionFixture()
        try f.sessions.create(name: "a", mode: .testing, id: "a")
        let g = try f.groups.create(name: "g")
        try f.ops.addSession("a", toGroup: g.id)
        _ = f.env.effects.drain()
        try f.groups.delete(id: g.id)
        #expect(f.groups.list().isEmpty)
        #expect(f.sessions.stored("a") != nil)
        let drained = f.env.effects.drain()
        #expect(drained.changes.count == 1)
        #expect(sessionTestError { _ = try f.groups.delete(id: g.id) } == .notFound(kind: "group", id: g.id))
    }

    @Test func restoreReproducesGroups() throws {
        let f = SessionFixture()
        try f.groups.create(name: "a", id: "a")
        try f.groups.create(name: "b", id: "b")
        try f.groups.delete(id: "b")
        let g = SessionFixture()
        for change in f.env.effects.drain().changes {
            switch change {
            case .put(.group(let x)): g.groups.restore(x)
            case .delete(let k): g.groups.restoreDeletion(k)
            default: break
            }
        }
        #expect(g.groups.list() == f.groups.list())
    }
}
