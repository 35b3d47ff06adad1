/// An in-memory inverted index over message contents, maintained on every change.
///
/// Design (for 1M messages in 10k conversations):
/// - Documents get dense `UInt32` ids in insertion order; per document the index keeps
///   only its conversation slot, role, length and time (17 bytes).
/// - Each term has one posting list: a byte array of varint-encoded (doc-id delta, term
///   frequency) pairs, appended as documents arrive (ids only grow, so deltas are
///   positive). A typical posting costs 2–3 bytes.
/// - Terms live in a hash map (exact lookup while indexing) and a sorted term list
///   (byte order) for word-prefix ranges; new terms wait in a small unsorted list that
///   is merged in once it grows past 1/16 of the dictionary.
/// - Removal marks the document dead; its postings are dropped at the next compaction
///   (when dead documents outnumber live ones).
/// - Ranking: BM25 (k1 1.2, b 0.75) summed over every term matching each query word
///   prefix; every query word must match.
///
/// - Important: Not thread-safe; confined to the domain owner like the store that owns it.
public final class SearchIndex: @unchecked Sendable {
    // @unchecked: confined to the domain owner's serial queue (see ContextEngine).

    /// Terms and posting lists (a struct, so indexing a document is one access).
    private var table = TermTable()
    /// Words are indexed (and queried) by their first `maxTermBytes` bytes.
    static let maxTermBytes = 64

    // Documents.
    private var docConversation: [UInt32] = []
    private var docRole: [UInt8] = []
    private var docLength: [UInt32] = []
    private var docTime: [Int64] = []
    private var docAlive: [UInt64] = []
    public private(set) var liveDocuments = 0
    private var deadDocuments = 0
    private var totalLength = 0

    // Conversations.
    private var conversationSlots: [String: UInt32] = [:]
    private var conversationIDs: [String] = []

    // Query scratch space (reused; the index is single-threaded).
    private var mark: [UInt32] = []
    private var score: [Float] = []
    private var epoch: UInt32 = 0

    public init() {}

    /// The slot of a conversation id (created on first use); callers may keep it and
    /// pass it to `add(slot:…)`.
    public func slot(for conversationId: String) -> UInt32 {
        if let s = conversationSlots[conversationId] { return s }
        let s = UInt32(conversationIDs.count)
        conversationIDs.append(conversationId)
        conversationSlots[conversationId] = s
        return s
    }

    /// The conversation a document belongs to.
    public func conversationId(ofDocument doc: UInt32) -> String { conversationIDs[Int(docConversation[Int(doc)])] }

    // MARK: Indexing

    /// Adds one message's text; returns its document id. Ids only grow.
    @discardableResult
    public func add(conversationId: String, role: MessageRole, createdAt: Timestamp, text: String) -> UInt32 {
        add(slot: slot(for: conversationId), role: role, createdAt: createdAt, text: text)
    }

    /// Adds one message's text for the conversation in `slot` (see `slot(for:)`).
    @discardableResult
    public func add(slot: UInt32, role: MessageRole, createdAt: Timestamp, text: String) -> UInt32 {
        let doc = UInt32(docConversation.count)
        docConversation.append(slot)
        docRole.append(UInt8(role.index))
        docTime.append(createdAt.milliseconds)
        if doc % 64 == 0 { docAlive.append(0) }
        docAlive[Int(doc / 64)] |= 1 << UInt64(doc % 64)

        let length = table.index(doc, text)
        docLength.append(UInt32(length))
        totalLength += length
        liveDocuments += 1
        return doc
    }

    /// Marks a document removed. Its postings go at the next compaction.
    public func remove(_ doc: UInt32) {
        let d = Int(doc)
        guard d < docConversation.count, isAlive(d) else { return }
        docAlive[d / 64] &= ~(1 << UInt64(d % 64))
        liveDocuments -= 1
        deadDocuments += 1
        totalLength -= Int(docLength[d])
        if deadDocuments > 4096, deadDocuments > liveDocuments { compact() }
    }

    @inline(__always)
    private func isAlive(_ d: Int) -> Bool { docAlive[d / 64] & (1 << UInt64(d % 64)) != 0 }

    /// Rewrites every posting list without dead documents (document ids are kept).
    public func compact() {
        let alive = docAlive
        table.compact { d in alive[d / 64] & (1 << UInt64(d % 64)) != 0 }
        deadDocuments = 0
    }

