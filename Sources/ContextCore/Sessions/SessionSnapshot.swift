/// A self-contained export of one session (`session/export`, `session/import`):
/// the session as stored, all its checkpoints with their captured state and,
/// when asked for, its conversations with their messages. Import → export is lossless.
public struct SessionSnapshot: Sendable, Codable, Equatable {
    /// The snapshot format version this build writes and reads.
    public static let currentSchemaVersion = 1

    public var schemaVersion: Int
    /// Always `session`: tells snapshot files of different kinds apart.
    public var kind: String
    public var exportedAt: Timestamp
    /// The stored form: `activeMs` covers finished active runs; an active session's
    /// running period starts at `activeSince`.
    public var session: Session
    /// Oldest first.
    public var checkpoints: [Checkpoint]
    /// Present when exported with `includeConversations`.
    public var conversations: [ConversationSnapshot]?

    public init(
        schemaVersion: Int = SessionSnapshot.currentSchemaVersion, exportedAt: Timestamp, session: Session,
        checkpoints: [Checkpoint], conversations: [ConversationSnapshot]?
    ) {
        self.schemaVersion = schemaVersion
        self.kind = "session"
        self.exportedAt = exportedAt
        self.session = session
        self.checkpoints = checkpoints
        self.conversations = conversations
    }

    enum CodingKeys: String, CodingKey { case schemaVersion, kind, exportedAt, session, checkpoints, conversations }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        schemaVersion = try c.decode(Int.self, forKey: .schemaVersion)
        kind = try c.decodeIfPresent(String.self, forKey: .kind) ?? "session"
        exportedAt = try c.decode(Timestamp.self, forKey: .exportedAt)
        session = try c.decode(Session.self, forKey: .session)
        checkpoints = try c.decodeIfPresent([Checkpoint].self, forKey: .checkpoints) ?? []
        conversations = try c.decodeIfPresent([ConversationSnapshot].self, forKey: .conversations)
    }
}

// `ConversationSnapshot` (header + messages) and `ImportConflictPolicy` (error, replace,
// newId) are shared with `memory/exportConversation` / `memory/importConversation`
// (Memory/Conversation.swift).
