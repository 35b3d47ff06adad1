#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where the time of the last `FileBackend.save` went, for `contextd-bench store`.
/// Phases run on several threads are summed over the threads (so they can exceed the
/// wall time); `total` is wall time.
public final class SavePhases: @unchecked Sendable {
    // @unchecked: `slots` is guarded by `lock`.
    public static let names = ["source", "gather", "encode", "create", "write", "sync", "syncWait", "rename", "index", "total"]
    private let lock = PThreadLock()
    private var slots = [Int](repeating: 0, count: SavePhases.names.count)

    init() {}

    static func nanos() -> Int {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int(ts.tv_sec) * 1_000_000_000 + Int(ts.tv_nsec)
    }

    /// Adds the time since `start` (from `nanos()`) to `phase`; returns now.
    @discardableResult
    func add(_ phase: String, since start: Int) -> Int {
        let now = SavePhases.nanos()
        if let i = SavePhases.names.firstIndex(of: phase) { lock.withLock { slots[i] += now - start } }
        return now
    }

    /// Seconds per phase, in `names` order.
    public var seconds: [(String, Double)] {
        let s = lock.withLock { slots }
        return SavePhases.names.enumerated().map { ($1, Double(s[$0]) / 1e9) }
    }
}
