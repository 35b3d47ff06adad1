import JSONCore
import Testing

@testable import ContextCore

/// A clock the test moves by hand.
final class SessionTestClock: Clock, @unchecked Sendable {
    // @unchecked: used from one test at a time (each test builds its own).
    var current: Timestamp
    init(_ ms: Int64 = 1_700_000_000_000) { current = Timestamp(milliseconds: ms) }
    func now() -> Timestamp { current }
    func advance(_ ms: Int64) { current = current.adding(milliseconds: ms) }
}

/// An in-memory conversation store for the session operations: conversations linked
/// to sessions, with messages. Built from JSON so it does not depend on the model's
/// initialisers.
final class FakeConversations: SessionConversationAccess, @unchecked Sendable {
    // @unchecked: one test at a time.
    var order: [String] = []
    var headers: [String: Conversation] = [:]
    var sessionOf: [String: String] = [:]
    var messages: [String: [Message]] = [:]
    var failReplaceFor: String?
    var log: [String] = []

    static func message(_ id: String, in conversationId: String, _ content: String = "text") -> Message {
        try! JSONValueDecoder().decode(
            Message.self,
            from: [
                "id": .string(id), "conversationId": .string(conversationId), "role": "user", "content": .string(content),
                "createdAt": "2026-01-01T00:00:00.000Z", "tokens": 1,
            ])
    }

    static func conversation(_ id: String) -> Conversation {
        try! JSONValueDecoder().decode(
            Conversation.self, from: ["id": .string(id), "title": "t", "createdAt": "2026-01-01T00:00:00.000Z"])
    }

    func add(_ id: String, session: String?, messages ids: [String]) {
        order.append(id)
        headers[id] = Self.conversation(id)
        sessionOf[id] = session
        messages[id] = ids.map { Self.message($0, in: id) }
    }

    func append(_ messageId: String, to cid: String) { messages[cid, default: []].append(Self.message(messageId, in: cid)) }

    func conversationIDs(sessionId: String) -> [String] { order.filter { sessionOf[$0] == sessionId } }
    func messagesSnapshot(conversationId: String) -> [Message] { messages[conversationId] ?? [] }
    func replaceMessages(conversationId: String, with new: [Message]) throws(DomainError) {
        if conversationId == failReplaceFor { throw .limitExceeded(limit: "maxMessages", max: 0, value: new.count) }
        guard headers[conversationId] != nil else { throw .notFound(kind: "conversation", id: conversationId) }
        log.append("replace \(conversationId)")
        messages[conversationId] = new
    }
    func unlinkSession(_ sessionId: String) {
        for (c, s) in sessionOf where s == sessionId { sessionOf[c] = nil }
        log.append("unlink \(sessionId)")
    }
    func deleteConversation(id: String) throws(DomainError) {
        guard headers.removeValue(forKey: id) != nil else { throw .notFound(kind: "conversation", id: id) }
        order.removeAll { $0 == id }
        sessionOf[id] = nil
        messages[id] = nil
        log.append("delete \(id)")
    }
    func exportConversation(id: String) -> Conversation? { headers[id] }
    func importConversation(_ conversation: Conversation, messages new: [Message], sessionId: String) throws(DomainError) {
        if headers[conversation.id] == nil { order.append(conversation.id) }
        headers[conversation.id] = conversation
        sessionOf[conversation.id] = sessionId
        messages[conversation.id] = new
    }
}

/// One engine-like set of managers with a manual clock, sequential ids and a fake
/// conversation store.
struct SessionFixture {
    let clock = SessionTestClock()
    let env: DomainEnvironment
    let sessions: SessionManager
    let groups: GroupManager
    let conversations = FakeConversations()
    let ops: SessionOperations

    init(limits: DomainLimits = DomainLimits()) {
        env = DomainEnvironment(clock: clock, ids: SequentialIDGenerator(), limits: limits)
        sessions = SessionManager(env: env)
        groups = GroupManager(env: env)
        ops = SessionOperations(sessions: sessions, groups: groups, conversations: conversations, env: env)
    }

    /// The session events emitted since the last drain, as `event:id`.
    func sessionEvents() -> [String] {
        env.effects.drain().events.compactMap {
            if case .session(let e, let s) = $0 { "\(e):\(s.id)" } else { nil }
        }
    }

    /// Everything emitted since the last drain, as `topic/event:id`.
    func allEvents() -> [String] {
        env.effects.drain().events.map {
            switch $0 {
            case .session(let e, let s): "session/\(e):\(s.id)"
            case .group(let e, let g): "group/\(e):\(g.id)"
            case .memory(let e, let c, _): "memory/\(e):\(c ?? "-")"
            case .template(let e, let t): "template/\(e):\(t.id)"
            }
        }
    }

    /// A session brought into `status` (an idle session started/paused/… as needed).
    @discardableResult
    func session(in status: SessionStatus, id: String? = nil, name: String = "s", project: String? = nil) throws -> Session {
        let s = try sessions.create(name: name, mode: .building, projectId: project, id: id)
        switch status {
        case .idle: break
        case .active: try sessions.start(id: s.id)
        case .paused:
            try sessions.start(id: s.id)
            try sessions.pause(id: s.id)
        case .completed:
            try sessions.start(id: s.id)
            try sessions.complete(id: s.id)
        case .failed:
            try sessions.start(id: s.id)
            try sessions.fail(id: s.id, reason: "broken")
        }
        return try sessions.get(s.id)
    }
}

/// The DomainError thrown by `body`, or nil.
func sessionTestError(_ body: () throws -> Void) -> DomainError? {
    do {
        try body()
        return nil
    } catch let error as DomainError {
        return error
    } catch {
        Issue.record("unexpected error \(error)")
        return nil
    }
}
