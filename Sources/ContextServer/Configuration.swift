import ContextCore
import ContextStore
import JSONRPC

/// Everything the command line configures.
public struct ServerConfiguration: Sendable {
    public var version = contextdVersion
    /// `file` (data directory), `memory`, or a `redis://` URL.
    public var store = "file"
    public var dataDirectory: String?
    public var durability: Durability = .fsync
    public var wireLimits = WireLimits()
    public var domainLimits = DomainLimits()
    /// Extra roots template files may be read from / written to (`--allow-path`).
    public var allowPaths: [String] = []
    /// The workspace root from `initialize` (set at run time).
    public var workspaceRoot: String?
    /// `--tokenizer NAME=PATH` entries.
    public var tokenizers: [(name: String, path: String)] = []
    /// `--repair`: quarantine unreadable files and start.
    public var repair = false
    /// `--listen unix:PATH|tcp:HOST:PORT`: serve many clients on a socket instead of stdio.
    public var listen: ListenAddress?
    /// The token clients must present (`--auth-token-file`); required for non-loopback TCP.
    public var authToken: String?
    /// `--auth-token-file PATH` as given (read at start-up).
    public var authTokenFile: String?
    /// `--idle-exit SECONDS`: a listening server with no clients for this long exits.
    public var idleExitSeconds: Int?
    /// `--frame-timeout`: a socket client leaving a frame incomplete this long is dropped.
    public var frameTimeoutSeconds = 30
    /// `--remote auto`: relay stdio to the shared server of this data directory.
    public var remote: String?

    public init() {}

    /// The roots file paths must lie under (PROTOCOL §8): workspace root, data directory,
    /// `--allow-path` entries.
    public var allowedRoots: [String] {
        var roots: [String] = []
        if let workspaceRoot { roots.append(workspaceRoot) }
        if let dataDirectory { roots.append(dataDirectory) }
        roots.append(contentsOf: allowPaths)
        return roots
    }
}

/// The version `--version` and `initialize` report.
public let contextdVersion = "0.1.0"
