import Foundation
import JSONRPC
import Testing

/// `session/setContext {secret: true}`: memory only, never on disk (issue 9, SECURITY.md).
@Suite("Secret context values")
struct SecretContextEndToEndTests {
    @Test func secretsNeverReachTheDataDirectoryExportsOrEvents() throws {
        let dir = ServerProcess.temporaryDirectory()
        let secret = "sk-live-\(UUID().uuidString)"
        let s = try ServerProcess.start(arguments: ["--data-dir", dir])
        _ = try s.call("events/subscribe", ["topics": ["session"]])
        let session = try s.call("session/create", ["name": "deploy", "mode": "deployment"])
        let id = try #require(session["id"])
        _ = try s.call("session/setContext", ["id": id, "key": "apiKey", "value": .string(secret), "secret": true])
        _ = try s.call("session/setContext", ["id": id, "key": "branch", "value": "main"])
        #expect(try s.call("session/getContext", ["id": id, "key": "apiKey"]) == ["key": "apiKey", "value": .string(secret), "secret": true])
        let all = try s.call("session/getContext", ["id": id])
        #expect(all["context"]?["apiKey"] == .string(secret))
        #expect(all["secretKeys"] == ["apiKey"])
        #expect(try s.call("session/get", ["id": id])["context"] == ["branch": "main"])
        let export = try s.call("session/export", ["id": id, "includeConversations": true])
        #expect(!JSONWriter.string(export).contains(secret))
        _ = try s.call("session/checkpoint", ["id": id])
        _ = try s.call("store/save")
        _ = try s.call("store/backup")
        var events: [JSONValue] = []
        while let e = try? s.nextNotification(method: "session/didChange", timeout: 0.2) { events.append(e) }
        #expect(!events.isEmpty)
        #expect(!events.contains { JSONWriter.string($0).contains(secret) })
        #expect(try s.closeInputAndWait() == 0)

        // Not a byte of it anywhere under the data directory (journal, snapshots, backups).
        let files = FileManager.default.enumerator(atPath: dir)?.compactMap { $0 as? String } ?? []
        #expect(!files.isEmpty)
        for f in files {
            let path = dir + "/" + f
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue,
                let data = FileManager.default.contents(atPath: path)
            else { continue }
            #expect(data.range(of: Data(secret.utf8)) == nil, "secret found in \(f)")
        }

        // After a restart the secret is gone and the rest is there.
        let again = try ServerProcess.start(arguments: ["--data-dir", dir])
        let ctx = try again.call("session/getContext", ["id": id])
        #expect(ctx == ["context": ["branch": "main"]])
        #expect(try again.closeInputAndWait() == 0)
    }
}
