/// Where the domain gets new ids from (injected, so tests are deterministic).
public protocol IDGenerator: AnyObject, Sendable {
    /// A new id, unique for the life of the store, starting with `prefix` (e.g. `ses`).
    func next(_ prefix: String) -> String
}

/// Ids such as `ses_0194f3a2b1c4_7f3a9c_0001`: milliseconds since the epoch (hex), a
/// per-process random tag and a counter. Two processes never collide (random tag), one
/// process never repeats (counter), and ids sort roughly by creation time.
public final class RandomIDGenerator: IDGenerator, @unchecked Sendable {
    // @unchecked: `counter` is only touched by the single domain owner (one serial
    // queue), which is the only caller of `next`.
    private var counter: UInt32 = 0
    private let tag: String
    private let clock: any Clock

    public init(clock: any Clock = SystemClock()) {
        let r = UInt32.random(in: 0...UInt32.max)  // SystemRandomNumberGenerator: getrandom/arc4random
        tag = String(r & 0xFFFFFF, radix: 16).leftPadded(6)
        self.clock = clock
    }

    public func next(_ prefix: String) -> String {
        counter &+= 1
        let ms = String(clock.now().milliseconds, radix: 16).leftPadded(12)
        return "\(prefix)_\(ms)\(tag)\(String(counter, radix: 16).leftPadded(4))"
    }
}

/// Sequential ids (`ses_1`, `ses_2`, …) for tests.
public final class SequentialIDGenerator: IDGenerator, @unchecked Sendable {
    // @unchecked: used from one test thread or the single domain owner only.
    private var counters: [String: Int] = [:]
    public init() {}
    public func next(_ prefix: String) -> String {
        let n = (counters[prefix] ?? 0) + 1
        counters[prefix] = n
        return "\(prefix)_\(n)"
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}

/// Id validation shared by every entity: `[A-Za-z0-9._-]{1,128}`.
public enum IDRules {
    public static func isValid(_ id: String) -> Bool {
        let u = id.utf8
        guard !u.isEmpty, u.count <= 128 else { return false }
        for c in u {
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
                continue
            default: return false
            }
        }
        return true
    }

    /// Throws `invalidArgument` naming `field` unless `id` is valid.
    public static func validate(_ id: String, field: String = "id") throws(DomainError) {
        guard isValid(id) else { throw .invalidArgument(field: field, expected: "an id matching [A-Za-z0-9._-]{1,128}") }
    }
}
