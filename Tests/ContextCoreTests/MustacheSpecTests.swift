import ContextCore
import JSONCore
import Testing

/// The project's own case table for the six areas of the Mustache specification
/// (interpolation, sections, inverted sections, comments, partials, set delimiters),
/// written from the rules of mustache/spec. Every case renders with HTML escaping on,
/// as the specification assumes; `MustacheRendererTests` covers contextd's default of
/// no escaping.
struct SpecCase: CustomTestStringConvertible, Sendable {
    let area: String
    let name: String
    let data: JSONValue
    let template: String
    let partials: [String: String]
    let expected: String
    var testDescription: String { "\(area): \(name)" }

    init(_ area: String, _ name: String, _ data: JSONValue, _ template: String, _ expected: String, partials: [String: String] = [:]) {
        self.area = area
        self.name = name
        self.data = data
        self.template = template
        self.partials = partials
        self.expected = expected
    }
}

let interpolationCases: [SpecCase] = [
    SpecCase("interpolation", "plain text passes through", [:], "Hi {Mustache} }} {\n", "Hi {Mustache} }} {\n"),
    SpecCase("interpolation", "basic", ["who": "moon"], "Hello, {{who}}!\n", "Hello, moon!\n"),
    SpecCase("interpolation", "escaped when escaping is on", ["s": "a & \"b\" <c> 'd'"], "{{s}}", "a &amp; &quot;b&quot; &lt;c&gt; &#39;d&#39;"),
    SpecCase("interpolation", "triple mustache never escapes", ["s": "& \" < >"], "{{{s}}}", "& \" < >"),
    SpecCase("interpolation", "ampersand never escapes", ["s": "& \" < >"], "{{&s}}", "& \" < >"),
    SpecCase("interpolation", "integer", ["n": 42], "\"{{n}} km\"", "\"42 km\""),
    SpecCase("interpolation", "integer, triple", ["n": 42], "{{{n}}}", "42"),
    SpecCase("interpolation", "integer, ampersand", ["n": 42], "{{&n}}", "42"),
    SpecCase("interpolation", "decimal", ["x": .number(JSONNumber(literal: "2.5"))], "{{x}}!", "2.5!"),
    SpecCase("interpolation", "decimal, triple", ["x": .number(JSONNumber(literal: "0.75"))], "{{{x}}}", "0.75"),
    SpecCase("interpolation", "decimal, ampersand", ["x": .number(JSONNumber(literal: "0.75"))], "{{&x}}", "0.75"),
    SpecCase("interpolation", "null is empty", ["v": nil], "[{{v}}]", "[]"),
    SpecCase("interpolation", "null is empty, triple", ["v": nil], "[{{{v}}}]", "[]"),
    SpecCase("interpolation", "null is empty, ampersand", ["v": nil], "[{{&v}}]", "[]"),
    SpecCase("interpolation", "context miss is empty", [:], "I ({{nope}}) see", "I () see"),
    SpecCase("interpolation", "context miss, triple", [:], "I ({{{nope}}}) see", "I () see"),
    SpecCase("interpolation", "context miss, ampersand", [:], "I ({{&nope}}) see", "I () see"),
    SpecCase("interpolation", "dotted name equals section form", ["p": ["n": "Ann"]], "{{p.n}}={{#p}}{{n}}{{/p}}", "Ann=Ann"),
    SpecCase("interpolation", "dotted name, triple", ["p": ["n": "<b>"]], "{{{p.n}}}", "<b>"),
    SpecCase("interpolation", "dotted name, ampersand", ["p": ["n": "<b>"]], "{{&p.n}}", "<b>"),
    SpecCase("interpolation", "dotted name, arbitrary depth", ["a": ["b": ["c": ["d": ["e": "deep"]]]]], "{{a.b.c.d.e}}", "deep"),
    SpecCase("interpolation", "dotted name, broken chain", ["a": [:]], "[{{a.b.c}}]", "[]"),
    SpecCase("interpolation", "dotted name parts resolve only against their parent", ["a": ["b": [:]], "c": ["n": "X"]], "[{{a.b.c.n}}]", "[]"),
    SpecCase("interpolation", "dotted name, first part resolves up the stack",
             ["a": ["b": ["c": "inner"]], "b": ["c": "outer"]], "{{#a}}{{b.c}}{{/a}}", "inner"),
    SpecCase("interpolation", "dotted name, context precedence (no fallback after first part)",
             ["a": ["b": [:]], "b": ["c": "WRONG"]], "[{{#a}}{{b.c}}{{/a}}]", "[]"),
    SpecCase("interpolation", "dotted names are never single keys", ["a.b": "WRONG"], "[{{a.b}}]", "[]"),
    SpecCase("interpolation", "dotted name does not mask with the outer context", ["a": ["b": "ok"]], "{{#a}}{{a.b}}{{/a}}", "ok"),
    SpecCase("interpolation", "leading dot resolves in the current scope only",
             ["a": [:], "b": ["n": "Yes"], "n": "No"], "{{#a}}{{.n}}{{/a}}{{#b}}{{.n}}{{/b}}", "Yes"),
    SpecCase("interpolation", "implicit iterator on a string root", "world", "Hello, {{.}}!", "Hello, world!"),
    SpecCase("interpolation", "implicit iterator escapes", "<&>", "{{.}}", "&lt;&amp;&gt;"),
    SpecCase("interpolation", "implicit iterator, triple", "<&>", "{{{.}}}", "<&>"),
    SpecCase("interpolation", "implicit iterator, ampersand", "<&>", "{{&.}}", "<&>"),
    SpecCase("interpolation", "implicit iterator, integer", 85, "\"{{.}} mph\"", "\"85 mph\""),
    SpecCase("interpolation", "surrounding whitespace kept", ["s": "-"], "| {{s}} |", "| - |"),
    SpecCase("interpolation", "surrounding whitespace kept, triple", ["s": "-"], "| {{{s}}} |", "| - |"),
    SpecCase("interpolation", "surrounding whitespace kept, ampersand", ["s": "-"], "| {{&s}} |", "| - |"),
    SpecCase("interpolation", "never standalone", ["s": "-"], "  {{s}}\n", "  -\n"),
    SpecCase("interpolation", "never standalone, triple", ["s": "-"], "  {{{s}}}\n", "  -\n"),
    SpecCase("interpolation", "never standalone, ampersand", ["s": "-"], "  {{&s}}\n", "  -\n"),
    SpecCase("interpolation", "padding inside tag ignored", ["s": "-"], "|{{ s }}|", "|-|"),
    SpecCase("interpolation", "padding inside triple ignored", ["s": "-"], "|{{{ s }}}|", "|-|"),
    SpecCase("interpolation", "padding inside ampersand ignored", ["s": "-"], "|{{& s }}|", "|-|"),
    SpecCase("interpolation", "values are not re-scanned", ["a": "{{b}}", "b": "X"], "{{a}}", "{{b}}"),
]

