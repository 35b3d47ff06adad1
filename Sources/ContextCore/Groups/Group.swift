import JSONCore

/// A group's status: `active` groups accept sessions; `closed` ones are read-only
/// until reopened; `archived` is final.
public enum GroupStatus: String, Sendable, Codable, CaseIterable {
    case active, closed, archived
}

/// The group transition table (PROTOCOL §12): active ⇄ closed, closed → archived.
/// The action of a `group/setStatus` is the status asked for.
public enum GroupLifecycle {
    /// Whether a group may go from `from` to `to`.
    public static func canMove(from: GroupStatus, to: GroupStatus) -> Bool {
        allowedTargets(from: from).contains(to)
    }

    /// The statuses reachable from `status`, in enum order.
    public static func allowedTargets(from status: GroupStatus) -> [GroupStatus] {
        switch status {
        case .active: [.closed]
        case .closed: [.active, .archived]
        case .archived: []
        }
    }
}

/// A named set of sessions (an epic, a release, a pipeline run), with its own status.
/// The same shape is the wire form and the persisted record.
public struct SessionGroup: Sendable, Codable, Equatable {
    public var id: String
    public var name: String
    public var description: String?
    /// A set, in order of first addition.
    public var tags: [String]
    public var metadata: JSONObject
    public var status: GroupStatus
    /// Member sessions in order of addition.
    public var sessionIds: [String]
    public var createdAt: Timestamp
    public var updatedAt: Timestamp

    public init(
        id: String, name: String, description: String? = nil, tags: [String] = [], metadata: JSONObject = [:],
        status: GroupStatus = .active, sessionIds: [String] = [], createdAt: Timestamp, updatedAt: Timestamp? = nil
    ) {
        self.id = id
        self.name = name
        self.description = description
        self.tags = tags
        self.metadata = metadata
        self.status = status
        self.sessionIds = sessionIds
        self.createdAt = createdAt
        self.updatedAt = updatedAt ?? createdAt
    }
}
