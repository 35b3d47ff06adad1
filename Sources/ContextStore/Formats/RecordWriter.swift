import ContextCore
import JSONCore

/// Writes records as JSON text straight into a byte buffer, through the models' own
/// `Encodable` conformances (so new model fields need no change here) but without the
/// intermediate `JSONValue` tree of `RecordCoding.encode` — the snapshot's hot path.
///
/// The output is byte for byte what `JSONWriter` makes of `RecordCoding.encode(record)`
/// (compact, or pretty indented under a snapshot's `records` array). That holds for
/// every type that writes each container in one go, which synthesised conformances and
/// all of ours do; a type that does anything else (writes a key twice, goes back to a
/// container after writing into another, uses `superEncoder`) makes the writer rewind
/// and encode that record through the tree instead, so the result is always the same.
struct RecordWriter {
    private let stream: JSONStream

    /// `pretty`: indented as a member of a snapshot's `records` array (4 spaces deep).
    init(pretty: Bool, capacity: Int) {
        stream = JSONStream(pretty: pretty, baseSpaces: 4, capacity: capacity)
    }

    /// Writes into `buffer`'s storage (emptied, its capacity kept): a buffer recycled
    /// from an earlier file costs no new pages.
    init(pretty: Bool, buffer: consuming [UInt8]) {
        stream = JSONStream(pretty: pretty, baseSpaces: 4, capacity: 0)
        buffer.removeAll(keepingCapacity: true)
        stream.w.bytes = buffer
    }

    /// The bytes written so far (the buffer is handed over; the writer is then empty).
    mutating func take() -> [UInt8] {
        defer { stream.w.bytes = [] }
        return stream.w.bytes
    }

    mutating func appendRaw(_ bytes: [UInt8]) { stream.w.bytes.append(contentsOf: bytes) }

    var count: Int { stream.w.bytes.count }

    /// Makes room for `bytes` in all (beyond what the buffer holds now).
    mutating func reserve(total bytes: Int) {
        if bytes > stream.w.bytes.capacity { stream.w.bytes.reserveCapacity(bytes) }
    }
    mutating func appendByte(_ b: UInt8) { stream.w.bytes.append(b) }

    mutating func write(_ record: Record) throws(RecordCoding.Failure) {
        let s = stream
        let start = s.w.bytes.count
        do {
            try s.writeRecord(record)
        } catch {
            if !s.failed { throw RecordCoding.Failure(message: "cannot encode \(record.kind.rawValue) '\(record.key.id)': \(error)") }
        }
        if !s.failed { return }
        // Rewind and take the tree path for this record.
        s.reset()
        s.w.bytes.removeSubrange(start...)
        let o = try RecordCoding.encode(record)
        if s.pretty {
            for b in JSONWriter.encode(.object(o), options: [.pretty]) {
                s.w.bytes.append(b)
                if b == 0x0A { s.w.bytes.append(contentsOf: [0x20, 0x20, 0x20, 0x20]) }
            }
        } else {
            s.w.write(.object(o))
        }
    }
}

/// The state of one streaming encode: the buffer, the containers still open, the value
/// slot being filled.
final class JSONStream {
    struct Unsupported: Error {}

    struct Frame {
        var id: Int
        var isArray: Bool
        var count = 0
        /// Where this object's keys start in `keys`.
        var keysStart = 0
        /// One bit per key length (mod 64): a key whose bit is clear is not a duplicate.
        var keyLengths: UInt64 = 0
    }

