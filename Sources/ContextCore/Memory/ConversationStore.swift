import JSONCore

/// Conversations and their messages, the search index over them, and trimming.
///
/// Persisted as one `.conversation` record per conversation (its header: title, limits,
/// counts) and one `.message` record per message, so an add writes one small message
/// record plus the small header, never the whole conversation.
///
/// Events (`memory/didChange {event, conversationId, messageIds?}`): `created`,
/// `added`, `trimmed` (messageIds = dropped), `updated` (limits), `cleared`, `deleted`,
/// `forked` (the new conversation), `imported`, `replaced` (rollback).
///
/// - Important: Not thread-safe; confined to the domain owner (see ContextEngine).
public final class ConversationStore: @unchecked Sendable {
    // @unchecked: confined to the domain owner's serial queue (see ContextEngine).
    let env: DomainEnvironment
    /// Tokenizers; messages are counted with `tokenizers.default`.
    public var tokenizers = TokenizerRegistry()
    /// The search index, kept in step with every change.
    public let index = SearchIndex()

    struct Thread {
        var messages: [Message] = []
        /// Search document of each message; strictly ascending (documents are added in
        /// message order), so a document is found by binary search.
        var docs: [UInt32] = []
        var tokens = 0
        /// The conversation's slot in the search index, once known.
        var slot: UInt32?
    }
    private var headers: [String: Conversation] = [:]
    private var threads: [String: Thread] = [:]

    /// Loads the persisted message changes of one conversation whose messages are not in
    /// memory yet (lazy start-up). Supplied by the server; ContextCore does no I/O.
    public typealias PendingMessagesLoader = (String) throws(DomainError) -> [Change]
    /// Conversations whose header is known but whose messages are still on disk: their
    /// header's `messageCount`/`tokenCount` are the stored ones until they are loaded.
    private var pending = Set<String>()
    private var pendingLoader: PendingMessagesLoader?

    public init(env: DomainEnvironment) { self.env = env }

    // MARK: Lazy messages

    /// Declares conversations whose messages are not loaded: `loader` materialises one on
    /// first touch (`ensureLoaded`). Their headers must already be restored, with counts
    /// that match the stored messages. Ids without a header are ignored.
    public func setPending(_ ids: some Sequence<String>, loader: @escaping PendingMessagesLoader) {
        for id in ids where headers[id] != nil && (threads[id]?.messages.isEmpty ?? true) { pending.insert(id) }
        pendingLoader = loader
    }

    /// How many conversations still have their messages on disk.
    public var pendingCount: Int { pending.count }

    /// Up to `limit` conversations whose messages are still on disk (for a background
    /// loader), in no particular order.
    public func pendingIDs(limit: Int) -> [String] { Array(pending.prefix(limit)) }

    /// Whether a conversation's messages are still on disk.
    public func isPending(_ id: String) -> Bool { pending.contains(id) }

    /// Materialises a conversation's messages if they are still on disk. Every entry
    /// point that reads or changes messages calls this first; a failure leaves the
    /// conversation pending (and the request fails rather than answer from a partial
    /// state).
    public func ensureLoaded(_ id: String) throws(DomainError) {
        guard !pending.isEmpty, pending.contains(id), let loader = pendingLoader else { return }
        let changes = try loader(id)
        pending.remove(id)
        let last = pending.isEmpty
        if last { pendingLoader = nil }
        let suspended = env.effects.isSuspended
        env.effects.isSuspended = true
        // The stored count is exact: no growth slack for a million-message store.
        if let n = headers[id]?.messageCount, threads[id]?.messages.isEmpty ?? true {
            var t = threads.removeValue(forKey: id) ?? Thread()
            t.messages.reserveCapacity(n)
            t.docs.reserveCapacity(n)
            threads[id] = t
        }
        beginRestore()
        defer {
            endRestore()
            env.effects.isSuspended = suspended
        }
        for c in changes {
            switch c {
            case .put(.message(let m)) where m.conversationId == id: restore(m)
            case .delete(let k) where k.kind == .message && k.parent == id: restoreDeletion(k)
            default: continue  // only this conversation's messages belong here
            }
        }
        if last { index.shrinkToFit() }  // the whole store is in: no growth slack to keep
    }

    /// Materialises every pending conversation (before a search, a snapshot or a
    /// backup: they must see every message).
    public func ensureAllLoaded() throws(DomainError) {
        while let id = pending.first { try ensureLoaded(id) }
    }

    /// Forgets the pending state without loading (the caller replaces the whole
    /// conversations component with a fresh full read).
    public func discardPending() {
        pending = []
        pendingLoader = nil
    }

    // MARK: Persistence entry points

    public func restore(_ c: Conversation) {
        var c = c
        // An add writes only its message record: the conversation was updated then.
        if let last = threads[c.id]?.messages.last, last.createdAt > c.updatedAt { c.updatedAt = last.createdAt }
        headers[c.id] = c
    }