let sectionCases: [SpecCase] = [
    SpecCase("sections", "truthy renders", ["b": true], "\"{{#b}}yes{{/b}}\"", "\"yes\""),
    SpecCase("sections", "falsey omitted", ["b": false], "\"{{#b}}yes{{/b}}\"", "\"\""),
    SpecCase("sections", "null is falsey", ["b": nil], "\"{{#b}}yes{{/b}}\"", "\"\""),
    SpecCase("sections", "object is pushed", ["c": ["n": "Joe"]], "{{#c}}Hi {{n}}.{{/c}}", "Hi Joe."),
    SpecCase("sections", "names missing in the top frame come from parents",
             ["a": "foo", "b": "wrong", "sec": ["b": "bar"], "c": ["d": "baz"]], "{{#sec}}{{a}}, {{b}}, {{c.d}}{{/sec}}", "foo, bar, baz"),
    SpecCase("sections", "string value is the top of the stack", ["foo": "bar"], "{{#foo}}{{.}} is {{foo}}{{/foo}}", "bar is bar"),
    SpecCase("sections", "list frames stay visible in nested lists",
             ["tops": [["t": ["u": "A", "l": "a"], "mids": [["m": "1", "bots": [["b": "x"], ["b": "y"]]]]]]],
             "{{#tops}}{{#mids}}{{t.l}}{{m}}.{{#bots}}{{t.u}}{{m}}{{b}}.{{/bots}}{{/mids}}{{/tops}}", "a1.A1x.A1y."),
    SpecCase("sections", "deeply nested contexts",
             ["a": ["one": 1], "b": ["two": 2], "c": ["three": 3, "d": ["four": 4, "five": 5]]],
             "{{#a}}\n{{one}}\n{{#b}}\n{{one}}{{two}}{{one}}\n{{#c}}\n{{one}}{{two}}{{three}}{{two}}{{one}}\n{{#d}}\n{{one}}{{two}}{{three}}{{four}}{{three}}{{two}}{{one}}\n{{#five}}\n{{one}}{{two}}{{three}}{{four}}{{.}}6{{.}}{{four}}{{three}}{{two}}{{one}}\n{{/five}}\n{{/d}}\n{{/c}}\n{{/b}}\n{{/a}}\n",
             "1\n121\n12321\n1234321\n12345654321\n"),
    SpecCase("sections", "list iterates", ["l": [["i": 1], ["i": 2], ["i": 3]]], "\"{{#l}}{{i}}{{/l}}\"", "\"123\""),
    SpecCase("sections", "empty list is falsey", ["l": []], "\"{{#l}}x{{/l}}\"", "\"\""),
    SpecCase("sections", "strings are not lists", ["s": "123"], "{{#s}}foo{{/s}}", "foo"),
    SpecCase("sections", "empty string is falsey (contextd)", ["s": ""], "[{{#s}}x{{/s}}]", "[]"),
    SpecCase("sections", "zero is truthy (contextd)", ["n": 0], "[{{#n}}{{.}}{{/n}}]", "[0]"),
    SpecCase("sections", "doubled", ["b": true, "two": "second"],
             "{{#b}}\n* first\n{{/b}}\n* {{two}}\n{{#b}}\n* third\n{{/b}}\n", "* first\n* second\n* third\n"),
    SpecCase("sections", "nested truthy", ["b": true], "| A {{#b}}B {{#b}}C{{/b}} D{{/b}} E |", "| A B C D E |"),
    SpecCase("sections", "nested falsey", ["b": false], "| A {{#b}}B {{#b}}C{{/b}} D{{/b}} E |", "| A  E |"),
    SpecCase("sections", "context miss is falsey", [:], "[{{#missing}}found{{/missing}}]", "[]"),
    SpecCase("sections", "implicit iterator, strings", ["l": ["a", "b", "c"]], "{{#l}}({{.}}){{/l}}", "(a)(b)(c)"),
    SpecCase("sections", "implicit iterator, integers", ["l": [1, 2, 3]], "{{#l}}({{.}}){{/l}}", "(1)(2)(3)"),
    SpecCase("sections", "implicit iterator, decimals",
             ["l": [.number(JSONNumber(literal: "1.1")), .number(JSONNumber(literal: "2.2"))]], "{{#l}}({{.}}){{/l}}", "(1.1)(2.2)"),
    SpecCase("sections", "implicit iterator, nested arrays", ["l": [[1, 2, 3], ["a", "b", "c"]]], "{{#l}}({{#.}}{{.}}{{/.}}){{/l}}", "(123)(abc)"),
    SpecCase("sections", "implicit iterator escapes", ["l": ["&", "\""]], "{{#l}}({{.}}){{/l}}", "(&amp;)(&quot;)"),
    SpecCase("sections", "implicit iterator, triple", ["l": ["&", "\""]], "{{#l}}({{{.}}}){{/l}}", "(&)(\")"),
    SpecCase("sections", "implicit iterator, ampersand", ["l": ["&", "\""]], "{{#l}}({{&.}}){{/l}}", "(&)(\")"),
    SpecCase("sections", "implicit iterator, root-level list", [["v": "a"], ["v": "b"]], "{{#.}}({{v}}){{/.}}", "(a)(b)"),
    SpecCase("sections", "dotted name, truthy", ["a": ["b": ["c": true]]], "{{#a.b.c}}Here{{/a.b.c}}", "Here"),
    SpecCase("sections", "dotted name, falsey", ["a": ["b": ["c": false]]], "[{{#a.b.c}}Here{{/a.b.c}}]", "[]"),
    SpecCase("sections", "dotted name, broken chain", ["a": [:]], "[{{#a.b.c}}Here{{/a.b.c}}]", "[]"),
    SpecCase("sections", "surrounding whitespace kept", ["b": true], " | {{#b}}\t|\t{{/b}} | \n", " | \t|\t | \n"),
    SpecCase("sections", "internal whitespace kept", ["b": true], " | {{#b}} {{! c }}\n {{/b}} | \n", " |  \n  | \n"),
    SpecCase("sections", "indented inline sections keep whitespace", ["b": true], " {{#b}}YES{{/b}}\n {{#b}}GOOD{{/b}}\n", " YES\n GOOD\n"),
    SpecCase("sections", "standalone lines removed", ["b": true], "| This\n{{#b}}\n|\n{{/b}}\n| Line\n", "| This\n|\n| Line\n"),
    SpecCase("sections", "indented standalone lines removed", ["b": true], "| This\n  {{#b}}\n|\n  {{/b}}\n| Line\n", "| This\n|\n| Line\n"),
    SpecCase("sections", "CRLF ends a standalone line", ["b": true], "|\r\n{{#b}}\r\n{{/b}}\r\n|", "|\r\n|"),
    SpecCase("sections", "standalone without previous line", ["b": true], "  {{#b}}\n#{{/b}}\n/", "#\n/"),
    SpecCase("sections", "standalone without newline", ["b": true], "#{{#b}}\n/\n  {{/b}}", "#\n/\n"),
    SpecCase("sections", "two tags on a line are not standalone", ["b": true], "{{#b}}{{/b}}\nx", "\nx"),
    SpecCase("sections", "padding inside tags ignored", ["b": true], "|{{# b }}={{/ b }}|", "|=|"),
]

