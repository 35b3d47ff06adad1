import ContextCore
import ContextStore
import JSONRPC

/// What the command line asks for.
public enum CLICommand: Equatable, Sendable {
    case serve
    /// `contextd call METHOD [JSON-PARAMS]`
    case call(method: String, params: String?)
    /// `contextd doctor [--repair]`
    case doctor
    case help
    case version
}

/// A usage error: printed to stderr with exit code 64.
public struct UsageError: Error, Equatable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The parsed command line.
public struct CommandLineOptions: Sendable {
    public var command: CLICommand = .serve
    public var config = ServerConfiguration()
    /// nil = the command's default (info for serve, warn for call and doctor).
    public var logLevel: Logger.Level?
    public var logFile: String?

    public init() {}

    /// Parses arguments (without the program name). Pure: no I/O.
    public static func parse(_ args: [String]) throws(UsageError) -> CommandLineOptions {
        var o = CommandLineOptions()
        var positional: [String] = []
        var i = 0
        func value(_ flag: String) throws(UsageError) -> String {
            if let eq = args[i].firstIndex(of: "="), args[i].hasPrefix("--") {
                return String(args[i][args[i].index(after: eq)...])
            }
            i += 1
            guard i < args.count else { throw UsageError("\(flag) needs a value") }
            return args[i]
        }
        func int(_ flag: String) throws(UsageError) -> Int {
            let v = try value(flag)
            guard let n = Int(v), n > 0 else { throw UsageError("\(flag) needs a positive integer, got '\(v)'") }
            return n
        }
        var sawCommand = false
        while i < args.count {
            let a = args[i]
            let flag = a.hasPrefix("--") ? String(a.split(separator: "=", maxSplits: 1)[0]) : a
            switch flag {
            case "-h", "--help": o.command = .help
            case "-V", "--version": o.command = .version
            case "help" where !sawCommand: o.command = .help
            case "version" where !sawCommand: o.command = .version
            case "--data-dir": o.config.dataDirectory = try value(flag)
            case "--store":
                let s = try value(flag)
                guard s == "file" || s == "memory" || RedisURL.isRedis(s) else {
                    throw UsageError("--store must be 'file', 'memory' or a redis:// URL, got '\(s)'")
                }
                o.config.store = s
            case "--durability":
                let s = try value(flag)
                guard let d = Durability(rawValue: s) else { throw UsageError("--durability must be fsync, os or none, got '\(s)'") }
                o.config.durability = d
            case "--log-level":
                let s = try value(flag)
                guard let l = Logger.Level(name: s) else { throw UsageError("--log-level must be error, warn, info or debug, got '\(s)'") }
                o.logLevel = l
            case "--log-file": o.logFile = try value(flag)
            case "--max-message-bytes": o.config.wireLimits.maxMessageBytes = try int(flag)
            case "--max-depth": o.config.wireLimits.maxDepth = try int(flag)
            case "--max-batch": o.config.wireLimits.maxBatch = try int(flag)
            case "--max-string-bytes": o.config.domainLimits.maxStringBytes = try int(flag)
            case "--max-sessions": o.config.domainLimits.maxSessions = try int(flag)
            case "--max-conversations": o.config.domainLimits.maxConversations = try int(flag)
            case "--max-messages-per-conversation": o.config.domainLimits.maxMessagesPerConversation = try int(flag)
            case "--max-template-output-bytes": o.config.domainLimits.maxTemplateOutputBytes = try int(flag)
            case "--max-partial-depth": o.config.domainLimits.maxPartialDepth = try int(flag)
            case "--allow-path": o.config.allowPaths.append(try value(flag))
            case "--tokenizer":
                let s = try value(flag)
                let parts = s.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2, ["cl100k_base", "o200k_base"].contains(parts[0]), !parts[1].isEmpty else {
                    throw UsageError("--tokenizer takes cl100k_base=PATH or o200k_base=PATH, got '\(s)'")
                }
                o.config.tokenizers.append((parts[0], parts[1]))
            case "--repair": o.config.repair = true
            case "--listen":
                let s = try value(flag)
                guard let a = ListenAddress(s) else { throw UsageError("--listen takes unix:PATH or tcp:HOST:PORT, got '\(s)'") }
                o.config.listen = a
            case "--auth-token-file": o.config.authTokenFile = try value(flag)
            case "--idle-exit": o.config.idleExitSeconds = try int(flag)
            case "--frame-timeout": o.config.frameTimeoutSeconds = try int(flag)
            case "--remote":
                let s = try value(flag)
                guard s == "auto" else { throw UsageError("--remote takes 'auto', got '\(s)'") }
                o.config.remote = s
            default:
                if a.hasPrefix("-") && a.count > 1 {
                    throw UsageError("unknown option '\(a)' (see contextd --help)")
                }
                positional.append(a)
                sawCommand = true
            }
            i += 1
        }
        if o.command == .help || o.command == .version { return o }
        if let a = o.config.listen, !a.isLoopback, o.config.authTokenFile == nil {
            throw UsageError("--listen \(a) is reachable from other machines: give --auth-token-file too")
        }
        if o.config.listen != nil, o.config.remote != nil {
            throw UsageError("--listen and --remote exclude each other")
        }
        guard let first = positional.first else { return o }
        switch first {
        case "serve":
            guard positional.count == 1 else { throw UsageError("serve takes no arguments, got '\(positional[1])'") }
            o.command = .serve
        case "call":
            guard positional.count >= 2 else { throw UsageError("call needs a METHOD, e.g. contextd call session/list '{}'") }
            guard positional.count <= 3 else { throw UsageError("call takes METHOD and one JSON params argument") }
            o.command = .call(method: positional[1], params: positional.count == 3 ? positional[2] : nil)
        case "doctor":
            guard positional.count == 1 else { throw UsageError("doctor takes no arguments besides --repair") }
            o.command = .doctor
        default:
            throw UsageError("unknown command '\(first)' (commands: serve, call, doctor; see contextd --help)")
        }
        return o
    }