    /// Ids of the messages of a conversation, kept only while a batch of restores runs
    /// (see `beginRestore`) and only for conversations where a message arrived at or
    /// before the newest one's time: a duplicate (same id, replayed) is found by a hash
    /// lookup instead of a scan, so replaying many same-millisecond messages is linear.
    private var restoreIDs: [String: Set<String>] = [:]
    private var restoreDepth = 0

    /// Brackets a batch of `restore` calls (ContextEngine.restore, ensureLoaded).
    func beginRestore() { restoreDepth += 1 }
    func endRestore() {
        restoreDepth -= 1
        if restoreDepth == 0 { restoreIDs = [:] }
    }

    public func restore(_ m: Message) {
        var m = m
        // Every message of a conversation shares its header's id string (one copy, not
        // a million: 64 bytes each at 1M messages).
        if let h = headers[m.conversationId] { m.conversationId = h.id }
        let cid = m.conversationId
        var t = threads[cid] ?? Thread()
        threads[cid] = nil  // keep the arrays uniquely referenced
        // Replace a message with the same id; otherwise insert by time (arrival order on
        // ties). A message is immutable, so a replayed duplicate can only come at or
        // before the newest message's time.
        var existing: Int? = nil
        if let last = t.messages.last, m.createdAt <= last.createdAt {
            let known: Bool
            if restoreDepth > 0 {
                if restoreIDs[cid] == nil { restoreIDs[cid] = Set(t.messages.map(\.id)) }
                known = restoreIDs[cid]!.contains(m.id)
            } else {
                known = true  // one call outside a batch: look (newest first)
            }
            if known { existing = t.messages.lastIndex { $0.id == m.id } }
        }
        if let k = existing, t.messages[k].createdAt == m.createdAt {
            t.tokens += m.tokens - t.messages[k].tokens
            t.messages[k] = m
            reindex(&t, conversationId: cid)
        } else {
            if let k = existing {  // the same id at another time: move it
                t.tokens -= t.messages[k].tokens
                t.messages.remove(at: k)
                index.remove(t.docs.remove(at: k))
            }
            if t.messages.last.map({ $0.createdAt <= m.createdAt }) ?? true {
                t.messages.append(m)
                t.docs.append(indexDocument(m))
                t.tokens += m.tokens
            } else {
                // A later record for an earlier time (e.g. a rollback put): re-insert in order.
                var j = t.messages.count
                while j > 0, t.messages[j - 1].createdAt > m.createdAt { j -= 1 }
                t.messages.insert(m, at: j)
                t.tokens += m.tokens
                reindex(&t, conversationId: cid)
            }
            if restoreIDs[cid] != nil { restoreIDs[cid]!.insert(m.id) }
        }
        threads[cid] = t
        if let h = headers[cid], m.createdAt > h.updatedAt { headers[cid]!.updatedAt = m.createdAt }
    }

    public func restoreDeletion(_ key: RecordKey) {
        if key.kind == .conversation {
            headers[key.id] = nil
            pending.remove(key.id)
            restoreIDs[key.id] = nil
            if let t = threads.removeValue(forKey: key.id) { for d in t.docs { index.remove(d) } }
        } else if let p = key.parent, var t = threads[p], let i = t.messages.firstIndex(where: { $0.id == key.id }) {
            threads[p] = nil
            index.remove(t.docs[i])
            t.tokens -= t.messages[i].tokens
            t.messages.remove(at: i)
            t.docs.remove(at: i)
            threads[p] = t
            restoreIDs[p]?.remove(key.id)
        }
    }

    /// Every record. With conversations still pending (lazy start-up) their messages are
    /// not included: call `ensureAllLoaded()` first when the result must be complete.
    public func allRecords() -> [Record] {
        var out: [Record] = []
        for id in headers.keys.sorted() {
            out.append(.conversation(header(id)!))
            for m in threads[id]?.messages ?? [] { out.append(.message(m)) }
        }
        return out
    }

    // MARK: Helpers

    /// Mutates a thread in place (one hash lookup, no copy of its arrays).
    @inline(__always)
    private func modifyThread<R>(_ id: String, _ body: (inout Thread) -> R) -> R {
        body(&threads[id, default: Thread()])
    }

    private func indexDocument(_ m: Message) -> UInt32 {
        index.add(conversationId: m.conversationId, role: m.role, createdAt: m.createdAt, text: m.content)
    }

    private func reindex(_ t: inout Thread, conversationId: String) {
        for d in t.docs { index.remove(d) }
        t.docs = t.messages.map(indexDocument)
    }

