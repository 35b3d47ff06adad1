import JSONCore

/// The stage of work a context is built for (PROTOCOL §7).
public enum ContextStage: String, Sendable, Codable, CaseIterable {
    case understand, decompose, plan, implement, validate, reflect

    /// How many of the newest non-system messages the stage considers (nil = none,
    /// `Int.max` = all).
    public var recentMessages: Int? {
        switch self {
        case .understand: nil
        case .decompose: 10
        case .plan: 20
        case .implement: 50
        case .validate: 20
        case .reflect: Int.max
        }
    }

    /// How many long-term memories the stage considers (0 = none).
    public var memories: Int {
        switch self {
        case .plan, .validate: 5
        case .reflect: 20
        default: 0
        }
    }
}

/// One piece of assembled context.
public struct ContextItem: Sendable, Codable, Equatable {
    /// `guidance`, `session`, `system`, `memory` or `message`.
    public var kind: String
    /// The chat role the item is meant for (`system`, `user`, `assistant`, `tool`).
    public var role: String
    public var content: String
    public var tokens: Int
    /// Where it came from: `mode:<mode>`, `session:<id>`, `message:<id>`, `memory:<id>`.
    public var source: String
}

/// The result of `context/build`.
public struct ContextBuild: Sendable, Codable, Equatable {
    public var items: [ContextItem]
    public var totalTokens: Int
    /// How many candidate items did not fit the budget.
    public var omitted: Int
}

extension ContextEngine {
    /// `context/build`: assembles guidance, the session, system messages, memories and
    /// the newest messages for a stage without ever exceeding `maxTokens`.
    ///
    /// Candidates by stage: every stage has the mode guidance and the session;
    /// decompose/implement add recent messages; plan/validate add recent messages and
    /// memories; reflect adds all messages and more memories (see `ContextStage`).
    /// Budget priority: guidance, session, system messages, memories by score, then
    /// messages newest first (the first message that does not fit ends the run, so the
    /// included messages are contiguous). Output order: guidance, session, system,
    /// memories by score, messages oldest first. `omitted` counts the candidates left out.
    /// With only `sessionId`, the session's most recently updated conversation is used;
    /// with `conversationId`, its session (if any) supplies guidance and session.
    public func buildContext(
        sessionId: String? = nil, conversationId: String? = nil, stage: ContextStage = .implement, maxTokens: Int,
        query: String? = nil
    ) throws(DomainError) -> ContextBuild {
        guard maxTokens >= 0 else { throw .invalidArgument(field: "maxTokens", expected: "an integer ≥ 0") }
        guard sessionId != nil || conversationId != nil else {
            throw .invalidArgument(field: "sessionId", expected: "sessionId or conversationId")
        }
        var conversation: Conversation? = nil
        if let cid = conversationId { conversation = try conversations.conversation(id: cid) }
        let sid = sessionId ?? conversation?.sessionId
        var session: Session? = nil
        if let sid {
            try IDRules.validate(sid, field: "sessionId")
            guard let s = sessions.stored(sid) else {
                if sessionId != nil { throw .notFound(kind: "session", id: sid) }
                return try assemble(sid: nil, session: nil, conversation: conversation, stage: stage, maxTokens: maxTokens, query: query)
            }
            session = s
        }
        if conversation == nil, let sid {
            let latest = conversations.conversationIDs(sessionId: sid).compactMap { conversations.exportConversation(id: $0) }
                .max { $0.updatedAt != $1.updatedAt ? $0.updatedAt < $1.updatedAt : $0.id > $1.id }
            conversation = latest
        }
        return try assemble(sid: sid, session: session, conversation: conversation, stage: stage, maxTokens: maxTokens, query: query)
    }

    private func assemble(
        sid: String?, session: Session?, conversation: Conversation?, stage: ContextStage, maxTokens: Int, query: String?
    ) throws(DomainError) -> ContextBuild {
        let counter = conversations.tokenizers.default
        var budget = maxTokens
        var omitted = 0
        func fits(_ tokens: Int) -> Bool {
            if tokens <= budget {
                budget -= tokens
                return true
            }
            omitted += 1
            return false
        }
        var head: [ContextItem] = []
        if let session {
            let g = SessionModes.guidance(for: session.mode)
            let gt = counter.count(g)
            if fits(gt) { head.append(ContextItem(kind: "guidance", role: "system", content: g, tokens: gt, source: "mode:\(session.mode.rawValue)")) }
            let text = Self.describeSession(session)
            let st = counter.count(text)
            if fits(st) { head.append(ContextItem(kind: "session", role: "system", content: text, tokens: st, source: "session:\(session.id)")) }
        }
        let messages = try conversation.map { c throws(DomainError) in try conversations.messagesSnapshot(conversationId: c.id) } ?? []
        if stage.recentMessages != nil {
            for m in messages where m.role == .system {
                if fits(m.tokens) { head.append(ContextItem(kind: "system", role: "system", content: m.content, tokens: m.tokens, source: "message:\(m.id)")) }
            }
        }
        if stage.memories > 0 {
            let recalled = try memories.recall(
                query: query, sessionId: sid, includeUnscoped: true, limit: stage.memories)
            let candidates = sid == nil ? try memories.recall(query: query, limit: stage.memories).filter { $0.memory.sessionId == nil } : recalled
            for r in candidates {
                let t = counter.count(r.memory.content)
                if fits(t) { head.append(ContextItem(kind: "memory", role: "system", content: r.memory.content, tokens: t, source: "memory:\(r.memory.id)")) }
            }
        }
        var tail: [ContextItem] = []
        if let recent = stage.recentMessages {
            let chat = messages.filter { $0.role != .system }
            let window = recent >= chat.count ? chat[...] : chat.suffix(recent)
            var k = window.endIndex
            while k > window.startIndex {
                let m = window[k - 1]
                if m.tokens > budget { break }
                budget -= m.tokens
                tail.append(ContextItem(kind: "message", role: m.role.rawValue, content: m.content, tokens: m.tokens, source: "message:\(m.id)"))
                k -= 1
            }
            omitted += k - window.startIndex
            tail.reverse()
        }
        let items = head + tail
        return ContextBuild(items: items, totalTokens: maxTokens - budget, omitted: omitted)
    }

    /// One readable text block: name, mode, status, phase, project, tags, context.
    static func describeSession(_ s: Session) -> String {
        var lines = ["Session: \(s.name)"]
        var facts = ["mode: \(s.mode.rawValue)", "status: \(s.status.rawValue)"]
        if let p = s.phase { facts.append("phase: \(p)") }
        lines.append(facts.joined(separator: " · "))
        if let p = s.projectId { lines.append("Project: \(p)") }
        if !s.tags.isEmpty { lines.append("Tags: " + s.tags.joined(separator: ", ")) }
        if !s.context.isEmpty {
            lines.append("Context:")
            for (k, v) in s.context { lines.append("  \(k): \(v.stringValue ?? JSONWriter.string(v))") }
        }
        return lines.joined(separator: "\n")
    }
}
