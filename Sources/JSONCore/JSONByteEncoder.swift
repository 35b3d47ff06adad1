// The direct Codable encoder: `Encodable` → JSON bytes, with no `JSONValue` tree in
// between. Results, journal records and snapshots are written this way; the tree encoder
// (`JSONValueEncoder`) stays for callers that need a value to inspect.
//
// Codable containers have no "end" call, so the encoder keeps a stack of open containers
// and closes (writes `}` or `]` for) every container deeper than the one being written
// to, and those a value opened once its `encode(to:)` returns. That is exactly right for
// sequential use — synthesized conformances and every hand-written one in contextd.
// Writing to a container after a sibling opened later has been written to (interleaved
// use, which a stream cannot represent) throws `EncodingError.invalidValue` instead of
// producing wrong JSON.
//
// Output equals `JSONWriter.encode(JSONValueEncoder().encode(v))` for every type that
// encodes each key once (a test compares the two over the domain's types).
//
// Speed: the containers implement the concrete `encode(String/Int/Bool/Double…)`
// requirements (the defaults go through the generic, unspecialised path), and coding
// paths are not tracked (`codingPath` is always empty: nothing in contextd reads it while
// encoding, and an array per nested value would cost more than the value).

/// A type that writes its own compact JSON: exactly the bytes its `Encodable`
/// conformance produces through the encoders (a test compares them over every record
/// the domain stores), without Codable's per-field dispatch. The hot wire and record
/// types (sessions, messages, conversations, timestamps) conform.
public protocol JSONFastEncodable: Encodable {
    func writeJSON(into w: inout JSONWriter)
}

/// Encodes `Encodable` values straight into JSON bytes (compact).
public struct JSONByteEncoder {
    public init() {}

    /// The compact JSON text of `value`.
    public func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        var w = JSONWriter(capacity: 256)
        try Self.write(value, into: &w)
        return w.bytes
    }

    /// Appends the compact JSON text of `value` to `writer`'s bytes.
    /// A writer with options (pretty, sorted keys) gets the tree encoder's output.
    public static func write<T: Encodable>(_ value: T, into writer: inout JSONWriter) throws {
        guard writer.options.isEmpty else {
            writer.write(try JSONValueEncoder().encode(value))
            return
        }
        let sink = _ByteSink(writer: writer)
        writer.bytes = []  // the sink owns the buffer while encoding (no copy on append)
        defer { writer.bytes = sink.w.bytes }
        try sink.writeValue(value)
        sink.closeAll()
    }
}

/// The shared state of one encoding: the output and the stack of open containers.
final class _ByteSink {
    var w: JSONWriter
    /// Open containers, outermost first: whether it is an object, members so far, serial.
    var stack: [(isObject: Bool, count: Int, serial: Int)] = []
    var nextSerial = 1
    /// A key was written by `superEncoder` and its value has not started yet.
    var pendingValue = false

    init(writer: JSONWriter) { w = writer }

    @inline(__always) func appendASCII(_ s: StaticString) { w.appendASCII(s) }

    /// Closes every container at stack index `depth` or deeper.
    func close(downTo depth: Int) {
        if pendingValue {
            appendASCII("null")
            pendingValue = false
        }
        while stack.count > depth {
            w.bytes.append(stack.removeLast().isObject ? UInt8(ascii: "}") : UInt8(ascii: "]"))
        }
    }

    func closeAll() { close(downTo: 0) }

    /// Opens an object or array at the current position; returns its stack index and serial.
    func open(object: Bool) -> (depth: Int, serial: Int) {
        pendingValue = false
        w.bytes.append(object ? UInt8(ascii: "{") : UInt8(ascii: "["))
        let serial = nextSerial
        nextSerial += 1
        stack.append((object, 0, serial))
        return (stack.count - 1, serial)
    }