let invertedCases: [SpecCase] = [
    SpecCase("inverted", "falsey renders", ["b": false], "\"{{^b}}yes{{/b}}\"", "\"yes\""),
    SpecCase("inverted", "null renders", ["b": nil], "\"{{^b}}yes{{/b}}\"", "\"yes\""),
    SpecCase("inverted", "truthy omitted", ["b": true], "\"{{^b}}no{{/b}}\"", "\"\""),
    SpecCase("inverted", "object omitted", ["c": ["n": "Joe"]], "\"{{^c}}Hi {{n}}.{{/c}}\"", "\"\""),
    SpecCase("inverted", "list omitted", ["l": [["n": 1]]], "\"{{^l}}{{n}}{{/l}}\"", "\"\""),
    SpecCase("inverted", "empty list renders", ["l": []], "\"{{^l}}none{{/l}}\"", "\"none\""),
    SpecCase("inverted", "doubled", ["t": false, "two": "second"],
             "{{^t}}\n* first\n{{/t}}\n* {{two}}\n{{^t}}\n* third\n{{/t}}\n", "* first\n* second\n* third\n"),
    SpecCase("inverted", "nested falsey", ["t": false], "| A {{^t}}B {{^t}}C{{/t}} D{{/t}} E |", "| A B C D E |"),
    SpecCase("inverted", "nested truthy", ["t": true], "| A {{^t}}B {{^t}}C{{/t}} D{{/t}} E |", "| A  E |"),
    SpecCase("inverted", "context miss renders", [:], "[{{^missing}}not found{{/missing}}]", "[not found]"),
    SpecCase("inverted", "dotted name, truthy", ["a": ["b": ["c": true]]], "[{{^a.b.c}}Not{{/a.b.c}}]", "[]"),
    SpecCase("inverted", "dotted name, falsey", ["a": ["b": ["c": false]]], "[{{^a.b.c}}Not{{/a.b.c}}]", "[Not]"),
    SpecCase("inverted", "dotted name, broken chain", ["a": [:]], "[{{^a.b.c}}Not{{/a.b.c}}]", "[Not]"),
    SpecCase("inverted", "surrounding whitespace kept", ["b": false], " | {{^b}}\t|\t{{/b}} | \n", " | \t|\t | \n"),
    SpecCase("inverted", "internal whitespace kept", ["b": false], " | {{^b}} {{! c }}\n {{/b}} | \n", " |  \n  | \n"),
    SpecCase("inverted", "indented inline kept", ["b": false], " {{^b}}NO{{/b}}\n {{^b}}WAY{{/b}}\n", " NO\n WAY\n"),
    SpecCase("inverted", "standalone lines removed", ["b": false], "| This\n{{^b}}\n|\n{{/b}}\n| Line\n", "| This\n|\n| Line\n"),
    SpecCase("inverted", "indented standalone lines removed", ["b": false], "| This\n  {{^b}}\n|\n  {{/b}}\n| Line\n", "| This\n|\n| Line\n"),
    SpecCase("inverted", "CRLF ends a standalone line", ["b": false], "|\r\n{{^b}}\r\n{{/b}}\r\n|", "|\r\n|"),
    SpecCase("inverted", "standalone without previous line", ["b": false], "  {{^b}}\n^{{/b}}\n/", "^\n/"),
    SpecCase("inverted", "standalone without newline", ["b": false], "^{{^b}}\n/\n  {{/b}}", "^\n/\n"),
    SpecCase("inverted", "padding inside tags ignored", ["b": false], "|{{^ b }}={{/ b }}|", "|=|"),
]

