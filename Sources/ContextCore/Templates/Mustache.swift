import JSONCore

// A Mustache engine (https://mustache.github.io/mustache.5.html), conformant to the
// mustache/spec areas interpolation, sections, inverted sections, comments, partials and
// set delimiters, standalone-line whitespace rules and partial indentation included.
//
// A template is parsed once into a tree (`MustacheTemplate`) that callers cache; a render
// walks the tree once, appending bytes to one output buffer. Substituted values are
// written as they are and never scanned for tags again, so a value can never inject a
// placeholder and output does not depend on any map order.
//
// Decisions where the specification leaves room (documented in protocol/README.md):
// - Falsey: a missing name, `null`, `false`, an empty array and an empty string.
//   Everything else (numbers, `0` included, objects, non-empty strings) is truthy.
// - Interpolating a number writes its JSON literal text; `true`/`false` for booleans;
//   `null` and missing names write nothing; arrays and objects write their compact JSON
//   text (iterate them with a section for any other shape).
// - Escaping is off by default (templates produce code and prompts); with `escapeHTML`,
//   `{{name}}` escapes `& < > " '` while `{{{name}}}` and `{{&name}}` never escape.
// - A leading dot (`{{.name}}`) resolves against the top of the context stack only.
// - Partial recursion that ends through the data (the spec's recursive `node` partial)
//   is allowed; any deeper nesting than `maxPartialDepth` — which is where every cycle
//   that does not end ends up — fails with `limitExceeded("partialDepth")`.

/// One parsed Mustache template: an immutable tree, safe to cache and share.
public final class MustacheTemplate: Sendable {
    /// The tree, flattened: plain-data instructions (no reference counting while
    /// rendering); a section's instruction holds the index just past its body.
    let ops: [MustacheOp]
    /// Every text node's bytes, concatenated; `.text` ops slice it.
    let text: [UInt8]
    /// Names referenced by `.variable` / `.section` / `.inverted` ops.
    let names: [MustacheName]
    /// Partials referenced by `.partial` ops.
    let partialRefs: [(name: String, indentation: String)]
    /// Distinct first segments of every name in the tree; `MustacheName.slot` indexes it.
    let slotNames: [String]
    /// Every tag name (variables, sections, inverted sections) as written, dotted names
    /// whole, in order of first use, once each; partials, comments and `.` excluded.
    public let tagNames: [String]
    /// First segments of names that resolve against the root context: tags outside any
    /// `{{#section}}` (inverted sections push nothing), in order of first use.
    public let rootVariables: [String]
    /// First segments of names used only inside a `{{#section}}` (they may name fields of
    /// the section's items), in order of first use.
    public let nestedVariables: [String]
    /// Names of the partials the template includes, in order of first use.
    public let partialNames: [String]

    /// The deepest section nesting a template may have.
    public static let maxSectionNesting = 256

    /// Parses `source`. Malformed templates (unclosed tags or sections, mismatched end
    /// tags, bad delimiters, empty names) throw `invalidArgument(field:, expected:)`.
    public init(parsing source: String, field: String = "content") throws(DomainError) {
        var parser = MustacheParser(source: Array(source.utf8), field: field)
        let nodes = try parser.parse()
        var compiler = MustacheCompiler()
        compiler.emit(nodes)
        ops = compiler.ops
        text = compiler.text
        names = compiler.names
        partialRefs = compiler.partials
        slotNames = parser.slotNames
        tagNames = parser.tagNames.ordered
        rootVariables = parser.rootNames.ordered
        nestedVariables = parser.nestedNames.ordered.filter { !parser.rootNames.contains($0) }
        partialNames = parser.partials.ordered
    }