    /// Gives back the growth slack of every array (posting lists, document columns):
    /// after a bulk load, when most lists will not grow again soon. About a fifth of
    /// the index's memory at 1M messages; later appends grow a list again as usual.
    public func shrinkToFit() {
        table.shrinkToFit()
        docConversation.shrinkToFit()
        docRole.shrinkToFit()
        docLength.shrinkToFit()
        docTime.shrinkToFit()
        docAlive.shrinkToFit()
    }

    // MARK: Varints

    @inline(__always)
    static func appendVarint(_ a: inout [UInt8], _ v: UInt32) {
        var v = v
        while v >= 0x80 {
            a.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        a.append(UInt8(v))
    }

    /// Appends one (delta, tf) pair.
    @inline(__always)
    static func appendPosting(_ a: inout [UInt8], _ delta: UInt32, _ tf: UInt32) {
        if delta < 0x80, tf < 0x80 {
            a.append(UInt8(delta))
            a.append(UInt8(tf))
        } else {
            appendVarint(&a, delta)
            appendVarint(&a, tf)
        }
    }

    /// One LEB128 varint at `i` (advanced past it).
    @inline(__always)
    static func readVarint(_ p: UnsafeBufferPointer<UInt8>, _ i: inout Int) -> UInt32 {
        var v: UInt32 = 0, shift: UInt32 = 0
        while true {
            let b = p[i]
            i += 1
            v |= UInt32(b & 0x7F) << shift
            if b < 0x80 { return v }
            shift += 7
        }
    }

    /// Decodes postings from a byte offset (`base` = the doc id before it) while `body`
    /// returns true.
    @inline(__always)
    static func decode(_ p: UnsafeBufferPointer<UInt8>, from offset: Int, base: UInt32, _ body: (UInt32, UInt32) -> Bool) {
        var i = offset
        var doc = base
        let n = p.count
        while i < n {
            let delta = readVarint(p, &i)
            let tf = readVarint(p, &i)
            doc = doc &+ delta
            if !body(doc, tf) { return }
        }
    }

    @inline(__always)
    static func forEachPosting(_ list: [UInt8], _ body: (UInt32, UInt32) -> Void) {
        list.withUnsafeBufferPointer { p in
            var i = 0
            var doc: UInt32 = 0
            var first = true
            let n = p.count
            while i < n {
                let delta = readVarint(p, &i)
                let tf = readVarint(p, &i)
                if first {
                    doc = delta - 1
                    first = false
                } else {
                    doc &+= delta
                }
                body(doc, tf)
            }
        }
    }

    // MARK: Querying

    /// Filters a query can apply.
    public struct Filter {
        public var conversationId: String?
        /// Conversations allowed (e.g. those of one session); nil = all.
        public var conversations: Set<String>?
        public var role: MessageRole?
        public init(conversationId: String? = nil, conversations: Set<String>? = nil, role: MessageRole? = nil) {
            self.conversationId = conversationId
            self.conversations = conversations
            self.role = role
        }
    }

    /// One ranked document.
    public struct Hit: Sendable, Equatable {
        public var document: UInt32
        public var score: Double
        public var createdAt: Int64
    }

    /// The documents matching every word of `query` (each as a word prefix), best first:
    /// BM25 score descending, then newer first, then `tieBreak` (message id) ascending.
    /// Returns hits `offset..<offset+limit` and whether more exist.
    public func search(
        _ query: String, filter: Filter = Filter(), offset: Int = 0, limit: Int = 20,
        tieBreak: (UInt32) -> String = { String($0) }
    ) -> (hits: [Hit], more: Bool) {
        var words: [String] = []
        TextFolding.forEachWord(in: query) { w, _ in if !words.contains(w) { words.append(w) } }
        guard !words.isEmpty, liveDocuments > 0 else { return ([], false) }

        // Filter slots.
        var onlySlot: UInt32? = nil
        if let cid = filter.conversationId {
            guard let s = conversationSlots[cid] else { return ([], false) }
            onlySlot = s
        }
        var allowed: [Bool]? = nil
        if let set = filter.conversations {
            var a = [Bool](repeating: false, count: conversationIDs.count)
            for c in set { if let s = conversationSlots[c] { a[Int(s)] = true } }
            allowed = a
        }
        let roleFilter: UInt8? = filter.role.map { UInt8($0.index) }

        // Matching terms per word, cheapest word first.
        var plan: [(terms: [UInt32], cost: Int)] = []
        for w in words {
            let ts = table.terms(withPrefix: w)
            if ts.isEmpty { return ([], false) }
            plan.append((ts, ts.reduce(0) { $0 + table.postings[Int($1)].count }))
        }
        plan.sort { $0.cost < $1.cost }

        let n = Double(liveDocuments)
        let avgLen = max(1.0, Double(totalLength) / n)
        let k1 = 1.2, b = 0.75
        if mark.count < docConversation.count {
            mark.append(contentsOf: repeatElement(0, count: docConversation.count - mark.count))
            score.append(contentsOf: repeatElement(0, count: docConversation.count - score.count))
        }
        if epoch > UInt32.max - 64 {
            for i in mark.indices { mark[i] = 0 }
            epoch = 0
        }
        var candidates: [UInt32] = []
        let firstEpoch = epoch + 1
        for (wi, step) in plan.enumerated() {
            let cur = firstEpoch + UInt32(wi)
            let prev = cur - 1
            if wi > 0 { candidates.sort() }
            for t in step.terms {
                let df = Double(table.docFreq[Int(t)])
                let idf = Float(max(0.01, log1p((n - df + 0.5) / (df + 0.5))))
                let sk = table.skips[Int(t)]
                if wi > 0, !sk.isEmpty, candidates.count * 32 < Int(table.docFreq[Int(t)]) {
                    // Few candidates, long list: seek to each candidate's block.
                    let list = table.postings[Int(t)]
                    list.withUnsafeBufferPointer { p in
                        for doc in candidates {
                            let d = Int(doc)
                            let m = mark[d]
                            guard m == prev || m == cur else { continue }
                            var lo = 0, hi = sk.count  // last skip with sk.doc <= doc
                            while lo < hi {
                                let mid = (lo + hi) / 2
                                if sk[mid].doc <= doc { lo = mid + 1 } else { hi = mid }
                            }
                            let (off, base) = lo == 0 ? (0, UInt32.max) : (Int(sk[lo - 1].offset), sk[lo - 1].base)
                            SearchIndex.decode(p, from: off, base: base) { pd, tf in
                                if pd < doc { return true }
                                if pd == doc {
                                    mark[d] = cur
                                    let f = Double(tf)
                                    let norm = f * (k1 + 1) / (f + k1 * (1 - b + b * Double(docLength[d]) / avgLen))
                                    score[d] += idf * Float(norm)
                                }
                                return false
                            }
                        }
                    }
                    continue
                }
                let alive = docAlive, convOf = docConversation, roleOf = docRole
                let list = table.postings[Int(t)]
                mark.withUnsafeMutableBufferPointer { mk in
                    score.withUnsafeMutableBufferPointer { sc in
                        docLength.withUnsafeBufferPointer { dl in
                            SearchIndex.forEachPosting(list) { doc, tf in
                                let d = Int(doc)
                                if wi == 0 {
                                    guard alive[d / 64] & (1 << UInt64(d % 64)) != 0 else { return }
                                    if let s = onlySlot, convOf[d] != s { return }
                                    if let a = allowed, !a[Int(convOf[d])] { return }
                                    if let r = roleFilter, roleOf[d] != r { return }
                                    if mk[d] != cur {
                                        mk[d] = cur
                                        sc[d] = 0
                                        candidates.append(doc)
                                    }
                                } else {
                                    let m = mk[d]
                                    guard m == prev || m == cur else { return }
                                    mk[d] = cur
                                }
                                let f = Double(tf)
                                let norm = f * (k1 + 1) / (f + k1 * (1 - b + b * Double(dl[d]) / avgLen))
                                sc[d] += idf * Float(norm)
                            }
                        }
                    }
                }
            }
            if wi > 0 {
                let mk = mark
                candidates.removeAll { mk[Int($0)] != cur }
            }
            if candidates.isEmpty { break }
        }
        epoch = firstEpoch + UInt32(plan.count)

        // Top offset+limit by (score desc, time desc, tieBreak asc) with a bounded heap.
        let k = offset + limit
        func better(_ a: Hit, _ b: Hit) -> Bool {
            if a.score != b.score { return a.score > b.score }
            if a.createdAt != b.createdAt { return a.createdAt > b.createdAt }
            return tieBreak(a.document) < tieBreak(b.document)
        }
        var heap: [Hit] = []  // min-heap by `better` (worst at top)
        heap.reserveCapacity(k + 1)
        func siftUp(_ i0: Int) {
            var i = i0
            while i > 0 {
                let p = (i - 1) / 2
                if better(heap[p], heap[i]) { heap.swapAt(p, i); i = p } else { break }
            }
        }
        func siftDown(_ i0: Int) {
            var i = i0
            while true {
                let l = 2 * i + 1, r = l + 1
                var w = i
                if l < heap.count, better(heap[w], heap[l]) { w = l }
                if r < heap.count, better(heap[w], heap[r]) { w = r }
                if w == i { return }
                heap.swapAt(i, w)
                i = w
            }
        }
        let sc = score, times = docTime
        for d in candidates {
            let h = Hit(document: d, score: Double(sc[Int(d)]), createdAt: times[Int(d)])
            if heap.count < k {
                heap.append(h)
                siftUp(heap.count - 1)
            } else if k > 0, better(h, heap[0]) {
                heap[0] = h
                siftDown(0)
            }
        }
        heap.sort(by: better)
        let page = offset < heap.count ? Array(heap[offset...]) : []
        return (page, candidates.count > k)
    }

    // MARK: Measurement

    /// An estimate of the bytes this index holds (allocations counted with their
    /// capacity plus allocator overhead).
    public var estimatedMemoryBytes: Int {
        var bytes = 0
        bytes += table.estimatedMemoryBytes
        bytes += docConversation.capacity * 4 + docRole.capacity + docLength.capacity * 4 + docTime.capacity * 8
        bytes += docAlive.capacity * 8
        bytes += conversationIDs.capacity * 16 + conversationSlots.capacity * 20 * 4 / 3
        bytes += mark.capacity * 4 + score.capacity * 4
        return bytes
    }

    /// Terms in the dictionary.
    public var termCount: Int { table.termStart.count }
}


/// A seek point in a posting list.
struct SkipEntry {
    var doc: UInt32
    var offset: UInt32
    var base: UInt32
}

/// The term dictionary and posting lists of a `SearchIndex`.
extension Array {
    /// Reallocates to exactly `count` elements when that frees a quarter or more.
    mutating func shrinkToFit() {
        guard capacity - count >= Swift.max(4, capacity / 4) else { return }
        self = Array(unsafeUninitializedCapacity: count) { buf, n in
            _ = buf.initialize(fromContentsOf: self)
            n = count
        }
    }
}

/// One slot of `TermTable.slots`: id + 1 (0 = empty), length, key.
struct TermSlot {
    var key: UInt64 = 0
    var id: UInt32 = 0
    var length: UInt32 = 0
}

struct TermTable {
    var arena: [UInt8] = []
    var termStart: [UInt32] = []
    var termLength: [UInt8] = []
    /// Open-addressing hash table of the terms. A slot holds the term's key — its bytes
    /// packed when it has at most 8 (most words), else its 64-bit hash — with its length,
    /// so a lookup of a short word touches one slot and nothing else.
    var slots = [TermSlot](repeating: TermSlot(), count: 1024)
    var postings: [[UInt8]] = []
    var lastDoc: [UInt32] = []
    var docFreq: [UInt32] = []
    var sortedTerms: [UInt32] = []
    var pendingTerms: [UInt32] = []
    /// Skip entries of long posting lists: every `skipInterval`-th posting's
    /// (doc id, byte offset, previous doc id or UInt32.max), for seeking in intersections.
    var skips: [[SkipEntry]] = []
    static let skipInterval: UInt32 = 128
    /// Per-document scratch: (term, frequency).
    var local: [(UInt32, UInt32)] = []

