import ContextCore
import JSONCore
import JSONRPC

// MARK: Params and results (PROTOCOL §6)

struct CreateConversationParams: Decodable, Sendable {
    let title: String
    let sessionId: String?
    let maxMessages: Int?
    let maxTokens: Int?
    let metadata: JSONObject?
}

struct AddMessageParams: Decodable, Sendable {
    let conversationId: String
    let role: MessageRole
    let content: String
    let metadata: JSONObject?
    let toolCalls: [ToolCall]?
    let toolCallId: String?
}

struct AddMessageResult: Encodable, Sendable, JSONFastEncodable {
    let message: Message
    let trimmed: [String]

    func writeJSON(into w: inout JSONWriter) {
        w.raw(#"{"message":"#)
        message.writeJSON(into: &w)
        w.raw(#","trimmed":"#)
        w.writeStrings(trimmed)
        w.raw("}")
    }
}

struct LimitsParams: Decodable, Sendable {
    let conversationId: String
    let maxMessages: Int?
    let maxTokens: Int?
}

struct PreviewTrimResult: Encodable, Sendable {
    let trimmed: [String]
    let messageCount: Int
    let tokenCount: Int
}

struct SetLimitsResult: Encodable, Sendable {
    let conversation: Conversation
    let trimmed: [String]
}

struct GetMessagesParams: Decodable, Sendable {
    let conversationId: String
    let role: MessageRole?
    let offset: Int?
    let limit: Int?
    let recent: Int?
}

struct MessagesResult: Encodable, Sendable { let messages: [Message] }

struct SearchParams: Decodable, Sendable {
    let query: String
    let conversationId: String?
    let sessionId: String?
    let role: MessageRole?
    let limit: Int?
    let cursor: String?
}

struct SearchResult: Encodable, Sendable {
    let hits: [ConversationStore.SearchHit]
    let nextCursor: String?
}

struct ConversationIDParams: Decodable, Sendable { let conversationId: String }
struct TextResult: Encodable, Sendable { let text: String }
struct MemoryIDParams: Decodable, Sendable { let id: String }
struct RemovedResult: Encodable, Sendable { let removed: [String] }

struct ListConversationsParams: Decodable, Sendable {
    let sessionId: String?
    let limit: Int?
    let cursor: String?
}

struct ConversationsResult: Encodable, Sendable {
    let conversations: [Conversation]
    let nextCursor: String?
}

struct TrimConversationsParams: Decodable, Sendable { let keep: Int }
struct StatisticsParams: Decodable, Sendable { let conversationId: String? }

struct ImportConversationParams: Decodable, Sendable {
    let snapshot: ConversationSnapshot
    let onConflict: ImportConflictPolicy?
}

struct ForkConversationParams: Decodable, Sendable {
    let conversationId: String
    let atMessageId: String?
    let title: String?
}

struct EstimateTokensParams: Decodable, Sendable {
    let text: String
    let tokenizer: String?
}

struct EstimateTokensResult: Encodable, Sendable {
    let tokens: Int
    let tokenizer: String
}

struct RememberParams: Decodable, Sendable {
    let content: String
    let tags: [String]?
    let importance: Double?
    let sessionId: String?
}

struct RecallParams: Decodable, Sendable {
    let query: String?
    let tags: [String]?
    let sessionId: String?
    let minImportance: Double?
    let limit: Int?
}

struct RecallResult: Encodable, Sendable { let memories: [LongTermMemory.Recalled] }

extension MethodTable {
    /// `memory/*` (PROTOCOL §6).
    mutating func registerMemoryMethods() {
        register("memory/createConversation", CreateConversationParams.self) { p, ctx in
            if let s = p.sessionId {
                try IDRules.validate(s, field: "sessionId")
                guard ctx.engine.sessions.stored(s) != nil else { throw DomainError.notFound(kind: "session", id: s) }
            }
            return try ctx.engine.conversations.createConversation(
                title: p.title, sessionId: p.sessionId, maxMessages: p.maxMessages, maxTokens: p.maxTokens, metadata: p.metadata ?? [:])
        }
        register("memory/addMessage", AddMessageParams.self) { p, ctx in
            let r = try ctx.engine.conversations.addMessage(
                conversationId: p.conversationId, role: p.role, content: p.content, metadata: p.metadata ?? [:],
                toolCalls: p.toolCalls, toolCallId: p.toolCallId)
            return AddMessageResult(message: r.message, trimmed: r.trimmed)
        }
        register("memory/previewTrim", LimitsParams.self) { p, ctx in
            let r = try ctx.engine.conversations.previewTrim(conversationId: p.conversationId, maxMessages: p.maxMessages, maxTokens: p.maxTokens)
            return PreviewTrimResult(trimmed: r.trimmed, messageCount: r.messageCount, tokenCount: r.tokenCount)
        }
        register("memory/setLimits", LimitsParams.self) { p, ctx in
            let r = try ctx.engine.conversations.setLimits(conversationId: p.conversationId, maxMessages: p.maxMessages, maxTokens: p.maxTokens)
            return SetLimitsResult(conversation: r.conversation, trimmed: r.trimmed)
        }
        register("memory/getMessages", GetMessagesParams.self) { p, ctx in
            MessagesResult(
                messages: try ctx.engine.conversations.messages(
                    conversationId: p.conversationId, role: p.role, offset: p.offset, limit: p.limit, recent: p.recent))
        }
        register("memory/search", SearchParams.self) { p, ctx in
            let r = try ctx.engine.conversations.search(
                query: p.query, conversationId: p.conversationId, sessionId: p.sessionId, role: p.role, limit: p.limit, cursor: p.cursor)
            return SearchResult(hits: r.hits, nextCursor: r.nextCursor)
        }
        register("memory/toText", ConversationIDParams.self) { p, ctx in
            TextResult(text: try ctx.engine.conversations.text(conversationId: p.conversationId))
        }
        register("memory/getConversation", MemoryIDParams.self) { p, ctx in
            try ctx.engine.conversations.conversation(id: p.id)
        }
        register("memory/listConversations", ListConversationsParams.self) { p, ctx in
            let r = try ctx.engine.conversations.listConversations(sessionId: p.sessionId, limit: p.limit, cursor: p.cursor)
            return ConversationsResult(conversations: r.conversations, nextCursor: r.nextCursor)
        }
        register("memory/clearConversation", MemoryIDParams.self) { p, ctx in
            RemovedResult(removed: try ctx.engine.conversations.clearConversation(id: p.id))
        }
        register("memory/deleteConversation", MemoryIDParams.self) { p, ctx in
            try ctx.engine.conversations.deleteConversation(id: p.id)
            return RemovedResult(removed: [p.id])
        }
        register("memory/trimConversations", TrimConversationsParams.self) { p, ctx in
            RemovedResult(removed: try ctx.engine.conversations.trimConversations(keep: p.keep))
        }
        register("memory/statistics", StatisticsParams.self) { p, ctx -> JSONValue in
            if let id = p.conversationId {
                return try JSONValueEncoder().encode(try ctx.engine.conversations.statistics(conversationId: id))
            }
            return try JSONValueEncoder().encode(ctx.engine.conversations.statistics())
        }
        register("memory/exportConversation", MemoryIDParams.self) { p, ctx in
            try ctx.engine.conversations.export(id: p.id)
        }
        register("memory/importConversation", ImportConversationParams.self) { p, ctx in
            try ctx.withProgress("importing conversation") { () throws(DomainError) in try ctx.engine.conversations.importConversation(p.snapshot, onConflict: p.onConflict ?? .error) }
        }
        register("memory/forkConversation", ForkConversationParams.self) { p, ctx in
            try ctx.engine.conversations.fork(conversationId: p.conversationId, atMessageId: p.atMessageId, title: p.title)
        }
        register("memory/estimateTokens", EstimateTokensParams.self) { p, ctx in
            let counter = try ctx.engine.conversations.tokenizers.counter(named: p.tokenizer)
            return EstimateTokensResult(tokens: counter.count(p.text), tokenizer: counter.name)
        }
        register("memory/remember", RememberParams.self) { p, ctx in
            try ctx.engine.memories.remember(content: p.content, tags: p.tags ?? [], importance: p.importance ?? 0.5, sessionId: p.sessionId)
        }
        register("memory/recall", RecallParams.self) { p, ctx in
            RecallResult(
                memories: try ctx.engine.memories.recall(
                    query: p.query, tags: p.tags ?? [], sessionId: p.sessionId, minImportance: p.minImportance, limit: p.limit))
        }
        register("memory/forget", MemoryIDParams.self) { p, ctx in
            RemovedResult(removed: try ctx.engine.memories.forget(id: p.id))
        }
    }
}

extension Server {
    /// The tokenizers of `--tokenizer NAME=PATH`: reads each `.tiktoken` file and builds
    /// the registry (the first one becomes the default for message counts).
    public static func loadTokenizers(_ entries: [(name: String, path: String)]) throws(DomainError) -> TokenizerRegistry {
        var registry = TokenizerRegistry()
        for (name, path) in entries {
            guard let bytes = readWholeFile(path) else { throw .storage(path: path, reason: "cannot read the tokenizer vocabulary") }
            try registry.register(name: name, vocabulary: bytes)
        }
        return registry
    }

    static func readWholeFile(_ path: String) -> [UInt8]? {
        guard let f = fopen(path, "rb") else { return nil }
        defer { fclose(f) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = fread(&buf, 1, buf.count, f)
            if n > 0 { out.append(contentsOf: buf[0..<n]) }
            if n < buf.count { break }
        }
        return ferror(f) == 0 ? out : nil
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
