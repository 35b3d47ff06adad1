import JSONCore

/// Session operations that reach beyond the sessions themselves: deleting a session
/// (its conversations unlinked or deleted, its group memberships removed), trimming
/// history, group membership, checkpoints and rollback, export and import.
///
/// `ContextEngine` exposes these through `ContextEngine+Sessions.swift`; tests can build
/// one over their own `SessionConversationAccess`.
///
/// - Important: Not thread-safe; confined to the domain owner's serial queue.
public struct SessionOperations {
    public let sessions: SessionManager
    public let groups: GroupManager
    public let conversations: any SessionConversationAccess
    let env: DomainEnvironment

    public init(sessions: SessionManager, groups: GroupManager, conversations: any SessionConversationAccess, env: DomainEnvironment) {
        self.sessions = sessions
        self.groups = groups
        self.conversations = conversations
        self.env = env
    }

    // MARK: Delete and trim

    /// `session/delete`: removes the session, its checkpoints and its group memberships.
    /// Its conversations stay (unlinked) unless `cascade`, which deletes them.
    /// Returns `[id]` (the `removed` list).
    @discardableResult
    public func delete(id: String, cascade: Bool = false) throws(DomainError) -> [String] {
        _ = try sessions.require(id)
        let now = env.now()
        if cascade {
            for cid in conversations.conversationIDs(sessionId: id) { try conversations.deleteConversation(id: cid) }
        } else {
            conversations.unlinkSession(id)
        }
        groups.purgeSession(id)
        sessions.remove(id, now: now)
        return [id]
    }

    /// `session/trimHistory`: of the completed and failed sessions, keeps the `keep`
    /// most recently ended (ties: the greater id is kept) and deletes the others,
    /// oldest ended first, each with its own `deleted` event. Idle, active and paused
    /// sessions are never removed. Returns the removed ids in removal order.
    @discardableResult
    public func trimHistory(keep: Int, cascade: Bool = false) throws(DomainError) -> [String] {
        guard keep >= 0 else { throw .invalidArgument(field: "keep", expected: "an integer of 0 or more") }
        let ended = sessions.sessions.values.filter(\.status.isEnded).sorted { a, b in
            let ea = a.endedAt ?? a.updatedAt, eb = b.endedAt ?? b.updatedAt
            return ea != eb ? ea > eb : a.id > b.id
        }
        let removed = ended.dropFirst(keep).reversed().map(\.id)
        for id in removed { try delete(id: id, cascade: cascade) }
        return removed
    }

    // MARK: Groups

    /// `group/addSession` (unknown group or session → 1001; group not active → 1005).
    @discardableResult
    public func addSession(_ sessionId: String, toGroup groupId: String) throws(DomainError) -> SessionGroup {
        try groups.addSession(groupId: groupId, sessionId: sessionId) { sessions.stored($0) != nil }
    }

    /// `group/removeSession` (unknown group or session → 1001; group not active → 1005).
    @discardableResult
    public func removeSession(_ sessionId: String, fromGroup groupId: String) throws(DomainError) -> SessionGroup {
        try groups.removeSession(groupId: groupId, sessionId: sessionId) { sessions.stored($0) != nil }
    }

    /// `group/sessions`: the member sessions in the group's order.
    public func sessions(inGroup groupId: String) throws(DomainError) -> [Session] {
        let g = try groups.get(groupId, field: "groupId")
        let now = env.now()
        return g.sessionIds.compactMap { sessions.stored($0)?.observed(at: now) }
    }

    // MARK: Checkpoints