    /// Indexes `text` as document `doc`; returns its length in words.
    mutating func index(_ doc: UInt32, _ text: String) -> Int {
        local.removeAll(keepingCapacity: true)
        var length = 0
        TextFolding.forEachFoldedWord(in: text) { word in
            length += 1
            let t = termID(for: UnsafeBufferPointer(rebasing: word.prefix(SearchIndex.maxTermBytes)))
            var k = 0
            while k < local.count, local[k].0 != t { k += 1 }
            if k < local.count { local[k].1 += 1 } else { local.append((t, 1)) }
        }
        let terms = local
        postings.withUnsafeMutableBufferPointer { post in
            lastDoc.withUnsafeMutableBufferPointer { last in
                docFreq.withUnsafeMutableBufferPointer { df in
                    for (t, tf) in terms {
                        let ti = Int(t)
                        if df[ti] % TermTable.skipInterval == 0, df[ti] > 0 {
                            skips[ti].append(SkipEntry(doc: doc, offset: UInt32(post[ti].count), base: last[ti]))
                        }
                        let delta = df[ti] == 0 ? doc + 1 : doc - last[ti]  // the first posting stores doc + 1
                        SearchIndex.appendPosting(&post[ti], delta, tf)
                        last[ti] = doc
                        df[ti] += 1
                    }
                }
            }
        }
        return length
    }

