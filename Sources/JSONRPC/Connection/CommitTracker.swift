import Synchronization

/// Orders replies behind durability. Every mutating request is issued a sequence
/// number (its "gate"); a reply may be written once its gate is durable. Read-only
/// requests take the latest issued gate, so no reply ever reveals a change that is not
/// yet acknowledged (read-your-writes without showing unacknowledged data).
///
/// - Important: `issue()` must be called by the single domain owner, in the same order
///   the changes are handed to the store; the store completes gates in that order.
public final class CommitTracker: Sendable {
    struct State {
        var issued: UInt64 = 0
        var durable: UInt64 = 0
        /// Completed out of order (kept until the gap closes).
        var completedAhead: Set<UInt64> = []
        var failures: [UInt64: RPCError] = [:]
    }
    private let state = Mutex(State())

    public init() {}

    /// A new gate for a mutating request.
    public func issue() -> UInt64 {
        state.withLock {
            $0.issued += 1
            return $0.issued
        }
    }

    /// The gate a read-only reply waits for: everything issued so far.
    public var latestIssued: UInt64 { state.withLock { $0.issued } }

    public var durable: UInt64 { state.withLock { $0.durable } }

    /// Marks `gate` finished; with an error, the reply gated on it becomes that error.
    public func complete(_ gate: UInt64, error: RPCError? = nil) {
        state.withLock { s in
            if let error { s.failures[gate] = error }
            if gate == s.durable + 1 {
                s.durable = gate
                while s.completedAhead.remove(s.durable + 1) != nil { s.durable += 1 }
            } else if gate > s.durable {
                s.completedAhead.insert(gate)
            }
        }
    }

    /// The failure recorded for `gate`, if any (consumed by the one reply gated on it).
    public func takeFailure(_ gate: UInt64) -> RPCError? {
        state.withLock { $0.failures.removeValue(forKey: gate) }
    }
}
