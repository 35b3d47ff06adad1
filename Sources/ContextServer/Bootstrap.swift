import ContextCore
import Foundation
import ContextStore
import JSONRPC

extension Server {
    /// Opens the configured store, loads its state into a new engine and returns a
    /// server ready to serve.
    public static func bootstrap(config: ServerConfiguration, log: Logger) throws(DomainError) -> Server {
        var config = config
        let backend = try makeBackend(config: &config, log: log)
        let env = DomainEnvironment(clock: SystemClock(), ids: RandomIDGenerator(), limits: config.domainLimits)
        let engine = ContextEngine(env: env)
        engine.conversations.tokenizers = try loadTokenizers(config.tokenizers)
        let records: [Change]
        var lazy: LazyConversations? = nil
        if let file = backend as? FileBackend {
            // Headers now, messages per conversation on first touch (or from the
            // background loader once the first reply is out).
            let loaded = try file.loadLazily()
            records = loaded.changes
            lazy = loaded.conversations
        } else {
            records = try backend.load()
        }
        try engine.restore(records)
        let deferred = try lazy.map { l throws(DomainError) in try deferMessages(l, engine: engine) } ?? 0
        log.info("store \(backend.kind) loaded \(records.count) records\(deferred > 0 ? " (messages of \(deferred) conversations deferred)" : "")\(config.dataDirectory.map { " from \($0)" } ?? "")")
        let server = Server(config: config, backend: backend, engine: engine, log: log)
        if deferred > 0 { server.startBackgroundLoading() }
        if let shared = backend as? any SharedStorageBackend {
            // Other processes' changes (and the store's values after a failed commit)
            // are applied to this engine under the domain lock.
            shared.setExternalChangeHandler { [weak server] update in server?.applyExternal(update) }
        }
        if let file = backend as? FileBackend {
            for w in file.warnings { log.warn("store: \(w)") }
            // Auto-save (interval or journal size) runs on the domain, between requests.
            file.autoSaveHandler = { [weak server] in server?.runAutoSave() }
        }
        return server
    }

    /// Hands the engine the conversations of a lazy load: those whose stored header may
    /// not match their messages (the journal changed their messages since the last save,
    /// or no header is known) are loaded now; the rest stay pending behind a loader that
    /// reads one conversation's file. Returns how many stay pending.
    static func deferMessages(_ lazy: LazyConversations, engine: ContextEngine) throws(DomainError) -> Int {
        var pending: [String] = []
        for id in lazy.ids {
            if lazy.hasJournalChanges(id) || engine.conversations.exportConversation(id: id) == nil {
                try engine.restore(lazy.messages(for: id))
            } else {
                pending.append(id)
            }
        }
        engine.conversations.setPending(pending) { id throws(DomainError) in try lazy.messages(for: id) }
        // Every id must be taken once (the backend holds saves until then).
        for id in pending where !engine.conversations.isPending(id) { try engine.restore(lazy.messages(for: id)) }
        return engine.conversations.pendingCount
    }

    /// An auto-save: snapshot + journal truncation under the domain lock; emits
    /// `store/didSave`, or `store/didError` when it fails.
    func runAutoSave() {
        guard let file = backend as? FileBackend else { return }
        domainLock.withLock { _ in
            do throws(DomainError) {
                if let report = try file.autoSave(from: engine) {
                    log.info("store: auto-saved \(report.files) files, \(report.bytes) bytes")
                    broadcast(topic: "store", method: "store/didSave", params: storeSaveEvent(report), gate: 0)
                }
            } catch {
                log.error("store: auto-save failed: \(error.message)")
                broadcast(topic: "store", method: "store/didError", params: Self.storeErrorParams(error), gate: 0)
            }
        }
    }

    static func makeBackend(config: inout ServerConfiguration, log: Logger) throws(DomainError) -> any StorageBackend {
        switch config.store {
        case "memory":
            config.dataDirectory = nil
            return MemoryBackend()
        case let s where RedisURL.isRedis(s):
            config.dataDirectory = nil
            var options = RedisBackendOptions(url: try RedisURL(parsing: s))
            options.durability = config.durability
            let backend = try RedisBackend(options: options)
            log.info("store: Redis at \(options.url), prefix '\(options.url.prefix)', process \(backend.origin)")
            return backend
        default:
            let dir = DataDirectory.resolve(explicit: config.dataDirectory, environment: currentEnvironment())
            config.dataDirectory = dir
            var options = FileBackendOptions(durability: config.durability)
            options.repair = config.repair
            return try FileBackend(directory: dir, options: options)
        }
    }
}

