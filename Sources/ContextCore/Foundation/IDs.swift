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
    private let tag: UInt32
    private let clock: any Clock

    public init(clock: any Clock = SystemClock()) {
        tag = UInt32.random(in: 0...UInt32.max) & 0xFFFFFF  // SystemRandomNumberGenerator: getrandom/arc4random
        self.clock = clock
    }

    public func next(_ prefix: String) -> String {
        counter &+= 1
        let ms = UInt64(bitPattern: clock.now().milliseconds)
        let counter = self.counter, tag = self.tag
        var prefix = prefix
        // Written byte by byte: this runs for every message, and string formatting and
        // interpolation cost ten times more.
        return prefix.withUTF8 { p in
            String(unsafeUninitializedCapacity: p.count + 1 + 16 + 6 + 8) { out in
                var o = 0
                for b in p {
                    out[o] = b
                    o += 1
                }
                out[o] = UInt8(ascii: "_")
                o += 1
                Self.hex(ms, minDigits: 12, into: out, at: &o)
                Self.hex(UInt64(tag), minDigits: 6, into: out, at: &o)
                Self.hex(UInt64(counter), minDigits: 4, into: out, at: &o)
                return o
            }
        }
    }

    /// Lower-case hex digits of `v`, at least `minDigits` of them (zero-padded).
    @inline(__always)
    static func hex(_ v: UInt64, minDigits: Int, into out: UnsafeMutableBufferPointer<UInt8>, at o: inout Int) {
        var digits = 1
        while digits < 16, v >> (4 * UInt64(digits)) != 0 { digits += 1 }
        digits = max(digits, minDigits)
        for k in stride(from: digits - 1, through: 0, by: -1) {
            let d = UInt8(truncatingIfNeeded: v >> (4 * UInt64(k))) & 0xF
            out[o] = d < 10 ? UInt8(ascii: "0") + d : UInt8(ascii: "a") + d - 10
            o += 1
        }
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

/// Id validation shared by every entity: `[A-Za-z0-9._-]{1,128}`.
public enum IDRules {
    public static func isValid(_ id: String) -> Bool {
        var id = id
        return id.withUTF8 { u in
            guard !u.isEmpty, u.count <= 128 else { return false }
            for c in u where !isIDByte(c) { return false }
            return true
        }
    }

    @inline(__always) static func isIDByte(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
            return true
        default: return false
        }
    }

    /// Throws `invalidArgument` naming `field` unless `id` is valid.
    public static func validate(_ id: String, field: String = "id") throws(DomainError) {
        guard isValid(id) else { throw .invalidArgument(field: field, expected: "an id matching [A-Za-z0-9._-]{1,128}") }
    }
}
