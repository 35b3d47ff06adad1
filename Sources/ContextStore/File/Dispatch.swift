import Dispatch

/// Parallel loops over Dispatch (available on Linux and macOS without Foundation).
enum DispatchBridge {
    static func concurrentPerform(_ iterations: Int, _ body: @Sendable (Int) -> Void) {
        DispatchQueue.concurrentPerform(iterations: iterations, execute: body)
    }
}
