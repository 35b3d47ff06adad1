import JSONCore

/// The groups of sessions: creation, membership, metadata and the group transitions.
///
/// Membership changes check that the session exists: callers pass a lookup
/// (`ContextEngine.addSession(toGroup:…)` passes the engine's sessions). Every mutation validates first, then changes state, records the
/// group and emits one `group` event: created, updated, sessionAdded, sessionRemoved,
/// closed, reopened, archived, deleted.
///
/// - Important: Not thread-safe; confined to the domain owner's serial queue.
public final class GroupManager: @unchecked Sendable {
    // @unchecked: confined to the single domain owner (ContextEngine's queue).
    let env: DomainEnvironment
    private(set) var groups: [String: SessionGroup] = [:]

    public init(env: DomainEnvironment) { self.env = env }

    // MARK: Persistence entry points

    public func restore(_ g: SessionGroup) { groups[g.id] = g }
    public func restoreDeletion(_ key: RecordKey) { groups[key.id] = nil }
    public func allRecords() -> [Record] { groups.values.sorted { $0.id < $1.id }.map { .group($0) } }

    // MARK: Reading

    /// `group/get`.
    public func get(_ id: String, field: String = "id") throws(DomainError) -> SessionGroup {
        try IDRules.validate(id, field: field)
        guard let g = groups[id] else { throw .notFound(kind: "group", id: id) }
        return g
    }

    /// `group/list`: filters AND together; newest created first, ties by id (descending).
    public func list(tag: String? = nil, status: GroupStatus? = nil) -> [SessionGroup] {
        groups.values.filter { g in
            if let tag, !g.tags.contains(tag) { return false }
            if let status, g.status != status { return false }
            return true
        }.sorted { $0.createdAt != $1.createdAt ? $0.createdAt > $1.createdAt : $0.id > $1.id }
    }

    /// The groups `sessionId` belongs to (by id).
    public func groups(containing sessionId: String) -> [SessionGroup] {
        groups.values.filter { $0.sessionIds.contains(sessionId) }.sorted { $0.id < $1.id }
    }

    // MARK: Mutations

    /// `group/create`. A given `id` must be valid and free (-32602 / 1003).
    @discardableResult
    public func create(
        name: String, description: String? = nil, tags: [String]? = nil, metadata: JSONObject? = nil, id: String? = nil
    ) throws(DomainError) -> SessionGroup {
        guard !name.allSatisfy(\.isWhitespace) else { throw .invalidArgument(field: "name", expected: "a non-empty name") }
        for (i, t) in (tags ?? []).enumerated() where t.isEmpty {
            throw .invalidArgument(field: "tags[\(i)]", expected: "a non-empty string")
        }
        if let id {
            try IDRules.validate(id)
            guard groups[id] == nil else { throw .conflict(kind: "group", id: id, reason: "a group with this id already exists") }
        }
        let g = SessionGroup(
            id: id ?? newID(), name: name, description: description, tags: (tags ?? []).uniquedTags(),
            metadata: (metadata ?? [:]).droppingNulls(), createdAt: env.now())
        return commit(g, event: "created")
    }

    private func newID() -> String {
        while true {
            let id = env.ids.next("grp")
            if groups[id] == nil { return id }
        }
    }

    /// `group/addSession`: appends the session unless already a member. Unknown group
    /// or session → 1001; group not active → 1005.
    @discardableResult
    public func addSession(groupId: String, sessionId: String, sessionExists: (String) -> Bool) throws(DomainError) -> SessionGroup {
        var g = try get(groupId, field: "groupId")
        try IDRules.validate(sessionId, field: "sessionId")
        guard sessionExists(sessionId) else { throw .notFound(kind: "session", id: sessionId) }
        guard g.status == .active else { throw .groupClosed(groupId: groupId, status: g.status.rawValue) }
        guard !g.sessionIds.contains(sessionId) else { return g }
        g.sessionIds.append(sessionId)
        g.updatedAt = env.now()
        return commit(g, event: "sessionAdded")
    }

    /// `group/removeSession`: removes a member. Unknown group → 1001; a session that is
    /// neither a member nor known → 1001; group not active → 1005.
    @discardableResult
    public func removeSession(groupId: String, sessionId: String, sessionExists: (String) -> Bool) throws(DomainError) -> SessionGroup {
        var g = try get(groupId, field: "groupId")
        try IDRules.validate(sessionId, field: "sessionId")
        let member = g.sessionIds.contains(sessionId)
        guard member || sessionExists(sessionId) else { throw .notFound(kind: "session", id: sessionId) }
        guard g.status == .active else { throw .groupClosed(groupId: groupId, status: g.status.rawValue) }
        guard member else { return g }
        g.sessionIds.removeAll { $0 == sessionId }
        g.updatedAt = env.now()
        return commit(g, event: "sessionRemoved")
    }

    /// `group/updateMetadata`: merges `metadata` into the group's; `null` members delete.
    @discardableResult
    public func updateMetadata(id: String, metadata: JSONObject) throws(DomainError) -> SessionGroup {
        var g = try get(id)
        let before = g.metadata
        for (k, v) in metadata { g.metadata[k] = v.isNull ? JSONValue?.none : v }
        guard g.metadata != before || g.metadata.keys != before.keys else { return g }
        g.updatedAt = env.now()
        return commit(g, event: "updated")
    }

    /// `group/setStatus`: active ⇄ closed, closed → archived; anything else → 1002
    /// with `action` = the status asked for and `allowed` = the reachable statuses.
    @discardableResult
    public func setStatus(id: String, status: GroupStatus) throws(DomainError) -> SessionGroup {
        var g = try get(id)
        guard GroupLifecycle.canMove(from: g.status, to: status) else {
            throw .invalidTransition(
                id: id, from: g.status.rawValue, action: status.rawValue,
                allowed: GroupLifecycle.allowedTargets(from: g.status).map(\.rawValue))
        }
        let event =
            switch (g.status, status) {
            case (.closed, .active): "reopened"
            case (_, .archived): "archived"
            default: "closed"
            }
        g.status = status
        g.updatedAt = env.now()
        return commit(g, event: event)
    }

    /// `group/delete` (its sessions are not touched).
    @discardableResult
    public func delete(id: String) throws(DomainError) -> SessionGroup {
        let g = try get(id)
        groups[id] = nil
        env.effects.delete(RecordKey(.group, id))
        env.effects.emit(.group(event: "deleted", group: g))
        return g
    }

    /// Removes a deleted session from every group holding it (any status: the session
    /// no longer exists), one `sessionRemoved` event per group.
    func purgeSession(_ sessionId: String) {
        let now = env.now()
        for var g in groups(containing: sessionId) {
            g.sessionIds.removeAll { $0 == sessionId }
            g.updatedAt = now
            commit(g, event: "sessionRemoved")
        }
    }

    @discardableResult
    private func commit(_ g: SessionGroup, event: String) -> SessionGroup {
        groups[g.id] = g
        env.effects.put(.group(g))
        env.effects.emit(.group(event: event, group: g))
        return g
    }
}