extension Server {
    /// Hands a commit to the backend; a shared backend also gets the notifications this
    /// commit fans out (`{topic, method, params}`), so other processes emit them too.
    func commitChanges(_ changes: [Change], events: [DomainEvent], completion: @escaping @Sendable (DomainError?) -> Void) {
        guard let shared = backend as? any SharedStorageBackend else {
            backend.commit(changes, completion: completion)
            return
        }
        let notifications: [JSONValue] = events.map { e in
            let (method, params) = Self.notification(for: e)
            return ["topic": .string(e.topic), "method": .string(method), "params": params]
        }
        shared.commit(changes, notifications: notifications, completion: completion)
    }

    /// Applies changes made elsewhere (another contextd on the same Redis, or the store's
    /// values after a failed commit) to the engine, and emits their events: the origin's
    /// notifications as they were, else `*/didChange` events derived from the changes.
    func applyExternal(_ update: ExternalUpdate) {
        domainLock.withLock { _ in
            let changes = update.take()
            let derived = update.notifications == nil ? derivedEvents(changes) : []
            if !changes.isEmpty {
                do throws(DomainError) {
                    try engine.restore(changes)
                } catch {
                    log.error("store: cannot apply \(changes.count) changes from the store: \(error.message)")
                }
                log.debug("store: applied \(changes.count) \(update.reason.rawValue) changes")
            }
            let gate = tracker.latestIssued
            for n in update.notifications ?? [] {
                guard let topic = n["topic"]?.stringValue, let method = n["method"]?.stringValue else { continue }
                broadcast(topic: topic, method: method, params: n["params"] ?? .null, gate: gate)
            }
            for e in derived { publish(e, gate: gate) }
        }
    }

    /// Events describing `changes` (before they are applied): one per session, group and
    /// template record (`created`/`updated`/`deleted`) and one `memory/didChange`
    /// `updated` per conversation (`deleted` when the conversation goes).
    func derivedEvents(_ changes: [Change]) -> [DomainEvent] {
        var out: [DomainEvent] = []
        var conversations: [String] = []
        var messages: [String: [String]] = [:]
        var deletedConversations = Set<String>()
        for c in changes {
            switch c {
            case .put(.session(let s)):
                out.append(.session(event: (try? engine.sessions.get(s.id)) == nil ? "created" : "updated", session: s))
            case .delete(let k) where k.kind == .session:
                if let s = try? engine.sessions.get(k.id) { out.append(.session(event: "deleted", session: s)) }
            case .put(.group(let g)):
                out.append(.group(event: (try? engine.groups.get(g.id)) == nil ? "created" : "updated", group: g))
            case .delete(let k) where k.kind == .group:
                if let g = try? engine.groups.get(k.id) { out.append(.group(event: "deleted", group: g)) }
            case .put(.template(let t)):
                out.append(.template(event: engine.templates.find(t.id) == nil ? "created" : "updated", template: t))
            case .delete(let k) where k.kind == .template:
                if let t = engine.templates.find(k.id) { out.append(.template(event: "deleted", template: t)) }
            case .put(.conversation(let conv)):
                if !conversations.contains(conv.id) { conversations.append(conv.id) }
            case .put(.message(let m)):
                if !conversations.contains(m.conversationId) { conversations.append(m.conversationId) }
                messages[m.conversationId, default: []].append(m.id)
            case .delete(let k) where k.kind == .conversation || k.kind == .message:
                let id = k.kind == .conversation ? k.id : (k.parent ?? "")
                if !conversations.contains(id) { conversations.append(id) }
                if k.kind == .conversation { deletedConversations.insert(id) } else { messages[id, default: []].append(k.id) }
            case .put(.memory):
                out.append(.memory(event: "updated", conversationId: nil, messageIds: nil))
            case .delete(let k) where k.kind == .memory:
                out.append(.memory(event: "updated", conversationId: nil, messageIds: nil))
            default:
                break
            }
        }
        for id in conversations {
            out.append(.memory(event: deletedConversations.contains(id) ? "deleted" : "updated", conversationId: id, messageIds: messages[id]))
        }
        return out
    }
}

/// The process environment as a dictionary.
func currentEnvironment() -> [String: String] { ProcessInfo.processInfo.environment }
