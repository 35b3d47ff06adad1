import ContextCore
import JSONCore
import Testing

@Suite("context/build")
struct ContextBuildTests {
    /// A conversation (no session) with a system prompt, 30 alternating messages and
    /// two memories, counted with the default estimator.
    func fixture() throws -> (ContextEngine, String) {
        let (e, clock) = makeMemoryEngine()
        let c = try e.conversations.createConversation(title: "t")
        _ = try e.conversations.addMessage(conversationId: c.id, role: .system, content: "You are a careful assistant")
        for k in 0..<30 {
            clock.advance()
            _ = try e.conversations.addMessage(conversationId: c.id, role: k % 2 == 0 ? .user : .assistant, content: "message number \(k)")
        }
        _ = try e.memories.remember(content: "the deploy script lives in tools", importance: 0.9)
        _ = try e.memories.remember(content: "prefer small commits", importance: 0.4)
        return (e, c.id)
    }

    @Test(arguments: ContextStage.allCases)
    func budgetIsNeverExceeded(_ stage: ContextStage) throws {
        let (e, c) = try fixture()
        for budget in [0, 1, 5, 17, 40, 100, 1000] {
            let r = try e.buildContext(conversationId: c, stage: stage, maxTokens: budget)
            #expect(r.totalTokens <= budget)
            #expect(r.totalTokens == r.items.reduce(0) { $0 + $1.tokens })
        }
    }

    @Test func stagesSelectCandidates() throws {
        let (e, c) = try fixture()
        func kinds(_ s: ContextStage) throws -> Set<String> { Set(try e.buildContext(conversationId: c, stage: s, maxTokens: 100_000).items.map(\.kind)) }
        #expect(try kinds(.understand).isEmpty)  // no session: no guidance/session items
        #expect(try kinds(.decompose) == ["system", "message"])
        #expect(try kinds(.implement) == ["system", "message"])
        #expect(try kinds(.plan) == ["system", "memory", "message"])
        #expect(try kinds(.validate) == ["system", "memory", "message"])
        #expect(try kinds(.reflect) == ["system", "memory", "message"])
        let decompose = try e.buildContext(conversationId: c, stage: .decompose, maxTokens: 100_000)
        #expect(decompose.items.filter { $0.kind == "message" }.count == 10)
        #expect(decompose.omitted == 0, "messages outside the stage's window are not candidates")
        let reflect = try e.buildContext(conversationId: c, stage: .reflect, maxTokens: 100_000)
        #expect(reflect.items.filter { $0.kind == "message" }.count == 30 && reflect.omitted == 0)
    }

    @Test func orderAndNewestMessagesFirstIntoTheBudget() throws {
        let (e, c) = try fixture()
        let full = try e.buildContext(conversationId: c, stage: .plan, maxTokens: 100_000)
        let kinds = full.items.map(\.kind)
        // guidance/session (none here), system, memories by score, messages oldest first
        #expect(kinds.first == "system")
        #expect(Array(kinds[1...2]) == ["memory", "memory"])
        #expect(full.items[1].content.contains("deploy"))
        let msgs = full.items.filter { $0.kind == "message" }
        #expect(msgs.first?.content == "message number 10" && msgs.last?.content == "message number 29")

        let system = full.items[0].tokens
        let memories = full.items[1].tokens + full.items[2].tokens
        let each = msgs[0].tokens
        let budget = system + memories + 3 * each + (each - 1)
        let tight = try e.buildContext(conversationId: c, stage: .plan, maxTokens: budget)
        let tm = tight.items.filter { $0.kind == "message" }
        #expect(tm.map(\.content) == ["message number 27", "message number 28", "message number 29"])
        #expect(tight.omitted == 17)
        #expect(tight.totalTokens <= budget)
    }

    @Test func requiresATarget() throws {
        let (e, _) = try fixture()
        #expect(throws: DomainError.self) { try e.buildContext(maxTokens: 10) }
        #expect(throws: DomainError.notFound(kind: "conversation", id: "nope")) { try e.buildContext(conversationId: "nope", maxTokens: 10) }
    }
}