    // The buffer and the container stack live behind pointers: as stored properties of
    // a class every access would pay a dynamic exclusivity check (the hot path here).
    private let wp: UnsafeMutablePointer<JSONWriter>
    private let sp: UnsafeMutablePointer<[Frame]>
    /// The rest of the mutable state, behind a pointer for the same reason.
    private struct Scalars {
        var nextId = 0
        var slot = 0
        var slotFilled = false
        var slotContainer = 0
        var floor = 0
        var failed = false
        var keys: [String] = []
    }
    private let sp2: UnsafeMutablePointer<Scalars>
    var w: JSONWriter {
        unsafeAddress { UnsafePointer(wp) }
        unsafeMutableAddress { wp }
    }
    /// Open containers, outermost first.
    var stack: [Frame] {
        unsafeAddress { UnsafePointer(sp) }
        unsafeMutableAddress { sp }
    }
    let pretty: Bool
    let baseSpaces: Int
    var nextId: Int {
        get { sp2.pointee.nextId }
        set { sp2.pointee.nextId = newValue }
    }
    /// The value slot being filled: its id, and whether something was written there.
    var slot: Int {
        get { sp2.pointee.slot }
        set { sp2.pointee.slot = newValue }
    }
    var slotFilled: Bool {
        get { sp2.pointee.slotFilled }
        set { sp2.pointee.slotFilled = newValue }
    }
    /// The container opened in the current slot (0 when none).
    var slotContainer: Int {
        get { sp2.pointee.slotContainer }
        set { sp2.pointee.slotContainer = newValue }
    }
    /// Containers below this stack depth belong to values outside the one being
    /// encoded: writing into them from inside is unsupported.
    var floor: Int {
        get { sp2.pointee.floor }
        set { sp2.pointee.floor = newValue }
    }
    /// Set whenever `Unsupported` is thrown (a type may swallow the error).
    var failed: Bool {
        get { sp2.pointee.failed }
        set { sp2.pointee.failed = newValue }
    }
    /// The keys of the open objects (each frame's from its `keysStart`), to catch a key
    /// written twice (the tree replaces the first value in place; a stream cannot).
    var keys: [String] {
        unsafeAddress { UnsafePointer(sp2).pointer(to: \.keys)! }
        unsafeMutableAddress { sp2.pointer(to: \.keys)! }
    }

    init(pretty: Bool, baseSpaces: Int, capacity: Int) {
        self.pretty = pretty
        self.baseSpaces = baseSpaces
        wp = .allocate(capacity: 1)
        wp.initialize(to: JSONWriter(options: [], capacity: capacity))
        sp = .allocate(capacity: 1)
        sp.initialize(to: [])
        sp.pointee.reserveCapacity(8)
        sp2 = .allocate(capacity: 1)
        sp2.initialize(to: Scalars())
    }

    deinit {
        wp.deinitialize(count: 1)
        wp.deallocate()
        sp.deinitialize(count: 1)
        sp.deallocate()
        sp2.deinitialize(count: 1)
        sp2.deallocate()
    }

    func reset() {
        stack.removeAll(keepingCapacity: true)
        keys.removeAll(keepingCapacity: true)
        failed = false
        slot = 0
        slotFilled = false
        slotContainer = 0
        floor = 0
    }

    func unsupported() -> Unsupported {
        failed = true
        return Unsupported()
    }

    // MARK: layout

    private static let spaces: [UInt8] = [0x0A] + [UInt8](repeating: 0x20, count: 128)

    @inline(__always) func newline(_ level: Int) {
        let n = baseSpaces + 2 * level
        if n < JSONStream.spaces.count {
            JSONStream.spaces.withUnsafeBufferPointer { w.bytes.append(contentsOf: UnsafeBufferPointer(rebasing: $0[0...n])) }
        } else {
            w.bytes.append(0x0A)
            for _ in 0..<n { w.bytes.append(0x20) }
        }
    }

    /// Makes container `id` the innermost open one, closing those opened inside it.
    @inline(__always) func activate(_ id: Int) throws(Unsupported) {
        if let top = stack.last, top.id == id { return }
        guard let i = stack.lastIndex(where: { $0.id == id }), i >= floor else { throw unsupported() }
        while stack.count > i + 1 { close() }
    }

    func close() {
        let f = stack.removeLast()
        if !f.isArray { keys.removeSubrange(f.keysStart...) }
        if f.count > 0 && pretty { newline(stack.count) }
        w.bytes.append(f.isArray ? UInt8(ascii: "]") : UInt8(ascii: "}"))
    }

    /// Starts a member of keyed container `id`: separator, key, colon.
    func beginMember(_ id: Int, _ key: String) throws(Unsupported) {
        try activate(id)
        let i = stack.count - 1
        let bit: UInt64 = 1 << UInt64(key.utf8.count & 63)
        if stack[i].keyLengths & bit != 0, keys[stack[i].keysStart...].contains(key) { throw unsupported() }
        stack[i].keyLengths |= bit
        keys.append(key)
        if stack[i].count > 0 { w.bytes.append(UInt8(ascii: ",")) }
        stack[i].count += 1
        if pretty { newline(stack.count) }
        writeString(key)
        w.bytes.append(UInt8(ascii: ":"))
        if pretty { w.bytes.append(0x20) }
    }

    /// Starts an element of unkeyed container `id`.
    func beginElement(_ id: Int) throws(Unsupported) {
        try activate(id)
        let i = stack.count - 1
        if stack[i].count > 0 { w.bytes.append(UInt8(ascii: ",")) }
        stack[i].count += 1
        if pretty { newline(stack.count) }
    }

