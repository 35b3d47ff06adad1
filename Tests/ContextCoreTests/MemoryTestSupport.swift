import ContextCore
import JSONCore

/// A clock tests move by hand.
final class MemoryTestClock: Clock, @unchecked Sendable {
    // @unchecked: used from one test at a time.
    var ms: Int64
    init(_ ms: Int64 = 1_700_000_000_000) { self.ms = ms }
    func now() -> Timestamp { Timestamp(milliseconds: ms) }
    func advance(_ d: Int64 = 1) { ms += d }
}

/// An engine with a manual clock and sequential ids.
func makeMemoryEngine() -> (ContextEngine, MemoryTestClock) {
    let clock = MemoryTestClock()
    return (ContextEngine(env: DomainEnvironment(clock: clock, ids: SequentialIDGenerator())), clock)
}

/// A counter where every whitespace-separated word is one token (predictable budgets).
struct WordCounter: TokenCounter {
    var name: String { "words" }
    func count(_ text: String) -> Int { text.split(whereSeparator: { $0 == " " || $0 == "\n" }).count }
}

/// A message with a given token count, for trimming tables.
func msg(_ id: String, _ role: MessageRole, tokens: Int = 1, calls: [String]? = nil, answers: String? = nil) -> Message {
    Message(
        id: id, conversationId: "c", role: role, content: id, createdAt: Timestamp(milliseconds: 0), tokens: tokens,
        toolCalls: calls?.map { ToolCall(id: $0, name: "f", arguments: [:]) }, toolCallId: answers)
}
