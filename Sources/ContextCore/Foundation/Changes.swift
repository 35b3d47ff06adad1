import JSONCore

/// The kinds of persisted records. Each record lives in one store component
/// (`sessions groups conversations memories templates`, plus `settings`).
public enum RecordKind: String, Sendable, CaseIterable, Codable {
    case session, checkpoint, group, conversation, message, memory, template, setting

    /// The store component the record belongs to (PROTOCOL §12 component names).
    public var component: String {
        switch self {
        case .session, .checkpoint: "sessions"
        case .group: "groups"
        case .conversation, .message: "conversations"
        case .memory: "memories"
        case .template: "templates"
        case .setting: "settings"
        }
    }
}

/// One persisted entity, typed. The store encodes it (Codable) in whatever format it
/// writes; the domain never sees bytes.
public enum Record: Sendable {
    case session(Session)
    case checkpoint(Checkpoint)
    case group(SessionGroup)
    case conversation(Conversation)
    case message(Message)
    case memory(Memory)
    case template(Template)
    /// A named setting (e.g. the store format), as a JSON value.
    case setting(key: String, value: JSONValue)

    public var kind: RecordKind {
        switch self {
        case .session: .session
        case .checkpoint: .checkpoint
        case .group: .group
        case .conversation: .conversation
        case .message: .message
        case .memory: .memory
        case .template: .template
        case .setting: .setting
        }
    }

    /// The record's key: unique within its kind.
    public var key: RecordKey {
        switch self {
        case .session(let s): RecordKey(.session, s.id)
        case .checkpoint(let c): RecordKey(.checkpoint, c.id, parent: c.sessionId)
        case .group(let g): RecordKey(.group, g.id)
        case .conversation(let c): RecordKey(.conversation, c.id)
        case .message(let m): RecordKey(.message, m.id, parent: m.conversationId)
        case .memory(let m): RecordKey(.memory, m.id)
        case .template(let t): RecordKey(.template, t.id)
        case .setting(let k, _): RecordKey(.setting, k)
        }
    }
}

/// Identifies a record. `parent` groups child records (messages under their
/// conversation, checkpoints under their session) so a backend can store them together.
public struct RecordKey: Sendable, Hashable, Codable {
    public var kind: RecordKind
    public var id: String
    public var parent: String?

    public init(_ kind: RecordKind, _ id: String, parent: String? = nil) {
        self.kind = kind
        self.id = id
        self.parent = parent
    }
}

/// One change record: the unit the journal makes durable and the store applies.
public enum Change: Sendable {
    case put(Record)
    case delete(RecordKey)

    public var key: RecordKey {
        switch self {
        case .put(let r): r.key
        case .delete(let k): k
        }
    }
}

/// A domain event, fanned out to subscribed clients as a `*/didChange` notification
/// (PROTOCOL §10). One event per action.
public enum DomainEvent: Sendable {
    /// created, updated, started, paused, resumed, completed, failed, deleted, rolledBack
    case session(event: String, session: Session)
    case group(event: String, group: SessionGroup)
    /// created, added, trimmed, cleared, deleted, updated, forked, imported, remembered, forgotten
    case memory(event: String, conversationId: String?, messageIds: [String]?)
    case template(event: String, template: Template)

    /// The subscription topic the event belongs to.
    public var topic: String {
        switch self {
        case .session: "session"
        case .group: "group"
        case .memory: "memory"
        case .template: "template"
        }
    }
}

/// Collects the changes and events of one mutation. Every manager appends to the one
/// instance the engine owns; the server drains it after each request, makes the changes
/// durable, then replies and fans out the events.
///
/// - Important: Not thread-safe; owned by the single domain owner.
public final class Effects: @unchecked Sendable {
    // @unchecked: confined to the domain owner's serial queue (see ContextEngine).
    public private(set) var changes: [Change] = []
    public private(set) var events: [DomainEvent] = []
    /// While replaying persisted records, nothing is recorded.
    public var isSuspended = false

    public init() {}

    public func record(_ change: Change) {
        if !isSuspended { changes.append(change) }
    }
    public func put(_ r: Record) { self.record(.put(r)) }
    public func delete(_ key: RecordKey) { record(.delete(key)) }
    public func emit(_ event: DomainEvent) {
        if !isSuspended { events.append(event) }
    }

    /// Nothing was collected since the last drain.
    public var isEmpty: Bool { changes.isEmpty && events.isEmpty }

    /// Takes everything collected so far.
    public func drain() -> (changes: [Change], events: [DomainEvent]) {
        defer {
            changes.removeAll(keepingCapacity: true)
            events.removeAll(keepingCapacity: true)
        }
        return (changes, events)
    }

    /// Drops everything collected since `mark` (used to undo a failed mutation's records).
    public var mark: (Int, Int) { (changes.count, events.count) }
    public func rollback(to mark: (Int, Int)) {
        changes.removeLast(changes.count - mark.0)
        events.removeLast(events.count - mark.1)
    }
}