let commentCases: [SpecCase] = [
    SpecCase("comments", "inline removed", [:], "12345{{! Comment Block! }}67890", "1234567890"),
    SpecCase("comments", "multiline removed", [:], "12345{{!\n  multi\n  line\n}}67890\n", "1234567890\n"),
    SpecCase("comments", "standalone line removed", [:], "Begin.\n{{! gone }}\nEnd.\n", "Begin.\nEnd.\n"),
    SpecCase("comments", "indented standalone line removed", [:], "Begin.\n  {{! gone }}\nEnd.\n", "Begin.\nEnd.\n"),
    SpecCase("comments", "CRLF ends a standalone line", [:], "|\r\n{{! gone }}\r\n|", "|\r\n|"),
    SpecCase("comments", "standalone without previous line", [:], "  {{! gone }}\n!", "!"),
    SpecCase("comments", "standalone without newline", [:], "!\n  {{! gone }}", "!\n"),
    SpecCase("comments", "multiline standalone removed", [:], "Begin.\n{{!\nsomething\n}}\nEnd.\n", "Begin.\nEnd.\n"),
    SpecCase("comments", "indented multiline standalone removed", [:], "Begin.\n  {{!\n    something\n  }}\nEnd.\n", "Begin.\nEnd.\n"),
    SpecCase("comments", "indented inline keeps whitespace", [:], "  12 {{! 34 }}\n", "  12 \n"),
    SpecCase("comments", "surrounding whitespace kept", [:], "12345 {{! c }} 67890", "12345  67890"),
    SpecCase("comments", "comment content that looks like a name", ["c": "X"], "{{! c }}{{c}}", "X"),
]

