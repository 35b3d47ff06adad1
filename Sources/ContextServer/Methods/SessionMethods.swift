import ContextCore
import JSONCore
import JSONRPC

// PROTOCOL §4 (sessions). Each method: its params next to its registration; the rules
// live in ContextCore (SessionManager, SessionOperations).

struct SessionIDParams: Decodable, Sendable, JSONFastDecodable {
    let id: String
    init(object o: JSONObject) throws(JSONDecodingFailure) { id = try JSONDecodingFailure.string(o, "id") }
}

struct SessionCreateParams: Decodable, Sendable {
    let name: String
    let mode: SessionMode
    let projectId: String?
    let id: String?
    let tags: [String]?
    let metadata: JSONObject?
    let context: JSONObject?
}

struct SessionStartParams: Decodable, Sendable {
    let id: String
    let exclusive: Bool?
}

struct SessionFailParams: Decodable, Sendable {
    let id: String
    let reason: String
}

struct SessionUpdateParams: Decodable, Sendable {
    let id: String
    let name: String?
    let mode: SessionMode?
    let projectId: String?
}

struct SessionDeleteParams: Decodable, Sendable {
    let id: String
    let cascade: Bool?
}

struct SessionTagParams: Decodable, Sendable {
    let id: String
    let tag: String
}

/// `value` is required; `null` deletes the key.
struct SessionKeyValueParams: Decodable, Sendable {
    let id: String
    let key: String
    let value: JSONValue
    /// setContext only: keep the value in memory, never on disk.
    let secret: Bool?
}

struct SessionGetContextParams: Decodable, Sendable {
    let id: String
    let key: String?
}

struct SessionListParams: Decodable, Sendable {
    let projectId: String?
    let mode: SessionMode?
    let status: SessionStatus?
    let tag: String?
    let nameContains: String?
    let limit: Int?
    let cursor: String?
}

struct SessionRecentParams: Decodable, Sendable { let limit: Int? }

struct SessionCountParams: Decodable, Sendable { let status: SessionStatus? }

struct SessionTrimParams: Decodable, Sendable {
    let keep: Int
    let cascade: Bool?
}

struct SessionPhaseParams: Decodable, Sendable {
    let id: String
    let phase: String
}

struct SessionUsageParams: Decodable, Sendable {
    let id: String
    let phase: String?
    let model: String?
    let inputTokens: Int64?
    let outputTokens: Int64?
    let costUsd: Double?
}

struct SessionQualityParams: Decodable, Sendable {
    let id: String
    let phase: String?
    let score: Double
    let notes: String?
}

struct SessionCheckpointParams: Decodable, Sendable {
    let id: String
    let label: String?
}

struct SessionRollbackParams: Decodable, Sendable {
    let id: String
    let checkpointId: String
}

struct SessionExportParams: Decodable, Sendable {
    let id: String
    let includeConversations: Bool?
}

struct SessionImportParams: Decodable, Sendable {
    let snapshot: SessionSnapshot
    let onConflict: ImportConflictPolicy?
}

/// `{sessions}`.
struct SessionsResult: Encodable, Sendable { let sessions: [Session] }
/// `{removed: [id]}`.
struct SessionsRemovedResult: Encodable, Sendable { let removed: [String] }
/// `{checkpoints}`.
struct CheckpointsResult: Encodable, Sendable { let checkpoints: [CheckpointSummary] }
/// `{modes: [{mode, description, guidance}]}`.
struct ModesResult: Encodable, Sendable { let modes: [SessionModes.Info] }