    func open(isArray: Bool) -> Int {
        nextId += 1
        stack.append(Frame(id: nextId, isArray: isArray, keysStart: keys.count))
        w.bytes.append(isArray ? UInt8(ascii: "[") : UInt8(ascii: "{"))
        return nextId
    }

    // MARK: values

    /// A string literal exactly as `JSONWriter.writeString` writes it, scanning eight
    /// bytes at a time for the few that need an escape.
    func writeString(_ s: String) {
        var s = s
        s.withUTF8 { u in
            let n = u.count
            guard let base = u.baseAddress else {
                w.bytes.append(contentsOf: [0x22, 0x22])
                return
            }
            var i = 0
            // A byte needs escaping when < 0x20, '"' (0x22) or '\\' (0x5C).
            let ones: UInt64 = 0x0101_0101_0101_0101
            let highs: UInt64 = 0x8080_8080_8080_8080
            while i + 8 <= n {
                let x = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
                let lt20 = (x &- ones &* 0x20) & ~x
                let q = x ^ (ones &* 0x22)
                let isQ = (q &- ones) & ~q
                let b = x ^ (ones &* 0x5C)
                let isB = (b &- ones) & ~b
                if (lt20 | isQ | isB) & highs != 0 { break }
                i += 8
            }
            while i < n, JSONWriter.isPlainByte(base[i]) { i += 1 }
            if i == n {
                w.bytes.append(0x22)
                w.bytes.append(contentsOf: u)
                w.bytes.append(0x22)
            } else {
                w.writeString(u)
            }
        }
    }

