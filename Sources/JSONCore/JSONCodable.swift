// The Codable bridge: `Encodable` → `JSONValue` and `JSONValue` → `Decodable`, without
// going through text. Decoding failures name the offending field as a dotted path
// (`toolCalls[0].name`) and say what was expected, for JSON-RPC's -32602 `data`.

extension JSONValue: Codable {
    public init(from decoder: any Decoder) throws {
        if let d = decoder as? _ValueDecoder {
            self = d.value
            return
        }
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let i = try? c.decode(Int64.self) {
            self = .number(JSONNumber(i))
        } else if let d = try? c.decode(Double.self) {
            self = .number(JSONNumber(d))
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let a = try? c.decode([JSONValue].self) {
            self = .array(a)
        } else {
            let o = try c.decode([String: JSONValue].self)
            self = .object(JSONObject(o.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        if let e = encoder as? _ValueEncoder {
            e.storage = .value(self)
            return
        }
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .number(let n):
            if let i = Int64(n.text) { try c.encode(i) } else { try c.encode(n.doubleValue) }
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o):
            var d: [String: JSONValue] = [:]
            for (k, v) in o { d[k] = v }
            try c.encode(d)
        }
    }
}

extension JSONObject: Codable {
    public init(from decoder: any Decoder) throws {
        let v = try JSONValue(from: decoder)
        guard case .object(let o) = v else {
            throw DecodingError.typeMismatch(
                JSONObject.self, .init(codingPath: decoder.codingPath, debugDescription: "expected object, got \(v.typeName)"))
        }
        self = o
    }
    public func encode(to encoder: any Encoder) throws { try JSONValue.object(self).encode(to: encoder) }
}

/// Params that read themselves from their object, without Codable's containers: the
/// same values and the same failures as their `Decodable` conformance (a test compares
/// both). For the most common params shapes (`{id}`), decoded on every request.
public protocol JSONFastDecodable: Decodable {
    init(object: JSONObject) throws(JSONDecodingFailure)
}

extension JSONDecodingFailure {
    /// What the Codable path reports for an absent required field.
    public static func missing(_ field: String) -> JSONDecodingFailure {
        JSONDecodingFailure(field: field, expected: "present", message: "missing required field '\(field)'")
    }

    /// What the Codable path reports for a value of the wrong type (`expected`: "string",
    /// "integer", …).
    public static func mismatch(_ field: String, expected: String, got v: JSONValue) -> JSONDecodingFailure {
        let e = "expected \(expected), got \(v.typeName)"
        return JSONDecodingFailure(field: field, expected: e, message: "invalid field '\(field)': \(e)")
    }

    /// A required string member.
    public static func string(_ o: JSONObject, _ field: String) throws(JSONDecodingFailure) -> String {
        guard let v = o[field] else { throw .missing(field) }
        guard case .string(let s) = v else { throw .mismatch(field, expected: "string", got: v) }
        return s
    }
}

/// A description of why a value could not be decoded: the field's dotted path and what
/// was expected there.
public struct JSONDecodingFailure: Error, Sendable, CustomStringConvertible {
    public let field: String
    public let expected: String
    public let message: String
    public var description: String { message }

    public init(field: String, expected: String, message: String) {
        self.field = field
        self.expected = expected
        self.message = message
    }

    /// Turns any error thrown while decoding into a failure naming the field.
    public init(_ error: any Error) {
        if let f = error as? JSONDecodingFailure {
            self = f
            return
        }
        guard let e = error as? DecodingError else {
            self.init(field: "", expected: "", message: "\(error)")
            return
        }
        func path(_ p: [any CodingKey]) -> String {
            var s = ""
            for k in p {
                if let i = k.intValue { s += "[\(i)]" } else { s += s.isEmpty ? k.stringValue : ".\(k.stringValue)" }
            }
            return s
        }
        switch e {
        case .keyNotFound(let key, let ctx):
            let f = path(ctx.codingPath + [key])
            self.init(field: f, expected: "present", message: "missing required field '\(f)'")
        case .typeMismatch(_, let ctx), .valueNotFound(_, let ctx), .dataCorrupted(let ctx):
            let f = path(ctx.codingPath)
            let expected = ctx.debugDescription
            self.init(field: f, expected: expected, message: f.isEmpty ? expected : "invalid field '\(f)': \(expected)")
        @unknown default:
            self.init(field: "", expected: "", message: "\(e)")
        }
    }
}

// MARK: - Decoder

/// Decodes `Decodable` values from a `JSONValue` tree.
public struct JSONValueDecoder {
    public init() {}

    public func decode<T: Decodable>(_ type: T.Type, from value: JSONValue) throws -> T {
        if T.self == JSONValue.self { return value as! T }
        return try T(from: _ValueDecoder(value: value, codingPath: []))
    }
}

struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue }
    init(intValue: Int) {
        self.stringValue = String(intValue)
        self.intValue = intValue
    }
}