    /// The header with live counts.
    private func header(_ id: String) -> Conversation? {
        guard var c = headers[id] else { return nil }
        if pending.contains(id) { return c }  // messages on disk: the stored counts hold
        let t = threads[id]
        c.messageCount = t?.messages.count ?? 0
        c.tokenCount = t?.tokens ?? 0
        return c
    }

    private func existing(_ id: String, field: String = "conversationId") throws(DomainError) -> Conversation {
        try IDRules.validate(id, field: field)
        guard let c = header(id) else { throw .notFound(kind: "conversation", id: id) }
        return c
    }

    /// `existing` with its messages in memory (every entry point that reads or changes
    /// messages).
    private func loaded(_ id: String, field: String = "conversationId") throws(DomainError) -> Conversation {
        _ = try existing(id, field: field)
        try ensureLoaded(id)
        return header(id)!
    }

    private func putHeader(_ c: Conversation) {
        headers[c.id] = c
        env.effects.put(.conversation(header(c.id)!))
    }

    /// Tokens of a message: content plus the JSON text of each tool call's arguments.
    public func countTokens(content: String, toolCalls: [ToolCall]?) -> Int {
        let counter = tokenizers.default
        var n = counter.count(content)
        for call in toolCalls ?? [] where !call.arguments.isNull { n += counter.count(JSONWriter.string(call.arguments)) }
        return n
    }

    private static func validateLimits(maxMessages: Int?, maxTokens: Int?) throws(DomainError) {
        if let m = maxMessages, m < 1 { throw .invalidArgument(field: "maxMessages", expected: "an integer ≥ 1") }
        if let t = maxTokens, t < 1 { throw .invalidArgument(field: "maxTokens", expected: "an integer ≥ 1") }
    }

    private func validateText(_ s: String, field: String) throws(DomainError) {
        if s.utf8.count > env.limits.maxStringBytes {
            throw .limitExceeded(limit: "maxStringBytes", max: env.limits.maxStringBytes, value: s.utf8.count)
        }
    }

    /// Drops `indices` (ascending) of a thread: records, index, event.
    private func drop(_ indices: [Int], from t: inout Thread, conversationId: String) -> [String] {
        guard !indices.isEmpty else { return [] }
        var ids: [String] = []
        var keep = [Bool](repeating: true, count: t.messages.count)
        for i in indices {
            keep[i] = false
            let m = t.messages[i]
            ids.append(m.id)
            index.remove(t.docs[i])
            t.tokens -= m.tokens
            env.effects.delete(RecordKey(.message, m.id, parent: conversationId))
        }
        var k = 0
        t.messages.removeAll { _ in defer { k += 1 }; return !keep[k] }
        k = 0
        t.docs.removeAll { _ in defer { k += 1 }; return !keep[k] }
        return ids
    }

    // MARK: Conversations

    /// `memory/createConversation`.
    public func createConversation(
        title: String, sessionId: String? = nil, maxMessages: Int? = nil, maxTokens: Int? = nil, metadata: JSONObject = [:]
    ) throws(DomainError) -> Conversation {
        if let s = sessionId { try IDRules.validate(s, field: "sessionId") }
        try Self.validateLimits(maxMessages: maxMessages, maxTokens: maxTokens)
        try validateText(title, field: "title")
        if headers.count >= env.limits.maxConversations {
            throw .limitExceeded(limit: "maxConversations", max: env.limits.maxConversations, value: headers.count + 1)
        }
        let now = env.now()
        let c = Conversation(
            id: env.ids.next("conv"), title: title, sessionId: sessionId, metadata: metadata, maxMessages: maxMessages,
            maxTokens: maxTokens, createdAt: now, updatedAt: now)
        threads[c.id] = Thread()
        putHeader(c)
        env.effects.emit(.memory(event: "created", conversationId: c.id, messageIds: nil))
        return header(c.id)!
    }

    /// `memory/getConversation`.
    public func conversation(id: String) throws(DomainError) -> Conversation { try existing(id, field: "id") }

