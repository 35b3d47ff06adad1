/// Decides which messages a conversation drops to get at or below its limits.
///
/// Rules (PROTOCOL §6, §12):
/// - The oldest non-system messages go first, until the conversation is at or below
///   both `maxMessages` (every message counts) and `maxTokens`.
/// - System messages and the protected (newly added) message always stay.
/// - An assistant message with `toolCalls` and the tool messages answering it form one
///   unit: dropped together or not at all, so no tool result is ever orphaned.
/// - If the pinned messages alone exceed a limit, nothing is dropped and the caller gets
///   `limitExceeded` naming that limit.
public enum ConversationTrimmer {
    /// The indices (ascending) of `messages` to drop.
    /// - Parameter protected: the index of a message that must stay (the new message).
    public static func plan(
        _ messages: [Message], maxMessages: Int?, maxTokens: Int?, protected: Int? = nil
    ) throws(DomainError) -> [Int] {
        try plan(messages, appending: nil, maxMessages: maxMessages, maxTokens: maxTokens, protected: protected)
    }

    /// `plan` for `messages + [appended]` without building that array; the appended
    /// message (index `messages.count`) is protected.
    public static func plan(_ base: [Message], appending new: Message?, maxMessages: Int?, maxTokens: Int?) throws(DomainError) -> [Int] {
        try plan(base, appending: new, maxMessages: maxMessages, maxTokens: maxTokens, protected: new == nil ? nil : base.count)
    }

    static func plan(
        _ base: [Message], appending new: Message?, maxMessages: Int?, maxTokens: Int?, protected: Int?
    ) throws(DomainError) -> [Int] {
        let total = base.count + (new == nil ? 0 : 1)
        var count = total
        var tokens = (new?.tokens ?? 0)
        for m in base { tokens += m.tokens }
        func within() -> Bool { (maxMessages.map { count <= $0 } ?? true) && (maxTokens.map { tokens <= $0 } ?? true) }
        if within() { return [] }

        // Build units: one per non-system message, tool results joined to their assistant.
        var unitOf = [Int](repeating: -1, count: total)
        let messages = MessageSequence(base: base, new: new)
        var units: [[Int]] = []
        var callOwner: [String: Int] = [:]  // tool call id → unit
        for (i, m) in messages.enumerated() {
            if m.role == .system { continue }
            if m.role == .tool, let cid = m.toolCallId, let u = callOwner[cid] {
                units[u].append(i)
                unitOf[i] = u
                continue
            }
            let u = units.count
            units.append([i])
            unitOf[i] = u
            if m.role == .assistant { for id in m.toolCallIds { callOwner[id] = u } }
        }
        let pinnedUnit = protected.map { unitOf[$0] } ?? -1

        var drop: [Int] = []
        for (u, members) in units.enumerated() where u != pinnedUnit {
            if within() { break }
            for i in members {
                count -= 1
                tokens -= messages[i].tokens
                drop.append(i)
            }
        }
        if !within() {
            if let mm = maxMessages, count > mm { throw .limitExceeded(limit: "maxMessages", max: mm, value: count) }
            throw .limitExceeded(limit: "maxTokens", max: maxTokens ?? 0, value: tokens)
        }
        return drop.sorted()
    }
}

/// `base` followed by an optional extra message, indexable without copying.
struct MessageSequence: RandomAccessCollection {
    let base: [Message]
    let new: Message?
    var startIndex: Int { 0 }
    var endIndex: Int { base.count + (new == nil ? 0 : 1) }
    subscript(i: Int) -> Message { i < base.count ? base[i] : new! }
}
