#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A point in time with millisecond precision, written as ISO 8601 UTC with
/// milliseconds (`2026-11-22T10:04:05.123Z`) on the wire and on disk.
///
/// The domain never reads the system clock: it asks an injected `Clock`, so tests are
/// deterministic.
public struct Timestamp: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// Milliseconds since 1970-01-01T00:00:00Z.
    public var milliseconds: Int64

    public init(milliseconds: Int64) { self.milliseconds = milliseconds }

    public static func < (a: Timestamp, b: Timestamp) -> Bool { a.milliseconds < b.milliseconds }

    public func adding(milliseconds ms: Int64) -> Timestamp { Timestamp(milliseconds: milliseconds + ms) }

    /// The UTC calendar fields (Howard Hinnant's civil-from-days).
    @inline(__always)
    func civil() -> (year: Int64, month: Int64, day: Int64, hour: Int64, minute: Int64, second: Int64, milli: Int64) {
        var ms = milliseconds
        var days = ms >= 0 ? ms / 86_400_000 : (ms - 86_399_999) / 86_400_000
        ms -= days * 86_400_000
        let hour = ms / 3_600_000, minute = (ms / 60_000) % 60, second = (ms / 1000) % 60, milli = ms % 1000
        days += 719_468
        let era = (days >= 0 ? days : days - 146_096) / 146_097
        let doe = days - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        var y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        if m <= 2 { y += 1 }
        return (y, m, d, hour, minute, second, milli)
    }

    /// The 24 bytes `YYYY-MM-DDTHH:MM:SS.mmmZ` at `b[at...]`, for years 0…9999.
    @inline(__always)
    static func put(_ f: (year: Int64, month: Int64, day: Int64, hour: Int64, minute: Int64, second: Int64, milli: Int64),
                    into b: UnsafeMutableBufferPointer<UInt8>, at o: Int) {
        @inline(__always) func put(_ v: Int64, _ at: Int, _ width: Int) {
            var v = v
            for k in stride(from: o + at + width - 1, through: o + at, by: -1) {
                b[k] = UInt8(truncatingIfNeeded: 0x30 + v % 10)
                v /= 10
            }
        }
        put(f.year, 0, 4); b[o + 4] = 0x2D; put(f.month, 5, 2); b[o + 7] = 0x2D; put(f.day, 8, 2); b[o + 10] = 0x54
        put(f.hour, 11, 2); b[o + 13] = 0x3A; put(f.minute, 14, 2); b[o + 16] = 0x3A; put(f.second, 17, 2); b[o + 19] = 0x2E
        put(f.milli, 20, 3); b[o + 23] = 0x5A
    }

    /// ISO 8601 text, e.g. `2026-11-22T10:04:05.123Z`.
    public var iso8601: String {
        let f = civil()
        guard (0...9999).contains(f.year) else {
            func pad(_ v: Int64, _ w: Int) -> String {
                let s = String(v)
                return s.count >= w ? s : String(repeating: "0", count: w - s.count) + s
            }
            return "\(pad(f.year, 4))-\(pad(f.month, 2))-\(pad(f.day, 2))T\(pad(f.hour, 2)):\(pad(f.minute, 2)):\(pad(f.second, 2)).\(pad(f.milli, 3))Z"
        }
        // The common case, written as bytes: YYYY-MM-DDTHH:MM:SS.mmmZ (24 bytes).
        return String(unsafeUninitializedCapacity: 24) { b in
            Self.put(f, into: b, at: 0)
            return 24
        }
    }

    public var description: String { iso8601 }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fff]Z` (also accepts `+00:00`).
    public init?(iso8601 s: String) {
        let u = Array(s.utf8)
        func num(_ from: Int, _ len: Int) -> Int64? {
            guard from + len <= u.count else { return nil }
            var v: Int64 = 0
            for k in from..<(from + len) {
                let c = u[k]
                guard c >= 48, c <= 57 else { return nil }
                v = v * 10 + Int64(c - 48)
            }
            return v
        }
        guard u.count >= 20, u[4] == 45, u[7] == 45, u[10] == 84 || u[10] == 116, u[13] == 58, u[16] == 58,
            let y = num(0, 4), let mo = num(5, 2), let d = num(8, 2), let h = num(11, 2), let mi = num(14, 2),
            let se = num(17, 2), (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, se < 61
        else { return nil }
        var i = 19
        var millis: Int64 = 0
        if i < u.count, u[i] == 46 {
            i += 1
            var digits = 0
            while i < u.count, u[i] >= 48, u[i] <= 57 {
                if digits < 3 { millis = millis * 10 + Int64(u[i] - 48) }
                digits += 1
                i += 1
            }
            guard digits > 0 else { return nil }
            // More than three digits: the rest are dropped (`digits..<3` would trap).
            if digits < 3 { for _ in digits..<3 { millis *= 10 } }
        }
        let rest = String(decoding: u[i...], as: UTF8.self)
        guard rest == "Z" || rest == "z" || rest == "+00:00" else { return nil }
        // Days-from-civil.
        let yy = mo <= 2 ? y - 1 : y
        let era = (yy >= 0 ? yy : yy - 399) / 400
        let yoe = yy - era * 400
        let mp = mo > 2 ? mo - 3 : mo + 9
        let doy = (153 * mp + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        milliseconds = ((days * 24 + h) * 60 + mi) * 60_000 + se * 1000 + millis
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let s = try c.decode(String.self)
        guard let t = Timestamp(iso8601: s) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "expected an ISO 8601 UTC time, got '\(s)'"))
        }
        self = t
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(iso8601)
    }
}

/// Where the domain gets the time from.
public protocol Clock: Sendable {
    func now() -> Timestamp
}

/// The real clock (`clock_gettime(CLOCK_REALTIME)`).
public struct SystemClock: Clock {
    public init() {}
    public func now() -> Timestamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Timestamp(milliseconds: Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000)
    }
}