    /// `memory/addMessage`: appends, then trims to the conversation's limits.
    public func addMessage(
        conversationId: String, role: MessageRole, content: String, metadata: JSONObject = [:],
        toolCalls: [ToolCall]? = nil, toolCallId: String? = nil
    ) throws(DomainError) -> (message: Message, trimmed: [String]) {
        try IDRules.validate(conversationId, field: "conversationId")
        if !pending.isEmpty {
            guard headers[conversationId] != nil else { throw .notFound(kind: "conversation", id: conversationId) }
            try ensureLoaded(conversationId)
        }
        // One lookup per dictionary from here on: the add is the hottest write.
        guard let hi = headers.index(forKey: conversationId) else { throw .notFound(kind: "conversation", id: conversationId) }
        let conv = headers.values[hi]
        try validateText(content, field: "content")
        if let calls = toolCalls {
            guard role == .assistant else { throw .invalidArgument(field: "toolCalls", expected: "toolCalls only on an assistant message") }
            var seen = Set<String>()
            for (i, c) in calls.enumerated() {
                guard !c.id.isEmpty, seen.insert(c.id).inserted else {
                    throw .invalidArgument(field: "toolCalls[\(i)].id", expected: "a non-empty tool call id, unique in the message")
                }
                guard !c.name.isEmpty else { throw .invalidArgument(field: "toolCalls[\(i)].name", expected: "a non-empty name") }
            }
        }
        let tokens = countTokens(content: content, toolCalls: toolCalls)
        let now = env.now()
        var message = Message(
            id: "", conversationId: conv.id, role: role, content: content, metadata: metadata,
            createdAt: now, tokens: tokens, toolCalls: toolCalls, toolCallId: toolCallId)

        // Validate against the thread (borrowed, never copied: the add must not copy the
        // message array).
        let limits = env.limits
        let ti = threads.index(forKey: conversationId)
        let dropPlan: [Int] = try {
            () throws(DomainError) -> [Int] in
            let thread = ti.map { threads.values[$0] } ?? Thread()
            if role == .tool {
                guard let cid = toolCallId, !cid.isEmpty else {
                    throw .invalidArgument(field: "toolCallId", expected: "the id of the tool call a tool message answers")
                }
                guard thread.messages.lastIndex(where: { $0.role == .assistant && $0.toolCallIds.contains(cid) }) != nil else {
                    throw .invalidArgument(field: "toolCallId", expected: "the id of a tool call of an assistant message in this conversation")
                }
            } else if toolCallId != nil {
                throw .invalidArgument(field: "toolCallId", expected: "toolCallId only on a tool message")
            }
            if thread.messages.count >= limits.maxMessagesPerConversation {
                throw .limitExceeded(limit: "maxMessagesPerConversation", max: limits.maxMessagesPerConversation, value: thread.messages.count + 1)
            }
            if let mt = conv.maxTokens, tokens > mt { throw .limitExceeded(limit: "maxTokens", max: mt, value: tokens) }
            let over = (conv.maxMessages.map { thread.messages.count + 1 > $0 } ?? false)
                || (conv.maxTokens.map { thread.tokens + tokens > $0 } ?? false)
            guard over else { return [] }
            return try ConversationTrimmer.plan(thread.messages, appending: message, maxMessages: conv.maxMessages, maxTokens: conv.maxTokens)
        }()

        message.id = env.ids.next("msg")  // only once nothing can fail
        // Apply. The add writes one message record; the header is rewritten only when
        // trimming changed it (its counts are derived, its `updatedAt` is the newest
        // message's time on restore).
        var trimmed: [String] = []
        let index = self.index
        func apply(_ t: inout Thread) {
            let slot = t.slot ?? index.slot(for: conversationId)
            t.slot = slot
            t.messages.append(message)
            t.docs.append(index.add(slot: slot, role: message.role, createdAt: message.createdAt, text: message.content))
            t.tokens += tokens
            env.effects.put(.message(message))
            trimmed = drop(dropPlan, from: &t, conversationId: conversationId)
        }
        if let ti { apply(&threads.values[ti]) } else { modifyThread(conversationId, apply) }
        headers.values[hi].updatedAt = now
        if !trimmed.isEmpty { env.effects.put(.conversation(header(conversationId)!)) }
        env.effects.emit(.memory(event: "added", conversationId: conversationId, messageIds: [message.id]))
        if !trimmed.isEmpty { env.effects.emit(.memory(event: "trimmed", conversationId: conversationId, messageIds: trimmed)) }
        return (message, trimmed)
    }

    /// `memory/previewTrim`: what the limits (given ones, else the conversation's) would
    /// drop now. Changes nothing.
    public func previewTrim(conversationId: String, maxMessages: Int? = nil, maxTokens: Int? = nil) throws(DomainError)
        -> (trimmed: [String], messageCount: Int, tokenCount: Int)
    {
        let conv = try loaded(conversationId)
        try Self.validateLimits(maxMessages: maxMessages, maxTokens: maxTokens)
        let t = threads[conversationId] ?? Thread()
        let plan = try ConversationTrimmer.plan(
            t.messages, maxMessages: maxMessages ?? conv.maxMessages, maxTokens: maxTokens ?? conv.maxTokens)
        var tokens = t.tokens
        for i in plan { tokens -= t.messages[i].tokens }
        return (plan.map { t.messages[$0].id }, t.messages.count - plan.count, tokens)
    }

