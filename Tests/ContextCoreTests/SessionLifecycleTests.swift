import JSONCore
import Testing

@testable import ContextCore

@Suite("Session lifecycle")
struct SessionLifecycleTests {
    /// Every (status, action) pair: the status it leads to, or nil when illegal.
    static let table: [(SessionStatus, SessionAction, SessionStatus?)] = [
        (.idle, .start, .active), (.idle, .pause, nil), (.idle, .resume, nil),
        (.idle, .complete, nil), (.idle, .fail, .failed), (.idle, .rollback, .idle),
        (.active, .start, nil), (.active, .pause, .paused), (.active, .resume, nil),
        (.active, .complete, .completed), (.active, .fail, .failed), (.active, .rollback, .paused),
        (.paused, .start, nil), (.paused, .pause, nil), (.paused, .resume, .active),
        (.paused, .complete, .completed), (.paused, .fail, .failed), (.paused, .rollback, .paused),
        (.completed, .start, nil), (.completed, .pause, nil), (.completed, .resume, nil),
        (.completed, .complete, nil), (.completed, .fail, nil), (.completed, .rollback, nil),
        (.failed, .start, nil), (.failed, .pause, nil), (.failed, .resume, nil),
        (.failed, .complete, nil), (.failed, .fail, nil), (.failed, .rollback, .paused),
    ]

    static let allowed: [SessionStatus: [String]] = [
        .idle: ["start", "fail", "rollback"], .active: ["pause", "complete", "fail", "rollback"],
        .paused: ["resume", "complete", "fail", "rollback"], .completed: [], .failed: ["rollback"],
    ]

    @Test func tableCoversEveryPair() {
        #expect(Self.table.count == SessionStatus.allCases.count * SessionAction.allCases.count)
    }

