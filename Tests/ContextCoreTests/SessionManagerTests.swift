import JSONCore
import Testing

@testable import ContextCore

@Suite("Session manager")
struct SessionManagerTests {
    // MARK: Create and ids

    @Test func createFillsDefaultsAndEmitsCreated() throws {
        let f = SessionFixture()
        let s = try f.sessions.create(
            name: "Auth", mode: .planning, projectId: "web", tags: ["a", "b", "a"], metadata: ["x": 1, "gone": nil],
            context: ["file": "a.swift"])
        #expect(s.id == "ses_1")
        #expect(s.status == .idle)
        #expect(s.tags == ["a", "b"])
        #expect(s.metadata == ["x": 1])
        #expect(s.context == ["file": "a.swift"])
        #expect(s.createdAt == f.clock.now() && s.updatedAt == f.clock.now())
        #expect(s.activeMs == 0 && s.startedAt == nil && s.phase == nil && s.usage == nil && s.quality == nil)
        let drained = f.env.effects.drain()
        #expect(drained.changes.count == 1)
        #expect(drained.events.count == 1)
    }

    @Test func unsetOptionalFieldsAreAbsentOnTheWire() throws {
        let f = SessionFixture()
        let s = try f.sessions.create(name: "n", mode: .testing)
        let json = try JSONValueEncoder().encode(s)
        #expect(
            json.objectValue?.keys
                == ["id", "name", "mode", "status", "tags", "metadata", "context", "createdAt", "updatedAt", "activeMs"])
        #expect(json["createdAt"]?.stringValue == "2023-11-14T22:13:20.000Z")
    }

    @Test(arguments: ["", "has space", "slash/no", String(repeating: "a", count: 129), "é"])
    func invalidIdsAreRejected(id: String) {
        let f = SessionFixture()
        #expect(
            sessionTestError { try f.sessions.create(name: "n", mode: .testing, id: id) }
                == .invalidArgument(field: "id", expected: "an id matching [A-Za-z0-9._-]{1,128}"))
        #expect(f.sessions.totalCount == 0)
    }

    @Test func takenIdIsAConflictAndGeneratedIdsSkipTakenOnes() throws {
        let f = SessionFixture()
        try f.sessions.create(name: "n", mode: .testing, id: "ses_1")
        #expect(
            sessionTestError { try f.sessions.create(name: "m", mode: .testing, id: "ses_1") }
                == .conflict(kind: "session", id: "ses_1", reason: "a session with this id already exists"))
        let g = try f.sessions.create(name: "m", mode: .testing)
        #expect(g.id == "ses_2")
    }

    @Test func emptyNameIsRejected() {
        let f = SessionFixture()
        #expect(sessionTestError { try f.sessions.create(name: "  ", mode: .testing) } == .invalidArgument(field: "name", expected: "a non-empty name"))
    }

    @Test func maxSessionsLimit() throws {
        var limits = DomainLimits()
        limits.maxSessions = 2
        let f = SessionFixture(limits: limits)
        try f.sessions.create(name: "a", mode: .testing)
        try f.sessions.create(name: "b", mode: .testing)
        #expect(sessionTestError { try f.sessions.create(name: "c", mode: .testing) } == .limitExceeded(limit: "maxSessions", max: 2, value: 3))
    }

    @Test func unknownAndInvalidLookups() {
        let f = SessionFixture()
        #expect(sessionTestError { _ = try f.sessions.get("nope") } == .notFound(kind: "session", id: "nope"))
        #expect(sessionTestError { _ = try f.sessions.get("a b") } == .invalidArgument(field: "id", expected: "an id matching [A-Za-z0-9._-]{1,128}"))
    }

    // MARK: Lists

    @Test func listIsNewestFirstWithIdTieBreak() throws {
        let f = SessionFixture()
        for id in ["b", "a", "c"] { try f.sessions.create(name: id, mode: .testing, id: id) }  // same ms
        f.clock.advance(1)
        try f.sessions.create(name: "old-id", mode: .testing, id: "0")
        let page = try f.sessions.list(SessionQuery())
        #expect(page.sessions.map(\.id) == ["0", "c", "b", "a"])
        #expect(page.nextCursor == nil)
    }

    @Test func cursorPagingWalksEverySessionOnce() throws {
        let f = SessionFixture()
        for i in 0..<7 {
            try f.sessions.create(name: "s\(i)", mode: .testing, id: "s\(i)")
            if i % 2 == 0 { f.clock.advance(1) }  // some ties
        }
        var seen: [String] = []
        var cursor: String?
        repeat {
            let page = try f.sessions.list(SessionQuery(limit: 3, cursor: cursor))
            #expect(page.sessions.count <= 3)
            seen += page.sessions.map(\.id)
            cursor = page.nextCursor
        } while cursor != nil
        #expect(seen == (try f.sessions.list(SessionQuery())).sessions.map(\.id))
        #expect(Set(seen).count == 7)
    }

    @Test func cursorSurvivesDeletionOfTheLastSeenSession() throws {
        let f = SessionFixture()
        for i in 0..<4 {
            try f.sessions.create(name: "s", mode: .testing, id: "s\(i)")
            f.clock.advance(1)
        }
        let first = try f.sessions.list(SessionQuery(limit: 2))
        #expect(first.sessions.map(\.id) == ["s3", "s2"])
        try f.ops.delete(id: "s2")
        let second = try f.sessions.list(SessionQuery(limit: 2, cursor: first.nextCursor))
        #expect(second.sessions.map(\.id) == ["s1", "s0"])
    }

    @Test(arguments: ["", "garbage", "12:", "x:ses_1", "1:bad id"])
    func invalidCursor(cursor: String) {
        let f = SessionFixture()
        #expect(
            sessionTestError { _ = try f.sessions.list(SessionQuery(cursor: cursor)) }
                == .invalidArgument(field: "cursor", expected: "a nextCursor returned by session/list"))
    }

    @Test func invalidLimit() {
        let f = SessionFixture()
        #expect(sessionTestError { _ = try f.sessions.list(SessionQuery(limit: 0)) } == .invalidArgument(field: "limit", expected: "an integer of 1 or more"))
        #expect(sessionTestError { _ = try f.sessions.recent(limit: 0) } == .invalidArgument(field: "limit", expected: "an integer of 1 or more"))
    }

    @Test func filtersAndTogether() throws {
        let f = SessionFixture()
        try f.sessions.create(name: "Fix LOGIN bug", mode: .debugging, projectId: "web", id: "a", tags: ["auth"])
        try f.sessions.create(name: "login page", mode: .building, projectId: "web", id: "b", tags: ["auth", "ui"])
        try f.sessions.create(name: "Login API", mode: .debugging, projectId: "api", id: "c", tags: ["auth"])
        try f.sessions.create(name: "Deploy", mode: .deployment, projectId: "web", id: "d")
        try f.sessions.start(id: "b")
        func ids(_ q: SessionQuery) throws -> [String] { try f.sessions.list(q).sessions.map(\.id).sorted() }
        #expect(try ids(SessionQuery(nameContains: "LoGiN")) == ["a", "b", "c"])
        #expect(try ids(SessionQuery(projectId: "web", nameContains: "login")) == ["a", "b"])
        #expect(try ids(SessionQuery(projectId: "web", mode: .debugging)) == ["a"])
        #expect(try ids(SessionQuery(status: .active)) == ["b"])
        #expect(try ids(SessionQuery(tag: "ui")) == ["b"])
        #expect(try ids(SessionQuery(tag: "auth", nameContains: "api")) == ["c"])
        #expect(try ids(SessionQuery(projectId: "none")) == [])
    }

    @Test func recentIsMostRecentlyUpdatedFirstWithIdTieBreak() throws {
        let f = SessionFixture()
        for id in ["a", "b", "c", "d"] { try f.sessions.create(name: id, mode: .testing, id: id) }
        f.clock.advance(10)
        try f.sessions.addTag(id: "a", tag: "x")
        try f.sessions.addTag(id: "c", tag: "x")
        f.clock.advance(10)
        try f.sessions.start(id: "b")
        #expect(try f.sessions.recent(limit: 10).map(\.id) == ["b", "c", "a", "d"])
        #expect(try f.sessions.recent(limit: 2).map(\.id) == ["b", "c"])
    }

    // MARK: Statistics

    @Test func statisticsAreExact() throws {
        let f = SessionFixture()
        try f.session(in: .active, id: "a")
        try f.session(in: .active, id: "b")
        try f.session(in: .paused, id: "c")
        try f.session(in: .failed, id: "d")
        try f.sessions.create(name: "p", mode: .planning, id: "e")
        try f.sessions.recordUsage(id: "a", inputTokens: 100, outputTokens: 10, costUsd: 0.1)
        try f.sessions.recordUsage(id: "c", inputTokens: 5, costUsd: 0.2)
        let st = f.sessions.statistics()
        #expect(st.total == 5)
        #expect(st.active == 2)
        #expect(st.byMode == ["planning": 1, "building": 4, "testing": 0, "refactoring": 0, "debugging": 0, "deployment": 0])
        #expect(st.byMode.keys == SessionMode.allCases.map(\.rawValue))
        #expect(st.byStatus == ["idle": 1, "active": 2, "paused": 1, "completed": 0, "failed": 1])
        #expect(st.usage == UsageTotals(inputTokens: 105, outputTokens: 10, costUsd: 0.3))
        #expect(f.sessions.count() == 5)
        #expect(f.sessions.count(status: .active) == 2)
        #expect(f.sessions.count(status: .completed) == 0)
    }

    // MARK: Editing

    @Test func tagsAreSetsInOrderOfFirstAddition() throws {
        let f = SessionFixture()
        try f.sessions.create(name: "n", mode: .testing, id: "a", tags: ["x"])
        _ = f.env.effects.drain()
        try f.sessions.addTag(id: "a", tag: "y")
        try f.sessions.addTag(id: "a", tag: "x")  // present: no change, no event
        try f.sessions.addTag(id: "a", tag: "z")
        try f.sessions.removeTag(id: "a", tag: "y")
        try f.sessions.removeTag(id: "a", tag: "absent")
        try f.sessions.addTag(id: "a", tag: "y")
        #expect(try f.sessions.get("a").tags == ["x", "z", "y"])
        #expect(f.sessionEvents() == ["updated:a", "updated:a", "updated:a", "updated:a"])
        #expect(sessionTestError { try f.sessions.addTag(id: "a", tag: "") } == .invalidArgument(field: "tag", expected: "a non-empty string"))
    }

    @Test func metadataAndContextSetAndNullDeletes() throws {
        let f = SessionFixture()
        try f.sessions.create(name: "n", mode: .testing, id: "a")
        try f.sessions.setMetadata(id: "a", key: "k", value: ["nested": [1, 2]])
        try f.sessions.setMetadata(id: "a", key: "j", value: true)
        try f.sessions.setMetadata(id: "a", key: "k", value: nil)
        #expect(try f.sessions.get("a").metadata == ["j": true])
        try f.sessions.setContext(id: "a", key: "file", value: "main.swift")
        #expect(try f.sessions.getContext(id: "a", key: nil) == .all(["file": "main.swift"]))
        #expect(try f.sessions.getContext(id: "a", key: "file") == .key("file", "main.swift"))
        #expect(try f.sessions.getContext(id: "a", key: "none") == .key("none", nil))
        try f.sessions.setContext(id: "a", key: "file", value: .null)
        #expect(try f.sessions.get("a").context.isEmpty)
        let json = try JSONValueEncoder().encode(try f.sessions.getContext(id: "a", key: "file"))
        #expect(json == ["key": "file"])
    }

    @Test func updateChangesOnlyGivenFieldsAndNoChangeNoEvent() throws {
        let f = SessionFixture()
        try f.sessions.create(name: "n", mode: .testing, projectId: "p", id: "a")
        _ = f.env.effects.drain()
        f.clock.advance(5)
        let s = try f.sessions.update(id: "a", mode: .debugging)
        #expect(s.name == "n" && s.mode == .debugging && s.projectId == "p" && s.updatedAt == f.clock.now())
        f.clock.advance(5)
        let same = try f.sessions.update(id: "a", name: "n")
        #expect(same.updatedAt == s.updatedAt)
        #expect(f.sessionEvents() == ["updated:a"])
    }

    // MARK: Production tracking

    @Test func phasesAndHistory() throws {
        let f = SessionFixture()
        try f.sessions.create(name: "video", mode: .building, id: "a")
        let t0 = f.clock.now()
        try f.sessions.setPhase(id: "a", phase: "research")
        f.clock.advance(100)
        try f.sessions.setPhase(id: "a", phase: "scripting")
        try f.sessions.setPhase(id: "a", phase: "scripting")
        let s = try f.sessions.get("a")
        #expect(s.phase == "scripting")
        #expect(s.phaseHistory == [PhaseEntry(phase: "research", at: t0), PhaseEntry(phase: "scripting", at: t0.adding(milliseconds: 100))])
    }

    @Test func usageAccumulatesByPhaseAndModel() throws {
        let f = SessionFixture()
        try f.sessions.create(name: "video", mode: .building, id: "a")
        try f.sessions.recordUsage(id: "a", inputTokens: 10, outputTokens: 1, costUsd: 0.1)  // no phase: totals only
        try f.sessions.setPhase(id: "a", phase: "research")
        try f.sessions.recordUsage(id: "a", model: "m1", inputTokens: 20, outputTokens: 2, costUsd: 0.2)  // current phase
        try f.sessions.recordUsage(id: "a", phase: "audio", model: "m2", inputTokens: 30, costUsd: 0.7)
        try f.sessions.recordUsage(id: "a", model: "m1", outputTokens: 4)
        let u = try #require(try f.sessions.get("a").usage)
        #expect(u.totals == UsageTotals(inputTokens: 60, outputTokens: 7, costUsd: 1.0))
        #expect(u.byPhase.entries.map(\.name) == ["research", "audio"])
        #expect(u.byPhase["research"] == UsageTotals(inputTokens: 20, outputTokens: 6, costUsd: 0.2))
        #expect(u.byPhase["audio"] == UsageTotals(inputTokens: 30, outputTokens: 0, costUsd: 0.7))
        #expect(u.byModel?["m1"] == UsageTotals(inputTokens: 20, outputTokens: 6, costUsd: 0.2))
        let json = try JSONValueEncoder().encode(u)
        #expect(json["byPhase"]?["audio"] == ["inputTokens": 30, "outputTokens": 0, "costUsd": 0.7])
        #expect(json["costUsd"] == 1.0)
        // Round trip through the Codable bridge keeps order and values.
        #expect(try JSONValueDecoder().decode(SessionUsage.self, from: json) == u)
    }

    @Test func costsAddUpWithoutBinaryNoise() throws {
        let f = SessionFixture()
        try f.sessions.create(name: "n", mode: .building, id: "a")
        for _ in 0..<3 { try f.sessions.recordUsage(id: "a", costUsd: 0.1) }
        #expect(try f.sessions.get("a").usage?.costUsd == 0.3)
    }

    @Test(arguments: [
        (Int64?(-1), Int64?.none, Double?.none, "inputTokens"), (nil, -5, nil, "outputTokens"), (nil, nil, -0.01, "costUsd"),
        (nil, nil, Double.nan, "costUsd"),
    ])
    func negativeUsageIsRejected(input: Int64?, output: Int64?, cost: Double?, field: String) throws {
        let f = SessionFixture()
        try f.sessions.create(name: "n", mode: .building, id: "a")
        let e = sessionTestError { try f.sessions.recordUsage(id: "a", inputTokens: input, outputTokens: output, costUsd: cost) }
        guard case .invalidArgument(let got, _) = e else {
            Issue.record("expected invalidArgument, got \(String(describing: e))")
            return
        }
        #expect(got == field)
        #expect(try f.sessions.get("a").usage == nil)
    }

    @Test func qualityScores() throws {
        let f = SessionFixture()
        try f.sessions.create(name: "n", mode: .building, id: "a")
        try f.sessions.setPhase(id: "a", phase: "script")
        try f.sessions.recordQuality(id: "a", score: 80, notes: "tight")
        try f.sessions.recordQuality(id: "a", phase: "audio", score: 0)
        try f.sessions.recordQuality(id: "a", score: 100)
        let q = try #require(try f.sessions.get("a").quality)
        #expect(q.map(\.phase) == ["script", "audio", "script"])
        #expect(q.map(\.score) == [80, 0, 100])
        #expect(q[0].notes == "tight" && q[1].notes == nil)
        for bad in [-0.1, 100.5, .infinity] {
            #expect(sessionTestError { try f.sessions.recordQuality(id: "a", score: bad) } == .invalidArgument(field: "score", expected: "a number from 0 to 100"))
        }
        #expect(try f.sessions.get("a").quality?.count == 3)
    }

    // MARK: Modes

    @Test func everyModeHasDescriptionAndRealGuidance() {
        #expect(SessionModes.all.map(\.mode) == SessionMode.allCases)
        for info in SessionModes.all {
            #expect(!info.description.isEmpty)
            #expect(info.guidance.count > 400, "guidance for \(info.mode) is too short to be useful")
            #expect(info.guidance.split(separator: ".").count >= 5, "guidance for \(info.mode) should be several sentences")
            #expect(SessionModes.guidance(for: info.mode) == info.guidance)
        }
        #expect(Set(SessionModes.all.map(\.guidance)).count == 6)
    }

    // MARK: Persistence

    @Test func restoreFromRecordsReproducesState() throws {
        let f = SessionFixture()
        f.conversations.add("c1", session: "a", messages: ["m1"])
        try f.session(in: .paused, id: "a")
        try f.sessions.recordUsage(id: "a", phase: "p", inputTokens: 3)
        try f.ops.checkpoint(sessionId: "a", label: "one")
        try f.session(in: .completed, id: "b")
        try f.ops.delete(id: "b")
        let g = SessionFixture()
        let changes = f.env.effects.drain().changes
        for change in changes {
            switch change {
            case .put(.session(let s)): g.sessions.restore(s)
            case .put(.checkpoint(let c)): g.sessions.restore(c)
            case .delete(let k): g.sessions.restoreDeletion(k)
            default: break
            }
        }
        #expect(g.sessions.allRecords().count == f.sessions.allRecords().count)
        #expect(g.sessions.stored("a") == f.sessions.stored("a"))
        #expect(g.sessions.stored("b") == nil)
        #expect(try g.sessions.checkpoints(sessionId: "a") == (try f.sessions.checkpoints(sessionId: "a")))
    }

    /// The smallest persisted JSON each record decodes from (what a store fixture needs).
    @Test func minimalPersistedRecordsDecode() throws {
        let t: JSONValue = "1970-01-01T00:00:00.000Z"
        let session = try JSONValueDecoder().decode(
            Session.self,
            from: ["id": "s", "name": "n", "mode": "building", "status": "idle", "tags": [], "metadata": [:], "context": [:],
                   "createdAt": t, "updatedAt": t, "activeMs": 0])
        #expect(session.id == "s")
        let checkpoint = try JSONValueDecoder().decode(
            Checkpoint.self,
            from: ["id": "c", "sessionId": "s", "label": "l", "createdAt": t,
                   "state": ["name": "n", "mode": "building", "tags": [], "metadata": [:], "context": [:], "conversations": []]])
        #expect(checkpoint.sessionId == "s")
        let group = try JSONValueDecoder().decode(
            SessionGroup.self,
            from: ["id": "g", "name": "g", "tags": [], "metadata": [:], "status": "active", "sessionIds": [], "createdAt": t, "updatedAt": t])
        #expect(group.id == "g")
        // And each encodes back to the same JSON.
        #expect(try JSONValueDecoder().decode(Session.self, from: try JSONValueEncoder().encode(session)) == session)
    }
}