    /// Makes the container at `depth` (with `serial`) current and counts a new member,
    /// writing the separating comma. Throws when that container was already closed.
    func beginMember(depth: Int, serial: Int) throws {
        close(downTo: depth + 1)
        guard depth < stack.count, stack[depth].serial == serial else {
            throw EncodingError.invalidValue(
                serial, .init(codingPath: [], debugDescription: "a container was written to after a later sibling (interleaved containers cannot be streamed)"))
        }
        if stack[depth].count > 0 { w.bytes.append(UInt8(ascii: ",")) }
        stack[depth].count += 1
    }

    func writeKey(_ key: String) {
        w.writeString(key)
        w.bytes.append(UInt8(ascii: ":"))
    }

    func writeString(_ s: String) { w.writeString(s) }
    func writeBool(_ b: Bool) { w.writeBool(b) }
    func writeDouble(_ d: Double) { w.writeDouble(d) }

    func writeJSON(_ v: JSONValue) { w.write(v) }

    func writeInt(_ v: Int64) { w.writeInt(v) }

    /// Writes one value at the current position.
    func writeValue<T: Encodable>(_ value: T) throws {
        pendingValue = false
        // Metatype comparisons instead of dynamic casts: this runs for every field.
        if T.self == String.self { writeString(unsafeBitCast(value, to: String.self)); return }
        if T.self == Int.self { writeInt(Int64(unsafeBitCast(value, to: Int.self))); return }
        if T.self == Bool.self { writeBool(unsafeBitCast(value, to: Bool.self)); return }
        if T.self == Int64.self { writeInt(unsafeBitCast(value, to: Int64.self)); return }
        if T.self == Double.self { writeDouble(unsafeBitCast(value, to: Double.self)); return }
        if T.self == JSONValue.self { writeJSON(value as! JSONValue); return }
        if T.self == JSONObject.self { writeJSON(.object(value as! JSONObject)); return }
        if let f = value as? any JSONFastEncodable {
            f.writeJSON(into: &w)
            return
        }
        let depth = stack.count
        let start = w.bytes.count
        try value.encode(to: _ByteEncoder(sink: self, depth: depth))
        close(downTo: depth)
        if w.bytes.count == start { appendASCII("null") }  // encoded nothing: null, as the tree encoder
    }
}

struct _ByteEncoder: Encoder {
    let sink: _ByteSink
    /// The stack index a container of this value gets.
    let depth: Int
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    /// The container this value already opened (a second `container` call returns the
    /// same one), or a new one.
    func opened(object: Bool) -> (depth: Int, serial: Int) {
        if sink.stack.count > depth, sink.stack[depth].isObject == object {
            sink.close(downTo: depth + 1)
            return (depth, sink.stack[depth].serial)
        }
        return sink.open(object: object)
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        let (d, s) = opened(object: true)
        return KeyedEncodingContainer(_ByteKeyedContainer<Key>(sink: sink, depth: d, serial: s))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        let (d, s) = opened(object: false)
        return _ByteUnkeyedContainer(sink: sink, depth: d, serial: s)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { _ByteSingleContainer(sink: sink) }
}

struct _ByteKeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let sink: _ByteSink
    let depth: Int
    let serial: Int
    var codingPath: [any CodingKey] { [] }

    func member(_ key: Key) throws {
        try sink.beginMember(depth: depth, serial: serial)
        sink.writeKey(key.stringValue)
    }