    public static let helpText = """
        contextd \(contextdVersion) — keeps the working context of AI-assisted development
        (sessions, conversations, long-term memories, templates) and serves it over
        JSON-RPC 2.0 on stdio to editors and AI agents (LSP-style Content-Length framing
        or newline-delimited JSON for MCP clients, detected from the first byte).

        USAGE
          contextd [serve] [OPTIONS]          serve one client on stdin/stdout
          contextd call METHOD [JSON] [OPTIONS]
                                              run one request against the data directory,
                                              print the result as JSON (exit 1 and the
                                              error JSON on stderr on error)
          contextd doctor [--repair] [OPTIONS] check a data directory; --repair moves
                                              unreadable files to quarantine/
          contextd --help | --version

        OPTIONS
          --data-dir DIR         data directory (default: $CONTEXTD_DATA_DIR, else
                                 $XDG_DATA_HOME/contextd, else ~/.local/share/contextd)
          --store KIND           file (default: the data directory), memory (keeps
                                 nothing), or redis://[user:password@]host:port/db
                                 [?prefix=P] / redis+unix:///path.sock?db=N (shared)
          --durability MODE      fsync (default: a reply is sent only once its change is
                                 on disk), os (once written to the OS), none (at once;
                                 written within a millisecond, synced at exit)
          --log-level LEVEL      error, warn, info (default), debug — logs go to stderr
          --log-file PATH        append logs to PATH instead of stderr
          --max-message-bytes N  largest accepted message (default 67108864)
          --max-depth N          deepest JSON nesting (default 256)
          --max-batch N          longest batch (default 1000)
          --max-string-bytes N, --max-sessions N, --max-conversations N,
          --max-messages-per-conversation N, --max-template-output-bytes N,
          --max-partial-depth N  domain limits (16 MiB, 100000, 100000, 1000000,
                                 16 MiB, 16); over a limit → error 1008 naming it;
                                 initialize reports them all
          --allow-path DIR       another root template files may be read from or written
                                 to (repeatable; the workspace root and the data
                                 directory are always allowed)
          --tokenizer NAME=PATH  exact token counts with a .tiktoken vocabulary
                                 (NAME: cl100k_base or o200k_base)
          --repair               quarantine unreadable files and start anyway
          --listen ADDRESS       serve many clients on one state instead of stdio:
                                 unix:PATH (socket created 0600) or tcp:HOST:PORT
                                 (loopback unless --auth-token-file is given)
          --auth-token-file PATH clients must send this file's token in initialize
                                 params as "authToken" (required for non-loopback TCP)
          --idle-exit SECONDS    a --listen server with no clients for this long exits
          --frame-timeout SECONDS  a socket client that leaves a frame incomplete this
                                 long is dropped (default 30)
          --remote auto          relay stdio to the shared server of this data
                                 directory (DATA_DIR/contextd.sock), starting it if none
                                 runs; several editors then share one live state

        EXAMPLES
          contextd                                  # serve stdio on the default store
          contextd --store memory --log-level debug # a throwaway server for testing
          contextd call session/create '{"name":"auth refactor","mode":"refactoring"}'
          contextd call session/list '{"status":"active"}'
          contextd call memory/search '{"query":"race condition"}'
          contextd serve --listen unix:/tmp/contextd.sock  # one state, many clients
          contextd --remote auto                    # editors share the running daemon
          printf 'Content-Length: 40\\r\\n\\r\\n{"jsonrpc":"2.0","id":1,"method":"ping"}' | contextd --store memory

        Protocol reference: protocol/README.md and protocol/contextd.openrpc.json
        (also returned by the rpc.discover method).
        """
}
