import ContextCore
import JSONCore
import Testing

@Suite struct MustacheRendererTests {
    func render(_ template: String, _ data: JSONValue, options: MustacheRenderOptions = MustacheRenderOptions(),
                partials: [String: String] = [:]) throws -> String {
        try MustacheRenderer.render(MustacheTemplate(parsing: template), context: data, options: options, partials: MustachePartialTable(partials))
    }

    @Test func noEscapingByDefault() throws {
        #expect(try render("{{code}}", ["code": "if a < b && c > \"d\" { 'x' }"]) == "if a < b && c > \"d\" { 'x' }")
    }

    @Test func scalarsArraysAndObjectsInterpolate() throws {
        #expect(try render("{{t}} {{f}} {{n}} {{d}}", ["t": true, "f": false, "n": -3, "d": .number(JSONNumber(literal: "1.50"))]) == "true false -3 1.50")
        #expect(try render("{{a}}|{{o}}", ["a": [1, "x", nil], "o": ["k": "v", "n": [1]]]) == "[1,\"x\",null]|{\"k\":\"v\",\"n\":[1]}")
        #expect(try render("{{o}}", ["o": ["k": "<"]], options: MustacheRenderOptions(escapeHTML: true)) == "{&quot;k&quot;:&quot;&lt;&quot;}")
    }

    @Test func renderIsDeterministicAndSinglePass() throws {
        let data: JSONValue = ["a": "{{b}}", "b": "{{a}}", "c": "{{#x}}"]
        let first = try render("{{a}}{{b}}{{c}}", data)
        #expect(first == "{{b}}{{a}}{{#x}}")
        for _ in 0..<20 { #expect(try render("{{a}}{{b}}{{c}}", data) == first) }
    }

    @Test(arguments: [
        ("{{#a}}x", "unclosed section 'a'"),
        ("{{a", "unclosed tag"),
        ("{{#a}}x{{/b}}", "does not close section 'a'"),
        ("x{{/a}}", "without an open section"),
        ("{{}}", "empty tag name"),
        ("{{a b}}", "whitespace in tag name"),
        ("{{a..b}}", "malformed dotted name"),
        ("{{=<%=}}", "bad set-delimiter"),
        ("{{>}}", "empty partial name"),
        ("line1\nline2 {{#x}}", "line 2"),
    ])
    func malformedTemplatesAreRejected(_ source: String, _ fragment: String) {
        do {
            _ = try MustacheTemplate(parsing: source)
            Issue.record("expected an error for \(source)")
        } catch {
            guard case .invalidArgument(let field, let expected) = error else { Issue.record("\(error)"); return }
            #expect(field == "content")
            #expect(expected.contains(fragment), "\(expected)")
        }
    }

    @Test func tagNamesInOrderOfFirstUseOnceEach() throws {
        let t = try MustacheTemplate(parsing: "{{b}} {{#list}}{{name}}{{a.b}}{{/list}}{{^empty}}{{b}}{{/empty}}{{! no }}{{>part}}{{.}}{{&raw}}{{{tri}}}{{list}}")
        #expect(t.tagNames == ["b", "list", "name", "a.b", "empty", "raw", "tri"])
        #expect(t.rootVariables == ["b", "list", "empty", "raw", "tri"])
        #expect(t.nestedVariables == ["name", "a"])
        #expect(t.partialNames == ["part"])
    }

    @Test func tagNamesFollowDelimiterChanges() throws {
        let t = try MustacheTemplate(parsing: "{{a}}{{=<% %>=}}<%b%>{{c}}<%={{ }}=%>{{d}}")
        #expect(t.tagNames == ["a", "b", "d"])
    }

    @Test func missingPartialIsEmptyOrNotFoundWhenStrict() throws {
        #expect(try render("[{{>nope}}]", [:]) == "[]")
        #expect(throws: DomainError.notFound(kind: "template", id: "nope")) {
            try render("[{{>nope}}]", [:], options: MustacheRenderOptions(strictPartials: true))
        }
    }

