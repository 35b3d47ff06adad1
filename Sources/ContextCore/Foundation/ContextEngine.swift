/// ContextCore: the domain model of contextd and its rules — sessions and their
/// lifecycle, groups, conversations and messages, token counting, the search index,
/// long-term memory, context assembly, Mustache rendering and templates.
///
/// It knows no JSON-RPC, no files, no sockets; the clock and id generation are injected.
/// Every mutation is one synchronous step that returns its result and leaves its change
/// records and events in `Effects`.

/// The one owner of all domain state.
///
/// - Important: Not thread-safe. The server calls it from one serial queue only; that
///   single owner is what makes every request one atomic step.
public final class ContextEngine: @unchecked Sendable {
    // @unchecked: confined to the server's domain queue (see ContextServer.Server).
    public let env: DomainEnvironment
    public let sessions: SessionManager
    public let groups: GroupManager
    public let conversations: ConversationStore
    public let memories: LongTermMemory
    public let templates: TemplateManager

    public var effects: Effects { env.effects }

    public init(env: DomainEnvironment) {
        self.env = env
        sessions = SessionManager(env: env)
        groups = GroupManager(env: env)
        conversations = ConversationStore(env: env)
        memories = LongTermMemory(env: env)
        templates = TemplateManager(env: env)
    }

    /// Loads persisted records (snapshots, then journal replay) without recording
    /// changes or events. Later records for the same key replace earlier ones.
    public func restore(_ changes: [Change]) throws(DomainError) {
        // A message change for a conversation whose messages are still on disk: load
        // them first, so the change applies on top of them (never instead of them).
        if conversations.pendingCount > 0 {
            for change in changes where change.key.kind == .message {
                if let id = change.key.parent { try conversations.ensureLoaded(id) }
            }
        }
        env.effects.isSuspended = true
        conversations.beginRestore()
        defer {
            conversations.endRestore()
            env.effects.isSuspended = false
        }
        for change in changes {
            switch change {
            case .put(let record):
                switch record {
                case .session(let s): sessions.restore(s)
                case .checkpoint(let c): sessions.restore(c)
                case .group(let g): groups.restore(g)
                case .conversation(let c): conversations.restore(c)
                case .message(let m): conversations.restore(m)
                case .memory(let m): memories.restore(m)
                case .template(let t): templates.restore(t)
                case .setting: break
                }
            case .delete(let key):
                switch key.kind {
                case .session, .checkpoint: sessions.restoreDeletion(key)
                case .group: groups.restoreDeletion(key)
                case .conversation, .message: conversations.restoreDeletion(key)
                case .memory: memories.restoreDeletion(key)
                case .template: templates.restoreDeletion(key)
                case .setting: break
                }
            }
        }
    }

    /// Every record currently held, for a full snapshot, by component.
    public func allRecords(component: String) -> [Record] {
        switch component {
        case "sessions": sessions.allRecords()
        case "groups": groups.allRecords()
        case "conversations": conversations.allRecords()
        case "memories": memories.allRecords()
        case "templates": templates.allRecords()
        default: []
        }
    }
}
