import ContextCore
import Testing

@Suite("Timestamp")
struct TimestampTests {
    @Test func formatsKnownInstants() {
        #expect(Timestamp(milliseconds: 0).iso8601 == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp(milliseconds: 1_795_345_445_123).iso8601 == "2026-11-22T11:04:05.123Z")
        #expect(Timestamp(milliseconds: 951_782_400_000).iso8601 == "2000-02-29T00:00:00.000Z")
        #expect(Timestamp(milliseconds: -1).iso8601 == "1969-12-31T23:59:59.999Z")
    }

    @Test func roundTripsAcrossCenturies() throws {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<5000 {
            let ms = Int64.random(in: -2_000_000_000_000...13_000_000_000_000, using: &rng)
            let t = Timestamp(milliseconds: ms)
            #expect(Timestamp(iso8601: t.iso8601) == t, "\(ms) → \(t.iso8601)")
        }
    }
}
