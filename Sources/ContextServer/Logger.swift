#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ContextCore
import Synchronization

/// Logs to stderr or a file — never stdout, which carries protocol bytes only.
/// At the default level no message contents are logged.
public final class Logger: Sendable {
    public enum Level: Int, Sendable, Comparable, CaseIterable {
        case error = 0, warn, info, debug
        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }
        public init?(name: String) {
            switch name.lowercased() {
            case "error": self = .error
            case "warn", "warning": self = .warn
            case "info": self = .info
            case "debug", "trace": self = .debug
            default: return nil
            }
        }
        var label: String { ["error", "warn", "info", "debug"][rawValue] }
    }

    public let level: Level
    private let fd: Int32
    private let lock = Mutex(())

    /// - Parameter path: a log file (appended, created 0600), or nil for stderr.
    public init(level: Level, path: String? = nil) throws(DomainError) {
        self.level = level
        if let path {
            let f = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
            guard f >= 0 else { throw .storage(path: path, reason: "cannot open log file: \(String(cString: strerror(errno)))") }
            fd = f
        } else {
            fd = 2
        }
    }

    public func log(_ l: Level, _ message: @autoclosure () -> String) {
        guard l <= level else { return }
        let line = "\(SystemClock().now().iso8601) \(l.label) contextd[\(getpid())]: \(message())\n"
        lock.withLock { _ in
            var bytes = Array(line.utf8)
            var off = 0
            while off < bytes.count {
                let n = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress! + off, $0.count - off) }
                if n <= 0 { break }
                off += n
            }
            bytes.removeAll()
        }
    }

    public func error(_ m: @autoclosure () -> String) { log(.error, m()) }
    public func warn(_ m: @autoclosure () -> String) { log(.warn, m()) }
    public func info(_ m: @autoclosure () -> String) { log(.info, m()) }
    public func debug(_ m: @autoclosure () -> String) { log(.debug, m()) }
}
