import JSONCore

/// A saved point in a session's run: what `session/rollback` returns the session to.
///
/// The persisted record holds the captured `state`; the wire form (`summary`) is only
/// `{id, sessionId, label, phase?, createdAt}`.
public struct Checkpoint: Sendable, Codable, Equatable {
    public var id: String
    public var sessionId: String
    public var label: String
    /// The session's phase when the checkpoint was taken.
    public var phase: String?
    public var createdAt: Timestamp
    /// What a rollback restores.
    public var state: CheckpointState

    public init(id: String, sessionId: String, label: String, phase: String?, createdAt: Timestamp, state: CheckpointState) {
        self.id = id
        self.sessionId = sessionId
        self.label = label
        self.phase = phase
        self.createdAt = createdAt
        self.state = state
    }

    /// The wire form returned by `session/checkpoint` and `session/checkpoints`.
    public var summary: CheckpointSummary {
        CheckpointSummary(id: id, sessionId: sessionId, label: label, phase: phase, createdAt: createdAt)
    }
}

/// The wire form of a checkpoint (the captured state stays on the server).
public struct CheckpointSummary: Sendable, Codable, Equatable {
    public var id: String
    public var sessionId: String
    public var label: String
    public var phase: String?
    public var createdAt: Timestamp
}

/// The part of a session a checkpoint captures and a rollback restores.
public struct CheckpointState: Sendable, Codable, Equatable {
    public var name: String
    public var mode: SessionMode
    public var tags: [String]
    public var metadata: JSONObject
    public var context: JSONObject
    public var phase: String?
    /// The messages of each of the session's conversations, in conversation order.
    public var conversations: [CapturedConversation]

    public init(
        name: String, mode: SessionMode, tags: [String], metadata: JSONObject, context: JSONObject, phase: String?,
        conversations: [CapturedConversation]
    ) {
        self.name = name
        self.mode = mode
        self.tags = tags
        self.metadata = metadata
        self.context = context
        self.phase = phase
        self.conversations = conversations
    }
}

/// One conversation's messages as they were when a checkpoint was taken.
public struct CapturedConversation: Sendable, Codable, Equatable {
    public var conversationId: String
    public var messages: [Message]

    public init(conversationId: String, messages: [Message]) {
        self.conversationId = conversationId
        self.messages = messages
    }
}
