import JSONCore
// STUB — replaced by the sessions work (issue 3).
public struct Session: Sendable, Codable, Equatable {
    public var id: String
}
public struct Checkpoint: Sendable, Codable, Equatable {
    public var id: String
    public var sessionId: String
}