    /// A fast hash of a short byte string (8 bytes at a time, multiply-xorshift mix).
    @inline(__always)
    static func hash(_ p: UnsafeBufferPointer<UInt8>) -> Int {
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(p.count)
        var i = 0
        let n = p.count
        guard let base = p.baseAddress else { return Int(truncatingIfNeeded: h) }
        while i + 8 <= n {
            let w = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
            h = (h ^ w) &* 0xBF58_476D_1CE4_E5B9
            h ^= h >> 29
            i += 8
        }
        if i < n {
            var w: UInt64 = 0
            var shift: UInt64 = 0
            while i < n {
                w |= UInt64(base[i]) << shift
                shift += 8
                i += 1
            }
            h = (h ^ w) &* 0x94D0_49BB_1331_11EB
        }
        h ^= h >> 31
        h = h &* 0xBF58_476D_1CE4_E5B9
        h ^= h >> 32
        return Int(truncatingIfNeeded: h)
    }

    @inline(__always)
    func equals(_ t: Int, _ w: UnsafeBufferPointer<UInt8>) -> Bool {
        let len = Int(termLength[t])
        guard len == w.count else { return false }
        let st = Int(termStart[t])
        return arena.withUnsafeBufferPointer { a in memcmp(a.baseAddress! + st, w.baseAddress!, len) == 0 }
    }

