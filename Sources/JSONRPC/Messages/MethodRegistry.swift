/// Params for methods that take none (any object, or absent, is accepted).
public struct NoParams: Decodable, Sendable {
    public init() {}
    public init(from decoder: any Decoder) throws {}
}

/// A method's result: a JSON value, or its compact JSON text already encoded (typed
/// handlers encode their `Encodable` result straight to bytes, with no tree between).
public struct RPCResult: Sendable {
    enum Storage: Sendable {
        case value(JSONValue)
        case encoded([UInt8])
    }
    let storage: Storage

    public init(_ value: JSONValue) { storage = .value(value) }
    /// - Precondition: `bytes` is one compact JSON value.
    public init(encoded bytes: [UInt8]) { storage = .encoded(bytes) }

    /// The result as a value (parsed back when it was encoded).
    public var value: JSONValue {
        switch storage {
        case .value(let v): return v
        case .encoded(let b): return (try? JSONParser.parse(b, maxDepth: 100_000)) ?? .null
        }
    }

    /// The encoded length when known (to size a reply's buffer once), else a guess.
    public var byteCountEstimate: Int {
        if case .encoded(let b) = storage { return b.count }
        return 192
    }

    /// Appends the result's JSON text.
    public func write(into w: inout JSONWriter) {
        switch storage {
        case .value(let v): w.write(v)
        case .encoded(let b): w.bytes.append(contentsOf: b)
        }
    }
}

/// A typed method registry: one registration line per wire method, typed params
/// decoding that reports the offending field, and results encoded from `Encodable`.
///
/// `Context` is whatever the server hands each handler (its domain, configuration,
/// progress reporting).
public struct MethodRegistry<Context>: Sendable {
    /// A type-erased handler: raw params in, JSON result out.
    public typealias Handler = @Sendable (_ params: JSONValue?, _ context: Context) throws -> RPCResult
    /// A handler working on JSON values.
    public typealias RawHandler = @Sendable (_ params: JSONValue?, _ context: Context) throws -> JSONValue

    public struct Entry: Sendable {
        public let name: String
        /// The params type's name, for diagnostics.
        public let paramsType: String
        public let handler: Handler
    }

    public private(set) var entries: [String: Entry] = [:]

    public init() {}

    /// Registers `name`. Params are decoded from the request's `params` object (absent
    /// or `null` decode as `{}`, so all-optional params work); an array → -32602.
    public mutating func register<P: Decodable, R: Encodable>(
        _ name: String, _ params: P.Type,
        _ body: @escaping @Sendable (P, Context) throws -> R
    ) {
        add(name, P.self) { p, context in
            let result = try body(p, context)
            if R.self == JSONValue.self { return RPCResult(result as! JSONValue) }
            return RPCResult(encoded: try JSONByteEncoder().encode(result))
        }
    }

    /// Registers `name` with a result type that writes its own JSON (no Codable on the
    /// way out).
    public mutating func register<P: Decodable, R: JSONFastEncodable>(
        _ name: String, _ params: P.Type,
        _ body: @escaping @Sendable (P, Context) throws -> R
    ) {
        add(name, P.self) { p, context in
            var w = JSONWriter(capacity: 512)
            try body(p, context).writeJSON(into: &w)
            return RPCResult(encoded: w.bytes)
        }
    }

    private mutating func add<P: Decodable>(_ name: String, _ params: P.Type, _ run: @escaping @Sendable (P, Context) throws -> RPCResult) {
        precondition(entries[name] == nil, "method \(name) registered twice")
        let fast = P.self as? any JSONFastDecodable.Type  // looked up once, not per request
        entries[name] = Entry(name: name, paramsType: "\(P.self)") { raw, context in
            if let fast, case .object(let o)? = raw {
                let p: any JSONFastDecodable
                do { p = try fast.init(object: o) } catch {
                    let f = JSONDecodingFailure(error)
                    throw RPCError(.invalidParams, "invalid params: \(f.message)", data: ["field": .string(f.field), "expected": .string(f.expected)])
                }
                return try run(p as! P, context)
            }
            return try run(try Self.decodeParams(P.self, raw), context)
        }
    }

    /// Registers a handler working on raw JSON (for adapters such as MCP).
    public mutating func registerRaw(_ name: String, _ handler: @escaping RawHandler) {
        precondition(entries[name] == nil, "method \(name) registered twice")
        entries[name] = Entry(name: name, paramsType: "JSONValue") { p, c in RPCResult(try handler(p, c)) }
    }

    public static func decodeParams<P: Decodable>(_ type: P.Type, _ raw: JSONValue?) throws -> P {
        if P.self == NoParams.self {
            if case .array? = raw {} else { return NoParams() as! P }
        }
        let value: JSONValue
        switch raw {
        case .none, .some(.null): value = .object(JSONObject())
        case .some(.object): value = raw!
        case .some(let other):
            throw RPCError.invalidParams(
                field: "params", expected: "an object (params are by-name)",
                message: "invalid params: expected an object (params are by-name), got \(other.typeName)")
        }
        do {
            return try JSONValueDecoder().decode(P.self, from: value)
        } catch let e as RPCError {
            throw e
        } catch {
            let f = JSONDecodingFailure(error)
            throw RPCError(
                .invalidParams, "invalid params: \(f.message)",
                data: ["field": .string(f.field), "expected": .string(f.expected)])
        }
    }

    public func handler(for method: String) -> Handler? { entries[method]?.handler }

    /// Every registered wire method, sorted.
    public var methodNames: [String] { entries.keys.sorted() }
}