    /// `session/checkpoint`: captures name, mode, tags, metadata, context, phase and
    /// the messages of every conversation linked to the session. The label defaults to
    /// `checkpoint N` (N = the session's checkpoint count after this one).
    @discardableResult
    public func checkpoint(sessionId: String, label: String? = nil) throws(DomainError) -> Checkpoint {
        if let label { try SessionManager.validateText(label, field: "label") }
        let s = try sessions.require(sessionId)
        var captured: [CapturedConversation] = []
        for cid in conversations.conversationIDs(sessionId: sessionId) {
            captured.append(CapturedConversation(conversationId: cid, messages: try conversations.messagesSnapshot(conversationId: cid)))
        }
        let state = CheckpointState(
            name: s.name, mode: s.mode, tags: s.tags, metadata: s.metadata, context: s.context, phase: s.phase,
            conversations: captured)
        let c = Checkpoint(
            id: sessions.newCheckpointID(), sessionId: sessionId,
            label: label ?? "checkpoint \(sessions.checkpointCount(of: sessionId) + 1)", phase: s.phase,
            createdAt: env.now(), state: state)
        sessions.insert(c)
        return c
    }

    /// `session/rollback`: restores the checkpoint's name, mode, tags, metadata,
    /// context, phase and the messages of the conversations it captured that are still
    /// linked to the session (conversations created later are left alone). The session
    /// becomes paused, or idle if it was never started; an active run is closed first,
    /// a failed session's `endedAt` and `failureReason` are cleared. Usage and quality
    /// records stay (they happened). From completed → 1002 with action `rollback`.
    /// Emits one `rolledBack` session event.
    @discardableResult
    public func rollback(sessionId: String, checkpointId: String) throws(DomainError) -> Session {
        var s = try sessions.require(sessionId)
        let cp = try sessions.checkpoint(checkpointId, of: sessionId)
        let to = try SessionLifecycle.check(s, .rollback)
        let now = env.now()

        // Conversations first: the only step that can fail. On failure, put back what
        // was already replaced so nothing changes.
        let linked = Set(conversations.conversationIDs(sessionId: sessionId))
        var replaced: [(String, [Message])] = []
        for captured in cp.state.conversations where linked.contains(captured.conversationId) {
            do {
                let current = try conversations.messagesSnapshot(conversationId: captured.conversationId)
                guard current != captured.messages else { continue }
                try conversations.replaceMessages(conversationId: captured.conversationId, with: captured.messages)
                replaced.append((captured.conversationId, current))
            } catch {
                for (cid, messages) in replaced.reversed() { try? conversations.replaceMessages(conversationId: cid, with: messages) }
                throw error
            }
        }

        s.closeActiveRun(at: now)
        s.status = to
        if to == .paused { s.lastPausedAt = now }
        s.endedAt = nil
        s.failureReason = nil
        s.name = cp.state.name
        s.mode = cp.state.mode
        s.tags = cp.state.tags
        s.metadata = cp.state.metadata
        s.context = cp.state.context
        if s.phase != cp.state.phase {
            s.phase = cp.state.phase
            if let p = cp.state.phase { s.phaseHistory = (s.phaseHistory ?? []) + [PhaseEntry(phase: p, at: now)] }
        }
        s.updatedAt = now
        return sessions.commit(s, event: "rolledBack", now: now)
    }

    // MARK: Export and import

    /// `session/export`: the stored session, its checkpoints (oldest first) and, with
    /// `includeConversations`, its conversations with their messages.
    public func export(sessionId: String, includeConversations: Bool = false) throws(DomainError) -> SessionSnapshot {
        let s = try sessions.require(sessionId)
        let cps = try sessions.checkpoints(sessionId: sessionId).reversed()
        var convs: [ConversationSnapshot]?
        if includeConversations {
            var list: [ConversationSnapshot] = []
            for cid in conversations.conversationIDs(sessionId: sessionId) {
                guard let c = conversations.exportConversation(id: cid) else { continue }
                list.append(ConversationSnapshot(conversation: c, messages: try conversations.messagesSnapshot(conversationId: cid)))
            }
            convs = list
        }
        return SessionSnapshot(exportedAt: env.now(), session: s, checkpoints: Array(cps), conversations: convs)
    }

