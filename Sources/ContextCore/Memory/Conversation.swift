import JSONCore

/// Who wrote a message. A `tool` message answers the assistant message whose
/// `toolCalls` holds its `toolCallId`.
public enum MessageRole: String, Sendable, Codable, CaseIterable {
    case system, user, assistant, tool

    var index: Int {
        switch self {
        case .system: 0
        case .user: 1
        case .assistant: 2
        case .tool: 3
        }
    }
}

/// One tool invocation requested by an assistant message. `arguments` is any JSON
/// value, kept exactly as given.
public struct ToolCall: Sendable, Codable, Equatable {
    public var id: String
    public var name: String
    public var arguments: JSONValue

    public init(id: String, name: String, arguments: JSONValue) {
        self.id = id
        self.name = name
        self.arguments = arguments
    }

    enum CodingKeys: String, CodingKey { case id, name, arguments }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        name = try c.decode(String.self, forKey: .name)
        // `arguments` is any JSON value; an absent one is `null`.
        arguments = try c.decodeIfPresent(JSONValue.self, forKey: .arguments) ?? .null
    }
}

/// One message of a conversation (PROTOCOL §6). Immutable once added.
public struct Message: Sendable, Codable, Equatable {
    public var id: String
    public var conversationId: String
    public var role: MessageRole
    public var content: String
    public var metadata: JSONObject
    public var createdAt: Timestamp
    /// Tokens of `content` plus the JSON text of every tool call's `arguments`
    /// (no per-message overhead), counted with the configured tokenizer.
    public var tokens: Int
    public var toolCalls: [ToolCall]?
    public var toolCallId: String?

    public init(
        id: String, conversationId: String, role: MessageRole, content: String, metadata: JSONObject = [:],
        createdAt: Timestamp, tokens: Int, toolCalls: [ToolCall]? = nil, toolCallId: String? = nil
    ) {
        self.id = id
        self.conversationId = conversationId
        self.role = role
        self.content = content
        self.metadata = metadata
        self.createdAt = createdAt
        self.tokens = tokens
        self.toolCalls = toolCalls
        self.toolCallId = toolCallId
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        conversationId = try c.decode(String.self, forKey: .conversationId)
        role = try c.decode(MessageRole.self, forKey: .role)
        content = try c.decode(String.self, forKey: .content)
        metadata = try c.decodeIfPresent(JSONObject.self, forKey: .metadata) ?? [:]
        createdAt = try c.decode(Timestamp.self, forKey: .createdAt)
        tokens = try c.decodeIfPresent(Int.self, forKey: .tokens) ?? 0
        toolCalls = try c.decodeIfPresent([ToolCall].self, forKey: .toolCalls)
        toolCallId = try c.decodeIfPresent(String.self, forKey: .toolCallId)
    }

    /// The ids of the tool calls this (assistant) message requested.
    var toolCallIds: [String] { toolCalls?.map(\.id) ?? [] }
}

/// A conversation's header (PROTOCOL §6). Its messages are separate records.
public struct Conversation: Sendable, Codable, Equatable {
    public var id: String
    public var title: String
    public var sessionId: String?
    public var metadata: JSONObject
    public var maxMessages: Int?
    public var maxTokens: Int?
    public var messageCount: Int
    public var tokenCount: Int
    public var createdAt: Timestamp
    public var updatedAt: Timestamp
    public var parentConversationId: String?
    public var forkedAtMessageId: String?

    public init(
        id: String, title: String, sessionId: String? = nil, metadata: JSONObject = [:], maxMessages: Int? = nil,
        maxTokens: Int? = nil, messageCount: Int = 0, tokenCount: Int = 0, createdAt: Timestamp, updatedAt: Timestamp,
        parentConversationId: String? = nil, forkedAtMessageId: String? = nil
    ) {
        self.id = id
        self.title = title
        self.sessionId = sessionId
        self.metadata = metadata
        self.maxMessages = maxMessages
        self.maxTokens = maxTokens
        self.messageCount = messageCount
        self.tokenCount = tokenCount
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.parentConversationId = parentConversationId
        self.forkedAtMessageId = forkedAtMessageId
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        title = try c.decodeIfPresent(String.self, forKey: .title) ?? ""
        sessionId = try c.decodeIfPresent(String.self, forKey: .sessionId)
        metadata = try c.decodeIfPresent(JSONObject.self, forKey: .metadata) ?? [:]
        maxMessages = try c.decodeIfPresent(Int.self, forKey: .maxMessages)
        maxTokens = try c.decodeIfPresent(Int.self, forKey: .maxTokens)
        messageCount = try c.decodeIfPresent(Int.self, forKey: .messageCount) ?? 0
        tokenCount = try c.decodeIfPresent(Int.self, forKey: .tokenCount) ?? 0
        createdAt = try c.decode(Timestamp.self, forKey: .createdAt)
        updatedAt = try c.decodeIfPresent(Timestamp.self, forKey: .updatedAt) ?? createdAt
        parentConversationId = try c.decodeIfPresent(String.self, forKey: .parentConversationId)
        forkedAtMessageId = try c.decodeIfPresent(String.self, forKey: .forkedAtMessageId)
    }
}

/// A lossless export of one conversation (`memory/exportConversation`).
public struct ConversationSnapshot: Sendable, Codable, Equatable {
    public static let currentSchemaVersion = 1
    public var schemaVersion: Int
    public var conversation: Conversation
    public var messages: [Message]

    public init(conversation: Conversation, messages: [Message]) {
        schemaVersion = Self.currentSchemaVersion
        self.conversation = conversation
        self.messages = messages
    }
}

// `ImportConflictPolicy` (error, replace, newId) is shared with templates and sessions
// (defined in Templates/Template.swift).