    @inline(__always) func ascii(_ s: StaticString) {
        w.bytes.append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    /// An integer as `String(v)` spells it.
    func writeInt(_ v: Int64) {
        if v == 0 {
            w.bytes.append(UInt8(ascii: "0"))
            return
        }
        var m = v.magnitude
        if v < 0 { w.bytes.append(UInt8(ascii: "-")) }
        var buf: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes ≥ 20 digits
        withUnsafeMutableBytes(of: &buf) { b in
            var i = b.count
            while m > 0 {
                i -= 1
                b[i] = UInt8(ascii: "0") &+ UInt8(m % 10)
                m /= 10
            }
            w.bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: b[i...]))
        }
    }

    /// A JSON value as `JSONWriter` writes it at member depth `level`.
    func writeValue(_ v: JSONValue) {
        if !pretty {
            w.write(v)
            return
        }
        switch v {
        case .array(let a) where !a.isEmpty: break
        case .object(let o) where !o.isEmpty: break
        default:
            w.write(v)
            return
        }
        let level = stack.count
        for b in JSONWriter.encode(v, options: [.pretty]) {
            w.bytes.append(b)
            if b == 0x0A { for _ in 0..<(baseSpaces + 2 * level) { w.bytes.append(0x20) } }
        }
    }

    /// Writes one value into the current position (after a key, an element separator or
    /// at the top): primitives and JSON values directly, anything else through its
    /// `encode(to:)` with a slot encoder.
    func encode<T: Encodable>(_ value: T) throws {
        if T.self == String.self { writeString(unsafeBitCast(value, to: String.self)); return }
        if T.self == Int.self { writeInt(Int64(unsafeBitCast(value, to: Int.self))); return }
        if T.self == Bool.self {
            if unsafeBitCast(value, to: Bool.self) { ascii("true") } else { ascii("false") }
            return
        }
        if T.self == JSONValue.self { writeValue(value as! JSONValue); return }
        if T.self == JSONObject.self { writeValue(.object(value as! JSONObject)); return }
        if T.self == Int64.self { writeInt(unsafeBitCast(value, to: Int64.self)); return }
        if T.self == Double.self { w.write(.number(JSONNumber(unsafeBitCast(value, to: Double.self)))); return }
        // Other scalars (Int32, Float, ...) reach the single value container's
        // overloads below, which fail over to the tree encoder.
        let outer = (slot, slotFilled, slotContainer, floor)
        nextId += 1
        slot = nextId
        slotFilled = false
        slotContainer = 0
        let depth = stack.count
        floor = depth
        try value.encode(to: SlotEncoder(stream: self, slot: slot))
        if stack.count < depth { throw unsupported() }
        if !slotFilled { ascii("null") }
        // Close what the value opened (it is complete once encode(to:) returned).
        while stack.count > depth { close() }
        (slot, slotFilled, slotContainer, floor) = outer
    }

    /// Claims the current slot for slot encoder `id` (once).
    func fill(_ id: Int) throws(Unsupported) {
        if id != slot || slotFilled { throw unsupported() }
        slotFilled = true
    }

    func writeRecord(_ record: Record) throws {
        reset()
        let root = open(isArray: false)
        try beginMember(root, "kind")
        writeString(record.kind.rawValue)
        switch record {
        case .session(let v): try member(root, "value", v)
        case .checkpoint(let v): try member(root, "value", v)
        case .group(let v): try member(root, "value", v)
        case .conversation(let v): try member(root, "value", v)
        case .message(let v):
            if JSONStream.messageFastPath {
                try beginMember(root, "value")
                try writeMessage(v)
            } else {
                try member(root, "value", v)
            }
        case .memory(let v): try member(root, "value", v)
        case .template(let v): try member(root, "value", v)
        case .setting(let key, let value):
            try beginMember(root, "key")
            writeString(key)
            try beginMember(root, "value")
            writeValue(value)
        }
        try activate(root)
        close()
    }

    @inline(__always) func member<T: Encodable>(_ container: Int, _ key: String, _ v: T) throws {
        try beginMember(container, key)
        try encode(v)
    }

    // MARK: messages by hand

    /// A member of the innermost object whose key is a known plain literal.
    @inline(__always) func fixedMember(_ key: StaticString) {
        let i = stack.count - 1
        if stack[i].count > 0 { w.bytes.append(UInt8(ascii: ",")) }
        stack[i].count += 1
        if pretty { newline(stack.count) }
        w.bytes.append(0x22)
        ascii(key)
        w.bytes.append(0x22)
        w.bytes.append(UInt8(ascii: ":"))
        if pretty { w.bytes.append(0x20) }
    }

    /// A message as its synthesised `Encodable` conformance writes it, without the
    /// Codable machinery: messages are nearly all of a snapshot. Used only while
    /// `messageFastPath` holds.
    func writeMessage(_ m: Message) throws {
        let o = open(isArray: false)
        fixedMember("id")
        writeString(m.id)
        fixedMember("conversationId")
        writeString(m.conversationId)
        fixedMember("role")
        writeString(m.role.rawValue)
        fixedMember("content")
        writeString(m.content)
        fixedMember("metadata")
        writeValue(.object(m.metadata))
        fixedMember("createdAt")
        writeString(m.createdAt.iso8601)
        fixedMember("tokens")
        writeInt(Int64(m.tokens))
        if let t = m.toolCalls {
            fixedMember("toolCalls")
            try encode(t)
        }
        if let t = m.toolCallId {
            fixedMember("toolCallId")
            writeString(t)
        }
        try activate(o)
        close()
    }

    /// The stored properties `writeMessage` knows, in declaration order.
    static let messageFields = ["id", "conversationId", "role", "content", "metadata", "createdAt", "tokens", "toolCalls", "toolCallId"]

    /// Whether `writeMessage` writes exactly what the Codable path writes: checked once
    /// per process — `Message` has exactly the stored properties it knows, and a
    /// message with every field set comes out byte for byte the same both ways (compact
    /// and pretty). A model change it does not know turns it off (the Codable path then
    /// writes every message) instead of losing a field.
    static let messageFastPath: Bool = {
        var m = Message(
            id: "msg_é\"1", conversationId: "conv_\n1", role: .tool, content: "c\u{01}ontent ✓",
            metadata: ["k": ["n": [1, 2.5, true, .null, "s"]], "e": [:]], createdAt: Timestamp(milliseconds: 1_795_000_000_123), tokens: -7)
        m.toolCalls = [ToolCall(id: "call_1", name: "f", arguments: ["a": [1, ["b": "c"]]])]
        m.toolCallId = "call_0"
        guard Mirror(reflecting: m).children.map({ $0.label ?? "" }) == messageFields else { return false }
        for pretty in [false, true] {
            let generic = JSONStream(pretty: pretty, baseSpaces: 4, capacity: 512)
            let byHand = JSONStream(pretty: pretty, baseSpaces: 4, capacity: 512)
            do {
                let g = generic.open(isArray: false)
                try generic.member(g, "value", m)
                try generic.activate(g)
                generic.close()
                let h = byHand.open(isArray: false)
                try byHand.beginMember(h, "value")
                try byHand.writeMessage(m)
                try byHand.activate(h)
                byHand.close()
            } catch {
                return false
            }
            if generic.failed || byHand.failed || generic.w.bytes != byHand.w.bytes { return false }
        }
        return true
    }()
}

