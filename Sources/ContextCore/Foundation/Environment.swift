/// What every manager shares: the injected clock and id source, the effects collector
/// and the configured limits.
public struct DomainEnvironment: Sendable {
    public let clock: any Clock
    public let ids: any IDGenerator
    public let effects: Effects
    public var limits: DomainLimits

    public init(clock: any Clock, ids: any IDGenerator, effects: Effects = Effects(), limits: DomainLimits = DomainLimits()) {
        self.clock = clock
        self.ids = ids
        self.effects = effects
        self.limits = limits
    }

    public func now() -> Timestamp { clock.now() }
}

/// Configurable domain limits (reported by `initialize` under `capabilities.limits`).
public struct DomainLimits: Sendable, Equatable {
    public var maxSessions = 100_000
    public var maxConversations = 100_000
    public var maxMessagesPerConversation = 1_000_000
    public var maxStringBytes = 16 << 20
    public var maxTemplateOutputBytes = 16 << 20
    public var maxPartialDepth = 16
    public init() {}
}
