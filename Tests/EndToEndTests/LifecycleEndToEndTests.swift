import Foundation
import JSONRPC
import Testing

@Suite("Lifecycle and wire (PROTOCOL §1–§3), through the binary")
struct LifecycleEndToEndTests {
    @Test func pingWorksWithoutInitialize() throws {
        let s = try ServerProcess.start()
        #expect(try s.call("ping") == .object([:]))
        #expect(try s.closeInputAndWait() == 0)
    }
}