/// The `Encoder` handed to one value's `encode(to:)`.
struct SlotEncoder: Encoder {
    let stream: JSONStream
    let slot: Int
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(StreamKeyedContainer<Key>(stream: stream, id: claim(isArray: false)))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        StreamUnkeyedContainer(stream: stream, id: claim(isArray: true))
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        StreamSingleContainer(stream: stream, slot: slot)
    }

    /// Opens the slot's container; -1 (every use then fails over) when the slot is not
    /// current or already holds something else.
    private func claim(isArray: Bool) -> Int {
        // Asking again for the container already open in this slot (allowed by Codable).
        if stream.slot == slot, stream.slotFilled, stream.slotContainer != 0,
            let f = stream.stack.last(where: { $0.id == stream.slotContainer }), f.isArray == isArray
        {
            return f.id
        }
        do throws(JSONStream.Unsupported) { try stream.fill(slot) } catch { return -1 }
        let id = stream.open(isArray: isArray)
        stream.slotContainer = id
        return id
    }
}

struct StreamKeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let stream: JSONStream
    let id: Int
    var codingPath: [any CodingKey] { [] }

    mutating func encodeNil(forKey key: Key) throws {
        try stream.beginMember(id, key.stringValue)
        stream.ascii("null")
    }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try stream.beginMember(id, key.stringValue)
        try stream.encode(value)
    }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        do { try stream.beginMember(id, key.stringValue) } catch { return KeyedEncodingContainer(StreamKeyedContainer<NestedKey>(stream: stream, id: -1)) }
        return KeyedEncodingContainer(StreamKeyedContainer<NestedKey>(stream: stream, id: stream.open(isArray: false)))
    }
    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        do { try stream.beginMember(id, key.stringValue) } catch { return StreamUnkeyedContainer(stream: stream, id: -1) }
        return StreamUnkeyedContainer(stream: stream, id: stream.open(isArray: true))
    }
    mutating func superEncoder() -> any Encoder {
        stream.failed = true
        return SlotEncoder(stream: stream, slot: -1)
    }
    mutating func superEncoder(forKey key: Key) -> any Encoder {
        stream.failed = true
        return SlotEncoder(stream: stream, slot: -1)
    }
}

struct StreamUnkeyedContainer: UnkeyedEncodingContainer {
    let stream: JSONStream
    let id: Int
    var count = 0
    var codingPath: [any CodingKey] { [] }

    init(stream: JSONStream, id: Int) {
        self.stream = stream
        self.id = id
    }

    mutating func encodeNil() throws {
        try stream.beginElement(id)
        count += 1
        stream.ascii("null")
    }
    mutating func encode<T: Encodable>(_ value: T) throws {
        try stream.beginElement(id)
        count += 1
        try stream.encode(value)
    }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        do { try stream.beginElement(id) } catch { return KeyedEncodingContainer(StreamKeyedContainer<NestedKey>(stream: stream, id: -1)) }
        count += 1
        return KeyedEncodingContainer(StreamKeyedContainer<NestedKey>(stream: stream, id: stream.open(isArray: false)))
    }
    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        do { try stream.beginElement(id) } catch { return StreamUnkeyedContainer(stream: stream, id: -1) }
        count += 1
        return StreamUnkeyedContainer(stream: stream, id: stream.open(isArray: true))
    }
    mutating func superEncoder() -> any Encoder {
        stream.failed = true
        return SlotEncoder(stream: stream, slot: -1)
    }
}

struct StreamSingleContainer: SingleValueEncodingContainer {
    let stream: JSONStream
    let slot: Int
    var codingPath: [any CodingKey] { [] }

    mutating func encodeNil() throws {
        try stream.fill(slot)
        stream.ascii("null")
    }
    mutating func encode<T: Encodable>(_ value: T) throws {
        try stream.fill(slot)
        try stream.encode(value)
    }
    // Scalars the tree encoder has no form for: fail over (it decides what happens).
    mutating func encode(_ value: Float) throws { throw stream.unsupported() }
    mutating func encode(_ value: Int8) throws { throw stream.unsupported() }
    mutating func encode(_ value: Int16) throws { throw stream.unsupported() }
    mutating func encode(_ value: Int32) throws { throw stream.unsupported() }
    mutating func encode(_ value: UInt) throws { throw stream.unsupported() }
    mutating func encode(_ value: UInt8) throws { throw stream.unsupported() }
    mutating func encode(_ value: UInt16) throws { throw stream.unsupported() }
    mutating func encode(_ value: UInt32) throws { throw stream.unsupported() }
    mutating func encode(_ value: UInt64) throws { throw stream.unsupported() }
}

extension JSONWriter {
    /// `isPlain` (internal to JSONCore): a byte copied into a string literal as is.
    @inline(__always) static func isPlainByte(_ c: UInt8) -> Bool { c >= 0x20 && c != 0x22 && c != 0x5C }
}
