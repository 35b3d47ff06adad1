import JSONCore
import Testing

@testable import ContextCore

@Suite("Session operations: delete, trim, checkpoints, export/import")
struct SessionOperationsTests {
    // MARK: Delete

    @Test func deleteUnlinksConversationsAndLeavesGroups() throws {
        let f = SessionFixture()
        try f.sessions.create(name: "n", mode: .testing, id: "a")
        try f.sessions.create(name: "n", mode: .testing, id: "b")
        f.conversations.add("c1", session: "a", messages: ["m1"])
        f.conversations.add("c2", session: "b", messages: [])
        let g1 = try f.groups.create(name: "g1")
        let g2 = try f.groups.create(name: "g2")
        try f.ops.addSession("a", toGroup: g1.id)
        try f.ops.addSession("b", toGroup: g1.id)
        try f.ops.addSession("a", toGroup: g2.id)
        try f.groups.setStatus(id: g2.id, status: .closed)  // closed groups lose deleted sessions too
        try f.ops.checkpoint(sessionId: "a")
        _ = f.env.effects.drain()

        #expect(try f.ops.delete(id: "a") == ["a"])
        #expect(f.sessions.stored("a") == nil)
        #expect(f.conversations.headers["c1"] != nil && f.conversations.sessionOf["c1"] == nil)
        #expect(f.conversations.sessionOf["c2"] == "b")
        #expect(try f.groups.get(g1.id).sessionIds == ["b"])
        #expect(try f.groups.get(g2.id).sessionIds == [])
        let drained = f.env.effects.drain()
        let deletes = drained.changes.compactMap { if case .delete(let k) = $0 { "\(k.kind.rawValue):\(k.id)" } else { nil } }
        #expect(deletes == ["checkpoint:chk_1", "session:a"])
        let events = drained.events.map {
            switch $0 {
            case .session(let e, let s): "session/\(e):\(s.id)"
            case .group(let e, let g): "group/\(e):\(g.id)"
            default: "other"
            }
        }
        #expect(events == ["group/sessionRemoved:grp_1", "group/sessionRemoved:grp_2", "session/deleted:a"])
        #expect(sessionTestError { _ = try f.ops.delete(id: "a") } == .notFound(kind: "session", id: "a"))
    }

    @Test func cascadeDeletesTheSessionsConversations() throws {
        let f = SessionFixture()
        try f.sessions.create(name: "n", mode: .testing, id: "a")
        f.conversations.add("c1", session: "a", messages: ["m1"])
        f.conversations.add("c2", session: "a", messages: ["m2"])
        f.conversations.add("c3", session: nil, messages: [])
        try f.ops.delete(id: "a", cascade: true)
        #expect(f.conversations.log == ["delete c1", "delete c2"])
        #expect(f.conversations.headers.keys.sorted() == ["c3"])
    }

    // MARK: Trim

    @Test func trimKeepsTheMostRecentlyEndedAndRemovesOldestFirst() throws {
        let f = SessionFixture()
        try f.session(in: .idle, id: "idle")
        try f.session(in: .active, id: "active")
        try f.session(in: .paused, id: "paused")
        for id in ["e1", "e2", "e3", "e4"] {
            try f.session(in: .active, id: id)
        }
        f.clock.advance(10)
        try f.sessions.complete(id: "e3")  // ended first
        f.clock.advance(10)
        try f.sessions.fail(id: "e1", reason: "x")
        try f.sessions.complete(id: "e4")  // tie with e1 on endedAt: the greater id is newer
        f.clock.advance(10)
        try f.sessions.complete(id: "e2")  // ended last
        _ = f.env.effects.drain()

        #expect(try f.ops.trimHistory(keep: 2) == ["e3", "e1"])
        #expect(f.sessionEvents() == ["deleted:e3", "deleted:e1"])
        #expect(Set(f.sessions.sessions.keys) == ["idle", "active", "paused", "e2", "e4"])
        #expect(try f.ops.trimHistory(keep: 5) == [])
        #expect(try f.ops.trimHistory(keep: 0) == ["e4", "e2"])
        #expect(Set(f.sessions.sessions.keys) == ["idle", "active", "paused"])
        #expect(sessionTestError { _ = try f.ops.trimHistory(keep: -1) } == .invalidArgument(field: "keep", expected: "an integer of 0 or more"))
    }

