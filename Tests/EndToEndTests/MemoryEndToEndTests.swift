import Foundation
import JSONCore
import Testing

/// Every method of PROTOCOL §6 and §7 through the built binary.
@Suite("Memory and context (PROTOCOL §6, §7)")
struct MemoryEndToEndTests {
    func ids(_ v: JSONValue?) -> [String] { v?.arrayValue?.compactMap(\.stringValue) ?? [] }

    @Test func conversationsMessagesAndTrimming() throws {
        let s = try ServerProcess.start()
        defer { _ = try? s.closeInputAndWait() }
        try s.call("events/subscribe", ["topics": ["memory"]])
        let c = try s.call("memory/createConversation", ["title": "Chat", "maxMessages": 3, "metadata": ["k": "v"]])
        let cid = try #require(c["id"]?.stringValue)
        #expect(c["title"] == "Chat" && c["messageCount"] == 0 && c["metadata"] == ["k": "v"])
        #expect(c["sessionId"] == nil, "optional fields are absent")
        #expect(try s.nextNotification(method: "memory/didChange")["event"] == "created")

        _ = try s.call("memory/addMessage", ["conversationId": .string(cid), "role": "system", "content": "Be brief."])
        let a = try s.call("memory/addMessage", [
            "conversationId": .string(cid), "role": "assistant", "content": "",
            "toolCalls": [["id": "call_1", "name": "read_file", "arguments": ["path": "a.txt", "lines": [1, 2.5, nil]]]],
        ])
        #expect(a["message"]?["toolCalls"]?[index: 0]?["arguments"] == ["path": "a.txt", "lines": [1, 2.5, nil]])
        #expect(a["trimmed"] == [])
        let aid = try #require(a["message"]?["id"]?.stringValue)
        let t = try s.call("memory/addMessage", ["conversationId": .string(cid), "role": "tool", "content": "file body", "toolCallId": "call_1"])
        #expect(t["message"]?["toolCallId"] == "call_1")
        // The 4th message exceeds maxMessages 3: the tool pair goes together, the system message stays.
        let u = try s.call("memory/addMessage", ["conversationId": .string(cid), "role": "user", "content": "thanks"])
        #expect(Set(ids(u["trimmed"])) == [aid, try #require(t["message"]?["id"]?.stringValue)])
        let msgs = try s.call("memory/getMessages", ["conversationId": .string(cid)])["messages"]?.arrayValue ?? []
        #expect(msgs.map { $0["role"]?.stringValue } == ["system", "user"])
        var sawTrim = false
        while let n = try? s.nextNotification(method: "memory/didChange", timeout: 2) {
            if n["event"] == "trimmed" {
                sawTrim = true
                #expect(n["messageIds"]?.arrayValue?.count == 2)
                break
            }
        }
        #expect(sawTrim)

        // Errors.
        let bad = try s.callExpectingError("memory/addMessage", ["conversationId": .string(cid), "role": "robot", "content": "x"])
        #expect(bad.code == -32602 && bad.data?["field"] == "role")
        let missing = try s.callExpectingError("memory/addMessage", ["conversationId": "nope", "role": "user", "content": "x"])
        #expect(missing.code == 1001 && missing.data?["kind"] == "conversation")
        let orphan = try s.callExpectingError("memory/addMessage", ["conversationId": .string(cid), "role": "tool", "content": "x", "toolCallId": "zzz"])
        #expect(orphan.code == -32602 && orphan.data?["field"] == "toolCallId")

        // Token limit: one oversized message → 1008, nothing changes.
        let small = try s.call("memory/createConversation", ["title": "small", "maxTokens": 5])
        let sid = try #require(small["id"]?.stringValue)
        let big = try s.callExpectingError("memory/addMessage", ["conversationId": .string(sid), "role": "user", "content": .string(String(repeating: "word ", count: 40))])
        #expect(big.code == 1008 && big.data?["limit"] == "maxTokens" && big.data?["max"] == 5)
        #expect(try s.call("memory/getConversation", ["id": .string(sid)])["messageCount"] == 0)

        // previewTrim / setLimits / getMessages variants / toText / statistics.
        for k in 0..<4 { _ = try s.call("memory/addMessage", ["conversationId": .string(cid), "role": "user", "content": .string("more \(k)")]) }
        let preview = try s.call("memory/previewTrim", ["conversationId": .string(cid), "maxMessages": 2])
        #expect(preview["messageCount"] == 2 && preview["trimmed"]?.arrayValue?.count == 1)
        #expect(try s.call("memory/getConversation", ["id": .string(cid)])["messageCount"] == 3)
        let set = try s.call("memory/setLimits", ["conversationId": .string(cid), "maxMessages": 2])
        #expect(set["conversation"]?["maxMessages"] == 2 && set["trimmed"] == preview["trimmed"])
        #expect(try s.call("memory/getMessages", ["conversationId": .string(cid), "recent": 1])["messages"]?[index: 0]?["content"] == "more 3")
        #expect(try s.call("memory/getMessages", ["conversationId": .string(cid), "role": "system"])["messages"]?.arrayValue?.count == 1)
        let text = try s.call("memory/toText", ["conversationId": .string(cid)])["text"]?.stringValue ?? ""
        #expect(text.contains("[system] Be brief.") && text.contains("more 3"))
        let stats = try s.call("memory/statistics", ["conversationId": .string(cid)])
        #expect(stats["totalMessages"] == 2 && stats["byRole"]?["system"] == 1 && stats["durationMs"]?.intValue != nil)
        let all = try s.call("memory/statistics")
        #expect(all["totalConversations"] == 2 && all["totalMessages"] == 2)
    }

