import Foundation
import JSONRPC
import Testing

/// Lazy start-up (issue 6/11): after a restart the messages stay on disk until first
/// touched, and the very first request of any kind still answers exactly as a server
/// that had loaded everything. Each case restarts and makes that request first (the
/// background loader only starts after the first request).
@Suite("Lazy start-up through the binary")
struct LazyStartupEndToEndTests {
    /// What the first server saw, to compare with after the restart.
    struct Before {
        var conversations: [String] = []
        var messages: [String: JSONValue] = [:]
        var search: JSONValue = .null
        var list: JSONValue = .null
        var statistics: JSONValue = .null
    }

    /// Writes 12 conversations: 5 messages each saved to snapshot files, then one more
    /// per even conversation left in the journal only.
    static func prepare(_ dir: String) throws -> Before {
        let s = try ServerProcess.start(arguments: ["--data-dir", dir])
        var b = Before()
        for c in 0..<12 {
            let conv = try s.call("memory/createConversation", ["title": .string("chat \(c)")])
            let id = try #require(conv["id"]?.stringValue)
            b.conversations.append(id)
            for k in 0..<5 {
                _ = try s.call("memory/addMessage", [
                    "conversationId": .string(id), "role": k % 2 == 0 ? "user" : "assistant",
                    "content": .string("message \(k) of chat \(c) mentions \(k == 2 ? "zebra" : "walrus") number\(c)x\(k)"),
                ])
            }
        }
        _ = try s.call("store/save")
        for (c, id) in b.conversations.enumerated() where c % 2 == 0 {
            _ = try s.call("memory/addMessage", ["conversationId": .string(id), "role": "user", "content": .string("late zebra \(c)")])
        }
        for id in b.conversations { b.messages[id] = try s.call("memory/getMessages", ["conversationId": .string(id)]) }
        b.search = try s.call("memory/search", ["query": "zebra", "limit": 100])
        b.list = try s.call("memory/listConversations", [:])
        b.statistics = try s.call("memory/statistics", [:])
        #expect(try s.closeInputAndWait() == 0)
        return b
    }

    @Test(arguments: ["search", "getMessages", "addMessage", "listAndStatistics", "save", "backup", "toText", "deleteConversation"])
    func firstRequestAfterRestartAnswersFromEveryMessage(_ first: String) throws {
        let dir = ServerProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let b = try Self.prepare(dir)
        let odd = b.conversations[3]  // only in the snapshot files: pending after the restart
        let s = try ServerProcess.start(arguments: ["--data-dir", dir])
        var expectedMessages = b.messages
        switch first {
        case "search":
            let r = try s.call("memory/search", ["query": "zebra", "limit": 100])
            #expect(r == b.search)
            #expect(r["hits"]?.arrayValue?.count == 12 + 6)
            #expect(try s.call("memory/search", ["query": "number3x4"])["hits"]?.arrayValue?.count == 1)
        case "getMessages":
            #expect(try s.call("memory/getMessages", ["conversationId": .string(odd)]) == b.messages[odd])
        case "addMessage":
            let added = try s.call("memory/addMessage", ["conversationId": .string(odd), "role": "user", "content": "after restart"])
            let got = try s.call("memory/getMessages", ["conversationId": .string(odd)])
            let list = try #require(got["messages"]?.arrayValue)
            #expect(list.count == 6)
            #expect(Array(list.prefix(5)) == b.messages[odd]?["messages"]?.arrayValue)
            #expect(list.last?["id"] == added["message"]?["id"] || list.last?["id"] == added["id"])
            let conv = try s.call("memory/getConversation", ["id": .string(odd)])
            #expect(conv["messageCount"] == 6)
            expectedMessages[odd] = got
        case "listAndStatistics":
            #expect(try s.call("memory/listConversations", [:]) == b.list)
            #expect(try s.call("memory/statistics", [:]) == b.statistics)
        case "save":
            let saved = try s.call("store/save")
            #expect(saved["components"]?.arrayValue?.contains("conversations") == true)
        case "backup":
            let backup = try s.call("store/backup")
            let path = try #require(backup["path"]?.stringValue)
            let names = try FileManager.default.contentsOfDirectory(atPath: path + "/conversations")
            #expect(names.filter { $0.hasPrefix("c-") }.count == 12)
        case "toText":
            let text = try #require(try s.call("memory/toText", ["conversationId": .string(odd)])["text"]?.stringValue)
            #expect(text.contains("message 4 of chat 3"))
        case "deleteConversation":
            _ = try s.call("memory/deleteConversation", ["id": .string(odd)])
            expectedMessages[odd] = nil
            #expect(try s.call("memory/statistics", [:])["totalMessages"] == .int(12 * 5 + 6 - 5))
        default:
            Issue.record("unknown case \(first)")
        }
        // Whatever came first, everything else is right too, and a save then covers the
        // conversations (the background loader or the request took every pending one).
        #expect(try s.call("memory/search", ["query": "walrus", "limit": 1000])["hits"]?.arrayValue?.count == (first == "deleteConversation" ? 44 : 48))
        for (id, m) in expectedMessages { #expect(try s.call("memory/getMessages", ["conversationId": .string(id)]) == m) }
        #expect(try s.call("store/save")["components"]?.arrayValue?.contains("conversations") == true)
        #expect(try s.closeInputAndWait() == 0)
        // After that save, a third start still has every message.
        let t = try ServerProcess.start(arguments: ["--data-dir", dir])
        for (id, m) in expectedMessages { #expect(try t.call("memory/getMessages", ["conversationId": .string(id)]) == m) }
        if first == "deleteConversation" {
            #expect(try t.callExpectingError("memory/getMessages", ["conversationId": .string(odd)]).code == 1001)
        }
        #expect(try t.closeInputAndWait() == 0)
    }

    @Test func backgroundLoaderTakesEveryPendingConversationAfterTheFirstReply() throws {
        let dir = ServerProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let b = try Self.prepare(dir)
        let s = try ServerProcess.start(arguments: ["--data-dir", dir, "--log-level", "info"])
        _ = try s.call("memory/getConversation", ["id": .string(b.conversations[1])])
        var done = false
        for _ in 0..<200 where !done {
            Thread.sleep(forTimeInterval: 0.05)
            done = s.stderrText.contains("every conversation's messages loaded")
        }
        #expect(done, "\(s.stderrText)")
        #expect(s.stderrText.contains("messages of 6 conversations deferred"), "the odd ones: only in snapshot files")
        for (id, m) in b.messages { #expect(try s.call("memory/getMessages", ["conversationId": .string(id)]) == m) }
        #expect(try s.call("memory/search", ["query": "zebra", "limit": 100]) == b.search)
        #expect(try s.closeInputAndWait() == 0)
    }
}
