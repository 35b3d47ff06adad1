import ContextCore
import Testing

@Suite("Ids")
struct IDGeneratorTests {
    final class FixedClock: Clock, @unchecked Sendable {
        var ms: Int64
        init(_ ms: Int64) { self.ms = ms }
        func now() -> Timestamp { Timestamp(milliseconds: ms) }
    }

    /// `prefix_` + milliseconds (hex, ≥ 12 digits) + a 6-digit random tag + a counter
    /// (hex, ≥ 4 digits): unique, sortable by time, valid ids.
    @Test func layout() throws {
        let clock = FixedClock(0x19a_2b3c_4d5e)
        let g = RandomIDGenerator(clock: clock)
        let a = g.next("msg"), b = g.next("ses")
        #expect(a.hasPrefix("msg_019a2b3c4d5e") && a.hasSuffix("0001") && a.utf8.count == 4 + 12 + 6 + 4)
        #expect(b.hasPrefix("ses_019a2b3c4d5e") && b.hasSuffix("0002"))
        #expect(a.dropFirst(16).prefix(6) == b.dropFirst(16).prefix(6), "one tag per process")
        #expect(a.dropFirst(16).prefix(6).allSatisfy { $0.isHexDigit })
        clock.ms = 0x1_0000_0000_0000  // 13 digits: the field grows, never truncates
        let c = g.next("x")
        #expect(c.hasPrefix("x_1000000000000") && c.utf8.count == 2 + 13 + 6 + 4)
        for _ in 0..<0x10000 { _ = g.next("m") }
        #expect(g.next("m").hasSuffix("10004"), "the counter grows past four digits")
        #expect(IDRules.isValid(a) && IDRules.isValid(c))
    }
}