struct _ValueDecoder: Decoder {
    let value: JSONValue
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(value: JSONValue, codingPath: [any CodingKey]) {
        self.value = value
        self.codingPath = codingPath
    }

    func mismatch(_ expected: String, _ v: JSONValue, _ path: [any CodingKey]) -> DecodingError {
        .typeMismatch(Any.self, .init(codingPath: path, debugDescription: "expected \(expected), got \(v.typeName)"))
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let o) = value else { throw mismatch("object", value, codingPath) }
        return KeyedDecodingContainer(KeyedContainer<Key>(object: o, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let a) = value else { throw mismatch("array", value, codingPath) }
        return UnkeyedContainer(array: a, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        SingleContainer(value: value, codingPath: codingPath)
    }

    struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let object: JSONObject
        let codingPath: [any CodingKey]
        var allKeys: [Key] { object.keys.compactMap { Key(stringValue: $0) } }

        func contains(_ key: Key) -> Bool { object[key.stringValue] != nil }

        func value(_ key: Key) throws -> JSONValue {
            guard let v = object[key.stringValue] else {
                throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "missing"))
            }
            return v
        }

        /// `null` counts as absent for optional fields (`"params": null` = absent, and
        /// optional fields are absent when unset).
        func decodeNil(forKey key: Key) throws -> Bool {
            guard let v = object[key.stringValue] else { return true }
            return v.isNull
        }

        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            let v = try value(key)
            return try _ValueDecoder.decodeValue(type, from: v, codingPath: codingPath + [key])
        }
        // The concrete requirements (the defaults go through the unspecialised generic).
        func decode(_ type: String.Type, forKey key: Key) throws -> String {
            if case .string(let s)? = object[key.stringValue] { return s }
            return try _ValueDecoder.decodeValue(type, from: value(key), codingPath: codingPath + [key])
        }
        func decode(_ type: Int.Type, forKey key: Key) throws -> Int {
            try _ValueDecoder.decodeValue(type, from: value(key), codingPath: codingPath + [key])
        }
        func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 {
            try _ValueDecoder.decodeValue(type, from: value(key), codingPath: codingPath + [key])
        }
        func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool {
            try _ValueDecoder.decodeValue(type, from: value(key), codingPath: codingPath + [key])
        }
        func decode(_ type: Double.Type, forKey key: Key) throws -> Double {
            try _ValueDecoder.decodeValue(type, from: value(key), codingPath: codingPath + [key])
        }
        func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? {
            if case .string(let s)? = object[key.stringValue] { return s }
            return try optional(type, key)
        }
        func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? { try optional(type, key) }
        func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? { try optional(type, key) }
        func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? { try optional(type, key) }
        func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? { try optional(type, key) }

        /// An optional field: absent and `null` are nil.
        @inline(__always)
        func optional<T: Decodable>(_ type: T.Type, _ key: Key) throws -> T? {
            guard let v = object[key.stringValue], !v.isNull else { return nil }
            return try _ValueDecoder.decodeValue(type, from: v, codingPath: codingPath + [key])
        }

        func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
            guard let v = object[key.stringValue] else { return nil }
            if v.isNull, T.self != JSONValue.self { return nil }
            return try _ValueDecoder.decodeValue(type, from: v, codingPath: codingPath + [key])
        }

        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
            -> KeyedDecodingContainer<NestedKey>
        {
            try _ValueDecoder(value: value(key), codingPath: codingPath + [key]).container(keyedBy: type)
        }
        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
            try _ValueDecoder(value: value(key), codingPath: codingPath + [key]).unkeyedContainer()
        }
        func superDecoder() throws -> any Decoder { _ValueDecoder(value: .object(object), codingPath: codingPath) }
        func superDecoder(forKey key: Key) throws -> any Decoder {
            _ValueDecoder(value: object[key.stringValue] ?? .null, codingPath: codingPath + [key])
        }
    }

    struct UnkeyedContainer: UnkeyedDecodingContainer {
        let array: [JSONValue]
        let codingPath: [any CodingKey]
        var currentIndex = 0
        var count: Int? { array.count }
        var isAtEnd: Bool { currentIndex >= array.count }

        init(array: [JSONValue], codingPath: [any CodingKey]) {
            self.array = array
            self.codingPath = codingPath
        }

        mutating func next() throws -> (JSONValue, Int) {
            guard !isAtEnd else {
                throw DecodingError.valueNotFound(
                    Any.self, .init(codingPath: codingPath, debugDescription: "array has too few elements"))
            }
            let v = array[currentIndex]
            currentIndex += 1
            return (v, currentIndex - 1)
        }
        func path(_ i: Int) -> [any CodingKey] { codingPath + [AnyKey(intValue: i)] }

        mutating func decodeNil() throws -> Bool {
            if !isAtEnd, array[currentIndex].isNull {
                currentIndex += 1
                return true
            }
            return false
        }
        mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
            let (v, i) = try next()
            return try _ValueDecoder.decodeValue(type, from: v, codingPath: path(i))
        }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
            let (v, i) = try next()
            return try _ValueDecoder(value: v, codingPath: path(i)).container(keyedBy: type)
        }
        mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
            let (v, i) = try next()
            return try _ValueDecoder(value: v, codingPath: path(i)).unkeyedContainer()
        }
        mutating func superDecoder() throws -> any Decoder {
            let (v, i) = try next()
            return _ValueDecoder(value: v, codingPath: path(i))
        }
    }

    struct SingleContainer: SingleValueDecodingContainer {
        let value: JSONValue
        let codingPath: [any CodingKey]
        func decodeNil() -> Bool { value.isNull }
        func decode<T: Decodable>(_ type: T.Type) throws -> T {
            try _ValueDecoder.decodeValue(type, from: value, codingPath: codingPath)
        }
    }

    /// One value of type `T`. The coding path is built only when it is needed (a nested
    /// decoder or an error): most fields are strings and numbers, and an array per field
    /// would cost more than the field.
    static func decodeValue<T: Decodable>(_ type: T.Type, from v: JSONValue, codingPath: @autoclosure () -> [any CodingKey]) throws -> T {
        func mismatch(_ expected: String) -> DecodingError {
            .typeMismatch(T.self, .init(codingPath: codingPath(), debugDescription: "expected \(expected), got \(v.typeName)"))
        }
        // Metatype comparisons instead of dynamic casts: this runs for every field.
        if T.self == String.self {
            guard case .string(let s) = v else { throw mismatch("string") }
            return unsafeBitCast(s, to: T.self)
        }
        if T.self == Int.self {
            guard case .number(let n) = v, let i = n.intValue else { throw mismatch("integer") }
            return unsafeBitCast(i, to: T.self)
        }
        if T.self == Bool.self {
            guard case .bool(let b) = v else { throw mismatch("boolean") }
            return unsafeBitCast(b, to: T.self)
        }
        if T.self == JSONValue.self { return v as! T }
        if T.self == Int64.self {
            guard case .number(let n) = v, let i = n.intValue else { throw mismatch("integer") }
            return unsafeBitCast(Int64(i), to: T.self)
        }
        if T.self == Double.self {
            guard case .number(let n) = v else { throw mismatch("number") }
            return unsafeBitCast(n.doubleValue, to: T.self)
        }
        return try T(from: _ValueDecoder(value: v, codingPath: codingPath()))
    }
}