let partialCases: [SpecCase] = [
    SpecCase("partials", "basic", [:], "\"{{>text}}\"", "\"from partial\"", partials: ["text": "from partial"]),
    SpecCase("partials", "failed lookup is empty", [:], "\"{{>text}}\"", "\"\""),
    SpecCase("partials", "renders in the current context", ["t": "content"], "\"{{>p}}\"", "\"*content*\"", partials: ["p": "*{{t}}*"]),
    SpecCase("partials", "recursion ending through the data", ["c": "X", "nodes": [["c": "Y", "nodes": []]]], "{{>node}}", "X<Y<>>",
             partials: ["node": "{{c}}<{{#nodes}}{{>node}}{{/nodes}}>"]),
    SpecCase("partials", "nested partials", ["a": "hi", "b": "there"], "{{>outer}}", "*hi %there%*",
             partials: ["outer": "*{{a}} {{>inner}}*", "inner": "%{{b}}%"]),
    SpecCase("partials", "surrounding whitespace kept", [:], "| {{>p}} |", "| \t|\t |", partials: ["p": "\t|\t"]),
    SpecCase("partials", "inline partial is not indented", ["d": "|"], "  {{d}}  {{> p}}\n", "  |  >\n>\n", partials: ["p": ">\n>"]),
    SpecCase("partials", "CRLF ends a standalone line", [:], "|\r\n{{>p}}\r\n|", "|\r\n>|", partials: ["p": ">"]),
    SpecCase("partials", "standalone without previous line", [:], "  {{>p}}\n>", "  >\n  >>", partials: ["p": ">\n>"]),
    SpecCase("partials", "standalone without newline", [:], ">\n  {{>p}}", ">\n  >\n  >", partials: ["p": ">\n>"]),
    SpecCase("partials", "standalone indentation applies to template lines, not values", ["c": "<\n->"],
             "\\\n {{>p}}\n/\n", "\\\n |\n <\n->a b<\n->c\n |\n/\n", partials: ["p": "|\n{{{c}}}a b{{{c}}}c\n|\n"]),
    SpecCase("partials", "indentation accumulates through nested standalone partials", [:], "{{>a}}\n  {{>a}}\n", "A\n  B\n  A\n    B\n",
             partials: ["a": "A\n  {{>b}}\n", "b": "B\n"]),
    SpecCase("partials", "standalone tags inside an indented partial stay standalone", ["b": true], "  {{>p}}\n", "  x\n",
             partials: ["p": "{{#b}}\nx\n{{/b}}\n"]),
    SpecCase("partials", "padding inside tag ignored", ["b": true], "|{{> p }}|", "|[]|", partials: ["p": "[]"]),
]