    @Test func listForkExportImportClearDelete() throws {
        let s = try ServerProcess.start()
        defer { _ = try? s.closeInputAndWait() }
        var convs: [String] = []
        for k in 0..<3 {
            let c = try s.call("memory/createConversation", ["title": .string("c\(k)")])
            convs.append(c["id"]!.stringValue!)
            Thread.sleep(forTimeInterval: 0.005)
        }
        var mids: [String] = []
        for k in 0..<3 {
            let m = try s.call("memory/addMessage", ["conversationId": .string(convs[0]), "role": "user", "content": .string("hello \(k)"), "metadata": ["n": .int(k)]])
            mids.append(m["message"]!["id"]!.stringValue!)
        }
        let page1 = try s.call("memory/listConversations", ["limit": 2])
        #expect(ids(page1["conversations"].map { .array($0.arrayValue!.map { $0["id"]! }) }) == [convs[0], convs[2]])
        let page2 = try s.call("memory/listConversations", ["limit": 2, "cursor": page1["nextCursor"]!])
        #expect(page2["conversations"]?[index: 0]?["id"]?.stringValue == convs[1] && page2["nextCursor"] == nil)

        let fork = try s.call("memory/forkConversation", ["conversationId": .string(convs[0]), "atMessageId": .string(mids[1]), "title": "branch"])
        #expect(fork["parentConversationId"]?.stringValue == convs[0] && fork["forkedAtMessageId"]?.stringValue == mids[1])
        #expect(fork["messageCount"] == 2 && fork["title"] == "branch")
        let forkID = fork["id"]!.stringValue!

        let snap = try s.call("memory/exportConversation", ["id": .string(convs[0])])
        #expect(snap["schemaVersion"] == 1 && snap["messages"]?.arrayValue?.count == 3)
        let conflict = try s.callExpectingError("memory/importConversation", ["snapshot": snap])
        #expect(conflict.code == 1003)
        let copy = try s.call("memory/importConversation", ["snapshot": snap, "onConflict": "newId"])
        #expect(copy["id"]?.stringValue != convs[0] && copy["messageCount"] == 3)
        let replaced = try s.call("memory/importConversation", ["snapshot": snap, "onConflict": "replace"])
        #expect(replaced["id"]?.stringValue == convs[0])
        #expect(try s.call("memory/exportConversation", ["id": .string(convs[0])]) == snap, "lossless round trip")

        let cleared = try s.call("memory/clearConversation", ["id": .string(convs[0])])
        #expect(Set(ids(cleared["removed"])) == Set(mids))
        #expect(try s.call("memory/deleteConversation", ["id": .string(forkID)])["removed"] == [.string(forkID)])
        #expect(try s.callExpectingError("memory/getConversation", ["id": .string(forkID)]).code == 1001)
        let trimmed = try s.call("memory/trimConversations", ["keep": 1])
        #expect(trimmed["removed"]?.arrayValue?.count == 3)
        #expect(try s.call("memory/listConversations")["conversations"]?.arrayValue?.count == 1)
    }

    @Test func searchHitsSnippetsFiltersPaging() throws {
        let s = try ServerProcess.start()
        defer { _ = try? s.closeInputAndWait() }
        let c = try s.call("memory/createConversation", ["title": "s"])["id"]!
        let d = try s.call("memory/createConversation", ["title": "t"])["id"]!
        _ = try s.call("memory/addMessage", ["conversationId": c, "role": "user", "content": "The Café in Zürich serves crème brûlée"])
        _ = try s.call("memory/addMessage", ["conversationId": c, "role": "assistant", "content": "Zurich cafes are great"])
        _ = try s.call("memory/addMessage", ["conversationId": d, "role": "user", "content": "zurich weather"])
        let r = try s.call("memory/search", ["query": "ZURI CAF"])
        let hits = r["hits"]?.arrayValue ?? []
        #expect(hits.count == 2)
        #expect(hits.allSatisfy { $0["conversationId"] == c && $0["score"]?.doubleValue != nil && $0["snippet"]?.stringValue?.isEmpty == false })
        #expect(try s.call("memory/search", ["query": "creme brulee"])["hits"]?.arrayValue?.count == 1)
        #expect(try s.call("memory/search", ["query": "zurich", "conversationId": d])["hits"]?.arrayValue?.count == 1)
        #expect(try s.call("memory/search", ["query": "zurich", "role": "assistant"])["hits"]?.arrayValue?.count == 1)
        let p1 = try s.call("memory/search", ["query": "zurich", "limit": 2])
        #expect(p1["hits"]?.arrayValue?.count == 2 && p1["nextCursor"] != nil)
        let p2 = try s.call("memory/search", ["query": "zurich", "limit": 2, "cursor": p1["nextCursor"]!])
        #expect(p2["hits"]?.arrayValue?.count == 1 && p2["nextCursor"] == nil)
        #expect(try s.callExpectingError("memory/search", ["limit": 2]).code == -32602)
    }