    /// `memory/setLimits`: sets both limits (absent = no limit) and trims at once.
    public func setLimits(conversationId: String, maxMessages: Int?, maxTokens: Int?) throws(DomainError)
        -> (conversation: Conversation, trimmed: [String])
    {
        var conv = try loaded(conversationId)
        try Self.validateLimits(maxMessages: maxMessages, maxTokens: maxTokens)
        var t = threads[conversationId] ?? Thread()
        let plan = try ConversationTrimmer.plan(t.messages, maxMessages: maxMessages, maxTokens: maxTokens)
        threads[conversationId] = nil
        let trimmed = drop(plan, from: &t, conversationId: conversationId)
        threads[conversationId] = t
        conv.maxMessages = maxMessages
        conv.maxTokens = maxTokens
        conv.updatedAt = env.now()
        putHeader(conv)
        env.effects.emit(.memory(event: "updated", conversationId: conversationId, messageIds: nil))
        if !trimmed.isEmpty { env.effects.emit(.memory(event: "trimmed", conversationId: conversationId, messageIds: trimmed)) }
        return (header(conversationId)!, trimmed)
    }

    /// `memory/getMessages`: filter by role, then `recent` (the last n) or `offset`/`limit`.
    public func messages(conversationId: String, role: MessageRole? = nil, offset: Int? = nil, limit: Int? = nil, recent: Int? = nil)
        throws(DomainError) -> [Message]
    {
        _ = try loaded(conversationId)
        if let o = offset, o < 0 { throw .invalidArgument(field: "offset", expected: "an integer ≥ 0") }
        if let l = limit, l < 0 { throw .invalidArgument(field: "limit", expected: "an integer ≥ 0") }
        if let r = recent, r < 0 { throw .invalidArgument(field: "recent", expected: "an integer ≥ 0") }
        var list = threads[conversationId]?.messages ?? []
        if let role { list = list.filter { $0.role == role } }
        if let r = recent { list = Array(list.suffix(r)) }
        let o = min(offset ?? 0, list.count)
        let end = limit.map { min(list.count, o + $0) } ?? list.count
        return Array(list[o..<end])
    }

    /// `memory/toText`: `[role] content` blocks separated by blank lines; tool calls
    /// are listed under their assistant message.
    public func text(conversationId: String) throws(DomainError) -> String {
        let conv = try loaded(conversationId)
        var out = "# \(conv.title)\n"
        for m in threads[conversationId]?.messages ?? [] {
            out += "\n[\(m.role.rawValue)"
            if let cid = m.toolCallId { out += " \(cid)" }
            out += "] \(m.content)\n"
            for call in m.toolCalls ?? [] {
                out += "  → \(call.name)(\(JSONWriter.string(call.arguments))) [\(call.id)]\n"
            }
        }
        return out
    }

    /// `memory/listConversations`: most recently updated first (ties by id), paged
    /// with an opaque cursor (the last item's `updatedAt` and id).
    public func listConversations(sessionId: String? = nil, limit: Int? = nil, cursor: String? = nil) throws(DomainError)
        -> (conversations: [Conversation], nextCursor: String?)
    {
        let limit = limit ?? 100
        guard limit >= 1 else { throw .invalidArgument(field: "limit", expected: "an integer ≥ 1") }
        var after: (Int64, String)? = nil
        if let cursor {
            let parts = cursor.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, let ms = Int64(parts[0]) else {
                throw .invalidArgument(field: "cursor", expected: "a cursor returned by listConversations")
            }
            after = (ms, String(parts[1]))
        }
        func before(_ a: Conversation, _ b: Conversation) -> Bool {
            a.updatedAt != b.updatedAt ? a.updatedAt > b.updatedAt : a.id < b.id
        }
        var list = headers.values.filter { sessionId == nil || $0.sessionId == sessionId }
        if let (ms, id) = after {
            list = list.filter { $0.updatedAt.milliseconds < ms || ($0.updatedAt.milliseconds == ms && $0.id > id) }
        }
        list.sort(by: before)
        let page = list.prefix(limit).map { header($0.id)! }
        let next = list.count > limit ? page.last.map { "\($0.updatedAt.milliseconds):\($0.id)" } : nil
        return (page, next)
    }

    /// `memory/clearConversation`: removes every message; returns their ids.
    public func clearConversation(id: String) throws(DomainError) -> [String] {
        var conv = try loaded(id, field: "id")
        var t = threads.removeValue(forKey: id) ?? Thread()
        let removed = drop(Array(t.messages.indices), from: &t, conversationId: id)
        threads[id] = Thread()
        conv.updatedAt = env.now()
        putHeader(conv)
        env.effects.emit(.memory(event: "cleared", conversationId: id, messageIds: removed))
        return removed
    }

    /// `memory/deleteConversation`.
    public func deleteConversation(id: String) throws(DomainError) {
        _ = try loaded(id, field: "id")
        removeConversation(id)
        env.effects.emit(.memory(event: "deleted", conversationId: id, messageIds: nil))
    }

