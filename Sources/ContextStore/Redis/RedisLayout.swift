import ContextCore

/// Where each record lives in Redis.
///
/// Every record belongs to one *unit* whose three keys share a hash tag, so on a Redis
/// Cluster a unit lives in one slot:
/// ```
/// P{s:<sessionId>}      hash  field "session", "checkpoint:<id>"   → record JSON
/// P{c:<conversationId>} hash  field "conversation", "message:<id>" → record JSON
/// P{g:<id>} "group"   P{m:<id>} "memory"   P{t:<id>} "template"   P{settings} "setting:<key>"
/// <data key>:v          hash  field → version token ("<origin>.<n>"); "#n" a counter
/// <data key>:o          zset  field → insertion order (messages load in arrival order)
/// P changes             pub/sub channel (`<prefix>changes`)
/// ```
/// One `memory/addMessage` is one small `HSET` of its message field (plus its version and
/// order), never a rewrite of the conversation. The record JSON is `RecordCoding`'s
/// (`{"kind", "value"}`), the same as the file backend's journal and snapshots.
struct RedisLayout: Sendable {
    let prefix: String

    var channel: String { prefix + "changes" }

    func tag(_ k: RecordKey) -> String {
        switch k.kind {
        case .session: "s:" + k.id
        case .checkpoint: "s:" + (k.parent ?? "")
        case .conversation: "c:" + k.id
        case .message: "c:" + (k.parent ?? "")
        case .group: "g:" + k.id
        case .memory: "m:" + k.id
        case .template: "t:" + k.id
        case .setting: "settings"
        }
    }

    func dataKey(_ k: RecordKey) -> String { prefix + "{" + tag(k) + "}" }
    func versionKey(data: String) -> String { data + ":v" }
    func orderKey(data: String) -> String { data + ":o" }

    func field(_ k: RecordKey) -> String {
        switch k.kind {
        case .session: "session"
        case .checkpoint: "checkpoint:" + k.id
        case .conversation: "conversation"
        case .message: "message:" + k.id
        case .group: "group"
        case .memory: "memory"
        case .template: "template"
        case .setting: "setting:" + k.id
        }
    }

    /// The SCAN pattern matching every key of the store (glob characters escaped).
    var scanPattern: String {
        var out = ""
        for ch in prefix {
            if "*?[]\\".contains(ch) { out.append("\\") }
            out.append(ch)
        }
        return out + "{*"
    }

    /// Whether `key` (from SCAN) is a data key (not a version or order key).
    func isDataKey(_ key: String) -> Bool { key.hasPrefix(prefix) && key.hasSuffix("}") }

    /// The component a data key's unit belongs to, for load order.
    func componentRank(_ dataKey: String) -> Int {
        let rest = dataKey.dropFirst(prefix.count + 1)
        switch rest.first {
        case "s": return rest.hasPrefix("settings}") ? 5 : 0
        case "g": return 1
        case "c": return 2
        case "m": return 3
        case "t": return 4
        default: return 6
        }
    }

    /// The atomic commit: checks every expected version first, then writes everything
    /// and publishes the change feed message, or writes nothing and returns the first
    /// stale record. KEYS: (data, version, order) per change. ARGV: channel, payload,
    /// then (op, field, expected, new version, value) per change; op `p` put, `d` delete,
    /// `D` delete the whole unit (a conversation with its messages).
    static let commitScript = """
    local n = #KEYS / 3
    local seen = {}
    for i = 1, n do
      local b = 3 + (i - 1) * 5
      local id = KEYS[3 * i - 1] .. '\\0' .. ARGV[b + 1]
      local cur = seen[id]
      if cur == nil then cur = redis.call('HGET', KEYS[3 * i - 1], ARGV[b + 1]) or '' end
      if cur ~= ARGV[b + 2] then return {'conflict', i, cur} end
      if ARGV[b] == 'p' then seen[id] = ARGV[b + 3] else seen[id] = '' end
    end
    for i = 1, n do
      local b = 3 + (i - 1) * 5
      local op, field = ARGV[b], ARGV[b + 1]
      local d, v, o = KEYS[3 * i - 2], KEYS[3 * i - 1], KEYS[3 * i]
      if op == 'p' then
        redis.call('HSET', d, field, ARGV[b + 4])
        redis.call('HSET', v, field, ARGV[b + 3])
        if not redis.call('ZSCORE', o, field) then
          redis.call('ZADD', o, redis.call('HINCRBY', v, '#n', 1), field)
        end
      elseif op == 'd' then
        redis.call('HDEL', d, field)
        redis.call('HDEL', v, field)
        redis.call('ZREM', o, field)
        if redis.call('HLEN', d) == 0 then redis.call('DEL', v, o) end
      else
        redis.call('DEL', d, v, o)
      end
    end
    if ARGV[2] ~= '' then redis.call('PUBLISH', ARGV[1], ARGV[2]) end
    return {'ok'}
    """
}
