import ContextCore
import ContextStore
import JSONRPC

extension Server {
    /// Opens the configured store, loads its state into a new engine and returns a
    /// server ready to serve.
    public static func bootstrap(config: ServerConfiguration, log: Logger) throws(DomainError) -> Server {
        var config = config
        let backend = try makeBackend(config: &config, log: log)
        let env = DomainEnvironment(clock: SystemClock(), ids: RandomIDGenerator(), limits: config.domainLimits)
        let engine = ContextEngine(env: env)
        let records = try backend.load()
        try engine.restore(records)
        log.info("store \(backend.kind) loaded \(records.count) records\(config.dataDirectory.map { " from \($0)" } ?? "")")
        return Server(config: config, backend: backend, engine: engine, log: log)
    }

    static func makeBackend(config: inout ServerConfiguration, log: Logger) throws(DomainError) -> any StorageBackend {
        switch config.store {
        case "memory":
            config.dataDirectory = nil
            return MemoryBackend()
        case let s where s.hasPrefix("redis://"):
            throw .storage(path: nil, reason: "the Redis backend is not available in this build")
        default:
            // TODO(issue 6): the file backend replaces this.
            log.warn("the file backend is not built yet; serving from memory")
            return MemoryBackend()
        }
    }
}