    /// A term's slot key and hash (see `slots`).
    @inline(__always)
    static func key(_ w: UnsafeBufferPointer<UInt8>) -> (key: UInt64, hash: Int) {
        let n = w.count
        guard n <= 8 else {
            let h = hash(w)
            return (UInt64(bitPattern: Int64(h)), h)
        }
        var v: UInt64 = 0
        for k in 0..<n { v |= UInt64(w[k]) << UInt64(8 * k) }
        var h = (v ^ UInt64(n)) &* 0x9E37_79B9_7F4A_7C15
        h ^= h >> 29
        h = h &* 0xBF58_476D_1CE4_E5B9
        h ^= h >> 32
        return (v, Int(truncatingIfNeeded: h))
    }

    /// Whether slot `s` holds the term `w` (of key `key`).
    @inline(__always)
    func holds(_ s: TermSlot, _ w: UnsafeBufferPointer<UInt8>, _ key: UInt64) -> Bool {
        s.length == UInt32(w.count) && s.key == key && (w.count <= 8 || equals(Int(s.id - 1), w))
    }

    /// The id of a term, or nil.
    func lookup(_ w: UnsafeBufferPointer<UInt8>) -> UInt32? {
        let mask = slots.count - 1
        let (key, hash) = Self.key(w)
        var h = hash & mask
        while true {
            let e = slots[h]
            if e.id == 0 { return nil }
            if holds(e, w, key) { return e.id - 1 }
            h = (h + 1) & mask
        }
    }

    mutating func termID(for w: UnsafeBufferPointer<UInt8>) -> UInt32 {
        let mask = slots.count - 1
        let (key, hash) = Self.key(w)
        var h = hash & mask
        while true {
            let e = slots[h]
            if e.id == 0 { break }
            if holds(e, w, key) { return e.id - 1 }
            h = (h + 1) & mask
        }
        let t = UInt32(termStart.count)
        termStart.append(UInt32(arena.count))
        termLength.append(UInt8(w.count))
        arena.append(contentsOf: w)
        slots[h] = TermSlot(key: key, id: t + 1, length: UInt32(w.count))
        postings.append([])
        skips.append([])
        lastDoc.append(0)
        docFreq.append(0)
        pendingTerms.append(t)
        if termStart.count * 2 > slots.count { growSlots() }
        if pendingTerms.count > max(1024, sortedTerms.count / 16) { mergePending() }
        return t
    }

    mutating func growSlots() {
        var fresh = [TermSlot](repeating: TermSlot(), count: slots.count * 2)
        let mask = fresh.count - 1
        arena.withUnsafeBufferPointer { a in
            for t in 0..<termStart.count {
                let w = UnsafeBufferPointer(rebasing: a[Int(termStart[t])..<Int(termStart[t]) + Int(termLength[t])])
                let (key, hash) = Self.key(w)
                var h = hash & mask
                while fresh[h].id != 0 { h = (h + 1) & mask }
                fresh[h] = TermSlot(key: key, id: UInt32(t + 1), length: UInt32(w.count))
            }
        }
        slots = fresh
    }