    // MARK: Checkpoints and rollback

    @Test func checkpointCapturesStateAndListsNewestFirst() throws {
        let f = SessionFixture()
        try f.sessions.create(name: "n", mode: .testing, id: "a")
        try f.sessions.setPhase(id: "a", phase: "research")
        f.conversations.add("c1", session: "a", messages: ["m1", "m2"])
        f.conversations.add("other", session: "b", messages: ["x"])
        _ = f.env.effects.drain()
        let c1 = try f.ops.checkpoint(sessionId: "a")
        let c2 = try f.ops.checkpoint(sessionId: "a", label: "after research")  // same ms: id breaks the tie
        #expect(c1.label == "checkpoint 1" && c2.label == "after research")
        #expect(c1.phase == "research")
        #expect(c1.state.conversations.map(\.conversationId) == ["c1"])
        #expect(c1.state.conversations[0].messages.map(\.id) == ["m1", "m2"])
        #expect(try f.sessions.checkpoints(sessionId: "a").map(\.id) == [c2.id, c1.id])
        let drained = f.env.effects.drain()
        #expect(drained.changes.count == 2 && drained.events.isEmpty)
        // Wire form: no captured state.
        let wire = try JSONValueEncoder().encode(c1.summary)
        #expect(wire.objectValue?.keys == ["id", "sessionId", "label", "phase", "createdAt"])
        #expect(sessionTestError { _ = try f.ops.checkpoint(sessionId: "zz") } == .notFound(kind: "session", id: "zz"))
        #expect(sessionTestError { _ = try f.ops.checkpoint(sessionId: "a", label: "") } == .invalidArgument(field: "label", expected: "a non-empty string"))
    }

    @Test func rollbackRestoresStateAndMessagesOfAFailedRun() throws {
        let f = SessionFixture()
        try f.sessions.create(name: "pipeline", mode: .building, id: "a", tags: ["t1"], metadata: ["k": 1], context: ["c": "x"])
        f.conversations.add("c1", session: "a", messages: ["m1"])
        try f.sessions.start(id: "a")
        try f.sessions.setPhase(id: "a", phase: "research")
        let cp = try f.ops.checkpoint(sessionId: "a", label: "research done")
        // The run goes on and fails.
        try f.sessions.setPhase(id: "a", phase: "audio")
        try f.sessions.update(id: "a", name: "renamed", mode: .debugging)
        try f.sessions.addTag(id: "a", tag: "t2")
        try f.sessions.setMetadata(id: "a", key: "k", value: 2)
        try f.sessions.setContext(id: "a", key: "c", value: nil)
        try f.sessions.recordUsage(id: "a", inputTokens: 50, costUsd: 1)
        f.conversations.append("m2", to: "c1")
        f.conversations.add("c2", session: "a", messages: ["late"])  // created after the checkpoint
        f.clock.advance(1_000)
        try f.sessions.fail(id: "a", reason: "tts failed")
        _ = f.env.effects.drain()
        f.clock.advance(1_000)

        let s = try f.ops.rollback(sessionId: "a", checkpointId: cp.id)
        #expect(s.status == .paused)
        #expect(s.name == "pipeline" && s.mode == .building && s.tags == ["t1"])
        #expect(s.metadata == ["k": 1] && s.context == ["c": "x"])
        #expect(s.phase == "research")
        #expect(s.phaseHistory?.map(\.phase) == ["research", "audio", "research"])
        #expect(s.endedAt == nil && s.failureReason == nil)
        #expect(s.lastPausedAt == f.clock.now())
        #expect(s.usage?.inputTokens == 50)  // spent is spent
        #expect(s.activeMs == 1_000)
        #expect(f.conversations.messages["c1"]?.map(\.id) == ["m1"])
        #expect(f.conversations.messages["c2"]?.map(\.id) == ["late"])
        #expect(f.sessionEvents() == ["rolledBack:a"])
        // …and resumes from there.
        #expect(try f.sessions.resume(id: "a").status == .active)
    }

    @Test func rollbackOfAnActiveSessionClosesItsRun() throws {
        let f = SessionFixture()
        try f.session(in: .active, id: "a")
        let cp = try f.ops.checkpoint(sessionId: "a")
        f.clock.advance(700)
        let s = try f.ops.rollback(sessionId: "a", checkpointId: cp.id)
        #expect(s.status == .paused && s.activeMs == 700 && s.activeSince == nil)
        f.clock.advance(700)
        #expect(try f.sessions.get("a").activeMs == 700)
    }

