/// An in-memory inverted index over message contents, maintained on every change.
///
/// Design (for 1M messages in 10k conversations):
/// - Documents get dense `UInt32` ids in insertion order; per document the index keeps
///   only its conversation slot, role, time, and length beside 8 bytes of query scratch
///   (25 bytes), plus two bits of query scratch.
/// - Each term has one posting list of varint-encoded (doc-id delta, term frequency)
///   pairs, appended as documents arrive (ids only grow, so deltas are positive). A
///   typical posting costs 2–3 bytes. Lists are chains of chunks in one shared pool
///   (`PostingPool`), chunks growing with the list up to 4 KiB, so an append touches the
///   term's 32-byte record and its list's tail, nothing else; skip entries every 128
///   postings let an intersection seek.
/// - Terms live in a hash map (exact lookup while indexing) and a sorted term list
///   (byte order) for word-prefix ranges; new terms wait in a small unsorted list that
///   is merged in once it grows past 1/16 of the dictionary.
/// - Removal marks the document dead; its postings are dropped at the next compaction
///   (when dead documents outnumber live ones, or after a bulk load), which rewrites
///   every list into a fresh pool as one exactly sized chunk.
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
    private var docTime: [Int64] = []
    private var docAlive: [UInt64] = []
    public private(set) var liveDocuments = 0
    private var deadDocuments = 0
    private var totalLength = 0

    // Conversations.
    private var conversationSlots: [String: UInt32] = [:]
    private var conversationIDs: [String] = []

    /// Per document: its length in words, with the query scratch beside it (reused; the
    /// index is single-threaded) — the query that last matched it and its score so far —
    /// so scoring a posting touches one cache line.
    struct DocState {
        var mark: UInt32 = 0
        var score: Float = 0
        var length: UInt32 = 0
    }
    private var acc: [DocState] = []
    /// Query scratch: one bit per document, the candidates a later word may keep and
    /// those it matched.
    private var candidateBits: [UInt64] = []
    private var matchedBits: [UInt64] = []
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
        acc.append(DocState(length: UInt32(length)))
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
        totalLength -= Int(acc[d].length)
        if deadDocuments > 4096, deadDocuments > liveDocuments { compact() }
    }

    @inline(__always)
    private func isAlive(_ d: Int) -> Bool { docAlive[d / 64] & (1 << UInt64(d % 64)) != 0 }

    /// Rewrites every posting list without dead documents (document ids are kept).
    public func compact() {
        let alive = docAlive
        table.repack { d in alive[d / 64] & (1 << UInt64(d % 64)) != 0 }
        deadDocuments = 0
    }

    /// Gives back the growth slack of every posting list and array: after a bulk load,
    /// when most lists will not grow again soon. Later appends grow a list again as
    /// usual. Dead postings stay until `compact` (so scores do not depend on when this
    /// ran: document frequencies count them until then).
    public func shrinkToFit() {
        table.repack { _ in true }
        table.shrinkToFit()
        docConversation.shrinkToFit()
        docRole.shrinkToFit()
        acc.shrinkToFit()
        docTime.shrinkToFit()
        docAlive.shrinkToFit()
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

    /// BM25 with k1 1.2, b 0.75 for one query (the average length fixed).
    struct BM25 {
        static let k1 = 1.2, b = 0.75
        let lengthBase: Float, lengthSlope: Float
        init(averageLength: Double) {
            lengthBase = Float(Self.k1 * (1 - Self.b))
            lengthSlope = Float(Self.k1 * Self.b / averageLength)
        }
        /// A term's inverse document frequency among `documents`.
        static func idf(docFreq: UInt32, documents: Double) -> Float {
            let df = Double(docFreq)
            return Float(max(0.01, log1p((documents - df + 0.5) / (df + 0.5))))
        }
        /// The saturated term frequency `tf·(k1+1) / (tf + k1·(1 − b + b·length/avg))`.
        @inline(__always)
        func norm(_ tf: UInt32, _ length: UInt32) -> Float {
            let f = Float(tf)
            return f * Float(Self.k1 + 1) / (f + lengthBase + lengthSlope * Float(length))
        }
    }

    /// The documents whose bits are set in `bits[0..<count]`, ascending.
    static func ascending(_ bits: UnsafeBufferPointer<UInt64>, _ count: Int, into out: inout [UInt32]) {
        out.removeAll(keepingCapacity: true)
        for i in 0..<count {
            var w = bits[i]
            while w != 0 {
                out.append(UInt32(i &<< 6 | w.trailingZeroBitCount))
                w &= w &- 1
            }
        }
    }

    /// The documents matching every word of `query` (each as a word prefix), best first:
    /// BM25 score descending, then newer first, then `tieBreak` (message id) ascending.
    /// Returns hits `offset..<offset+limit` and whether more exist.
    ///
    /// Term at a time, cheapest word first: the first word's postings make the
    /// candidates (filters applied there), each later word keeps those it also matches —
    /// by a scan of its postings, or, when candidates are few against a long list, by
    /// seeking with the list's skip entries.
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
        let filtered = onlySlot != nil || allowed != nil || roleFilter != nil

        // Matching terms per word, cheapest word first.
        var plan: [(terms: [UInt32], cost: Int)] = []
        for w in words {
            let ts = table.terms(withPrefix: w)
            if ts.isEmpty { return ([], false) }
            plan.append((ts, ts.reduce(0) { $0 + Int(table.meta[Int($1)].docFreq) }))
        }
        plan.sort { $0.cost < $1.cost }

        let documents = Double(liveDocuments)
        let bm25 = BM25(averageLength: max(1.0, Double(totalLength) / documents))
        let words64 = (docConversation.count + 63) / 64
        if candidateBits.count < words64 {
            candidateBits = [UInt64](repeating: 0, count: words64 + 1024)
            matchedBits = candidateBits
        }
        if epoch == UInt32.max {
            for i in acc.indices { acc[i].mark = 0 }
            epoch = 0
        }
        epoch += 1
        let first = epoch
        let pool = table.pool.base

        // The first word: its postings (filters applied) make the candidates and their
        // scores so far; with later words, also a bit set of them (in cache).
        var candidates: [UInt32] = []
        candidates.reserveCapacity(plan[0].cost)
        let later = plan.count > 1
        if later { candidateBits.withUnsafeMutableBufferPointer { $0.update(repeating: 0) } }
        let single = plan[0].terms.count == 1  // then each document comes once
        acc.withUnsafeMutableBufferPointer { ac in
            docAlive.withUnsafeBufferPointer { alive in
                candidateBits.withUnsafeMutableBufferPointer { bits in
                    for t in plan[0].terms {
                        let m = table.meta[Int(t)]
                        let idf = BM25.idf(docFreq: m.docFreq, documents: documents)
                        TermTable.decode(pool, from: m.start, base: UInt32.max, tail: m.tail) { doc, tf in
                            let d = Int(doc)
                            guard alive[d &>> 6] & (1 &<< UInt64(d & 63)) != 0 else { return true }
                            if filtered {
                                if let s = onlySlot, docConversation[d] != s { return true }
                                if let a = allowed, !a[Int(docConversation[d])] { return true }
                                if let r = roleFilter, docRole[d] != r { return true }
                            }
                            let score = idf * bm25.norm(tf, ac[d].length)
                            if single {
                                ac[d].score = score
                                candidates.append(doc)
                            } else if ac[d].mark != first {
                                ac[d].mark = first
                                ac[d].score = score
                                candidates.append(doc)
                            } else {
                                ac[d].score += score
                            }
                            if later { bits[d &>> 6] |= 1 &<< UInt64(d & 63) }
                            return true
                        }
                    }
                    // Several terms leave ascending runs; merging wants one ascending list.
                    if later, !single { Self.ascending(UnsafeBufferPointer(bits), words64, into: &candidates) }
                }
            }
        }

        // Each later word keeps the candidates it matches, adding its score: a term's
        // postings are scanned against the candidate bits, or, when candidates are few
        // against a long list, merged with the ascending candidate list, seeking by the
        // list's skip entries. Its matches make the next bits and list.
        for step in plan.dropFirst() {
            if candidates.isEmpty { break }
            matchedBits.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
            for t in step.terms {
                let m = table.meta[Int(t)]
                let idf = BM25.idf(docFreq: m.docFreq, documents: documents)
                acc.withUnsafeMutableBufferPointer { ac in
                    candidateBits.withUnsafeBufferPointer { bits in
                        matchedBits.withUnsafeMutableBufferPointer { matched in
                            if candidates.count * 16 < Int(m.docFreq), !table.skips[Int(t)].isEmpty {
                                var cursor = PostingCursor(start: m.start, tail: m.tail)
                                table.skips[Int(t)].withUnsafeBufferPointer { sk in
                                    for doc in candidates {
                                        guard let tf = cursor.seek(doc, pool, sk) else {
                                            if cursor.exhausted { break } else { continue }
                                        }
                                        let d = Int(doc)
                                        matched[d &>> 6] |= 1 &<< UInt64(d & 63)
                                        ac[d].score += idf * bm25.norm(tf, ac[d].length)
                                    }
                                }
                            } else {
                                TermTable.decode(pool, from: m.start, base: UInt32.max, tail: m.tail) { doc, tf in
                                    let d = Int(doc)
                                    let bit: UInt64 = 1 &<< UInt64(d & 63)
                                    if bits[d &>> 6] & bit != 0 {
                                        matched[d &>> 6] |= bit
                                        ac[d].score += idf * bm25.norm(tf, ac[d].length)
                                    }
                                    return true
                                }
                            }
                        }
                    }
                }
            }
            matchedBits.withUnsafeBufferPointer { Self.ascending($0, words64, into: &candidates) }
            swap(&candidateBits, &matchedBits)
        }

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
        acc.withUnsafeBufferPointer { ac in
            docTime.withUnsafeBufferPointer { times in
                for d in candidates {
                    let score = Double(ac[Int(d)].score)
                    if heap.count == k, k > 0, score < heap[0].score { continue }  // cannot enter
                    let h = Hit(document: d, score: score, createdAt: times[Int(d)])
                    if heap.count < k {
                        heap.append(h)
                        siftUp(heap.count - 1)
                    } else if k > 0, better(h, heap[0]) {
                        heap[0] = h
                        siftDown(0)
                    }
                }
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
        bytes += docConversation.capacity * 4 + docRole.capacity + docTime.capacity * 8
        bytes += docAlive.capacity * 8
        bytes += conversationIDs.capacity * 16 + conversationSlots.capacity * 20 * 4 / 3
        bytes += acc.capacity * MemoryLayout<DocState>.stride + (candidateBits.capacity + matchedBits.capacity) * 8
        return bytes
    }

    /// Terms in the dictionary.
    public var termCount: Int { table.termStart.count }
}


/// A seek point in a posting list: every `TermTable.skipInterval`-th posting's document,
/// its byte position in the pool and the document before it.
struct SkipEntry {
    var doc: UInt32
    var base: UInt32
    var offset: Int
}

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

/// One slot of `TermTable.slots`: the term's key, id + 1 (0 = empty), length.
struct TermSlot {
    var key = TermKey()
    var id: UInt32 = 0
    var length: UInt32 = 0
}

/// A term's slot key: its bytes packed when it has at most 16 (nearly every word), else
/// its 64-bit hash (the bytes then compared in the arena).
struct TermKey: Equatable {
    var low: UInt64 = 0
    var high: UInt64 = 0
}

/// The bytes every posting list lives in: one growable allocation of chunks, 8-byte
/// aligned. A list is a chain of chunks; each chunk keeps its last 5 bytes free for the
/// link to the next one (a 0 byte, which no posting starts with, then the next chunk's
/// position in 8-byte units). Appending touches the term's record and its tail only —
/// no per-term array to check and grow.
///
/// Positions are `Int`s; chunk positions are stored in 8-byte units in a `UInt32`, so
/// the pool holds up to 32 GiB of postings (some 10 billion).
final class PostingPool: @unchecked Sendable {
    // @unchecked: owned by one TermTable, confined like the SearchIndex that holds it.
    private(set) var base: UnsafeMutablePointer<UInt8>
    private(set) var capacity: Int
    /// Bytes handed out (the rest of `capacity` is reserved address space, untouched).
    private(set) var used = 0
    static let maxBytes = Int(UInt32.max) * 8

    init(capacity: Int = 1 << 16) {
        self.capacity = capacity
        base = malloc(capacity)!.assumingMemoryBound(to: UInt8.self)
    }

    deinit { free(base) }

    /// A fresh region of `size` bytes (a multiple of 8); `base` may move.
    @inline(__always)
    func allocate(_ size: Int) -> Int {
        let at = used
        if at + size > capacity { grow(to: at + size) }
        used = at + size
        return at
    }

    private func grow(to needed: Int) {
        precondition(needed <= Self.maxBytes, "search index: posting pool over 32 GiB")
        var c = capacity
        while c < needed { c += c / 2 }
        // glibc reallocs large (mmapped) blocks by remapping pages rather than copying.
        guard let p = realloc(base, c) else { fatalError("search index: out of memory growing the posting pool to \(c) bytes") }
        base = p.assumingMemoryBound(to: UInt8.self)
        capacity = c
    }
}

/// A term's posting list: where it starts, where the next posting goes, where its last
/// chunk's room ends, its last document and document frequency. 32 bytes, so two fit
/// one cache line.
struct TermPostings {
    var tail = 0
    var end = 0
    var lastDoc: UInt32 = 0
    var docFreq: UInt32 = 0
    /// The first chunk, in 8-byte units of the pool.
    var head: UInt32 = 0
    /// Occurrences in the document being indexed (0 outside `TermTable.index`).
    var pendingTF: UInt32 = 0
    var start: Int { Int(head) &<< 3 }
}

/// A forward cursor over one posting list, for intersecting it with ascending candidates.
struct PostingCursor {
    var pos: Int
    let tail: Int
    /// The document of the last posting read (-1 before the first).
    var doc = -1
    var tf: UInt32 = 0
    /// Skip entries already passed.
    var skip = 0
    init(start: Int, tail: Int) {
        pos = start
        self.tail = tail
    }
    var exhausted: Bool { pos == tail }

    /// The frequency in document `target` if the list holds it. Targets must ascend.
    @inline(__always)
    mutating func seek(_ target: UInt32, _ p: UnsafeMutablePointer<UInt8>, _ skips: UnsafeBufferPointer<SkipEntry>) -> UInt32? {
        let t = Int(target)
        if doc >= t { return doc == t ? tf : nil }
        if skip < skips.count, Int(skips[skip].doc) <= t {
            while skip + 1 < skips.count, Int(skips[skip + 1].doc) <= t { skip += 1 }
            let s = skips[skip]
            skip += 1
            if Int(s.doc) > doc {
                pos = s.offset
                doc = Int(s.base)
            }
        }
        while pos != tail {
            let (delta, f) = TermTable.readPosting(p, &pos)
            doc += Int(delta)
            tf = f
            if doc >= t { return doc == t ? tf : nil }
        }
        return nil
    }
}

/// The term dictionary and posting lists of a `SearchIndex`.
struct TermTable {
    var arena: [UInt8] = []
    var termStart: [UInt32] = []
    var termLength: [UInt8] = []
    /// Open-addressing hash table of the terms (linear probing, at most 70% full). A
    /// slot holds the term's key (`TermKey`) with its length, so a lookup of a word of up
    /// to 16 bytes touches its slot and nothing else.
    var slots = [TermSlot](repeating: TermSlot(), count: 1024)
    var meta: [TermPostings] = []
    var pool = PostingPool()
    var sortedTerms: [UInt32] = []
    var pendingTerms: [UInt32] = []
    /// Skip entries of long posting lists, every `skipInterval`-th posting.
    var skips: [[SkipEntry]] = []
    static let skipInterval: UInt32 = 128
    /// Per-document scratch: each word's key, hash, length and term; the bytes of words
    /// longer than 16 (shorter ones are their key); the distinct terms.
    struct Word {
        var key: TermKey
        var hash: Int
        var length: UInt32
        /// Where a long word's bytes start in `longWords`.
        var start: UInt32
        var term: UInt32 = 0
    }
    var words: [Word] = []
    var longWords: [UInt8] = []
    var local: [UInt32] = []

    /// Indexes `text` as document `doc`; returns its length in words.
    ///
    /// In passes — fold and hash every word, then look every word up, then count, then
    /// append — so the cache misses of one pass's independent loads (a slot, a term
    /// record, a list's tail per word) overlap instead of waiting on each other.
    mutating func index(_ doc: UInt32, _ text: String) -> Int {
        // The scratch arrays are moved out while in use (no copy: each stays unique), so
        // the passes run on raw pointers while `termID` may still grow the dictionary.
        var ws: [Word] = []
        var long: [UInt8] = []
        var uniq: [UInt32] = []
        swap(&ws, &words)
        swap(&long, &longWords)
        swap(&uniq, &local)
        defer {
            swap(&ws, &words)
            swap(&long, &longWords)
            swap(&uniq, &local)
        }
        ws.removeAll(keepingCapacity: true)
        long.removeAll(keepingCapacity: true)
        uniq.removeAll(keepingCapacity: true)
        TextFolding.forEachFoldedWord(in: text) { word in
            let w = UnsafeBufferPointer(rebasing: word.prefix(SearchIndex.maxTermBytes))
            let (key, hash) = Self.key(w)
            ws.append(Word(key: key, hash: hash, length: UInt32(w.count), start: UInt32(long.count)))
            if w.count > 16 { long.append(contentsOf: w) }
        }
        let n = ws.count
        ws.withUnsafeMutableBufferPointer { wp in
            long.withUnsafeBufferPointer { lb in
                for k in 0..<n {
                    let w = wp[k]
                    if w.length <= 16 {
                        var packed = (w.key.low.littleEndian, w.key.high.littleEndian)
                        wp[k].term = withUnsafeBytes(of: &packed) { raw in
                            termID(for: UnsafeBufferPointer(rebasing: raw.bindMemory(to: UInt8.self)[0..<Int(w.length)]), key: w.key, hash: w.hash)
                        }
                    } else {
                        wp[k].term = termID(for: UnsafeBufferPointer(rebasing: lb[Int(w.start)..<Int(w.start + w.length)]), key: w.key, hash: w.hash)
                    }
                }
            }
            meta.withUnsafeMutableBufferPointer { m in
                for k in 0..<n {
                    let t = Int(wp[k].term)
                    if m[t].pendingTF == 0 { uniq.append(UInt32(t)) }
                    m[t].pendingTF += 1
                }
            }
        }
        for t in uniq { appendPosting(Int(t), doc) }
        return n
    }

    /// Appends document `doc` (with the term's pending frequency) to term `t`'s list.
    @inline(__always)
    mutating func appendPosting(_ t: Int, _ doc: UInt32) {
        var m = meta[t]
        let tf = m.pendingTF
        m.pendingTF = 0
        let delta = m.docFreq == 0 ? doc &+ 1 : doc &- m.lastDoc  // the first posting stores doc + 1
        let need = delta < 0x80 && tf < 0x80 ? 2 : Self.varintSize(delta) + Self.varintSize(tf)
        if m.docFreq == 0 {
            let at = pool.allocate(16)
            m.head = UInt32(at &>> 3)
            m.tail = at
            m.end = at + 16 - 5
        } else if m.tail + need > m.end {
            let size = (max(16, min(4096, Int(m.docFreq) * 2)) + 7) & ~7
            let at = pool.allocate(size)
            let p = pool.base
            p[m.tail] = 0
            UnsafeMutableRawPointer(p + m.tail + 1).storeBytes(of: UInt32(at &>> 3), as: UInt32.self)
            m.tail = at
            m.end = at + size - 5
        }
        if m.docFreq % Self.skipInterval == 0, m.docFreq > 0 {
            skips[t].append(SkipEntry(doc: doc, base: m.lastDoc, offset: m.tail))
        }
        let p = pool.base
        if need == 2 {
            p[m.tail] = UInt8(truncatingIfNeeded: delta)
            p[m.tail + 1] = UInt8(truncatingIfNeeded: tf)
            m.tail += 2
        } else {
            Self.writeVarint(p, &m.tail, delta)
            Self.writeVarint(p, &m.tail, tf)
        }
        m.lastDoc = doc
        m.docFreq += 1
        meta[t] = m
    }

    // MARK: Varints

    @inline(__always)
    static func varintSize(_ v: UInt32) -> Int {
        v < 1 << 7 ? 1 : v < 1 << 14 ? 2 : v < 1 << 21 ? 3 : v < 1 << 28 ? 4 : 5
    }

    @inline(__always)
    static func appendVarint(_ a: inout [UInt8], _ v: UInt32) {
        var v = v
        while v >= 0x80 {
            a.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        a.append(UInt8(v))
    }

    @inline(__always)
    static func writeVarint(_ p: UnsafeMutablePointer<UInt8>, _ i: inout Int, _ v: UInt32) {
        var v = v
        while v >= 0x80 {
            p[i] = UInt8(truncatingIfNeeded: v) | 0x80
            i += 1
            v >>= 7
        }
        p[i] = UInt8(v)
        i += 1
    }

    /// One LEB128 varint at `i` (advanced past it).
    @inline(__always)
    static func readVarint(_ p: UnsafeMutablePointer<UInt8>, _ i: inout Int) -> UInt32 {
        var v: UInt32 = 0, shift: UInt32 = 0
        while true {
            let b = p[i]
            i += 1
            v |= UInt32(b & 0x7F) &<< shift
            if b < 0x80 { return v }
            shift += 7
        }
    }

    /// The (doc delta, tf) pair at `i`, following a chunk link first if one is there.
    @inline(__always)
    static func readPosting(_ p: UnsafeMutablePointer<UInt8>, _ i: inout Int) -> (UInt32, UInt32) {
        if p[i] == 0 { i = Int(UnsafeRawPointer(p + i + 1).loadUnaligned(as: UInt32.self)) &<< 3 }
        let b = p[i], c = p[i + 1]
        if (b | c) < 0x80 {
            i += 2
            return (UInt32(b), UInt32(c))
        }
        let delta = readVarint(p, &i)
        return (delta, readVarint(p, &i))
    }

    /// Decodes the postings from byte `start` (`base` = the document before it, or
    /// UInt32.max at a list's head) up to `tail`, while `body` returns true.
    @inline(__always)
    static func decode(
        _ p: UnsafeMutablePointer<UInt8>, from start: Int, base: UInt32, tail: Int, _ body: (UInt32, UInt32) -> Bool
    ) {
        var i = start
        var doc = base
        while i != tail {
            let (delta, tf) = readPosting(p, &i)
            doc = doc &+ delta
            if !body(doc, tf) { return }
        }
    }

    /// Every posting of term `t`.
    @inline(__always)
    func forEachPosting(_ t: Int, _ body: (UInt32, UInt32) -> Void) {
        let m = meta[t]
        Self.decode(pool.base, from: m.start, base: UInt32.max, tail: m.tail) { d, f in
            body(d, f)
            return true
        }
    }

    // MARK: Terms

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

    /// Bytes `0..<n` (n ≤ 8) of `p` as a little-endian integer, by at most two loads.
    @inline(__always)
    static func pack(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt64 {
        if n >= 4 {
            let lo = UInt64(UnsafeRawPointer(p).loadUnaligned(as: UInt32.self))
            let hi = UInt64(UnsafeRawPointer(p + n - 4).loadUnaligned(as: UInt32.self))
            return lo | hi &<< UInt64(8 * (n - 4))  // the overlap ORs equal bytes
        }
        if n == 0 { return 0 }
        let m = n &>> 1
        return UInt64(p[0]) | UInt64(p[m]) &<< UInt64(8 * m) | UInt64(p[n - 1]) &<< UInt64(8 * (n - 1))
    }

    /// A term's slot key and hash (see `slots`).
    @inline(__always)
    static func key(_ w: UnsafeBufferPointer<UInt8>) -> (key: TermKey, hash: Int) {
        let n = w.count
        guard n <= 16, let p = w.baseAddress else {
            let h = hash(w)
            return (TermKey(low: UInt64(bitPattern: Int64(h)), high: 0), h)
        }
        let k = n <= 8
            ? TermKey(low: pack(p, n), high: 0)
            : TermKey(low: UnsafeRawPointer(p).loadUnaligned(as: UInt64.self), high: pack(p + 8, n - 8))
        var h = (k.low ^ UInt64(n)) &* 0x9E37_79B9_7F4A_7C15
        h ^= h >> 29
        h = (h ^ k.high) &* 0xBF58_476D_1CE4_E5B9
        h ^= h >> 32
        return (k, Int(truncatingIfNeeded: h))
    }

    /// Whether slot `s` holds the term `w` (of key `key`).
    @inline(__always)
    func holds(_ s: TermSlot, _ w: UnsafeBufferPointer<UInt8>, _ key: TermKey) -> Bool {
        s.length == UInt32(w.count) && s.key == key && (w.count <= 16 || equals(Int(s.id - 1), w))
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

    /// The id of term `w` (of `key` and `hash`), added if new.
    mutating func termID(for w: UnsafeBufferPointer<UInt8>, key: TermKey, hash: Int) -> UInt32 {
        let mask = slots.count - 1
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
        meta.append(TermPostings())
        skips.append([])
        pendingTerms.append(t)
        if termStart.count * 10 > slots.count * 7 { growSlots() }
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

    /// Rewrites every posting list into a fresh pool, each as one exactly sized chunk,
    /// keeping only the documents `keep` accepts (document ids are kept).
    mutating func repack(keeping keep: (Int) -> Bool) {
        let old = pool
        let fresh = PostingPool(capacity: max(1 << 16, old.used))
        var out: [UInt8] = []
        for t in 0..<meta.count where meta[t].docFreq > 0 {
            out.removeAll(keepingCapacity: true)
            var prev: UInt32 = 0
            var df: UInt32 = 0
            var sk: [SkipEntry] = []
            var offsets: [Int] = []
            forEachPosting(t) { doc, tf in
                guard keep(Int(doc)) else { return }
                if df > 0, df % TermTable.skipInterval == 0 {
                    sk.append(SkipEntry(doc: doc, base: prev, offset: 0))
                    offsets.append(out.count)
                }
                Self.appendVarint(&out, df == 0 ? doc &+ 1 : doc &- prev)
                Self.appendVarint(&out, tf)
                prev = doc
                df += 1
            }
            var m = TermPostings()
            if df > 0 {
                let size = (out.count + 5 + 7) & ~7
                let at = fresh.allocate(size)
                out.withUnsafeBufferPointer { (fresh.base + at).update(from: $0.baseAddress!, count: $0.count) }
                for k in sk.indices { sk[k].offset = at + offsets[k] }
                m.head = UInt32(at &>> 3)
                m.tail = at + out.count
                m.end = at + size - 5
                m.lastDoc = prev
                m.docFreq = df
            }
            meta[t] = m
            skips[t] = sk
        }
        pool = fresh
    }

    /// Gives back the growth slack of the dictionary's arrays (see `compact` for the
    /// posting lists).
    mutating func shrinkToFit() {
        arena.shrinkToFit()
        meta.shrinkToFit()
    }

    var estimatedMemoryBytes: Int {
        var bytes = pool.used
        bytes += arena.capacity + termStart.capacity * 4 + termLength.capacity + slots.capacity * MemoryLayout<TermSlot>.stride
        bytes += meta.capacity * MemoryLayout<TermPostings>.stride
        bytes += (sortedTerms.capacity + pendingTerms.capacity + local.capacity) * 4
        bytes += words.capacity * MemoryLayout<Word>.stride + longWords.capacity
        for k in skips where k.capacity > 0 { bytes += k.capacity * MemoryLayout<SkipEntry>.stride + 48 }
        bytes += skips.capacity * 8
        return bytes
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