    /// Byte-order comparison of two terms.
    func precedes(_ x: UInt32, _ y: UInt32, _ a: UnsafeBufferPointer<UInt8>) -> Bool {
        let xs = Int(termStart[Int(x)]), xl = Int(termLength[Int(x)])
        let ys = Int(termStart[Int(y)]), yl = Int(termLength[Int(y)])
        let n = min(xl, yl)
        for k in 0..<n {
            let p = a[xs + k], q = a[ys + k]
            if p != q { return p < q }
        }
        return xl < yl
    }

    mutating func mergePending() {
        guard !pendingTerms.isEmpty else { return }
        var pending = pendingTerms
        let sorted = sortedTerms
        let merged = arena.withUnsafeBufferPointer { a -> [UInt32] in
            pending.sort { precedes($0, $1, a) }
            var merged: [UInt32] = []
            merged.reserveCapacity(sorted.count + pending.count)
            var i = 0, j = 0
            while i < sorted.count, j < pending.count {
                if precedes(pending[j], sorted[i], a) {
                    merged.append(pending[j])
                    j += 1
                } else {
                    merged.append(sorted[i])
                    i += 1
                }
            }
            merged.append(contentsOf: sorted[i...])
            merged.append(contentsOf: pending[j...])
            return merged
        }
        sortedTerms = merged
        pendingTerms.removeAll(keepingCapacity: true)
    }

    /// The term ids whose text starts with `prefix` (byte order).
    mutating func terms(withPrefix prefix: String) -> [UInt32] {
        if pendingTerms.count > 64 { mergePending() }
        let p = Array(prefix.utf8.prefix(SearchIndex.maxTermBytes))
        return arena.withUnsafeBufferPointer { a -> [UInt32] in
            func starts(_ t: UInt32) -> Bool {
                let st = Int(termStart[Int(t)]), len = Int(termLength[Int(t)])
                guard len >= p.count else { return false }
                for k in 0..<p.count where a[st + k] != p[k] { return false }
                return true
            }
            func below(_ t: UInt32) -> Bool {  // term < prefix
                let st = Int(termStart[Int(t)]), len = Int(termLength[Int(t)])
                for k in 0..<min(len, p.count) where a[st + k] != p[k] { return a[st + k] < p[k] }
                return len < p.count
            }
            var lo = 0, hi = sortedTerms.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if below(sortedTerms[mid]) { lo = mid + 1 } else { hi = mid }
            }
            var out: [UInt32] = []
            var k = lo
            while k < sortedTerms.count, starts(sortedTerms[k]) {
                out.append(sortedTerms[k])
                k += 1
            }
            for t in pendingTerms where starts(t) { out.append(t) }
            return out
        }
    }

    /// Rewrites every posting list keeping only documents `alive` accepts.
    mutating func shrinkToFit() {
        for t in postings.indices { postings[t].shrinkToFit() }
        for t in skips.indices where !skips[t].isEmpty { skips[t].shrinkToFit() }
        arena.shrinkToFit()
    }

    mutating func compact(_ alive: (Int) -> Bool) {
        for t in 0..<postings.count where docFreq[t] > 0 {
            var out: [UInt8] = []
            var prev: UInt32 = 0
            var first = true
            var df: UInt32 = 0
            var sk: [SkipEntry] = []
            SearchIndex.forEachPosting(postings[t]) { doc, tf in
                guard alive(Int(doc)) else { return }
                if df > 0, df % TermTable.skipInterval == 0 { sk.append(SkipEntry(doc: doc, offset: UInt32(out.count), base: prev)) }
                SearchIndex.appendVarint(&out, first ? doc + 1 : doc - prev)
                SearchIndex.appendVarint(&out, tf)
                prev = doc
                first = false
                df += 1
            }
            postings[t] = out
            skips[t] = sk
            docFreq[t] = df
            lastDoc[t] = prev
        }
    }

    var estimatedMemoryBytes: Int {
        var bytes = 0
        for p in postings { bytes += p.capacity + (p.capacity > 0 ? 48 : 0) }
        bytes += arena.capacity + termStart.capacity * 4 + termLength.capacity + slots.capacity * MemoryLayout<TermSlot>.stride
        bytes += postings.capacity * 8 + lastDoc.capacity * 4 + docFreq.capacity * 4
        bytes += (sortedTerms.capacity + pendingTerms.capacity) * 4
        for k in skips where k.capacity > 0 { bytes += k.capacity * 12 + 48 }
        bytes += skips.capacity * 8
        return bytes
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