    @Test func rollbackErrors() throws {
        let f = SessionFixture()
        try f.session(in: .paused, id: "a")
        try f.session(in: .paused, id: "b")
        let cpB = try f.ops.checkpoint(sessionId: "b")
        #expect(sessionTestError { _ = try f.ops.rollback(sessionId: "a", checkpointId: cpB.id) } == .notFound(kind: "checkpoint", id: cpB.id))
        #expect(sessionTestError { _ = try f.ops.rollback(sessionId: "a", checkpointId: "nope") } == .notFound(kind: "checkpoint", id: "nope"))
        let cpA = try f.ops.checkpoint(sessionId: "a")
        try f.sessions.complete(id: "a")
        #expect(
            sessionTestError { _ = try f.ops.rollback(sessionId: "a", checkpointId: cpA.id) }
                == .invalidTransition(id: "a", from: "completed", action: "rollback", allowed: []))
    }

    @Test func failedMessageRestoreChangesNothing() throws {
        let f = SessionFixture()
        try f.session(in: .paused, id: "a")
        f.conversations.add("c1", session: "a", messages: ["m1"])
        f.conversations.add("c2", session: "a", messages: ["n1"])
        let cp = try f.ops.checkpoint(sessionId: "a")
        try f.sessions.setPhase(id: "a", phase: "later")
        f.conversations.append("m2", to: "c1")
        f.conversations.append("n2", to: "c2")
        f.conversations.failReplaceFor = "c2"
        let before = f.sessions.stored("a")
        #expect(sessionTestError { _ = try f.ops.rollback(sessionId: "a", checkpointId: cp.id) } == .limitExceeded(limit: "maxMessages", max: 0, value: 1))
        #expect(f.sessions.stored("a") == before)
        #expect(f.conversations.messages["c1"]?.map(\.id) == ["m1", "m2"])
        #expect(f.conversations.messages["c2"]?.map(\.id) == ["n1", "n2"])
    }

    // MARK: Export / import

    func richSession(_ f: SessionFixture) throws {
        try f.sessions.create(
            name: "full", mode: .deployment, projectId: "p", id: "a", tags: ["x", "y"], metadata: ["m": [1, "two"]],
            context: ["c": ["deep": true]])
        try f.sessions.start(id: "a")
        try f.sessions.setPhase(id: "a", phase: "build")
        try f.sessions.recordUsage(id: "a", model: "mod", inputTokens: 7, outputTokens: 3, costUsd: 0.25)
        try f.sessions.recordQuality(id: "a", score: 91.5, notes: "ok")
        f.conversations.add("c1", session: "a", messages: ["m1", "m2"])
        try f.ops.checkpoint(sessionId: "a", label: "cp")
        f.clock.advance(400)
        try f.sessions.pause(id: "a")
        try f.sessions.resume(id: "a")
        f.clock.advance(100)
    }

    @Test func exportImportRoundTripIsLossless() throws {
        let f = SessionFixture()
        try richSession(f)
        let snap = try f.ops.export(sessionId: "a", includeConversations: true)
        #expect(snap.schemaVersion == 1 && snap.kind == "session")
        #expect(snap.conversations?.map(\.conversation.id) == ["c1"])
        // Through JSON text and back.
        let text = JSONWriter.string(try JSONValueEncoder().encode(snap))
        let decoded = try JSONValueDecoder().decode(SessionSnapshot.self, from: try JSONParser.parse(text))
        #expect(decoded == snap)

        let g = SessionFixture()
        g.clock.current = f.clock.current
        let s = try g.ops.importSnapshot(decoded)
        #expect(g.sessions.stored("a") == f.sessions.stored("a"))
        #expect(s == (try f.sessions.get("a")))
        #expect(try g.sessions.checkpoints(sessionId: "a") == (try f.sessions.checkpoints(sessionId: "a")))
        #expect(g.conversations.messages["c1"] == f.conversations.messages["c1"])
        #expect(g.conversations.sessionOf["c1"] == "a")
        #expect(try g.ops.export(sessionId: "a", includeConversations: true) == snap)
        #expect(g.sessionEvents() == ["created:a"])
    }

    @Test func exportWithoutConversationsOmitsThem() throws {
        let f = SessionFixture()
        try richSession(f)
        let snap = try f.ops.export(sessionId: "a")
        #expect(snap.conversations == nil)
        #expect(try JSONValueEncoder().encode(snap)["conversations"] == nil)
    }

    @Test func importConflictPolicies() throws {
        let f = SessionFixture()
        try richSession(f)
        let snap = try f.ops.export(sessionId: "a", includeConversations: true)

        // error: nothing changes
        #expect(
            sessionTestError { _ = try f.ops.importSnapshot(snap) }
                == .conflict(kind: "session", id: "a", reason: "a session with this id already exists"))

        // newId: a fresh session, fresh ids for the taken conversation and checkpoint
        let copy = try f.ops.importSnapshot(snap, onConflict: .newId)
        #expect(copy.id != "a" && copy.name == "full")
        let copied = f.conversations.conversationIDs(sessionId: copy.id)
        #expect(copied.count == 1 && copied[0] != "c1")
        #expect(f.conversations.messages[copied[0]]?.allSatisfy { $0.conversationId == copied[0] } == true)
        let cps = try f.sessions.checkpoints(sessionId: copy.id)
        #expect(cps.count == 1 && cps[0].id != "chk_1" && cps[0].sessionId == copy.id)
        #expect(cps[0].state.conversations.map(\.conversationId) == [copied[0]])
        #expect(f.conversations.conversationIDs(sessionId: "a") == ["c1"])

        // replace: the existing session takes the snapshot's state
        try f.sessions.update(id: "a", name: "changed")
        try f.ops.checkpoint(sessionId: "a", label: "extra")
        _ = f.env.effects.drain()
        let replaced = try f.ops.importSnapshot(snap, onConflict: .replace)
        #expect(replaced.name == "full")
        #expect(try f.sessions.checkpoints(sessionId: "a").map(\.label) == ["cp"])
        #expect(f.sessionEvents() == ["updated:a"])
    }

    @Test func importRejectsOtherSchemaVersions() throws {
        let f = SessionFixture()
        try richSession(f)
        var snap = try f.ops.export(sessionId: "a")
        snap.schemaVersion = 2
        let g = SessionFixture()
        #expect(sessionTestError { _ = try g.ops.importSnapshot(snap) } == .invalidArgument(field: "snapshot.schemaVersion", expected: "1"))
        #expect(g.sessions.totalCount == 0)
    }
}