    private func removeConversation(_ id: String) {
        if let t = threads.removeValue(forKey: id) {
            for (m, d) in zip(t.messages, t.docs) {
                index.remove(d)
                env.effects.delete(RecordKey(.message, m.id, parent: id))
            }
        }
        headers[id] = nil
        env.effects.delete(RecordKey(.conversation, id))
    }

    /// `memory/trimConversations {keep}`: keeps the `keep` most recently updated
    /// conversations and deletes the rest; returns the removed ids.
    public func trimConversations(keep: Int) throws(DomainError) -> [String] {
        guard keep >= 0 else { throw .invalidArgument(field: "keep", expected: "an integer ≥ 0") }
        let ordered = headers.values.sorted { $0.updatedAt != $1.updatedAt ? $0.updatedAt > $1.updatedAt : $0.id < $1.id }
        let removed = ordered.dropFirst(keep).map(\.id)
        for id in removed { try ensureLoaded(id) }  // before any change: a failure changes nothing
        for id in removed {
            removeConversation(id)
            env.effects.emit(.memory(event: "deleted", conversationId: id, messageIds: nil))
        }
        return removed
    }

    /// Per-conversation statistics (`memory/statistics {conversationId}`).
    public struct ConversationStatistics: Sendable, Codable, Equatable {
        public var totalMessages: Int
        public var byRole: [String: Int]
        public var totalTokens: Int
        public var durationMs: Int64
    }

    /// Store-wide statistics (`memory/statistics {}`).
    public struct StoreStatistics: Sendable, Codable, Equatable {
        public var totalConversations: Int
        public var totalMessages: Int
        public var totalTokens: Int
    }

    public func statistics(conversationId: String) throws(DomainError) -> ConversationStatistics {
        _ = try loaded(conversationId)
        let t = threads[conversationId] ?? Thread()
        var byRole: [String: Int] = [:]
        for r in MessageRole.allCases { byRole[r.rawValue] = 0 }
        for m in t.messages { byRole[m.role.rawValue, default: 0] += 1 }
        let duration = (t.messages.last?.createdAt.milliseconds ?? 0) - (t.messages.first?.createdAt.milliseconds ?? 0)
        return ConversationStatistics(totalMessages: t.messages.count, byRole: byRole, totalTokens: t.tokens, durationMs: duration)
    }

    public func statistics() -> StoreStatistics {
        var m = 0, tk = 0
        for t in threads.values where true {
            m += t.messages.count
            tk += t.tokens
        }
        for id in pending {  // messages still on disk: their stored counts
            m += headers[id]?.messageCount ?? 0
            tk += headers[id]?.tokenCount ?? 0
        }
        return StoreStatistics(totalConversations: headers.count, totalMessages: m, totalTokens: tk)
    }

    // MARK: Export, import, fork

    /// `memory/exportConversation`: a lossless snapshot (`schemaVersion` 1).
    public func export(id: String) throws(DomainError) -> ConversationSnapshot {
        let c = try loaded(id, field: "id")
        return ConversationSnapshot(conversation: c, messages: threads[id]?.messages ?? [])
    }

    /// `memory/importConversation`. Messages keep their ids, times, tokens and tool
    /// calls; with `newId` the conversation and its messages get fresh ids.
    public func importConversation(_ snapshot: ConversationSnapshot, onConflict: ImportConflictPolicy = .error)
        throws(DomainError) -> Conversation
    {
        guard snapshot.schemaVersion == ConversationSnapshot.currentSchemaVersion else {
            throw .invalidArgument(field: "snapshot.schemaVersion", expected: "\(ConversationSnapshot.currentSchemaVersion)")
        }
        var conv = snapshot.conversation
        try IDRules.validate(conv.id, field: "snapshot.conversation.id")
        if let s = conv.sessionId { try IDRules.validate(s, field: "snapshot.conversation.sessionId") }
        try Self.validateLimits(maxMessages: conv.maxMessages, maxTokens: conv.maxTokens)
        var ids = Set<String>()
        for (i, m) in snapshot.messages.enumerated() {
            try IDRules.validate(m.id, field: "snapshot.messages[\(i)].id")
            guard m.conversationId == conv.id else {
                throw .invalidArgument(field: "snapshot.messages[\(i)].conversationId", expected: "the snapshot's conversation id '\(conv.id)'")
            }
            guard ids.insert(m.id).inserted else {
                throw .invalidArgument(field: "snapshot.messages[\(i)].id", expected: "a message id unique in the snapshot")
            }
            guard m.tokens >= 0 else { throw .invalidArgument(field: "snapshot.messages[\(i)].tokens", expected: "an integer ≥ 0") }
        }
        if snapshot.messages.count > env.limits.maxMessagesPerConversation {
            throw .limitExceeded(limit: "maxMessagesPerConversation", max: env.limits.maxMessagesPerConversation, value: snapshot.messages.count)
        }
        var messages = snapshot.messages
        let exists = headers[conv.id] != nil
        if exists, onConflict == .replace { try ensureLoaded(conv.id) }
        if exists {
            switch onConflict {
            case .error: throw .conflict(kind: "conversation", id: conv.id, reason: "already exists")
            case .replace: removeConversation(conv.id)
            case .newId:
                conv.id = env.ids.next("conv")
                for i in messages.indices {
                    messages[i].id = env.ids.next("msg")
                    messages[i].conversationId = conv.id
                }
            }
        } else if headers.count >= env.limits.maxConversations {
            throw .limitExceeded(limit: "maxConversations", max: env.limits.maxConversations, value: headers.count + 1)
        }
        installImported(conv, messages: messages)
        return header(conv.id)!
    }

