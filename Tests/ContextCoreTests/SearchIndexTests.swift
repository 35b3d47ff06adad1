import ContextCore
import JSONCore
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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
        // Before compaction (seeking with skip entries over the long "common" list).
        #expect(index.search("word42 common", limit: 1000).hits.count == 100)
        #expect(index.search("common word42", limit: 1000).hits.count == 100)
        for d in docs.prefix(8000) { index.remove(d) }
        index.compact()
        #expect(index.liveDocuments == 2000)
        let r = index.search("word42 common", limit: 1000)
        #expect(r.hits.count == 20)
        #expect(r.hits.allSatisfy { $0.createdAt >= 8000 })
        #expect(index.search("word4", limit: 1000).hits.count == 20 * 11)  // word4, word40…word49
    }

    @Test func matchesBruteForceOnRandomCorpus() {
        var state: UInt64 = 99
        func next(_ n: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(n))
        }
        let vocab = (0..<300).map { "w\($0)" } + ["alpha", "alphabet", "beta", "Béta", "gamma"]
        let index = SearchIndex()
        var texts: [String] = []
        var docs: [UInt32] = []
        for k in 0..<3000 {
            // Skewed: low word numbers are frequent, so some lists are long.
            let t = (0..<(3 + next(12))).map { _ in vocab[min(next(vocab.count), next(vocab.count))] }.joined(separator: " ")
            texts.append(t)
            docs.append(index.add(conversationId: "c\(k % 5)", role: .user, createdAt: Timestamp(milliseconds: Int64(k)), text: t))
        }
        var removed = Set<Int>()
        for k in stride(from: 0, to: 3000, by: 7) {
            index.remove(docs[k])
            removed.insert(k)
        }
        for _ in 0..<200 {
            let q = [vocab[next(vocab.count)], vocab[min(next(vocab.count), next(vocab.count))]]
            let qw = q.flatMap { TextFolding.words($0) }
            let expected = Set(texts.indices.filter { k in
                !removed.contains(k) && qw.allSatisfy { w in TextFolding.words(texts[k]).contains { $0.hasPrefix(w) } }
            }.map { docs[$0] })
            let got = Set(index.search(q.joined(separator: " "), limit: 5000).hits.map(\.document))
            #expect(got == expected, "query \(q)")
        }
    }

    /// Scores and order against a direct BM25 over the texts, on lists long enough to
    /// chain many pool chunks, with large document gaps and term frequencies over 127
    /// (multi-byte varints), before and after compaction and a repack by `shrinkToFit`.
    @Test func scoresMatchReferenceBM25() {
        var state: UInt64 = 7
        func next(_ n: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(n))
        }
        let vocab = (0..<40).map { "t\($0)" } + ["rare"]
        let index = SearchIndex()
        var texts: [Int: [String]] = [:]
        var docs: [UInt32] = []
        for k in 0..<6000 {
            var ws = (0..<(2 + next(10))).map { _ in vocab[min(next(40), next(40))] }
            if k % 1500 == 3 { ws += Array(repeating: "rare", count: 130 + k / 1500) }  // tf > 127
            if k % 997 == 0 { ws.append("rare") }  // gaps over 127 documents
            let d = index.add(conversationId: "c\(k % 3)", role: .user, createdAt: Timestamp(milliseconds: Int64(k)), text: ws.joined(separator: " "))
            docs.append(d)
            texts[Int(d)] = ws
        }
        func check(_ label: String) {
            let live = texts.keys.sorted()
            let n = Double(live.count)
            let avg = Double(live.reduce(0) { $0 + texts[$1]!.count }) / n
            var counts: [Int: [String: Int]] = [:]
            var df: [String: Double] = [:]
            for d in live {
                counts[d] = texts[d]!.reduce(into: [:]) { $0[$1, default: 0] += 1 }
                for t in counts[d]!.keys { df[t, default: 0] += 1 }
            }
            for q in [["t0", "t1"], ["t1", "rare"], ["t3"], ["rare"], ["t", "t2"]] {
                var expected: [(doc: UInt32, score: Double)] = []
                for d in live {
                    var total = 0.0
                    var all = true
                    for w in q {
                        let terms = counts[d]!.filter { $0.key.hasPrefix(w) }
                        if terms.isEmpty { all = false; break }
                        for (t, c) in terms {
                            let idf = max(0.01, log1p((n - df[t]! + 0.5) / (df[t]! + 0.5)))
                            let tf = Double(c)
                            total += idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * Double(texts[d]!.count) / avg))
                        }
                    }
                    if all { expected.append((UInt32(d), total)) }
                }
                let got = index.search(q.joined(separator: " "), limit: 10_000).hits
                #expect(got.count == expected.count, "\(label) \(q): count")
                let want = Dictionary(uniqueKeysWithValues: expected.map { ($0.doc, $0.score) })
                for h in got {
                    guard let w = want[h.document] else {
                        Issue.record("\(label) \(q): unexpected document \(h.document)")
                        continue
                    }
                    #expect(abs(h.score - w) <= 1e-4 * max(1, w), "\(label) \(q): doc \(h.document) score \(h.score) vs \(w)")
                }
                for (a, b) in zip(got, got.dropFirst()) {
                    #expect(a.score > b.score || (a.score == b.score && a.createdAt > b.createdAt), "\(label) \(q): order")
                }
            }
        }
        check("fresh")
        for k in stride(from: 1, to: 6000, by: 2) {
            index.remove(docs[k])
            texts[Int(docs[k])] = nil
        }
        index.compact()
        check("compacted")
        index.shrinkToFit()
        check("repacked")
        // Appending after a repack (every last chunk full) links new chunks.
        for k in 6000..<6300 {
            let ws = ["t0", "t1", k % 2 == 0 ? "rare" : "t5"]
            let d = index.add(conversationId: "c0", role: .user, createdAt: Timestamp(milliseconds: Int64(k)), text: ws.joined(separator: " "))
            texts[Int(d)] = ws
        }
        check("appended")
    }
}