@Suite("Sessions through ContextEngine")
struct SessionEngineTests {
    @Test func engineOperationsAndRestoreRoundTrip() throws {
        let clock = SessionTestClock()
        let engine = ContextEngine(env: DomainEnvironment(clock: clock, ids: SequentialIDGenerator()))
        try engine.sessions.create(name: "a", mode: .building, projectId: "p", id: "a")
        try engine.sessions.create(name: "b", mode: .building, projectId: "p", id: "b")
        try engine.startSession(id: "a")
        try engine.startSession(id: "b", exclusive: true)
        let g = try engine.groups.create(name: "g")
        try engine.addSession("a", toGroup: g.id)
        try engine.addSession("b", toGroup: g.id)
        let cp = try engine.checkpointSession(id: "a", label: "l")
        try engine.sessions.setPhase(id: "a", phase: "x")
        try engine.rollbackSession(id: "a", checkpointId: cp.id)
        try engine.deleteSession(id: "b")
        #expect(try engine.sessions(inGroup: g.id).map(\.id) == ["a"])
        let snap = try engine.exportSession(id: "a")
        #expect(snap.checkpoints.map(\.id) == [cp.id])

        let changes = engine.effects.drain().changes
        let copy = ContextEngine(env: DomainEnvironment(clock: clock, ids: SequentialIDGenerator()))
        try copy.restore(changes)
        #expect(copy.effects.drain().changes.isEmpty)
        for component in ["sessions", "groups"] {
            let a = engine.allRecords(component: component).map { String(describing: $0) }
            let b = copy.allRecords(component: component).map { String(describing: $0) }
            #expect(a == b)
        }
        #expect(try copy.sessions.get("a") == (try engine.sessions.get("a")))
        #expect(try copy.groups.get(g.id).sessionIds == ["a"])
    }
}
