/// JSONRPC: JSON-RPC 2.0 over byte streams — frames (Content-Length and NDJSON),
/// messages, typed errors, a typed method registry and a connection loop. It knows no
/// domain types.

/// A request id: a string or a number, echoed back exactly as received.
public enum RequestID: Sendable, Hashable, CustomStringConvertible {
    case number(JSONNumber)
    case string(String)

    public var json: JSONValue {
        switch self {
        case .number(let n): .number(n)
        case .string(let s): .string(s)
        }
    }

    public init?(_ value: JSONValue) {
        switch value {
        case .number(let n): self = .number(n)
        case .string(let s): self = .string(s)
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .number(let n): n.text
        case .string(let s): "\"\(s)\""
        }
    }
}

/// A JSON-RPC error code. Typed so a sign or value can't be mistyped at a call site.
public struct ErrorCode: RawRepresentable, Sendable, Hashable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    public static let parseError = ErrorCode(rawValue: -32700)
    public static let invalidRequest = ErrorCode(rawValue: -32600)
    public static let methodNotFound = ErrorCode(rawValue: -32601)
    public static let invalidParams = ErrorCode(rawValue: -32602)
    public static let internalError = ErrorCode(rawValue: -32603)
    public static let requestCancelled = ErrorCode(rawValue: -32800)
    /// MCP: resource not found.
    public static let resourceNotFound = ErrorCode(rawValue: -32002)

    public static let notFound = ErrorCode(rawValue: 1001)
    public static let invalidTransition = ErrorCode(rawValue: 1002)
    public static let conflict = ErrorCode(rawValue: 1003)
    public static let missingVariables = ErrorCode(rawValue: 1004)
    public static let groupClosed = ErrorCode(rawValue: 1005)
    public static let storageError = ErrorCode(rawValue: 1006)
    public static let pathNotAllowed = ErrorCode(rawValue: 1007)
    public static let limitExceeded = ErrorCode(rawValue: 1008)
}

/// A JSON-RPC error object.
public struct RPCError: Error, Sendable, Equatable {
    public var code: ErrorCode
    public var message: String
    public var data: JSONValue?

    public init(_ code: ErrorCode, _ message: String, data: JSONValue? = nil) {
        self.code = code
        self.message = message
        self.data = data
    }

    public var json: JSONValue {
        var o = JSONObject(minimumCapacity: 3)
        o.appendUnchecked("code", .int(code.rawValue))
        o.appendUnchecked("message", .string(message))
        if let data { o.appendUnchecked("data", data) }
        return .object(o)
    }

    public static func invalidParams(field: String, expected: String, message: String? = nil) -> RPCError {
        RPCError(
            .invalidParams, message ?? "invalid params: '\(field)' \(expected)",
            data: ["field": .string(field), "expected": .string(expected)])
    }

    public static func limitExceeded(limit: String, max: Int, value: Int) -> RPCError {
        RPCError(
            .limitExceeded, "\(limit) exceeded: \(value) > \(max)",
            data: ["limit": .string(limit), "max": .int(max), "value": .int(value)])
    }
}

/// An incoming message, classified.
public enum IncomingMessage: Sendable {
    case request(id: RequestID, method: String, params: JSONValue?)
    case notification(method: String, params: JSONValue?)
    /// A response from the client (contextd sends no requests; these are ignored).
    case response
    /// Not a valid request: answer `error` with `id` (null when unknown).
    case invalid(id: RequestID?, error: RPCError)