    /// `session/import`: inserts the snapshot's session, checkpoints and conversations.
    /// Taken ids are handled by `onConflict` (see `ImportConflictPolicy`). Emits
    /// `created` (or `updated` when replacing). Returns the session as imported.
    @discardableResult
    public func importSnapshot(_ snap: SessionSnapshot, onConflict: ImportConflictPolicy = .error) throws(DomainError) -> Session {
        guard snap.schemaVersion == SessionSnapshot.currentSchemaVersion else {
            throw .invalidArgument(field: "snapshot.schemaVersion", expected: "\(SessionSnapshot.currentSchemaVersion)")
        }
        guard snap.kind == "session" else { throw .invalidArgument(field: "snapshot.kind", expected: "\"session\"") }
        var s = snap.session
        try IDRules.validate(s.id, field: "snapshot.session.id")
        try SessionManager.validateName(s.name)
        for (i, c) in snap.checkpoints.enumerated() { try IDRules.validate(c.id, field: "snapshot.checkpoints[\(i)].id") }
        for (i, c) in (snap.conversations ?? []).enumerated() {
            try IDRules.validate(c.conversation.id, field: "snapshot.conversations[\(i)].conversation.id")
        }

        // Resolve ids (validation only: nothing changes before every check passed).
        let sessionTaken = sessions.stored(s.id) != nil
        var conversationIds: [String: String] = [:]  // old → new
        var messageIds: [String: String] = [:]
        switch onConflict {
        case .error:
            if sessionTaken { throw .conflict(kind: "session", id: s.id, reason: "a session with this id already exists") }
            for c in snap.conversations ?? [] where conversations.exportConversation(id: c.conversation.id) != nil {
                throw .conflict(kind: "conversation", id: c.conversation.id, reason: "a conversation with this id already exists")
            }
            for c in snap.checkpoints where sessions.checkpoints[c.id] != nil {
                throw .conflict(kind: "checkpoint", id: c.id, reason: "a checkpoint with this id already exists")
            }
        case .replace:
            for c in snap.checkpoints {
                if let other = sessions.checkpoints[c.id], other.sessionId != s.id {
                    throw .conflict(kind: "checkpoint", id: c.id, reason: "the id belongs to a checkpoint of another session")
                }
            }
        case .newId:
            if sessionTaken {
                s.id = sessions.newSessionID()
            }
            for c in snap.conversations ?? [] where conversations.exportConversation(id: c.conversation.id) != nil {
                conversationIds[c.conversation.id] = env.ids.next("conv")
                for m in c.messages { messageIds[m.id] = env.ids.next("msg") }
            }
        }
        if !sessionTaken || onConflict == .newId, sessions.totalCount >= env.limits.maxSessions {
            throw .limitExceeded(limit: "maxSessions", max: env.limits.maxSessions, value: sessions.totalCount + 1)
        }

        func remap(_ m: Message) -> Message {
            guard let cid = conversationIds[m.conversationId] else { return m }
            var m = m
            m.conversationId = cid
            m.id = messageIds[m.id] ?? m.id
            return m
        }

        // Apply.
        let now = env.now()
        let replacing = sessionTaken && onConflict == .replace
        if replacing { sessions.removeCheckpoints(of: s.id) }
        for var c in snap.conversations ?? [] {
            c.conversation.id = conversationIds[c.conversation.id] ?? c.conversation.id
            try conversations.importConversation(c.conversation, messages: c.messages.map(remap), sessionId: s.id)
        }
        for var c in snap.checkpoints {
            if onConflict == .newId, sessions.checkpoints[c.id] != nil { c.id = sessions.newCheckpointID() }
            c.sessionId = s.id
            c.state.conversations = c.state.conversations.map {
                CapturedConversation(
                    conversationId: conversationIds[$0.conversationId] ?? $0.conversationId, messages: $0.messages.map(remap))
            }
            sessions.insert(c)
        }
        return sessions.commit(s, event: replacing ? "updated" : "created", now: now)
    }
}
