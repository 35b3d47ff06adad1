import ContextCore
import JSONCore
import Testing

@Suite("Search: folding, prefixes, ranking, maintenance")
struct SearchIndexTests {
    @Test(arguments: [
        ("Crème Brûlée", ["creme", "brulee"]),
        ("ÅNGSTRÖM naïve FAÇADE", ["angstrom", "naive", "facade"]),
        ("Hello, world! foo_bar", ["hello", "world", "foo", "bar"]),
        ("Москва МОСКВА", ["москва", "москва"]),
        ("東京タワー", ["東", "京", "タ", "ワ", "ー"]),
        ("e\u{301}te\u{301}", ["ete"]),
        ("x1 42 v2.0", ["x1", "42", "v2", "0"]),
    ])
    func folding(_ input: String, _ expected: [String]) {
        #expect(TextFolding.words(input) == expected)
    }

    func store() -> (ConversationStore, MemoryTestClock, String) {
        let (e, clock) = makeMemoryEngine()
        let c = try! e.conversations.createConversation(title: "t")
        return (e.conversations, clock, c.id)
    }

    @Test func caseAndDiacriticInsensitivePrefixMatching() throws {
        let (s, clock, c) = store()
        let m = try s.addMessage(conversationId: c, role: .user, content: "We visited the Café Müller in Zürich").message
        clock.advance()
        _ = try s.addMessage(conversationId: c, role: .user, content: "Nothing relevant here")
        for q in ["cafe", "CAFÉ", "muller", "zur", "ZÜRICH café", "vis mul"] {
            let hits = try s.search(query: q).hits
            #expect(hits.map(\.message.id) == [m.id], "query \(q)")
        }
        #expect(try s.search(query: "cafe nothing").hits.isEmpty, "every word is required")
        #expect(try s.search(query: "afe").hits.isEmpty, "prefix of a word, not infix")
        #expect(try s.search(query: "   ").hits.isEmpty)
    }

    @Test func rankingByBM25ThenRecencyThenID() throws {
        let (s, clock, c) = store()
        let weak = try s.addMessage(conversationId: c, role: .user, content: "parser " + String(repeating: "filler words ", count: 20)).message
        clock.advance()
        let strong = try s.addMessage(conversationId: c, role: .user, content: "parser parser bug").message
        clock.advance()
        let older = try s.addMessage(conversationId: c, role: .user, content: "lexer issue").message
        clock.advance()
        let newer = try s.addMessage(conversationId: c, role: .user, content: "lexer issue").message
        #expect(try s.search(query: "parser").hits.map(\.message.id) == [strong.id, weak.id])
        #expect(try s.search(query: "lexer").hits.map(\.message.id) == [newer.id, older.id])
        let hits = try s.search(query: "parser").hits
        #expect(hits[0].score > hits[1].score)
        #expect(hits[0].snippet.contains("parser"))
    }

    @Test func filtersAndPaging() throws {
        let (e, clock) = makeMemoryEngine()
        let s = e.conversations
        let a = try s.createConversation(title: "a", sessionId: "ses_1")
        let b = try s.createConversation(title: "b")
        for k in 0..<5 {
            clock.advance()
            _ = try s.addMessage(conversationId: a.id, role: k % 2 == 0 ? .user : .assistant, content: "deploy step \(k)")
            _ = try s.addMessage(conversationId: b.id, role: .user, content: "deploy other \(k)")
        }
        #expect(try s.search(query: "deploy").hits.count == 10)
        #expect(try s.search(query: "deploy", conversationId: a.id).hits.allSatisfy { $0.conversationId == a.id })
        #expect(try s.search(query: "deploy", sessionId: "ses_1").hits.count == 5)
        #expect(try s.search(query: "deploy", conversationId: a.id, role: .assistant).hits.count == 2)
        var seen: [String] = []
        var cursor: String? = nil
        repeat {
            let page = try s.search(query: "deploy", limit: 3, cursor: cursor)
            seen += page.hits.map(\.message.id)
            cursor = page.nextCursor
        } while cursor != nil
        #expect(seen.count == 10 && Set(seen).count == 10)
        #expect(seen == (try s.search(query: "deploy", limit: 100).hits.map(\.message.id)))
    }

    @Test func indexFollowsEveryChange() throws {
        let (e, clock) = makeMemoryEngine()
        let s = e.conversations
        let c = try s.createConversation(title: "t", maxMessages: 2)
        _ = try s.addMessage(conversationId: c.id, role: .user, content: "alpha one")
        clock.advance()
        _ = try s.addMessage(conversationId: c.id, role: .user, content: "beta two")
        clock.advance()
        _ = try s.addMessage(conversationId: c.id, role: .user, content: "gamma three")  // trims alpha
        #expect(try s.search(query: "alpha").hits.isEmpty)
        #expect(try s.search(query: "beta").hits.count == 1)
        let snap = try s.export(id: c.id)
        let f = try s.fork(conversationId: c.id)
        #expect(try s.search(query: "beta").hits.count == 2)
        _ = try s.clearConversation(id: c.id)
        #expect(try s.search(query: "beta").hits.map(\.conversationId) == [f.id])
        try s.deleteConversation(id: f.id)
        #expect(try s.search(query: "beta").hits.isEmpty)
        let imported = try s.importConversation(snap, onConflict: .newId)
        #expect(try s.search(query: "gamma").hits.map(\.conversationId) == [imported.id])
        try s.replaceMessages(conversationId: imported.id, with: [])
        #expect(try s.search(query: "gamma").hits.isEmpty)
    }

    @Test func manyDocumentsAndCompaction() {
        let index = SearchIndex()
        var docs: [UInt32] = []
        for k in 0..<10_000 {
            docs.append(index.add(conversationId: "c\(k % 7)", role: .user, createdAt: Timestamp(milliseconds: Int64(k)), text: "word\(k % 100) common"))
        }
        for d in docs.prefix(8000) { index.remove(d) }
        index.compact()
        #expect(index.liveDocuments == 2000)
        let r = index.search("word42 common", limit: 1000)
        #expect(r.hits.count == 20)
        #expect(r.hits.allSatisfy { $0.createdAt >= 8000 })
        #expect(index.search("word4", limit: 1000).hits.count == 20 * 11)  // word4, word40…word49
    }
}