    /// The spec's partial indentation: `indentation` prepended to every line of `source`
    /// (not after a final newline), applied before parsing.
    public static func indent(_ source: String, by indentation: String) -> String {
        if indentation.isEmpty || source.isEmpty { return source }
        let ind = Array(indentation.utf8)
        let src = Array(source.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(src.count + ind.count * 8)
        out.append(contentsOf: ind)
        for (i, b) in src.enumerated() {
            out.append(b)
            if b == UInt8(ascii: "\n"), i + 1 < src.count { out.append(contentsOf: ind) }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// A name in a tag: `.`, `name`, `a.b.c` or `.name`.
struct MustacheName: Sendable {
    /// As written (trimmed).
    let written: String
    /// Segments after the first (dotted names); each resolves against the previous value only.
    let rest: [String]
    /// The first segment; empty for `.` and `.name`.
    let first: String
    /// Index into `MustacheTemplate.slotNames` (root lookups), -1 for `.`/`.name`.
    let slot: Int
    /// `.` or a leading-dot name: resolve against the top of the stack only.
    let currentOnly: Bool
}

/// One flat instruction. Plain data only, so the render loop never retains or releases.
struct MustacheOp: Sendable {
    enum Kind: UInt8, Sendable { case text, variable, section, inverted, partial }
    var kind: Kind
    /// `.variable`: HTML-escape when escaping is on (`{{x}}`, not `{{{x}}}`/`{{&x}}`).
    var escapes = false
    /// `.text`: offset in `text`; `.variable`/`.section`/`.inverted`: index in `names`;
    /// `.partial`: index in `partialRefs`.
    var a = 0
    /// `.text`: length; `.section`/`.inverted`: index of the first op after the body.
    var b = 0
}

struct MustacheCompiler {
    var ops: [MustacheOp] = []
    var text: [UInt8] = []
    var names: [MustacheName] = []
    var partials: [(name: String, indentation: String)] = []

    mutating func emit(_ nodes: [MustacheNode]) {
        for node in nodes {
            switch node {
            case .text(let bytes):
                ops.append(MustacheOp(kind: .text, a: text.count, b: bytes.count))
                text.append(contentsOf: bytes)
            case .variable(let name, let escapes):
                names.append(name)
                ops.append(MustacheOp(kind: .variable, escapes: escapes, a: names.count - 1))
            case .section(let name, let children, let inverted):
                names.append(name)
                let at = ops.count
                ops.append(MustacheOp(kind: inverted ? .inverted : .section, a: names.count - 1))
                emit(children)
                ops[at].b = ops.count
            case .partial(let name, let indentation):
                partials.append((name, indentation))
                ops.append(MustacheOp(kind: .partial, a: partials.count - 1))
            }
        }
    }
}

enum MustacheNode: Sendable {
    case text([UInt8])
    case variable(MustacheName, escapes: Bool)
    case section(MustacheName, [MustacheNode], inverted: Bool)
    case partial(name: String, indentation: String)
}

/// Names in order of first use, once each.
struct OrderedNames {
    private(set) var ordered: [String] = []
    private var seen: Set<String> = []
    mutating func add(_ s: String) {
        if seen.insert(s).inserted { ordered.append(s) }
    }
    func contains(_ s: String) -> Bool { seen.contains(s) }
}

struct MustacheParser {
    let src: [UInt8]
    let field: String
    var open: [UInt8] = Array("{{".utf8)
    var close: [UInt8] = Array("}}".utf8)
    var slotNames: [String] = []
    var slotIndex: [String: Int] = [:]
    var tagNames = OrderedNames()
    var rootNames = OrderedNames()
    var nestedNames = OrderedNames()
    var partials = OrderedNames()

    init(source: [UInt8], field: String) {
        src = source
        self.field = field
    }

    private struct Frame {
        var name: MustacheName?
        var inverted = false
        var nodes: [MustacheNode] = []
        var tagStart = 0
    }

    private func fail(_ what: String, at offset: Int) -> DomainError {
        var line = 1
        for b in src[..<min(offset, src.count)] where b == UInt8(ascii: "\n") { line += 1 }
        return .invalidArgument(field: field, expected: "a valid Mustache template (\(what) at line \(line))")
    }

    private func find(_ needle: [UInt8], from start: Int) -> Int? {
        let n = src.count, m = needle.count
        guard m > 0, n >= m else { return nil }
        let first = needle[0]
        var i = start
        while i <= n - m {
            if src[i] == first {
                var k = 1
                while k < m, src[i + k] == needle[k] { k += 1 }
                if k == m { return i }
            }
            i += 1
        }
        return nil
    }

    private static func isBlank(_ b: UInt8) -> Bool { b == 32 || b == 9 }
    private static func isSpace(_ b: UInt8) -> Bool { b == 32 || b == 9 || b == 10 || b == 13 || b == 12 || b == 11 }

    private func trimmed(_ from: Int, _ to: Int) -> String {
        var a = from, b = to
        while a < b, Self.isSpace(src[a]) { a += 1 }
        while b > a, Self.isSpace(src[b - 1]) { b -= 1 }
        return String(decoding: src[a..<b], as: UTF8.self)
    }

    /// Depth of enclosing non-inverted sections.
    private var sectionDepth = 0

    private mutating func makeName(_ written: String, at offset: Int) throws(DomainError) -> MustacheName {
        guard !written.isEmpty else { throw fail("empty tag name", at: offset) }
        if written.utf8.contains(where: Self.isSpace) { throw fail("whitespace in tag name '\(written)'", at: offset) }
        if written == "." {
            return MustacheName(written: ".", rest: [], first: "", slot: -1, currentOnly: true)
        }
        var parts = written.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        var currentOnly = false
        if parts.first == "" {
            currentOnly = true
            parts.removeFirst()
        }
        if parts.isEmpty || parts.contains("") { throw fail("malformed dotted name '\(written)'", at: offset) }
        tagNames.add(written)
        if currentOnly {
            return MustacheName(written: written, rest: Array(parts.dropFirst()), first: parts[0], slot: -1, currentOnly: true)
        }
        let first = parts[0]
        if sectionDepth == 0 { rootNames.add(first) } else { nestedNames.add(first) }
        let slot: Int
        if let s = slotIndex[first] {
            slot = s
        } else {
            slot = slotNames.count
            slotIndex[first] = slot
            slotNames.append(first)
        }
        return MustacheName(written: written, rest: Array(parts.dropFirst()), first: first, slot: slot, currentOnly: false)
    }

    mutating func parse() throws(DomainError) -> [MustacheNode] {
        var frames = [Frame()]
        var pos = 0
        var textStart = 0
        let n = src.count

        func appendText(_ a: Int, _ b: Int, to frames: inout [Frame]) {
            if b > a { frames[frames.count - 1].nodes.append(.text(Array(src[a..<b]))) }
        }

        while true {
            guard let tagStart = find(open, from: pos) else {
                appendText(textStart, n, to: &frames)
                break
            }
            var p = tagStart + open.count
            var sigil: UInt8 = 0
            if p < n {
                switch src[p] {
                case UInt8(ascii: "#"), UInt8(ascii: "^"), UInt8(ascii: "/"), UInt8(ascii: ">"), UInt8(ascii: "!"),
                    UInt8(ascii: "&"), UInt8(ascii: "{"), UInt8(ascii: "="):
                    sigil = src[p]
                    p += 1
                default: break
                }
            }
            let closer: [UInt8]
            switch sigil {
            case UInt8(ascii: "{"): closer = [UInt8(ascii: "}")] + close
            case UInt8(ascii: "="): closer = [UInt8(ascii: "=")] + close
            default: closer = close
            }
            guard let contentEnd = find(closer, from: p) else { throw fail("unclosed tag", at: tagStart) }
            let tagEnd = contentEnd + closer.count
            let content = trimmed(p, contentEnd)

            // Standalone: a section, inverted, end, partial, comment or delimiter tag alone
            // on its line (only blanks around it) takes the whole line with it.
            var standalone = false
            var lineStart = tagStart
            var next = tagEnd
            switch sigil {
            case UInt8(ascii: "#"), UInt8(ascii: "^"), UInt8(ascii: "/"), UInt8(ascii: ">"), UInt8(ascii: "!"), UInt8(ascii: "="):
                var ls = tagStart
                while ls > textStart, Self.isBlank(src[ls - 1]) { ls -= 1 }
                // The char before the blanks is a newline (or the start): never another tag,
                // since delimiters cannot end in a newline.
                let leftOK = ls == 0 || src[ls - 1] == UInt8(ascii: "\n")
                if leftOK {
                    var r = tagEnd
                    while r < n, Self.isBlank(src[r]) { r += 1 }
                    if r == n {
                        standalone = true
                        next = n
                    } else if src[r] == UInt8(ascii: "\n") {
                        standalone = true
                        next = r + 1
                    } else if src[r] == UInt8(ascii: "\r"), r + 1 < n, src[r + 1] == UInt8(ascii: "\n") {
                        standalone = true
                        next = r + 2
                    }
                    if standalone { lineStart = ls }
                }
            default: break
            }
            appendText(textStart, lineStart, to: &frames)

            switch sigil {
            case UInt8(ascii: "!"):
                break
            case UInt8(ascii: "="):
                let parts = content.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" })
                guard parts.count == 2, !parts[0].contains("="), !parts[1].contains("=") else {
                    throw fail("bad set-delimiter tag '\(content)'", at: tagStart)
                }
                open = Array(parts[0].utf8)
                close = Array(parts[1].utf8)
            case UInt8(ascii: "#"), UInt8(ascii: "^"):
                let name = try makeName(content, at: tagStart)
                // Rendering recurses per level: bound the nesting so no template can
                // exhaust the stack.
                guard frames.count <= MustacheTemplate.maxSectionNesting else {
                    throw fail("sections nested deeper than \(MustacheTemplate.maxSectionNesting)", at: tagStart)
                }
                frames.append(Frame(name: name, inverted: sigil == UInt8(ascii: "^"), nodes: [], tagStart: tagStart))
                if sigil == UInt8(ascii: "#") { sectionDepth += 1 }
            case UInt8(ascii: "/"):
                guard frames.count > 1, let name = frames[frames.count - 1].name else {
                    throw fail("end tag '\(content)' without an open section", at: tagStart)
                }
                guard name.written == content else {
                    throw fail("end tag '\(content)' does not close section '\(name.written)'", at: tagStart)
                }
                let frame = frames.removeLast()
                if !frame.inverted { sectionDepth -= 1 }
                frames[frames.count - 1].nodes.append(.section(name, frame.nodes, inverted: frame.inverted))
            case UInt8(ascii: ">"):
                guard !content.isEmpty else { throw fail("empty partial name", at: tagStart) }
                partials.add(content)
                let indentation = standalone ? String(decoding: src[lineStart..<tagStart], as: UTF8.self) : ""
                frames[frames.count - 1].nodes.append(.partial(name: content, indentation: indentation))
            default:
                let name = try makeName(content, at: tagStart)
                frames[frames.count - 1].nodes.append(.variable(name, escapes: sigil == 0))
            }
            pos = next
            textStart = next
        }
        if frames.count > 1, let name = frames[frames.count - 1].name {
            throw fail("unclosed section '\(name.written)'", at: frames[frames.count - 1].tagStart)
        }
        return frames[0].nodes
    }
}

/// Supplies partials by name. `indentation` is the whitespace before a standalone partial
/// tag; the resolver returns the partial's source indented by it (see
/// `MustacheTemplate.indent`), parsed — and should cache the result.
public protocol MustachePartialResolver {
    /// The parsed partial, or nil when no template has that name.
    func partial(named name: String, indentation: String) throws(DomainError) -> MustacheTemplate?
}

/// Partials from a fixed name → source table, parsed once per (name, indentation).
public final class MustachePartialTable: MustachePartialResolver, @unchecked Sendable {
    // @unchecked: the cache is only touched by the one thread rendering with it.
    private let sources: [String: String]
    private var cache: [String: MustacheTemplate] = [:]
    public init(_ sources: [String: String]) { self.sources = sources }
    public func partial(named name: String, indentation: String) throws(DomainError) -> MustacheTemplate? {
        let key = indentation + "\u{0}" + name
        if let t = cache[key] { return t }
        guard let src = sources[name] else { return nil }
        let t = try MustacheTemplate(parsing: MustacheTemplate.indent(src, by: indentation), field: "partials.\(name)")
        cache[key] = t
        return t
    }
}

/// Options for one render.
public struct MustacheRenderOptions: Sendable {
    /// Escape `& < > " '` in `{{name}}` tags (never in `{{{name}}}` / `{{&name}}`).
    public var escapeHTML = false
    /// A missing partial throws `notFound(kind: "template")` instead of rendering empty.
    public var strictPartials = false
    public var maxPartialDepth = 16
    public var maxOutputBytes = 16 << 20
    /// Section iterations (one per item of a list, one per truthy value) and partial
    /// inclusions one render may make. Bounds the work of renders that write little or
    /// nothing (nested sections over lists multiply: `{{#a}}{{#a}}…{{/a}}{{/a}}`).
    /// Over it: `limitExceeded("sectionIterations")`.
    public var maxSectionIterations = 1_000_000
    public init(escapeHTML: Bool = false, strictPartials: Bool = false, maxPartialDepth: Int = 16, maxOutputBytes: Int = 16 << 20) {
        self.escapeHTML = escapeHTML
        self.strictPartials = strictPartials
        self.maxPartialDepth = maxPartialDepth
        self.maxOutputBytes = maxOutputBytes
    }
}

/// Renders parsed templates against a JSON context in one pass.
public enum MustacheRenderer {
    /// Renders `template` with `context` at the bottom of the context stack.
    /// Throws `limitExceeded("partialDepth")`, `limitExceeded("outputBytes")`, or with
    /// `strictPartials` `notFound(kind: "template")` for a missing partial.
    public static func render(
        _ template: MustacheTemplate, context: JSONValue, options: MustacheRenderOptions = MustacheRenderOptions(),
        partials: (any MustachePartialResolver)? = nil
    ) throws(DomainError) -> String {
        var run = MustacheRun(options: options, partials: partials, root: context, capacity: template.text.count * 2)
        defer { run.out.free() }
        try run.renderTemplate(template)
        return String(decoding: run.out.bytes, as: UTF8.self)
    }

    /// Same as `render`, returning UTF-8 bytes.
    public static func renderBytes(
        _ template: MustacheTemplate, context: JSONValue, options: MustacheRenderOptions = MustacheRenderOptions(),
        partials: (any MustachePartialResolver)? = nil
    ) throws(DomainError) -> [UInt8] {
        var run = MustacheRun(options: options, partials: partials, root: context, capacity: template.text.count * 2)
        defer { run.out.free() }
        try run.renderTemplate(template)
        return Array(run.out.bytes)
    }
}

/// The output of one render: a growable byte buffer with manual memory, so the many
/// small appends of a render cost a bounds check and a copy each. Freed by its owner.
struct OutputBuffer {
    private(set) var base: UnsafeMutablePointer<UInt8>
    private(set) var count = 0
    private var capacity: Int

    init(capacity: Int) {
        self.capacity = max(capacity, 256)
        base = .allocate(capacity: self.capacity)
    }

    func free() { base.deallocate() }

    var bytes: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(start: base, count: count) }

    @inline(__always)
    mutating func append(_ source: UnsafePointer<UInt8>?, _ n: Int) {
        guard n > 0, let source else { return }
        if count + n > capacity { grow(count + n) }
        (base + count).update(from: source, count: n)
        count += n
    }

    @inline(__always)
    mutating func append(_ byte: UInt8) {
        if count == capacity { grow(count + 1) }
        base[count] = byte
        count += 1
    }

    mutating func append(_ s: String) {
        var s = s
        s.withUTF8 { u in append(u.baseAddress, u.count) }
    }

    private mutating func grow(_ needed: Int) {
        let newCapacity = Swift.max(capacity * 2, needed)
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        p.update(from: base, count: count)
        base.deallocate()
        base = p
        capacity = newCapacity
    }
}

struct MustacheRun {
    var out: OutputBuffer
    var stack: [JSONValue]
    let root: JSONObject?
    let options: MustacheRenderOptions
    let partials: (any MustachePartialResolver)?
    var depth = 0
    /// Section iterations and partial inclusions so far (see `maxSectionIterations`).
    var iterations = 0

    @inline(__always)
    mutating func countIteration() throws(DomainError) {
        iterations += 1
        if iterations > options.maxSectionIterations {
            throw .limitExceeded(limit: "sectionIterations", max: options.maxSectionIterations, value: iterations)
        }
    }

    init(options: MustacheRenderOptions, partials: (any MustachePartialResolver)?, root: JSONValue, capacity: Int) {
        out = OutputBuffer(capacity: capacity)
        self.options = options
        self.partials = partials
        stack = [root]
        stack.reserveCapacity(16)
        if case .object(let o) = root { self.root = o } else { self.root = nil }
    }

    mutating func renderTemplate(_ t: MustacheTemplate) throws(DomainError) {
        // Resolve every first segment against the root object once per (template, entry).
        var slots = [JSONValue?](repeating: nil, count: t.slotNames.count)
        if let root {
            for (i, name) in t.slotNames.enumerated() { slots[i] = root[name] }
        }
        try t.ops.withUnsafeBufferPointer { ops throws(DomainError) in
            try t.text.withUnsafeBufferPointer { text throws(DomainError) in
                try t.names.withUnsafeBufferPointer { names throws(DomainError) in
                    try slots.withUnsafeBufferPointer { slots throws(DomainError) in
                        let code = Code(ops: ops, text: text, names: names, slots: slots, template: t)
                        try run(code, 0, ops.count)
                    }
                }
            }
        }
    }

    /// One template's instructions and tables, borrowed for the duration of a render.
    struct Code {
        let ops: UnsafeBufferPointer<MustacheOp>
        let text: UnsafeBufferPointer<UInt8>
        let names: UnsafeBufferPointer<MustacheName>
        let slots: UnsafeBufferPointer<JSONValue?>
        unowned(unsafe) let template: MustacheTemplate
    }

    @inline(__always)
    private static func lookup(_ namePointer: UnsafePointer<MustacheName>, _ slots: UnsafeBufferPointer<JSONValue?>, _ stack: [JSONValue]) -> JSONValue? {
        var value: JSONValue?
        if namePointer.pointee.currentOnly {
            guard let top = stack.last else { return nil }
            if namePointer.pointee.first.isEmpty { return top }
            guard case .object(let o) = top else { return nil }
            value = o[namePointer.pointee.first]
        } else {
            let found = stack.withUnsafeBufferPointer { frames -> JSONValue? in
                var i = frames.count - 1
                while i >= 1 {
                    if case .object(let o) = frames[i], let v = o[namePointer.pointee.first] { return v }
                    i -= 1
                }
                return nil
            }
            value = found ?? slots[namePointer.pointee.slot]
        }
        if namePointer.pointee.rest.isEmpty { return value }
        for part in namePointer.pointee.rest {
            guard case .object(let o)? = value, let v = o[part] else { return nil }
            value = v
        }
        return value
    }

    @inline(__always)
    private static func isFalsey(_ v: JSONValue?) -> Bool {
        switch v {
        case nil, .null?, .bool(false)?: true
        case .array(let a)?: a.isEmpty
        case .string(let s)?: s.isEmpty
        default: false
        }
    }

    @inline(__always)
    private mutating func reserve(_ count: Int) throws(DomainError) {
        let total = out.count + count
        if total > options.maxOutputBytes {
            throw .limitExceeded(limit: "outputBytes", max: options.maxOutputBytes, value: total)
        }
    }

    private mutating func appendText(_ s: String, escaping: Bool) throws(DomainError) {
        let u = s.utf8
        if !escaping {
            try reserve(u.count)
            out.append(s)
            return
        }
        var extra = 0
        for b in u {
            switch b {
            case UInt8(ascii: "&"), UInt8(ascii: "'"): extra += 4
            case UInt8(ascii: "<"), UInt8(ascii: ">"): extra += 3
            case UInt8(ascii: "\""): extra += 5
            default: break
            }
        }
        try reserve(u.count + extra)
        if extra == 0 {
            out.append(s)
            return
        }
        for b in u {
            switch b {
            case UInt8(ascii: "&"): out.append("&amp;")
            case UInt8(ascii: "<"): out.append("&lt;")
            case UInt8(ascii: ">"): out.append("&gt;")
            case UInt8(ascii: "\""): out.append("&quot;")
            case UInt8(ascii: "'"): out.append("&#39;")
            default: out.append(b)
            }
        }
    }

    private mutating func append(_ value: JSONValue, escaping: Bool) throws(DomainError) {
        switch value {
        case .null: return
        case .string(let s): try appendText(s, escaping: escaping)
        case .bool(let b): try appendText(b ? "true" : "false", escaping: false)
        case .number(let n): try appendText(n.text, escaping: false)
        case .array, .object: try appendText(JSONWriter.string(value), escaping: escaping)
        }
    }

    private mutating func run(_ code: Code, _ from: Int, _ to: Int) throws(DomainError) {
        var pc = from
        while pc < to {
            let op = code.ops[pc]
            switch op.kind {
            case .text:
                try reserve(op.b)
                out.append(code.text.baseAddress.map { $0 + op.a }, op.b)
                pc += 1
            case .variable:
                if let v = Self.lookup(code.names.baseAddress! + op.a, code.slots, stack) { try append(v, escaping: op.escapes && options.escapeHTML) }
                pc += 1
            case .inverted:
                if Self.isFalsey(Self.lookup(code.names.baseAddress! + op.a, code.slots, stack)) {
                    try countIteration()
                    try run(code, pc + 1, op.b)
                }
                pc = op.b
            case .section:
                let v = Self.lookup(code.names.baseAddress! + op.a, code.slots, stack)
                if let v, !Self.isFalsey(v) {
                    if case .array(let items) = v {
                        try items.withUnsafeBufferPointer { (elements) throws(DomainError) in
                            for k in elements.indices {
                                try countIteration()
                                stack.append(elements[k])
                                try run(code, pc + 1, op.b)
                                stack.removeLast()
                            }
                        }
                    } else {
                        try countIteration()
                        stack.append(v)
                        try run(code, pc + 1, op.b)
                        stack.removeLast()
                    }
                }
                pc = op.b
            case .partial:
                let ref = code.template.partialRefs[op.a]
                pc += 1
                guard let partials, let t = try partials.partial(named: ref.name, indentation: ref.indentation) else {
                    if options.strictPartials { throw .notFound(kind: "template", id: ref.name) }
                    continue
                }
                if depth + 1 > options.maxPartialDepth {
                    throw .limitExceeded(limit: "partialDepth", max: options.maxPartialDepth, value: depth + 1)
                }
                try countIteration()
                depth += 1
                try renderTemplate(t)
                depth -= 1
            }
        }
    }
}