// MARK: - Encoder

/// Encodes `Encodable` values into a `JSONValue` tree. Keys keep the order the type
/// encodes them in; `nil` optionals encoded with `encodeIfPresent` are absent.
public struct JSONValueEncoder {
    public init() {}

    public func encode<T: Encodable>(_ value: T) throws -> JSONValue {
        if let v = value as? JSONValue { return v }
        let e = _ValueEncoder(codingPath: [])
        try value.encode(to: e)
        return e.storage.resolve()
    }
}

/// Mutable tree nodes used while encoding (containers hand out references).
final class _Box {
    var object = JSONObject()
    var array: [_Node] = []
    var isArray: Bool
    var keyed: [(String, _Node)] = []
    init(isArray: Bool) { self.isArray = isArray }
}

enum _Node {
    case value(JSONValue)
    case box(_Box)
    case encoder(_ValueEncoder)

    func resolve() -> JSONValue {
        switch self {
        case .value(let v): return v
        case .encoder(let e): return e.storage.resolve()
        case .box(let b):
            if b.isArray { return .array(b.array.map { $0.resolve() }) }
            var o = JSONObject(minimumCapacity: b.keyed.count)
            for (k, n) in b.keyed { o.appendUnchecked(k, n.resolve()) }  // keys already unique (put)
            return .object(o)
        }
    }
}

