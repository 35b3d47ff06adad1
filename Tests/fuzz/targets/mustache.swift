// libFuzzer target: the Mustache parser and renderer (ContextCore/Templates).
//
// Input: byte 0 picks the render options; the rest, split at 0xFF bytes, is
//   template source ‖ JSON context ‖ partial "name:source" ‖ partial ... .
// Properties:
//  - parsing either succeeds or throws invalidArgument (a malformed template);
//  - rendering either succeeds or throws limitExceeded (partialDepth, outputBytes,
//    renderSteps), notFound (strict partials) or invalidArgument (a malformed partial);
//  - output never exceeds maxOutputBytes; rendering is deterministic and `render` and
//    `renderBytes` agree;
//  - a template without "{{" renders as itself; every reported tag name occurs in the
//    source.
import ContextCore
import JSONCore

func isExpectedRenderError(_ e: DomainError) -> Bool {
    switch e {
    case .limitExceeded, .notFound, .invalidArgument: true
    default: false
    }
}

func containsBytes(_ hay: [UInt8], _ needle: [UInt8]) -> Bool {
    if needle.isEmpty { return true }
    if needle.count > hay.count { return false }
    for i in 0...(hay.count - needle.count) where hay[i] == needle[0] {
        if Array(hay[i..<(i + needle.count)]) == needle { return true }
    }
    return false
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMustache(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = inputBytes(data, size)
    guard let control = bytes.first else { return 0 }
    let parts = bytes.dropFirst().split(separator: 0xFF, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
    let source = parts[0]
    var context: JSONValue = ["name": "World", "items": [1, 2, 3], "flag": true, "nested": ["a": ["b": "<&>\"'"]], "empty": [], "zero": 0]
    if parts.count > 1, let v = try? JSONParser.parse(parts[1]) { context = v }
    var table: [String: String] = [:]
    for p in parts.dropFirst(2) {
        if let colon = p.firstIndex(of: ":") {
            table[String(p[..<colon])] = String(p[p.index(after: colon)...])
        } else {
            table[p] = p
        }
    }
    let options = MustacheRenderOptions(
        escapeHTML: control & 1 != 0,
        strictPartials: control & 2 != 0,
        maxPartialDepth: control & 4 != 0 ? 3 : 16,
        maxOutputBytes: control & 8 != 0 ? 256 : 1 << 20
    )

    let template: MustacheTemplate
    do {
        template = try MustacheTemplate(parsing: source)
    } catch {
        if case .invalidArgument = error {} else { require(false, "parse failed with \(error)") }
        return 0
    }
    for name in template.tagNames {
        // Byte-wise: a name may begin with a combining mark that joins the `{` before it.
        require(containsBytes(Array(source.utf8), Array(name.utf8)), "tag name '\(name)' does not occur in the source")
    }
    if !containsBytes(Array(source.utf8), Array("{{".utf8)) {
        do {
            let out = try MustacheRenderer.render(template, context: context, options: MustacheRenderOptions(maxOutputBytes: Int.max))
            require(out == source, "a template without tags did not render as itself")
        } catch {
            require(false, "a template without tags failed to render: \(error)")
        }
    }
    let first: [UInt8]
    do {
        first = try MustacheRenderer.renderBytes(template, context: context, options: options, partials: MustachePartialTable(table))
    } catch {
        require(isExpectedRenderError(error), "render failed with \(error)")
        return 0
    }
    require(first.count <= options.maxOutputBytes, "output of \(first.count) bytes over the \(options.maxOutputBytes) limit")
    do {
        let again = try MustacheRenderer.render(template, context: context, options: options, partials: MustachePartialTable(table))
        require(Array(again.utf8) == first, "rendering twice gave different output")
    } catch {
        require(false, "the second render failed: \(error)")
    }
    return 0
}
