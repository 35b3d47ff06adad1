import ContextCore
import JSONCore

/// Turns records and changes into JSON values and back, generically over the models'
/// `Codable` conformances (so new model fields need no change here).
///
/// On disk a record is `{"kind": "session", "value": {...}}` (a setting:
/// `{"kind": "setting", "key": K, "value": V}`); a change in the journal is the record
/// with `"op": "put"`, or `{"op": "delete", "kind", "id", "parent"?}`.
public enum RecordCoding {
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    public static func encode(_ record: Record) throws(Failure) -> JSONObject {
        var o = JSONObject(minimumCapacity: 3)
        o.appendUnchecked("kind", .string(record.kind.rawValue))
        do {
            let enc = JSONValueEncoder()
            switch record {
            case .session(let v): o.appendUnchecked("value", try enc.encode(v))
            case .checkpoint(let v): o.appendUnchecked("value", try enc.encode(v))
            case .group(let v): o.appendUnchecked("value", try enc.encode(v))
            case .conversation(let v): o.appendUnchecked("value", try enc.encode(v))
            case .message(let v): o.appendUnchecked("value", try enc.encode(v))
            case .memory(let v): o.appendUnchecked("value", try enc.encode(v))
            case .template(let v): o.appendUnchecked("value", try enc.encode(v))
            case .setting(let key, let value):
                o.appendUnchecked("key", .string(key))
                o.appendUnchecked("value", value)
            }
        } catch {
            throw Failure(message: "cannot encode \(record.kind.rawValue) '\(record.key.id)': \(error)")
        }
        return o
    }

    /// Appends `record`'s JSON text, the bytes `JSONWriter` writes for `encode(record)`,
    /// encoded straight from the model with no tree in between (compact writers; one with
    /// options gets the tree's output).
    public static func write(_ record: Record, into w: inout JSONWriter) throws(Failure) {
        guard w.options.isEmpty else {
            w.write(.object(try encode(record)))
            return
        }
        w.bytes.append(contentsOf: #"{"kind":"#.utf8)
        writeBody(record, into: &w)
        do { try writeValue(record, into: &w) } catch {
            throw Failure(message: "cannot encode \(record.kind.rawValue) '\(record.key.id)': \(error)")
        }
        w.bytes.append(UInt8(ascii: "}"))
    }

    /// The kind (and a setting's key) after `{"kind":`, up to the value's colon.
    private static func writeBody(_ record: Record, into w: inout JSONWriter) {
        w.writeString(record.kind.rawValue)
        if case .setting(let key, _) = record {
            w.bytes.append(contentsOf: #","key":"#.utf8)
            w.writeString(key)
        }
        w.bytes.append(contentsOf: #","value":"#.utf8)
    }

    private static func writeValue(_ record: Record, into w: inout JSONWriter) throws {
        switch record {
        case .session(let v): v.writeJSON(into: &w)
        case .checkpoint(let v): try JSONByteEncoder.write(v, into: &w)
        case .group(let v): try JSONByteEncoder.write(v, into: &w)
        case .conversation(let v): v.writeJSON(into: &w)
        case .message(let v): v.writeJSON(into: &w)
        case .memory(let v): try JSONByteEncoder.write(v, into: &w)
        case .template(let v): try JSONByteEncoder.write(v, into: &w)
        case .setting(_, let value): w.write(value)
        }
    }

    /// `record`'s compact JSON text.
    public static func bytes(_ record: Record) throws(Failure) -> [UInt8] {
        var w = JSONWriter(capacity: 256)
        try write(record, into: &w)
        return w.bytes
    }

    /// Appends `change`'s JSON text, the bytes `JSONWriter` writes for `encode(change)`.
    public static func write(_ change: Change, into w: inout JSONWriter) throws(Failure) {
        guard w.options.isEmpty else {
            w.write(try encode(change))
            return
        }
        switch change {
        case .put(let r):
            w.bytes.append(contentsOf: #"{"op":"put","kind":"#.utf8)
            writeBody(r, into: &w)
            do { try writeValue(r, into: &w) } catch {
                throw Failure(message: "cannot encode \(r.kind.rawValue) '\(r.key.id)': \(error)")
            }
            w.bytes.append(UInt8(ascii: "}"))
        case .delete:
            w.write(try encode(change))
        }
    }

    public static func decodeRecord(_ value: JSONValue) throws(Failure) -> Record {
        guard case .object(let o) = value else { throw Failure(message: "a record must be an object, got \(value.typeName)") }
        guard let k = o["kind"]?.stringValue else { throw Failure(message: "record without 'kind'") }
        guard let kind = RecordKind(rawValue: k) else { throw Failure(message: "unknown record kind '\(k)'") }
        guard let v = o["value"] else { throw Failure(message: "\(k) record without 'value'") }
        let dec = JSONValueDecoder()
        do {
            switch kind {
            case .session: return .session(try dec.decode(Session.self, from: v))
            case .checkpoint: return .checkpoint(try dec.decode(Checkpoint.self, from: v))
            case .group: return .group(try dec.decode(SessionGroup.self, from: v))
            case .conversation: return .conversation(try dec.decode(Conversation.self, from: v))
            case .message: return .message(try dec.decode(Message.self, from: v))
            case .memory: return .memory(try dec.decode(Memory.self, from: v))
            case .template: return .template(try dec.decode(Template.self, from: v))
            case .setting:
                guard let key = o["key"]?.stringValue else { throw Failure(message: "setting record without 'key'") }
                return .setting(key: key, value: v)
            }
        } catch let f as Failure {
            throw f
        } catch {
            throw Failure(message: "invalid \(k) record: \(JSONDecodingFailure(error).message)")
        }
    }

    public static func encode(_ change: Change) throws(Failure) -> JSONValue {
        switch change {
        case .put(let r):
            var o = JSONObject(minimumCapacity: 4)
            o.appendUnchecked("op", "put")
            for (k, v) in try encode(r) { o.appendUnchecked(k, v) }
            return .object(o)
        case .delete(let key):
            var o = JSONObject(minimumCapacity: 4)
            o.appendUnchecked("op", "delete")
            o.appendUnchecked("kind", .string(key.kind.rawValue))
            o.appendUnchecked("id", .string(key.id))
            if let p = key.parent { o.appendUnchecked("parent", .string(p)) }
            return .object(o)
        }
    }

    public static func decodeChange(_ value: JSONValue) throws(Failure) -> Change {
        guard case .object(let o) = value else { throw Failure(message: "a change must be an object, got \(value.typeName)") }
        switch o["op"]?.stringValue {
        case "put": return .put(try decodeRecord(value))
        case "delete":
            guard let k = o["kind"]?.stringValue, let kind = RecordKind(rawValue: k), let id = o["id"]?.stringValue else {
                throw Failure(message: "delete change without a valid 'kind' and 'id'")
            }
            return .delete(RecordKey(kind, id, parent: o["parent"]?.stringValue))
        default: throw Failure(message: "change without a valid 'op' (put|delete)")
        }
    }

    /// The conversation a conversation/message key belongs to (its file), else nil.
    static func conversationId(of key: RecordKey) -> String? {
        switch key.kind {
        case .conversation: key.id
        case .message: key.parent
        default: nil
        }
    }
}