    mutating func encodeNil(forKey key: Key) throws {
        try member(key)
        sink.appendASCII("null")
    }
    mutating func encode(_ value: String, forKey key: Key) throws {
        try member(key)
        sink.writeString(value)
    }
    mutating func encode(_ value: Int, forKey key: Key) throws {
        try member(key)
        sink.writeInt(Int64(value))
    }
    mutating func encode(_ value: Int64, forKey key: Key) throws {
        try member(key)
        sink.writeInt(value)
    }
    mutating func encode(_ value: Bool, forKey key: Key) throws {
        try member(key)
        sink.writeBool(value)
    }
    mutating func encode(_ value: Double, forKey key: Key) throws {
        try member(key)
        sink.writeDouble(value)
    }
    mutating func encodeIfPresent(_ value: String?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) }
    }
    mutating func encodeIfPresent(_ value: Int?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) }
    }
    mutating func encodeIfPresent(_ value: Int64?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) }
    }
    mutating func encodeIfPresent(_ value: Bool?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) }
    }
    mutating func encodeIfPresent(_ value: Double?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) }
    }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try member(key)
        try sink.writeValue(value)
    }
    mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) }
    }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
        -> KeyedEncodingContainer<NestedKey>
    {
        // A closed container cannot take members; the failure surfaces at the next write.
        try? member(key)
        let (d, s) = sink.open(object: true)
        return KeyedEncodingContainer(_ByteKeyedContainer<NestedKey>(sink: sink, depth: d, serial: s))
    }
    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        try? member(key)
        let (d, s) = sink.open(object: false)
        return _ByteUnkeyedContainer(sink: sink, depth: d, serial: s)
    }
    mutating func superEncoder() -> any Encoder {
        try? sink.beginMember(depth: depth, serial: serial)
        sink.writeKey("super")
        sink.pendingValue = true
        return _ByteEncoder(sink: sink, depth: sink.stack.count)
    }
    mutating func superEncoder(forKey key: Key) -> any Encoder {
        try? member(key)
        sink.pendingValue = true
        return _ByteEncoder(sink: sink, depth: sink.stack.count)
    }
}

struct _ByteUnkeyedContainer: UnkeyedEncodingContainer {
    let sink: _ByteSink
    let depth: Int
    let serial: Int
    var codingPath: [any CodingKey] { [] }
    var count: Int { depth < sink.stack.count && sink.stack[depth].serial == serial ? sink.stack[depth].count : 0 }

    func element() throws {
        try sink.beginMember(depth: depth, serial: serial)
    }

    mutating func encodeNil() throws {
        try element()
        sink.appendASCII("null")
    }
    mutating func encode(_ value: String) throws {
        try element()
        sink.writeString(value)
    }
    mutating func encode(_ value: Int) throws {
        try element()
        sink.writeInt(Int64(value))
    }
    mutating func encode(_ value: Bool) throws {
        try element()
        sink.writeBool(value)
    }
    mutating func encode(_ value: Double) throws {
        try element()
        sink.writeDouble(value)
    }
    mutating func encode<T: Encodable>(_ value: T) throws {
        try element()
        try sink.writeValue(value)
    }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        try? element()
        let (d, s) = sink.open(object: true)
        return KeyedEncodingContainer(_ByteKeyedContainer<NestedKey>(sink: sink, depth: d, serial: s))
    }
    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        try? element()
        let (d, s) = sink.open(object: false)
        return _ByteUnkeyedContainer(sink: sink, depth: d, serial: s)
    }
    mutating func superEncoder() -> any Encoder {
        try? element()
        sink.pendingValue = true
        return _ByteEncoder(sink: sink, depth: sink.stack.count)
    }
}

struct _ByteSingleContainer: SingleValueEncodingContainer {
    let sink: _ByteSink
    var codingPath: [any CodingKey] { [] }
    mutating func encodeNil() throws {
        sink.pendingValue = false
        sink.appendASCII("null")
    }
    mutating func encode(_ value: String) throws {
        sink.pendingValue = false
        sink.writeString(value)
    }
    mutating func encode(_ value: Int) throws {
        sink.pendingValue = false
        sink.writeInt(Int64(value))
    }
    mutating func encode(_ value: Bool) throws {
        sink.pendingValue = false
        sink.writeBool(value)
    }
    mutating func encode(_ value: Double) throws {
        sink.pendingValue = false
        sink.writeDouble(value)
    }
    mutating func encode<T: Encodable>(_ value: T) throws {
        try sink.writeValue(value)
    }
}
