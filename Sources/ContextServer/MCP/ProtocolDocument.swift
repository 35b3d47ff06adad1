import JSONCore

/// The OpenRPC document (`protocol/contextd.openrpc.json`), embedded as a SwiftPM resource.
///
/// It is the one description of every request method: `rpc.discover` returns it, and the
/// MCP adapter builds its tools from it. A test keeps it and the method registry in step.
public struct ProtocolDocument: Sendable {
    /// The whole document, as parsed.
    public let value: JSONValue
    /// The method objects by name, in document order.
    public let methods: [(name: String, object: JSONObject)]
    private let schemas: JSONObject

    /// Parses a document; fails when it is not an OpenRPC object with a `methods` array.
    public init(value: JSONValue) throws {
        guard let root = value.objectValue, case .array(let list)? = root["methods"] else {
            throw ProtocolDocumentError.malformed("no methods array")
        }
        var methods: [(String, JSONObject)] = []
        for item in list {
            guard let m = item.objectValue, let name = m["name"]?.stringValue else {
                throw ProtocolDocumentError.malformed("a method without a name")
            }
            methods.append((name, m))
        }
        self.value = value
        self.methods = methods
        self.schemas = root["components"]?["schemas"]?.objectValue ?? JSONObject()
    }

    /// The document embedded in the binary (`OpenRPCEmbedded.swift`, generated from
    /// `protocol/contextd.openrpc.json`); empty if it could not be parsed, which the
    /// ContextServer tests rule out.
    public static let embedded: ProtocolDocument = {
        guard let value = try? OpenRPCDocument.value(), let doc = try? ProtocolDocument(value: value) else {
            return ProtocolDocument(emptyBecause: ())
        }
        return doc
    }()

    private init(emptyBecause _: Void) {
        value = ["openrpc": "1.3.2", "info": ["title": "contextd", "version": "0.0.0"], "methods": []]
        methods = []
        schemas = JSONObject()
    }

    /// The method names, in document order.
    public var methodNames: [String] { methods.map(\.name) }

    /// `info.version`: the contract's semantic version.
    public var version: String { value["info"]?["version"]?.stringValue ?? "0.0.0" }

    /// The method object named `name`.
    public func method(_ name: String) -> JSONObject? {
        methods.first { $0.name == name }?.object
    }

    /// The params of `method` as one JSON Schema object (`properties` = params,
    /// `required` = required params), every `$ref` inlined so that the schema stands alone.
    public func paramsSchema(_ method: String) -> JSONValue? {
        guard let m = self.method(method) else { return nil }
        var properties = JSONObject()
        var required: [JSONValue] = []
        for case .object(let p) in m["params"]?.arrayValue ?? [] {
            guard let name = p["name"]?.stringValue else { continue }
            var schema = inline(p["schema"] ?? .object(JSONObject()))
            if let d = p["description"]?.stringValue, case .object(var o) = schema, o["description"] == nil {
                o["description"] = .string(d)
                schema = .object(o)
            }
            properties[name] = schema
            if p["required"]?.boolValue == true { required.append(.string(name)) }
        }
        var schema: JSONObject = ["type": "object", "properties": .object(properties)]
        if !required.isEmpty { schema["required"] = .array(required) }
        return .object(schema)
    }

    /// The method's summary, followed by its description when it has one.
    public func describe(_ method: String) -> String {
        guard let m = self.method(method) else { return "" }
        let parts = [m["summary"]?.stringValue, m["description"]?.stringValue].compactMap { $0 }.filter { !$0.isEmpty }
        return parts.joined(separator: "\n\n")
    }

    /// Replaces `{"$ref": "#/components/schemas/X"}` by a copy of X, recursively.
    /// Sibling keywords of a `$ref` (draft 7 ignores them) are dropped.
    public func inline(_ schema: JSONValue, depth: Int = 0) -> JSONValue {
        guard depth < 64 else { return .object(JSONObject()) }
        switch schema {
        case .object(let o):
            if let ref = o["$ref"]?.stringValue {
                let prefix = "#/components/schemas/"
                guard ref.hasPrefix(prefix), let target = schemas[String(ref.dropFirst(prefix.count))] else {
                    return .object(JSONObject())
                }
                return inline(target, depth: depth + 1)
            }
            var out = JSONObject(minimumCapacity: o.count)
            for (k, v) in o { out.appendUnchecked(k, inline(v, depth: depth + 1)) }
            return .object(out)
        case .array(let a):
            return .array(a.map { inline($0, depth: depth + 1) })
        default:
            return schema
        }
    }
}

/// Why a document could not be read.
public enum ProtocolDocumentError: Error, Sendable, CustomStringConvertible {
    case malformed(String)
    public var description: String {
        switch self { case .malformed(let why): "malformed OpenRPC document: \(why)" }
    }
}