extension MethodTable {
    /// Registers the `session/*` methods.
    mutating func registerSessionMethods() {
        register("session/create", SessionCreateParams.self) { p, ctx in
            try ctx.engine.sessions.create(
                name: p.name, mode: p.mode, projectId: p.projectId, id: p.id, tags: p.tags, metadata: p.metadata,
                context: p.context)
        }
        register("session/get", SessionIDParams.self) { p, ctx in try ctx.engine.sessions.get(p.id) }
        register("session/update", SessionUpdateParams.self) { p, ctx in
            try ctx.engine.sessions.update(id: p.id, name: p.name, mode: p.mode, projectId: p.projectId)
        }
        register("session/delete", SessionDeleteParams.self) { p, ctx in
            SessionsRemovedResult(removed: try ctx.engine.deleteSession(id: p.id, cascade: p.cascade ?? false))
        }

        // Lifecycle
        register("session/start", SessionStartParams.self) { p, ctx in
            try ctx.engine.startSession(id: p.id, exclusive: p.exclusive ?? false)
        }
        register("session/pause", SessionIDParams.self) { p, ctx in try ctx.engine.sessions.pause(id: p.id) }
        register("session/resume", SessionIDParams.self) { p, ctx in try ctx.engine.sessions.resume(id: p.id) }
        register("session/complete", SessionIDParams.self) { p, ctx in try ctx.engine.sessions.complete(id: p.id) }
        register("session/fail", SessionFailParams.self) { p, ctx in try ctx.engine.sessions.fail(id: p.id, reason: p.reason) }

        // Tags, metadata, context
        register("session/addTag", SessionTagParams.self) { p, ctx in try ctx.engine.sessions.addTag(id: p.id, tag: p.tag) }
        register("session/removeTag", SessionTagParams.self) { p, ctx in try ctx.engine.sessions.removeTag(id: p.id, tag: p.tag) }
        register("session/setMetadata", SessionKeyValueParams.self) { p, ctx in
            try ctx.engine.sessions.setMetadata(id: p.id, key: p.key, value: p.value)
        }
        register("session/setContext", SessionKeyValueParams.self) { p, ctx in
            try ctx.engine.sessions.setContext(id: p.id, key: p.key, value: p.value, secret: p.secret ?? false)
        }
        register("session/getContext", SessionGetContextParams.self) { p, ctx in
            try ctx.engine.sessions.getContext(id: p.id, key: p.key)
        }

        // Lists and statistics
        register("session/list", SessionListParams.self) { p, ctx in
            try ctx.engine.sessions.list(
                SessionQuery(
                    projectId: p.projectId, mode: p.mode, status: p.status, tag: p.tag, nameContains: p.nameContains,
                    limit: p.limit, cursor: p.cursor))
        }
        register("session/recent", SessionRecentParams.self) { p, ctx in
            SessionsResult(sessions: try ctx.engine.sessions.recent(limit: p.limit ?? 10))
        }
        register("session/statistics", NoParams.self) { _, ctx in ctx.engine.sessions.statistics() }
        register("session/count", SessionCountParams.self) { p, ctx in ctx.engine.sessions.count(status: p.status) }
        register("session/trimHistory", SessionTrimParams.self) { p, ctx in
            SessionsRemovedResult(removed: try ctx.engine.trimSessionHistory(keep: p.keep, cascade: p.cascade ?? false))
        }
        register("session/modes", NoParams.self) { _, _ in ModesResult(modes: SessionModes.all) }

        // Production tracking
        register("session/setPhase", SessionPhaseParams.self) { p, ctx in try ctx.engine.sessions.setPhase(id: p.id, phase: p.phase) }
        register("session/recordUsage", SessionUsageParams.self) { p, ctx in
            try ctx.engine.sessions.recordUsage(
                id: p.id, phase: p.phase, model: p.model, inputTokens: p.inputTokens, outputTokens: p.outputTokens,
                costUsd: p.costUsd)
        }
        register("session/recordQuality", SessionQualityParams.self) { p, ctx in
            try ctx.engine.sessions.recordQuality(id: p.id, phase: p.phase, score: p.score, notes: p.notes)
        }

        // Checkpoints
        register("session/checkpoint", SessionCheckpointParams.self) { p, ctx in
            try ctx.engine.checkpointSession(id: p.id, label: p.label).summary
        }
        register("session/checkpoints", SessionIDParams.self) { p, ctx in
            CheckpointsResult(checkpoints: try ctx.engine.sessions.checkpoints(sessionId: p.id).map(\.summary))
        }
        register("session/rollback", SessionRollbackParams.self) { p, ctx in
            try ctx.engine.rollbackSession(id: p.id, checkpointId: p.checkpointId)
        }

        // Export / import
        register("session/export", SessionExportParams.self) { p, ctx in
            try ctx.engine.exportSession(id: p.id, includeConversations: p.includeConversations ?? false)
        }
        register("session/import", SessionImportParams.self) { p, ctx in
            try ctx.withProgress("importing session") { () throws(DomainError) in try ctx.engine.importSession(p.snapshot, onConflict: p.onConflict ?? .error) }
        }
    }
}