final class _ValueEncoder: Encoder {
    var storage: _Node = .value(.null)
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(codingPath: [any CodingKey]) { self.codingPath = codingPath }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        let box: _Box
        if case .box(let b) = storage, !b.isArray {
            box = b
        } else {
            box = _Box(isArray: false)
            storage = .box(box)
        }
        return KeyedEncodingContainer(KeyedContainer<Key>(box: box, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        let box: _Box
        if case .box(let b) = storage, b.isArray {
            box = b
        } else {
            box = _Box(isArray: true)
            storage = .box(box)
        }
        return UnkeyedContainer(box: box, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { SingleContainer(encoder: self) }

    static func encodeValue<T: Encodable>(_ value: T, codingPath: [any CodingKey]) throws -> _Node {
        // Metatype comparisons instead of dynamic casts: this runs for every field.
        if T.self == String.self { return .value(.string(unsafeBitCast(value, to: String.self))) }
        if T.self == Int.self { return .value(.number(JSONNumber(unsafeBitCast(value, to: Int.self)))) }
        if T.self == Bool.self { return .value(.bool(unsafeBitCast(value, to: Bool.self))) }
        if T.self == JSONValue.self { return .value(value as! JSONValue) }
        if T.self == JSONObject.self { return .value(.object(value as! JSONObject)) }
        if T.self == Int64.self { return .value(.number(JSONNumber(unsafeBitCast(value, to: Int64.self)))) }
        if T.self == Double.self { return .value(.number(JSONNumber(unsafeBitCast(value, to: Double.self)))) }
        let e = _ValueEncoder(codingPath: codingPath)
        try value.encode(to: e)
        return .encoder(e)
    }

    struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let box: _Box
        let codingPath: [any CodingKey]

        func put(_ key: Key, _ node: _Node) {
            if let i = box.keyed.firstIndex(where: { $0.0 == key.stringValue }) {
                box.keyed[i].1 = node
            } else {
                box.keyed.append((key.stringValue, node))
            }
        }
        mutating func encodeNil(forKey key: Key) throws { put(key, .value(.null)) }
        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
            put(key, try _ValueEncoder.encodeValue(value, codingPath: codingPath + [key]))
        }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
            -> KeyedEncodingContainer<NestedKey>
        {
            let b = _Box(isArray: false)
            put(key, .box(b))
            return KeyedEncodingContainer(KeyedContainer<NestedKey>(box: b, codingPath: codingPath + [key]))
        }
        mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
            let b = _Box(isArray: true)
            put(key, .box(b))
            return UnkeyedContainer(box: b, codingPath: codingPath + [key])
        }
        mutating func superEncoder() -> any Encoder {
            let e = _ValueEncoder(codingPath: codingPath)
            box.keyed.append(("super", .encoder(e)))
            return e
        }
        mutating func superEncoder(forKey key: Key) -> any Encoder {
            let e = _ValueEncoder(codingPath: codingPath + [key])
            put(key, .encoder(e))
            return e
        }
    }

    struct UnkeyedContainer: UnkeyedEncodingContainer {
        let box: _Box
        let codingPath: [any CodingKey]
        var count: Int { box.array.count }

        mutating func encodeNil() throws { box.array.append(.value(.null)) }
        mutating func encode<T: Encodable>(_ value: T) throws {
            box.array.append(try _ValueEncoder.encodeValue(value, codingPath: codingPath + [AnyKey(intValue: count)]))
        }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
            let b = _Box(isArray: false)
            box.array.append(.box(b))
            return KeyedEncodingContainer(KeyedContainer<NestedKey>(box: b, codingPath: codingPath))
        }
        mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
            let b = _Box(isArray: true)
            box.array.append(.box(b))
            return UnkeyedContainer(box: b, codingPath: codingPath)
        }
        mutating func superEncoder() -> any Encoder {
            let e = _ValueEncoder(codingPath: codingPath)
            box.array.append(.encoder(e))
            return e
        }
    }

    struct SingleContainer: SingleValueEncodingContainer {
        let encoder: _ValueEncoder
        var codingPath: [any CodingKey] { encoder.codingPath }
        mutating func encodeNil() throws { encoder.storage = .value(.null) }
        mutating func encode<T: Encodable>(_ value: T) throws {
            encoder.storage = try _ValueEncoder.encodeValue(value, codingPath: codingPath)
        }
    }
}
