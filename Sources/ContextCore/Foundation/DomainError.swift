import JSONCore

/// Every error the domain can throw. ContextServer maps each case to one JSON-RPC error
/// code (PROTOCOL §2): notFound 1001, invalidTransition 1002, conflict 1003,
/// missingVariables 1004, groupClosed 1005, storage 1006, pathNotAllowed 1007,
/// limitExceeded 1008, invalidArgument -32602.
public enum DomainError: Error, Sendable, Equatable {
    /// `kind` is the entity kind: `session`, `group`, `conversation`, `message`,
    /// `memory`, `template`, `checkpoint`, `backup`.
    case notFound(kind: String, id: String)
    case invalidTransition(id: String, from: String, action: String, allowed: [String])
    /// Already exists, read-only built-in, or stale version; `reason` says which.
    case conflict(kind: String, id: String, reason: String)
    case missingVariables(template: String, missing: [String])
    case groupClosed(groupId: String, status: String)
    case storage(path: String?, reason: String)
    case pathNotAllowed(path: String, allowedRoots: [String])
    /// `limit` is the limit's name (e.g. `maxTokens`, `partialDepth`, `outputBytes`).
    case limitExceeded(limit: String, max: Int, value: Int)
    /// A bad argument value: `field` names it, `expected` says what was expected.
    case invalidArgument(field: String, expected: String)

    /// A human-readable message for the error.
    public var message: String {
        switch self {
        case .notFound(let kind, let id): "\(kind) '\(id)' not found"
        case .invalidTransition(let id, let from, let action, let allowed):
            "cannot \(action) '\(id)' from status \(from); allowed: \(allowed.isEmpty ? "none" : allowed.joined(separator: ", "))"
        case .conflict(let kind, let id, let reason): "\(kind) '\(id)': \(reason)"
        case .missingVariables(let t, let missing): "template '\(t)' is missing variables: \(missing.joined(separator: ", "))"
        case .groupClosed(let g, let status): "group '\(g)' is \(status); only active groups accept sessions"
        case .storage(let path, let reason): path.map { "storage error at \($0): \(reason)" } ?? "storage error: \(reason)"
        case .pathNotAllowed(let path, let roots):
            "path '\(path)' is outside the allowed roots (\(roots.joined(separator: ", ")))"
        case .limitExceeded(let limit, let max, let value): "\(limit) exceeded: \(value) > \(max)"
        case .invalidArgument(let field, let expected): "invalid '\(field)': expected \(expected)"
        }
    }
}
