#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ContextCore
import Dispatch

extension Server {
    /// After a lazy start-up: once the first request has run (or after half a second
    /// without one), materialises the conversations whose messages are still on disk, a
    /// few milliseconds' worth at a time under the domain lock, so requests interleave.
    /// When the last one is loaded the file backend saves conversations again
    /// (`LazyConversations.messages(for:)` marks each one taken).
    ///
    /// A conversation that cannot be read stops the loader with an error in the log: every
    /// request that needs it then fails with that error rather than answer without it.
    func startBackgroundLoading() {
        let gate = firstRequest
        DispatchQueue.global(qos: .utility).async { [weak self] in
            _ = gate.wait(timeout: .now() + .milliseconds(500))
            let t0 = DispatchTime.now().uptimeNanoseconds
            while let self {
                let outcome: Bool? = self.domainLock.withLock { _ -> Bool? in
                    let conversations = self.engine.conversations
                    let start = DispatchTime.now().uptimeNanoseconds
                    while conversations.pendingCount > 0, DispatchTime.now().uptimeNanoseconds - start < 5_000_000 {
                        for id in conversations.pendingIDs(limit: 4) {
                            do throws(DomainError) {
                                try conversations.ensureLoaded(id)
                            } catch {
                                self.log.error("store: cannot load the messages of conversation \(id): \(error.message)")
                                self.broadcast(topic: "store", method: "store/didError", params: Self.storeErrorParams(error), gate: 0)
                                return nil
                            }
                        }
                    }
                    return conversations.pendingCount == 0
                }
                guard let done = outcome else { return }
                if done {
                    let ms = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
                    self.log.info("store: every conversation's messages loaded (\(Int(ms)) ms in the background)")
                    return
                }
                // Let a waiting request take the lock.
                usleep(200)
            }
        }
    }
}