let delimiterCases: [SpecCase] = [
    SpecCase("delimiters", "pair behaviour", ["t": "Hey!"], "{{=<% %>=}}(<%t%>)", "(Hey!)"),
    SpecCase("delimiters", "regex-special characters", ["t": "It worked!"], "({{=[ ]=}}[t])", "(It worked!)"),
    SpecCase("delimiters", "persist across sections", ["s": true, "d": "I"],
             "[\n{{#s}}\n  {{d}}\n  |d|\n{{/s}}\n\n{{= | | =}}\n|#s|\n  {{d}}\n  |d|\n|/s|\n]\n", "[\n  I\n  |d|\n\n  {{d}}\n  I\n]\n"),
    SpecCase("delimiters", "persist across inverted sections", ["s": false, "d": "I"],
             "[\n{{^s}}\n  {{d}}\n  |d|\n{{/s}}\n\n{{= | | =}}\n|^s|\n  {{d}}\n  |d|\n|/s|\n]\n", "[\n  I\n  |d|\n\n  {{d}}\n  I\n]\n"),
    SpecCase("delimiters", "do not leak into partials", ["v": "yes"], "[ {{>i}} ]\n{{= | | =}}\n[ |>i| ]\n", "[ .yes. ]\n[ .yes. ]\n",
             partials: ["i": ".{{v}}."]),
    SpecCase("delimiters", "do not leak out of partials", ["v": "yes"], "[ {{>i}} ]\n[ .{{v}}.  .|v|. ]\n", "[ .yes.  .yes. ]\n[ .yes.  .|v|. ]\n",
             partials: ["i": ".{{v}}. {{= | | =}} .|v|."]),
    SpecCase("delimiters", "surrounding whitespace kept", [:], "| {{=@ @=}} |", "|  |"),
    SpecCase("delimiters", "outlying whitespace kept (inline)", [:], " | {{=@ @=}}\n", " | \n"),
    SpecCase("delimiters", "standalone line removed", [:], "Begin.\n{{=@ @=}}\nEnd.\n", "Begin.\nEnd.\n"),
    SpecCase("delimiters", "indented standalone line removed", [:], "Begin.\n  {{=@ @=}}\nEnd.\n", "Begin.\nEnd.\n"),
    SpecCase("delimiters", "CRLF ends a standalone line", [:], "|\r\n{{= @ @ =}}\r\n|", "|\r\n|"),
    SpecCase("delimiters", "standalone without previous line", [:], "  {{=@ @=}}\n=", "="),
    SpecCase("delimiters", "standalone without newline", [:], "=\n  {{=@ @=}}", "=\n"),
    SpecCase("delimiters", "padding inside tag ignored", [:], "|{{= @   @ =}}|", "||"),
    SpecCase("delimiters", "triple mustache with custom delimiters", ["t": "<x>"], "{{=<% %>=}}<%{t}%>|<%&t%>|<%t%>", "<x>|<x>|&lt;x&gt;"),
    SpecCase("delimiters", "multi-character and asymmetric delimiters", ["a": "1"], "{{=<<< >>=}}<<<a>>{{a}}<<<={{ }}=>>{{a}}", "1{{a}}1"),
]

@Suite struct MustacheSpecTests {
    static let all = interpolationCases + sectionCases + invertedCases + commentCases + partialCases + delimiterCases

    @Test func tableIsLargeAndCoversSixAreas() {
        #expect(Self.all.count >= 80)
        #expect(Set(Self.all.map(\.area)).count == 6)
    }

    @Test(arguments: all)
    func specCase(_ c: SpecCase) throws {
        let t = try MustacheTemplate(parsing: c.template)
        let text = try MustacheRenderer.render(
            t, context: c.data, options: MustacheRenderOptions(escapeHTML: true), partials: MustachePartialTable(c.partials))
        #expect(text == c.expected)
    }
}
