// STUB — replaced by the sessions work (issue 3).
public struct SessionGroup: Sendable, Codable, Equatable {
    public var id: String
}
public final class GroupManager: @unchecked Sendable {
    let env: DomainEnvironment
    var groups: [String: SessionGroup] = [:]
    public init(env: DomainEnvironment) { self.env = env }
    public func restore(_ g: SessionGroup) { groups[g.id] = g }
    public func restoreDeletion(_ key: RecordKey) { groups[key.id] = nil }
    public func allRecords() -> [Record] { groups.values.map { .group($0) } }
}