    /// `memory/forkConversation`: a new conversation with copies (new ids) of the
    /// messages up to and including `atMessageId` (all if absent). The parent is unchanged.
    public func fork(conversationId: String, atMessageId: String? = nil, title: String? = nil) throws(DomainError) -> Conversation {
        let parent = try loaded(conversationId)
        let source = threads[conversationId]?.messages ?? []
        var end = source.count
        if let at = atMessageId {
            guard let i = source.firstIndex(where: { $0.id == at }) else { throw .notFound(kind: "message", id: at) }
            end = i + 1
        }
        if let title { try validateText(title, field: "title") }
        if headers.count >= env.limits.maxConversations {
            throw .limitExceeded(limit: "maxConversations", max: env.limits.maxConversations, value: headers.count + 1)
        }
        let now = env.now()
        let c = Conversation(
            id: env.ids.next("conv"), title: title ?? parent.title, sessionId: parent.sessionId, metadata: parent.metadata,
            maxMessages: parent.maxMessages, maxTokens: parent.maxTokens, createdAt: now, updatedAt: now,
            parentConversationId: parent.id, forkedAtMessageId: atMessageId ?? source.last?.id)
        var t = Thread()
        for var m in source[..<end] {
            m.id = env.ids.next("msg")
            m.conversationId = c.id
            t.messages.append(m)
            t.docs.append(indexDocument(m))
            t.tokens += m.tokens
            env.effects.put(.message(m))
        }
        threads[c.id] = t
        putHeader(c)
        env.effects.emit(.memory(event: "forked", conversationId: c.id, messageIds: nil))
        return header(c.id)!
    }

    // MARK: Search

    /// One search hit (`memory/search`).
    public struct SearchHit: Sendable, Codable, Equatable {
        public var conversationId: String
        public var message: Message
        public var score: Double
        public var snippet: String
    }

    /// `memory/search`: every query word must match a word prefix (case- and
    /// diacritic-insensitive); BM25 then newer first then message id. `cursor` is
    /// the opaque offset returned as `nextCursor`.
    public func search(
        query: String, conversationId: String? = nil, sessionId: String? = nil, role: MessageRole? = nil,
        limit: Int? = nil, cursor: String? = nil
    ) throws(DomainError) -> (hits: [SearchHit], nextCursor: String?) {
        let limit = limit ?? 20
        guard limit >= 1, limit <= 1000 else { throw .invalidArgument(field: "limit", expected: "an integer 1…1000") }
        var offset = 0
        if let cursor {
            guard let o = Int(cursor), o >= 0 else { throw .invalidArgument(field: "cursor", expected: "a cursor returned by search") }
            offset = o
        }
        if let c = conversationId { _ = try existing(c) }
        if let s = sessionId { try IDRules.validate(s, field: "sessionId") }
        // Ranking uses store-wide statistics: every message must be indexed.
        try ensureAllLoaded()
        var filter = SearchIndex.Filter(conversationId: conversationId, role: role)
        if let s = sessionId { filter.conversations = Set(headers.values.filter { $0.sessionId == s }.map(\.id)) }
        let (hits, more) = index.search(query, filter: filter, offset: offset, limit: limit) { doc in
            self.message(forDocument: doc)?.id ?? ""
        }
        let words = TextFolding.words(query)
        let out = hits.compactMap { h -> SearchHit? in
            guard let m = message(forDocument: h.document) else { return nil }
            return SearchHit(
                conversationId: m.conversationId, message: m, score: (h.score * 1e4).rounded() / 1e4,
                snippet: Self.snippet(m.content, words: words))
        }
        return (out, more ? String(offset + limit) : nil)
    }

