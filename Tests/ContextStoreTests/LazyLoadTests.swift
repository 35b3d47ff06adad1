import ContextCore
import JSONCore
import Testing

@testable import ContextStore

@Suite struct LazyLoadTests {
    @Test(arguments: SnapshotFormat.allCases)
    func headersFirstMessagesLaterSameState(format: SnapshotFormat) throws {
        let dir = TempDir()
        var state = Folded(Fixtures.everyKind.map { .put($0) })
        do {
            let (b, _) = try open(dir.path, options(format))
            try commitSync(b, Fixtures.everyKind.map { .put($0) })
            _ = try b.save(from: FoldedSource(state), components: nil)
            // After the snapshot: a message in a saved conversation, a new conversation,
            // a deleted message.
            let later: [Change] = [
                .put(Fixtures.record(.message, "msg_9", parent: "conv1")), .put(Fixtures.record(.conversation, "conv3")),
                .put(Fixtures.record(.message, "msg_10", parent: "conv3")), .delete(RecordKey(.message, "msg_2", parent: "conv1")),
            ]
            try commitSync(b, later)
            state.apply(later)
            b.close()
        }
        let b = try FileBackend(directory: dir.path, options: options(format))
        let (eager, lazy) = try b.loadLazily()
        #expect(!eager.contains { $0.key.kind == .message })
        #expect(Set(eager.filter { $0.key.kind == .conversation }.map(\.key.id)) == ["conv1", "conv2", "conv3"])
        #expect(Set(lazy.ids) == ["conv1", "conv2", "conv3"])
        // Saving now must not write conversation files without their messages.
        let partial = try b.save(from: FoldedSource(Folded(eager)), components: nil)
        #expect(!partial.components.contains("conversations"))
        var loaded = Folded(eager)
        for id in lazy.ids { loaded.apply(try lazy.messages(for: id)) }
        #expect(loaded == state)
        // Everything taken: conversations save again.
        let full = try b.save(from: FoldedSource(loaded), components: nil)
        #expect(full.components.contains("conversations"))
        b.close()
        let (b2, again) = try open(dir.path, options(format))
        #expect(Folded(again) == state)
        b2.close()
    }

    @Test func aCrashWhileMessagesArePendingLosesNothing() throws {
        let dir = TempDir()
        var state = Folded()
        do {
            let (b, _) = try open(dir.path, options(.compactJson))
            let c: [Change] = [.put(Fixtures.record(.conversation, "c")), .put(Fixtures.record(.message, "m1", parent: "c"))]
            try commitSync(b, c)
            state.apply(c)
            _ = try b.save(from: FoldedSource(state), components: nil)
            try commitSync(b, [.put(Fixtures.record(.message, "m2", parent: "c"))])
            state.apply([.put(Fixtures.record(.message, "m2", parent: "c"))])
            b.close()
        }
        do {
            let b = try FileBackend(directory: dir.path, options: options(.compactJson))
            let (eager, _) = try b.loadLazily()
            // The engine has only the headers; an auto-save happens; then a crash.
            _ = try b.save(from: FoldedSource(Folded(eager)), components: nil)
            b.close()
        }
        let (b, loaded) = try open(dir.path, options(.compactJson))
        #expect(Folded(loaded) == state)
        b.close()
    }
}