    @Test func partialCycleHitsTheDepthLimit() {
        #expect(throws: DomainError.limitExceeded(limit: "partialDepth", max: 16, value: 17)) {
            try render("{{>a}}", [:], partials: ["a": "a{{>b}}", "b": "b{{>a}}"])
        }
        #expect(throws: DomainError.limitExceeded(limit: "partialDepth", max: 16, value: 17)) {
            try render("{{>self}}", [:], partials: ["self": "{{>self}}"])
        }
    }

    @Test func depthSixteenIsAllowedSeventeenIsNot() throws {
        var partials: [String: String] = [:]
        for i in 1...17 { partials["p\(i)"] = "\(i % 10){{>p\(i + 1)}}" }
        var ok = partials
        ok["p16"] = "6"
        #expect(try render("{{>p1}}", [:], partials: ok) == "1234567890123456")
        #expect(throws: DomainError.limitExceeded(limit: "partialDepth", max: 16, value: 17)) {
            try render("{{>p1}}", [:], partials: partials)
        }
    }

    @Test func outputLimit() throws {
        let options = MustacheRenderOptions(maxOutputBytes: 100)
        #expect(try render("{{#l}}0123456789{{/l}}", ["l": .array(Array(repeating: true, count: 10))], options: options).utf8.count == 100)
        #expect(throws: DomainError.limitExceeded(limit: "outputBytes", max: 100, value: 110)) {
            try render("{{#l}}0123456789{{/l}}", ["l": .array(Array(repeating: true, count: 11))], options: options)
        }
        #expect(throws: DomainError.limitExceeded(limit: "outputBytes", max: 100, value: 101)) {
            try render("{{v}}", ["v": .string(String(repeating: "x", count: 101))], options: options)
        }
    }

    @Test func defaultOutputLimitIsSixteenMiB() {
        // 17 × 1 MiB through a section: fails without building more than the limit.
        let mib = String(repeating: "x", count: 1 << 20)
        #expect(throws: DomainError.limitExceeded(limit: "outputBytes", max: 16 << 20, value: 17 << 20)) {
            try render("{{#l}}{{v}}{{/l}}", ["v": .string(mib), "l": .array(Array(repeating: true, count: 17))])
        }
    }

    @Test func sectionNestingIsBounded() throws {
        let ok = String(repeating: "{{#a}}", count: 256) + String(repeating: "{{/a}}", count: 256)
        #expect(try render(ok, ["a": true]) == "")
        let deep = String(repeating: "{{#a}}", count: 257) + String(repeating: "{{/a}}", count: 257)
        #expect(throws: DomainError.self) { try MustacheTemplate(parsing: deep) }
        let huge = String(repeating: "{{#a}}", count: 200_000)
        #expect(throws: DomainError.self) { try MustacheTemplate(parsing: huge) }
    }

    @Test func indentHelper() {
        #expect(MustacheTemplate.indent("a\nb\n", by: "  ") == "  a\n  b\n")
        #expect(MustacheTemplate.indent("a\n\nb", by: "\t") == "\ta\n\t\n\tb")
        #expect(MustacheTemplate.indent("", by: "  ") == "")
    }

    @Test func unicodeSurvives() throws {
        #expect(try render("¡{{a}}! — {{#l}}{{.}}{{/l}}", ["a": "héllo 👋", "l": ["日", "本"]]) == "¡héllo 👋! — 日本")
    }

    /// Regression (issue 9 review, confirmed against the binary): nested sections over a
    /// list multiply (10 items, 12 levels = 10^12 iterations) while writing nothing, so
    /// neither the output limit nor the partial depth stopped a render that held the
    /// domain queue for good. Section iterations are now bounded per render.
    @Test func nestedSectionsOverListsHitTheIterationLimit() throws {
        let bomb = String(repeating: "{{#a}}", count: 12) + String(repeating: "{{/a}}", count: 12)
        let data: JSONValue = ["a": .array((0..<10).map { .int($0) })]
        do {
            _ = try render(bomb, data)
            Issue.record("expected limitExceeded")
        } catch let e as DomainError {
            guard case .limitExceeded(let limit, let max, let value) = e else { Issue.record("got \(e)"); return }
            #expect(limit == "sectionIterations")
            #expect(max == MustacheRenderOptions().maxSectionIterations)
            #expect(value == max + 1)
        }
        // The same through partials that recurse through the data.
        do {
            _ = try render("{{>p}}", data, partials: ["p": "{{#a}}{{>p}}{{/a}}"])
            Issue.record("expected limitExceeded")
        } catch let e as DomainError {
            guard case .limitExceeded(let limit, _, _) = e else { Issue.record("got \(e)"); return }
            #expect(["sectionIterations", "partialDepth"].contains(limit))
        }
        // Ordinary list renders stay well inside the limit.
        var options = MustacheRenderOptions()
        options.maxSectionIterations = 1_000
        #expect(try render("{{#a}}{{.}}{{/a}}", data, options: options) == "0123456789")
        #expect(throws: DomainError.self) { try render("{{#a}}{{#a}}{{#a}}{{/a}}{{/a}}{{/a}}", data, options: options) }
    }
}
