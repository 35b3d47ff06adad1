import ContextCore
import JSONRPC

struct ContextBuildParams: Decodable, Sendable {
    let sessionId: String?
    let conversationId: String?
    let stage: ContextStage?
    let maxTokens: Int
    let query: String?
}

extension MethodTable {
    /// `context/build` (PROTOCOL §7).
    mutating func registerContextMethods() {
        register("context/build", ContextBuildParams.self) { p, ctx in
            try ctx.engine.buildContext(
                sessionId: p.sessionId, conversationId: p.conversationId, stage: p.stage ?? .implement, maxTokens: p.maxTokens,
                query: p.query)
        }
    }
}