    /// Classifies one JSON value per JSON-RPC 2.0 and PROTOCOL §12: an invalid request
    /// whose `id` is a string or number is answered with that id; scalar `params` →
    /// -32600; `"params": null` = absent.
    public static func classify(_ value: JSONValue) -> IncomingMessage {
        guard case .object(let o) = value else {
            return .invalid(id: nil, error: RPCError(.invalidRequest, "invalid request: expected an object, got \(value.typeName)"))
        }
        let idValue = o["id"]
        let id = idValue.flatMap(RequestID.init)
        if let idValue, id == nil, !idValue.isNull {
            return .invalid(id: nil, error: RPCError(.invalidRequest, "invalid request: 'id' must be a string or a number"))
        }
        guard o["jsonrpc"] == .string("2.0") else {
            return .invalid(id: id, error: RPCError(.invalidRequest, "invalid request: 'jsonrpc' must be \"2.0\""))
        }
        guard let methodValue = o["method"] else {
            if o["result"] != nil || o["error"] != nil { return .response }
            return .invalid(id: id, error: RPCError(.invalidRequest, "invalid request: missing 'method'"))
        }
        guard case .string(let method) = methodValue else {
            return .invalid(id: id, error: RPCError(.invalidRequest, "invalid request: 'method' must be a string"))
        }
        var params = o["params"]
        switch params {
        case .none, .some(.object), .some(.array): break
        case .some(.null): params = nil
        case .some(let p):
            return .invalid(id: id, error: RPCError(.invalidRequest, "invalid request: 'params' must be an object or array, got \(p.typeName)"))
        }
        if let idValue {
            guard let id else {
                // "id": null — not a valid request id; treat as invalid (answered with null id).
                _ = idValue
                return .invalid(id: nil, error: RPCError(.invalidRequest, "invalid request: 'id' must not be null"))
            }
            return .request(id: id, method: method, params: params)
        }
        return .notification(method: method, params: params)
    }
}

/// Builds response bodies directly as bytes.
public enum ResponseWriter {
    static let prefix = Array(#"{"jsonrpc":"2.0","id":"#.utf8)

    /// `{"jsonrpc":"2.0","id":ID,"result":RESULT}` appended to `w`.
    public static func writeResult(id: RequestID?, result: RPCResult, into w: inout JSONWriter) {
        w.bytes.append(contentsOf: prefix)
        writeID(id, into: &w)
        w.bytes.append(contentsOf: #","result":"#.utf8)
        result.write(into: &w)
        w.bytes.append(UInt8(ascii: "}"))
    }

    /// `{"jsonrpc":"2.0","id":ID,"error":{...}}` appended to `w`.
    public static func writeError(id: RequestID?, error: RPCError, into w: inout JSONWriter) {
        w.bytes.append(contentsOf: prefix)
        writeID(id, into: &w)
        w.bytes.append(contentsOf: #","error":"#.utf8)
        w.write(error.json)
        w.bytes.append(UInt8(ascii: "}"))
    }

    /// `{"jsonrpc":"2.0","method":M,"params":P}` appended to `w`.
    public static func writeNotification(method: String, params: JSONValue, into w: inout JSONWriter) {
        w.bytes.append(contentsOf: #"{"jsonrpc":"2.0","method":"#.utf8)
        w.writeString(method)
        w.bytes.append(contentsOf: #","params":"#.utf8)
        w.write(params)
        w.bytes.append(UInt8(ascii: "}"))
    }

    static func writeID(_ id: RequestID?, into w: inout JSONWriter) {
        switch id {
        case .none: w.bytes.append(contentsOf: "null".utf8)
        case .number(let n)?: w.bytes.append(contentsOf: n.text.utf8)
        case .string(let s)?: w.writeString(s)
        }
    }

    public static func result(id: RequestID?, _ result: JSONValue) -> [UInt8] { self.result(id: id, RPCResult(result)) }

    public static func result(id: RequestID?, _ result: RPCResult) -> [UInt8] {
        var w = JSONWriter(capacity: 64 + result.byteCountEstimate)
        writeResult(id: id, result: result, into: &w)
        return w.bytes
    }

    public static func error(id: RequestID?, _ error: RPCError) -> [UInt8] {
        var w = JSONWriter()
        writeError(id: id, error: error, into: &w)
        return w.bytes
    }

    public static func notification(method: String, params: JSONValue) -> [UInt8] {
        var w = JSONWriter()
        writeNotification(method: method, params: params, into: &w)
        return w.bytes
    }
}