    func message(forDocument doc: UInt32) -> Message? {
        let cid = index.conversationId(ofDocument: doc)
        guard let t = threads[cid] else { return nil }
        var lo = 0, hi = t.docs.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if t.docs[mid] < doc { lo = mid + 1 } else { hi = mid }
        }
        return lo < t.docs.count && t.docs[lo] == doc ? t.messages[lo] : nil
    }

    /// About 160 characters around the first word that matches a query word.
    static func snippet(_ content: String, words: [String]) -> String {
        var hit: Range<Int>? = nil
        TextFolding.forEachWord(in: content) { w, r in
            if hit == nil, words.contains(where: { w.utf8.starts(with: $0.utf8) }) { hit = r }
        }
        let u = content.utf8
        guard let r = hit else { return content.count <= 160 ? content : String(content.prefix(160)) + "…" }
        var start = String.Index(u.index(u.startIndex, offsetBy: r.lowerBound), within: content) ?? content.startIndex
        var end = String.Index(u.index(u.startIndex, offsetBy: r.upperBound), within: content) ?? content.endIndex
        var back = 50
        while back > 0, start > content.startIndex {
            start = content.index(before: start)
            back -= 1
        }
        var fwd = 110
        while fwd > 0, end < content.endIndex {
            end = content.index(after: end)
            fwd -= 1
        }
        var s = String(content[start..<end])
        if start > content.startIndex { s = "…" + s }
        if end < content.endIndex { s += "…" }
        return s
    }

    // MARK: For sessions (rollback, deletion)

    /// The ids of the conversations attached to a session.
    /// The ids of the conversations linked to a session, in creation order.
    public func conversationIDs(sessionId: String) -> [String] {
        headers.values.filter { $0.sessionId == sessionId }
            .sorted { $0.createdAt != $1.createdAt ? $0.createdAt < $1.createdAt : $0.id < $1.id }.map(\.id)
    }

    /// The conversation's header, or nil when unknown (for `session/export`).
    public func exportConversation(id: String) -> Conversation? { header(id) }

    /// Inserts or replaces a conversation with its messages, linked to `sessionId`
    /// (for `session/import`; the caller has already resolved id conflicts).
    public func importConversation(_ conversation: Conversation, messages: [Message], sessionId: String) throws(DomainError) {
        var conv = conversation
        conv.sessionId = sessionId
        for (i, m) in messages.enumerated() where m.conversationId != conv.id {
            throw .invalidArgument(field: "messages[\(i)].conversationId", expected: conv.id)
        }
        if headers[conv.id] != nil {
            try ensureLoaded(conv.id)
            removeConversation(conv.id)
        }
        installImported(conv, messages: messages)
    }

    /// Installs an imported conversation with its messages: indexes and records each
    /// message, records the header, emits one `imported` event.
    private func installImported(_ conv: Conversation, messages: [Message]) {
        var t = Thread()
        for m in messages {
            t.messages.append(m)
            t.docs.append(indexDocument(m))
            t.tokens += m.tokens
            env.effects.put(.message(m))
        }
        threads[conv.id] = t
        putHeader(conv)
        env.effects.emit(.memory(event: "imported", conversationId: conv.id, messageIds: nil))
    }

    /// The messages of a conversation, in order (empty if unknown).
    public func messagesSnapshot(conversationId: String) throws(DomainError) -> [Message] {
        try ensureLoaded(conversationId)
        return threads[conversationId]?.messages ?? []
    }

    /// Replaces a conversation's messages (session rollback): puts and deletes message
    /// records, reindexes, emits one `replaced` event.
    public func replaceMessages(conversationId: String, with messages: [Message]) throws(DomainError) {
        var conv = try loaded(conversationId)
        for (i, m) in messages.enumerated() where m.conversationId != conversationId {
            throw .invalidArgument(field: "messages[\(i)].conversationId", expected: conversationId)
        }
        let old = threads.removeValue(forKey: conversationId) ?? Thread()
        var oldByID: [String: Message] = [:]
        for m in old.messages { oldByID[m.id] = m }
        let newIDs = Set(messages.map(\.id))
        for m in old.messages where !newIDs.contains(m.id) {
            env.effects.delete(RecordKey(.message, m.id, parent: conversationId))
        }
        for m in messages where oldByID[m.id] != m { env.effects.put(.message(m)) }
        for d in old.docs { index.remove(d) }
        var t = Thread()
        for m in messages {
            t.messages.append(m)
            t.docs.append(indexDocument(m))
            t.tokens += m.tokens
        }
        threads[conversationId] = t
        conv.updatedAt = env.now()
        putHeader(conv)
        env.effects.emit(.memory(event: "replaced", conversationId: conversationId, messageIds: messages.map(\.id)))
    }

    /// Detaches every conversation from a deleted session.
    public func unlinkSession(_ sessionId: String) {
        for id in conversationIDs(sessionId: sessionId) {
            guard var c = headers[id] else { continue }
            c.sessionId = nil
            putHeader(c)
        }
    }

    /// Every conversation header (with live counts), unordered.
    public var allConversations: [Conversation] { headers.keys.compactMap(header) }
}