    @Test("every (status, action) pair", arguments: table)
    func transition(from: SessionStatus, action: SessionAction, expected: SessionStatus?) throws {
        let f = SessionFixture()
        let s = try f.session(in: from, id: "x")
        let cp = try f.ops.checkpoint(sessionId: "x")
        _ = f.env.effects.drain()
        f.clock.advance(1000)
        let error = sessionTestError {
            switch action {
            case .start: try f.sessions.start(id: s.id)
            case .pause: try f.sessions.pause(id: s.id)
            case .resume: try f.sessions.resume(id: s.id)
            case .complete: try f.sessions.complete(id: s.id)
            case .fail: try f.sessions.fail(id: s.id, reason: "r")
            case .rollback: try f.ops.rollback(sessionId: s.id, checkpointId: cp.id)
            }
        }
        let after = try f.sessions.get("x")
        if let expected {
            #expect(error == nil)
            #expect(after.status == expected)
            let event = ["start": "started", "pause": "paused", "resume": "resumed", "complete": "completed", "fail": "failed",
                         "rollback": "rolledBack"][action.rawValue]!
            #expect(f.sessionEvents() == ["\(event):x"])
            #expect(after.updatedAt == f.clock.now())
        } else {
            #expect(
                error == .invalidTransition(id: "x", from: from.rawValue, action: action.rawValue, allowed: Self.allowed[from]!))
            #expect(after == s.observed(at: f.clock.now()))
            #expect(f.env.effects.drain().changes.isEmpty)
        }
    }

    @Test func allowedActionsMatchTable() {
        for status in SessionStatus.allCases {
            #expect(SessionLifecycle.allowedActions(from: status).map(\.rawValue) == Self.allowed[status]!)
        }
    }

    @Test func rollbackOfNeverStartedSessionLandsIdle() throws {
        let f = SessionFixture()
        try f.sessions.create(name: "n", mode: .planning, id: "a")
        let cp = try f.ops.checkpoint(sessionId: "a")
        try f.sessions.fail(id: "a", reason: "gave up")
        let s = try f.ops.rollback(sessionId: "a", checkpointId: cp.id)
        #expect(s.status == .idle)
        #expect(s.endedAt == nil && s.failureReason == nil && s.lastPausedAt == nil)
    }

    @Test func failRequiresReason() throws {
        let f = SessionFixture()
        try f.sessions.create(name: "n", mode: .planning, id: "a")
        #expect(sessionTestError { try f.sessions.fail(id: "a", reason: "") } == .invalidArgument(field: "reason", expected: "a non-empty string"))
        #expect(try f.sessions.get("a").status == .idle)
    }

    @Test func timestampsFollowTheLifecycle() throws {
        let f = SessionFixture()
        let t0 = f.clock.now()
        try f.sessions.create(name: "n", mode: .planning, id: "a")
        f.clock.advance(10)
        try f.sessions.start(id: "a")
        f.clock.advance(10)
        try f.sessions.pause(id: "a")
        f.clock.advance(10)
        try f.sessions.resume(id: "a")
        f.clock.advance(10)
        let s = try f.sessions.fail(id: "a", reason: "disk full")
        #expect(s.createdAt == t0)
        #expect(s.startedAt == t0.adding(milliseconds: 10))
        #expect(s.lastPausedAt == t0.adding(milliseconds: 20))
        #expect(s.endedAt == t0.adding(milliseconds: 40))
        #expect(s.failureReason == "disk full")
        #expect(s.activeMs == 20)
        #expect(s.activeSince == nil)
    }

    @Test func activeMsNeverCountsPausedTime() throws {
        let f = SessionFixture()
        try f.sessions.create(name: "n", mode: .building, id: "a")
        f.clock.advance(5_000)  // idle time does not count
        try f.sessions.start(id: "a")
        f.clock.advance(1_000)
        #expect(try f.sessions.get("a").activeMs == 1_000)  // the running period counts live
        try f.sessions.pause(id: "a")
        f.clock.advance(60_000)  // paused
        #expect(try f.sessions.get("a").activeMs == 1_000)
        try f.sessions.resume(id: "a")
        f.clock.advance(2_500)
        #expect(try f.sessions.get("a").activeMs == 3_500)
        try f.sessions.pause(id: "a")
        f.clock.advance(7)
        try f.sessions.resume(id: "a")
        f.clock.advance(500)
        let done = try f.sessions.complete(id: "a")
        #expect(done.activeMs == 4_000)
        f.clock.advance(100_000)
        #expect(try f.sessions.get("a").activeMs == 4_000)
        // The stored record holds only finished runs.
        #expect(f.sessions.stored("a")?.activeMs == 4_000)
    }

    @Test func storedRecordDoesNotDoubleCountAfterRestore() throws {
        let f = SessionFixture()
        try f.sessions.create(name: "n", mode: .building, id: "a")
        try f.sessions.start(id: "a")
        f.clock.advance(300)
        try f.sessions.addTag(id: "a", tag: "t")  // an edit while active
        f.clock.advance(200)
        let records = f.sessions.allRecords()
        let g = SessionFixture()
        g.clock.current = f.clock.current
        for case .session(let s) in records { g.sessions.restore(s) }
        #expect(try g.sessions.get("a").activeMs == 500)
        #expect(try f.sessions.get("a").activeMs == 500)
    }

    @Test func startDoesNotResetAnActiveClock() throws {
        let f = SessionFixture()
        try f.sessions.create(name: "n", mode: .building, id: "a")
        try f.sessions.start(id: "a")
        f.clock.advance(1_000)
        #expect(sessionTestError { try f.sessions.start(id: "a") } != nil)
        #expect(try f.sessions.get("a").activeMs == 1_000)
        #expect(try f.sessions.get("a").startedAt == f.clock.now().adding(milliseconds: -1_000))
    }

    @Test func exclusiveStartPausesTheProjectsOtherActiveSessions() throws {
        let f = SessionFixture()
        try f.session(in: .active, id: "p1", project: "P")
        try f.session(in: .active, id: "p2", project: "P")
        try f.session(in: .active, id: "q1", project: "Q")
        try f.session(in: .active, id: "n1")
        try f.session(in: .idle, id: "p3", project: "P")
        _ = f.env.effects.drain()
        f.clock.advance(100)
        let s = try f.sessions.start(id: "p3", exclusive: true)
        #expect(s.status == .active)
        #expect(f.sessionEvents() == ["paused:p1", "paused:p2", "started:p3"])
        #expect(try f.sessions.get("p1").status == .paused)
        #expect(try f.sessions.get("p1").activeMs == 100)
        #expect(try f.sessions.get("q1").status == .active)
        #expect(try f.sessions.get("n1").status == .active)
    }

    @Test func exclusiveStartWithoutProjectPausesProjectlessSessions() throws {
        let f = SessionFixture()
        try f.session(in: .active, id: "n1")
        try f.session(in: .active, id: "p1", project: "P")
        try f.session(in: .idle, id: "n2")
        try f.sessions.start(id: "n2", exclusive: true)
        #expect(try f.sessions.get("n1").status == .paused)
        #expect(try f.sessions.get("p1").status == .active)
    }

    @Test func illegalExclusiveStartChangesNothing() throws {
        let f = SessionFixture()
        try f.session(in: .active, id: "p1", project: "P")
        try f.session(in: .completed, id: "p2", project: "P")
        _ = f.env.effects.drain()
        #expect(sessionTestError { try f.sessions.start(id: "p2", exclusive: true) } != nil)
        #expect(try f.sessions.get("p1").status == .active)
        #expect(f.env.effects.drain().changes.isEmpty)
    }
}
