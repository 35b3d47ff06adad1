import ContextCore
import JSONCore
import JSONRPC

// PROTOCOL §5 (groups). Results are the Group; lists are `{groups}` / `{sessions}`.

struct GroupCreateParams: Decodable, Sendable {
    let name: String
    let description: String?
    let tags: [String]?
    let metadata: JSONObject?
    let id: String?
}

struct GroupIDParams: Decodable, Sendable { let id: String }

struct GroupMembershipParams: Decodable, Sendable {
    let groupId: String
    let sessionId: String
}

struct GroupSessionsParams: Decodable, Sendable { let groupId: String }

struct GroupListParams: Decodable, Sendable {
    let tag: String?
    let status: GroupStatus?
}

struct GroupMetadataParams: Decodable, Sendable {
    let id: String
    let metadata: JSONObject
}

struct GroupStatusParams: Decodable, Sendable {
    let id: String
    let status: GroupStatus
}

/// `{groups}`.
struct GroupsResult: Encodable, Sendable { let groups: [SessionGroup] }

extension MethodTable {
    /// Registers the `group/*` methods.
    mutating func registerGroupMethods() {
        register("group/create", GroupCreateParams.self) { p, ctx in
            try ctx.engine.groups.create(name: p.name, description: p.description, tags: p.tags, metadata: p.metadata, id: p.id)
        }
        register("group/get", GroupIDParams.self) { p, ctx in try ctx.engine.groups.get(p.id) }
        register("group/addSession", GroupMembershipParams.self) { p, ctx in
            try ctx.engine.addSession(p.sessionId, toGroup: p.groupId)
        }
        register("group/removeSession", GroupMembershipParams.self) { p, ctx in
            try ctx.engine.removeSession(p.sessionId, fromGroup: p.groupId)
        }
        register("group/sessions", GroupSessionsParams.self) { p, ctx in
            SessionsResult(sessions: try ctx.engine.sessions(inGroup: p.groupId))
        }
        register("group/list", GroupListParams.self) { p, ctx in GroupsResult(groups: ctx.engine.groups.list(tag: p.tag, status: p.status)) }
        register("group/updateMetadata", GroupMetadataParams.self) { p, ctx in
            try ctx.engine.groups.updateMetadata(id: p.id, metadata: p.metadata)
        }
        register("group/setStatus", GroupStatusParams.self) { p, ctx in try ctx.engine.groups.setStatus(id: p.id, status: p.status) }
        register("group/delete", GroupIDParams.self) { p, ctx in
            try ctx.engine.groups.delete(id: p.id)
            return SessionsRemovedResult(removed: [p.id])
        }
    }
}