    @Test func tokensLongTermMemoryAndContextBuild() throws {
        var args = ["--store", "memory"]
        var exactName: String? = nil
        if let dir = ProcessInfo.processInfo.environment["CONTEXTD_TIKTOKEN_DIR"], FileManager.default.fileExists(atPath: dir + "/cl100k_base.tiktoken") {
            args += ["--tokenizer", "cl100k_base=\(dir)/cl100k_base.tiktoken"]
            exactName = "cl100k_base"
        }
        let s = try ServerProcess.start(arguments: args)
        defer { _ = try? s.closeInputAndWait() }
        let est = try s.call("memory/estimateTokens", ["text": "hello world"])
        #expect(est["tokens"] == 2 && est["tokenizer"] == .string(exactName ?? "estimate"))
        #expect(try s.call("memory/estimateTokens", ["text": "hello world", "tokenizer": "estimate"])["tokenizer"] == "estimate")
        #expect(try s.callExpectingError("memory/estimateTokens", ["text": "x", "tokenizer": "gpt2"]).data?["field"] == "tokenizer")

        let m1 = try s.call("memory/remember", ["content": "Deploys go through the staging cluster", "tags": ["ops", "deploy"], "importance": 0.9])
        #expect(m1["importance"] == 0.9 && m1["tags"] == ["ops", "deploy"] && m1["createdAt"] != nil)
        _ = try s.call("memory/remember", ["content": "Lunch is at noon", "importance": 0.2])
        #expect(try s.callExpectingError("memory/remember", ["content": "x", "importance": 2]).code == -32602)
        let rec = try s.call("memory/recall", ["query": "deploy staging"])
        #expect(rec["memories"]?.arrayValue?.count == 1 && rec["memories"]?[index: 0]?["memory"]?["id"] == m1["id"])
        #expect((rec["memories"]?[index: 0]?["score"]?.doubleValue ?? 0) > 0)
        #expect(try s.call("memory/recall", ["tags": ["ops", "nope"]])["memories"] == [])
        #expect(try s.call("memory/recall", ["minImportance": 0.5])["memories"]?.arrayValue?.count == 1)

        let c = try s.call("memory/createConversation", ["title": "ctx"])["id"]!
        _ = try s.call("memory/addMessage", ["conversationId": c, "role": "system", "content": "You are terse."])
        for k in 0..<12 { _ = try s.call("memory/addMessage", ["conversationId": c, "role": k % 2 == 0 ? "user" : "assistant", "content": .string("turn \(k) about deploys")]) }
        for stage in ["understand", "decompose", "plan", "implement", "validate", "reflect"] {
            for budget in [0, 10, 30, 10_000] {
                let r = try s.call("context/build", ["conversationId": c, "stage": .string(stage), "maxTokens": .int(budget), "query": "deploy"])
                let items = r["items"]?.arrayValue ?? []
                let total = r["totalTokens"]?.intValue ?? -1
                #expect(total <= budget && total == items.reduce(0) { $0 + ($1["tokens"]?.intValue ?? 0) }, "\(stage) \(budget)")
                #expect(r["omitted"]?.intValue != nil)
                let kinds = items.map { $0["kind"]!.stringValue! }
                if stage == "plan", budget == 10_000 { #expect(kinds.contains("memory") && kinds.first == "system") }
                if stage == "understand" { #expect(!kinds.contains("message")) }
            }
        }
        let def = try s.call("context/build", ["conversationId": c, "maxTokens": 10_000])
        #expect(def["items"]?.arrayValue?.last?["content"] == "turn 11 about deploys")
        #expect(try s.callExpectingError("context/build", ["maxTokens": 10]).code == -32602)
        #expect(try s.callExpectingError("context/build", ["conversationId": c]).data?["field"] == "maxTokens")
        #expect(try s.callExpectingError("context/build", ["conversationId": c, "maxTokens": 5, "stage": "dream"]).data?["field"] == "stage")

        let forgotten = try s.call("memory/forget", ["id": m1["id"]!])
        #expect(forgotten["removed"] == [m1["id"]!])
        #expect(try s.callExpectingError("memory/forget", ["id": m1["id"]!]).code == 1001)
    }
}

extension JSONValue {
    /// Array element access for the memory E2E assertions.
    fileprivate subscript(index i: Int) -> JSONValue? {
        guard let a = arrayValue, a.indices.contains(i) else { return nil }
        return a[i]
    }
}
