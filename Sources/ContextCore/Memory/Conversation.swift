// STUB — replaced by the memory work (issue 4).
public struct Conversation: Sendable, Codable, Equatable {
    public var id: String
}
public struct Message: Sendable, Codable, Equatable {
    public var id: String
    public var conversationId: String
}
public struct Memory: Sendable, Codable, Equatable {
    public var id: String
}
public final class ConversationStore: @unchecked Sendable {
    let env: DomainEnvironment
    var conversations: [String: Conversation] = [:]
    var messages: [String: [Message]] = [:]
    public init(env: DomainEnvironment) { self.env = env }
    public func restore(_ c: Conversation) { conversations[c.id] = c }
    public func restore(_ m: Message) { messages[m.conversationId, default: []].append(m) }
    public func restoreDeletion(_ key: RecordKey) {
        if key.kind == .conversation { conversations[key.id] = nil } else if let p = key.parent { messages[p]?.removeAll { $0.id == key.id } }
    }
    public func allRecords() -> [Record] { conversations.values.map { .conversation($0) } + messages.values.flatMap { $0.map { .message($0) } } }
}
public final class LongTermMemory: @unchecked Sendable {
    let env: DomainEnvironment
    var memories: [String: Memory] = [:]
    public init(env: DomainEnvironment) { self.env = env }
    public func restore(_ m: Memory) { memories[m.id] = m }
    public func restoreDeletion(_ key: RecordKey) { memories[key.id] = nil }
    public func allRecords() -> [Record] { memories.values.map { .memory($0) } }
}
