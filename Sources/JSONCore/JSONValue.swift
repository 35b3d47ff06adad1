/// JSONCore: the one JSON value type every contextd module shares, with its own parser
/// and writer working on bytes (RFC 8259 exactly) and a Codable bridge.
///
/// Why a module of its own: the domain (ContextCore) and persistence (ContextStore) need
/// an arbitrary JSON value for metadata, context and tool-call arguments, and must not
/// import the JSON-RPC layer. `JSONRPC` re-exports this module.

/// A JSON number kept as the exact text it was written with, so an id such as
/// `9007199254740993` or `1.50` is echoed byte-identical (never through a double).
public struct JSONNumber: Sendable, Hashable, CustomStringConvertible {
    /// The number's literal text, valid per RFC 8259.
    public let text: String

    /// Wraps literal text. - Precondition: `text` is a valid RFC 8259 number.
    public init(literal text: String) { self.text = text }
    public init(_ value: Int) { self.text = String(value) }
    public init(_ value: Int64) { self.text = String(value) }
    public init(_ value: UInt64) { self.text = String(value) }
    /// Doubles are written in the shortest form that round-trips; non-finite values
    /// have no JSON form and become `0`.
    public init(_ value: Double) {
        if !value.isFinite {
            self.text = "0"
        } else if value == value.rounded(), abs(value) < 1e15 {
            self.text = String(Int64(value))
        } else {
            self.text = "\(value)"
        }
    }

    /// The value as an integer, when the text is an integer that fits.
    public var intValue: Int? {
        if let v = Int(text) { return v }
        // 1.0, 1e3 and the like are integral too.
        if let d = Double(text), d == d.rounded(), abs(d) < 9.0e15 { return Int(d) }
        return nil
    }
    public var doubleValue: Double { Double(text) ?? 0 }
    public var description: String { text }

    /// Numeric equality (so `1.0 == 1`), used by `==` on `JSONValue`.
    public static func == (a: JSONNumber, b: JSONNumber) -> Bool {
        a.text == b.text || (Double(a.text) ?? .nan) == (Double(b.text) ?? .nan)
    }
    public func hash(into hasher: inout Hasher) { hasher.combine(Double(text) ?? 0) }
}

/// An ordered JSON object: keys keep the order they were written or inserted in, so
/// output is deterministic across runs. Lookup is linear, which is the fastest choice
/// for the small objects JSON-RPC traffic is made of.
public struct JSONObject: Sendable, Hashable, Sequence, ExpressibleByDictionaryLiteral {
    public typealias Element = (key: String, value: JSONValue)
    @usableFromInline var storage: [Element]

    public init() { storage = [] }
    public init(minimumCapacity n: Int) {
        storage = []
        storage.reserveCapacity(n)
    }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        storage = []
        storage.reserveCapacity(elements.count)
        for (k, v) in elements { self[k] = v }
    }
    /// Keeps the last value for duplicate keys (RFC 8259 leaves this open; the last
    /// member wins, as in most parsers).
    public init<S: Sequence>(_ pairs: S) where S.Element == (String, JSONValue) {
        storage = []
        for (k, v) in pairs { self[k] = v }
    }

    public var count: Int { storage.count }
    public var isEmpty: Bool { storage.isEmpty }
    public var keys: [String] { storage.map(\.key) }

    @inlinable
    public subscript(key: String) -> JSONValue? {
        get {
            for e in storage where e.key == key { return e.value }
            return nil
        }
        set {
            if let i = storage.firstIndex(where: { $0.key == key }) {
                if let newValue { storage[i].value = newValue } else { storage.remove(at: i) }
            } else if let newValue {
                storage.append((key, newValue))
            }
        }
    }

    /// Appends without checking for an existing key: for writers that know keys are unique.
    public mutating func appendUnchecked(_ key: String, _ value: JSONValue) {
        storage.append((key, value))
    }

    @discardableResult
    public mutating func removeValue(forKey key: String) -> JSONValue? {
        guard let i = storage.firstIndex(where: { $0.key == key }) else { return nil }
        return storage.remove(at: i).value
    }

    public func makeIterator() -> IndexingIterator<[Element]> { storage.makeIterator() }

    /// Equality ignores key order, as JSON object equality should.
    public static func == (a: JSONObject, b: JSONObject) -> Bool {
        guard a.count == b.count else { return false }
        for (k, v) in a.storage { if b[k] != v { return false } }
        return true
    }
    public func hash(into hasher: inout Hasher) {
        hasher.combine(count)
        for k in keys.sorted() { hasher.combine(k); hasher.combine(self[k]) }
    }
}

/// A JSON value.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(JSONNumber)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    public static func int(_ v: Int) -> JSONValue { .number(JSONNumber(v)) }
    public static func double(_ v: Double) -> JSONValue { .number(JSONNumber(v)) }

    public var isNull: Bool { if case .null = self { return true } else { return false } }
    public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
    public var boolValue: Bool? { if case .bool(let b) = self { return b } else { return nil } }
    public var intValue: Int? { if case .number(let n) = self { return n.intValue } else { return nil } }
    public var doubleValue: Double? { if case .number(let n) = self { return n.doubleValue } else { return nil } }
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { return a } else { return nil } }
    public var objectValue: JSONObject? { if case .object(let o) = self { return o } else { return nil } }

    /// Member lookup on objects; `nil` for other kinds.
    public subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    /// The JSON type name, used in error messages ("expected string, got number").
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral, ExpressibleByFloatLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .number(JSONNumber(value)) }
    public init(floatLiteral value: Double) { self = .number(JSONNumber(value)) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) { self = .object(JSONObject(elements)) }
    public init(nilLiteral: ()) { self = .null }
}

extension JSONValue: CustomStringConvertible {
    /// Compact JSON text.
    public var description: String { JSONWriter.string(self) }
}
