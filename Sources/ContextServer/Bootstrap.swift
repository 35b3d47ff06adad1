import ContextCore
import Foundation
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
        engine.conversations.tokenizers = try loadTokenizers(config.tokenizers)
        let records = try backend.load()
        try engine.restore(records)
        log.info("store \(backend.kind) loaded \(records.count) records\(config.dataDirectory.map { " from \($0)" } ?? "")")
        let server = Server(config: config, backend: backend, engine: engine, log: log)
        if let file = backend as? FileBackend {
            for w in file.warnings { log.warn("store: \(w)") }
            // Auto-save (interval or journal size) runs on the domain, between requests.
            file.autoSaveHandler = { [weak server] in server?.runAutoSave() }
        }
        return server
    }

    /// An auto-save: snapshot + journal truncation under the domain lock; emits
    /// `store/didSave`, or `store/didError` when it fails.
    func runAutoSave() {
        guard let file = backend as? FileBackend else { return }
        domainLock.withLock { _ in
            do throws(DomainError) {
                if let report = try file.autoSave(from: engine) {
                    log.info("store: auto-saved \(report.files) files, \(report.bytes) bytes")
                    broadcast(topic: "store", method: "store/didSave", params: storeSaveEvent(report), gate: 0)
                }
            } catch {
                log.error("store: auto-save failed: \(error.message)")
                broadcast(topic: "store", method: "store/didError", params: Self.storeErrorParams(error), gate: 0)
            }
        }
    }

    static func makeBackend(config: inout ServerConfiguration, log: Logger) throws(DomainError) -> any StorageBackend {
        switch config.store {
        case "memory":
            config.dataDirectory = nil
            return MemoryBackend()
        case let s where s.hasPrefix("redis://"):
            throw .storage(path: nil, reason: "the Redis backend is not available in this build")
        default:
            let dir = DataDirectory.resolve(explicit: config.dataDirectory, environment: currentEnvironment())
            config.dataDirectory = dir
            var options = FileBackendOptions(durability: config.durability)
            options.repair = config.repair
            return try FileBackend(directory: dir, options: options)
        }
    }
}

/// The process environment as a dictionary.
func currentEnvironment() -> [String: String] { ProcessInfo.processInfo.environment }
