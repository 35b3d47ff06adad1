import ContextCore
import JSONCore
import Testing

/// Example variables for each built-in, and fragments the output must contain.
struct BuiltinExample: CustomTestStringConvertible, Sendable {
    let id: String
    let variables: JSONObject
    let mustContain: [String]
    var testDescription: String { id }
}

let builtinExamples: [BuiltinExample] = [
    BuiltinExample(id: "builtin-function", variables: [
        "language": "Go", "functionName": "ParseDuration", "purpose": "Parse strings such as \"1h30m\" into a duration.",
        "parameters": [["name": "s", "type": "string", "description": "the text to parse"]], "returns": "the duration, or an error",
        "constraints": ["No allocations on the happy path"], "includeTests": true,
    ], mustContain: ["Write a Go function named `ParseDuration`.", "- `s` (string): the text to parse", "Returns: the duration, or an error",
                     "- No allocations on the happy path", "usual test framework for Go"]),
    BuiltinExample(id: "builtin-code-review", variables: [
        "language": "Swift", "code": "func f(_ a: [Int]) -> Int { a[0] }", "context": "hot path",
    ], mustContain: ["Review the following Swift code.", "Context: hot path", "func f(_ a: [Int]) -> Int { a[0] }", "- security"]),
    BuiltinExample(id: "builtin-bug-fix", variables: [
        "language": "Python", "summary": "Crash on empty input", "expected": "returns []", "actual": "IndexError",
        "errorOutput": "IndexError: list index out of range", "stepsToReproduce": ["call parse(\"\")"],
    ], mustContain: ["Fix a bug in Python code.", "Actual: IndexError", "- call parse(\"\")", "IndexError: list index out of range", "regression test"]),
    BuiltinExample(id: "builtin-function-documentation", variables: [
        "language": "typescript", "functionName": "debounce", "signature": "function debounce<T>(fn: T, ms: number): T",
        "summary": "Delays calls until `ms` ms have passed without another call.",
        "parameters": [["name": "fn", "type": "T", "description": "the function to wrap"], ["name": "ms", "description": "the delay"]],
        "returns": "The wrapped function.", "example": "const save = debounce(store, 300)",
    ], mustContain: ["## `debounce`", "- `fn` (`T`): the function to wrap", "- `ms`: the delay", "```typescript\nconst save = debounce(store, 300)\n```"]),
    BuiltinExample(id: "builtin-status-update-email", variables: [
        "recipient": "Dana", "sender": "Lee", "project": "contextd", "completed": ["Templates"], "blockers": [],
    ], mustContain: ["Subject: contextd status update: this week", "Hi Dana,", "- Templates", "Blockers:\n- None.", "Best regards,\nLee"]),
    BuiltinExample(id: "builtin-test-suite", variables: [
        "language": "Swift", "subject": "the Mustache renderer", "framework": "Swift Testing", "behaviors": ["escapes HTML when asked"],
    ], mustContain: ["Write a test suite in Swift for the Mustache renderer using Swift Testing.", "- escapes HTML when asked", "- Edge cases:"]),
    BuiltinExample(id: "builtin-model", variables: [
        "language": "Python", "modelName": "Invoice", "summary": "a bill sent to a customer",
        "fields": [["name": "id", "type": "str"], ["name": "due", "type": "date", "optional": true, "description": "payment date"]],
    ], mustContain: ["Define a data model named `Invoice` in Python.", "It represents a bill sent to a customer.", "- `due`: date (optional): payment date",
                     "Support JSON encoding", "immutable value"]),
    BuiltinExample(id: "builtin-repository", variables: ["language": "Go", "entityName": "User", "idType": "uuid.UUID"],
                   mustContain: ["Implement a repository for `User` entities in Go.", "Ids are of type uuid.UUID.", "- list with pagination", "concurrent use"]),
    BuiltinExample(id: "builtin-service", variables: [
        "language": "TypeScript", "serviceName": "BillingService", "responsibility": "charges customers",
        "operations": [["name": "charge", "description": "charges a card"]], "dependencies": ["PaymentGateway"],
    ], mustContain: ["Implement a service named `BillingService` in TypeScript.", "- `charge`: charges a card", "- PaymentGateway"]),
    BuiltinExample(id: "builtin-http-handler", variables: [
        "language": "Go", "method": "POST", "path": "/users", "summary": "creates a user",
        "statusCodes": [["code": 201, "meaning": "created"], ["code": 409, "meaning": "email taken"]], "authentication": "admin token",
    ], mustContain: ["Write an HTTP handler in Go for `POST /users` using the standard library's HTTP support.", "It creates a user.",
                     "- 201: created", "- 409: email taken", "Authentication: admin token."]),
    BuiltinExample(id: "builtin-feature-planning", variables: ["feature": "Dark mode", "goal": "Reduce eye strain", "constraints": ["no new dependencies"]],
                   mustContain: ["# Feature plan: Dark mode", "Goal: Reduce eye strain", "- no new dependencies", "- to be decided", "User stories"]),
    BuiltinExample(id: "builtin-implementation", variables: [
        "language": "Swift", "feature": "template import", "plan": "1. parse\n2. validate", "acceptanceCriteria": ["bad files are reported"],
    ], mustContain: ["Implement template import in Swift.", "1. parse\n2. validate", "- [ ] bad files are reported", "- to be determined from the plan"]),
    BuiltinExample(id: "builtin-testing", variables: ["language": "Python", "feature": "checkout"],
                   mustContain: ["Test checkout (Python).", "- unit\n- integration\n- end-to-end", "regression test"]),
    BuiltinExample(id: "builtin-documentation", variables: ["project": "contextd", "feature": "templates", "audience": "editor authors"],
                   mustContain: ["Write documentation for contextd: templates.", "Audience: editor authors. Format: Markdown.", "- quick start"]),
    BuiltinExample(id: "builtin-deployment", variables: ["service": "contextd", "version": "1.2.0", "healthCheck": "contextd doctor"],
                   mustContain: ["# Deployment: contextd 1.2.0 to production", "Strategy: rolling", "- [ ] Health check passes: contextd doctor",
                                 "Redeploy the previous version"]),
]

@Suite struct TemplateBuiltinTests {
    @Test func fifteenBuiltinsWithStableIdsAndNames() {
        let (m, _, _) = makeTemplateManager()
        let names = ["Function", "Code Review", "Bug Fix", "Function Documentation", "Status Update Email", "Test Suite", "Model",
                     "Repository", "Service", "HTTP Handler", "Feature Planning", "Implementation", "Testing", "Documentation", "Deployment"]
        #expect(BuiltinTemplates.all.map(\.name) == names)
        #expect(Set(BuiltinTemplates.all.map(\.id)).count == 15)
        #expect(Set(builtinExamples.map(\.id)) == Set(BuiltinTemplates.all.map(\.id)))
        for t in BuiltinTemplates.all {
            #expect(t.id.hasPrefix("builtin-"))
            #expect(t.builtin)
            #expect(t.createdAt == BuiltinTemplates.createdAt)
            #expect(t.version == "1.0.0")
            #expect(!t.description.isEmpty)
            #expect(m.find(t.name.uppercased())?.id == t.id)
        }
        #expect(m.allRecords().isEmpty)
    }

    @Test(arguments: BuiltinTemplates.all.map(\.id))
    func declaredVariablesMatchTheContent(_ id: String) throws {
        let t = try #require(BuiltinTemplates.all.first { $0.id == id })
        let tree = try MustacheTemplate(parsing: t.content)
        let declared = Set(t.variables.map(\.name))
        #expect(Set(tree.rootVariables).isSubset(of: declared), "undeclared: \(Set(tree.rootVariables).subtracting(declared))")
        let used = Set(tree.rootVariables).union(tree.nestedVariables)
        #expect(declared.isSubset(of: used), "unused: \(declared.subtracting(used))")
        #expect(t.variables.allSatisfy { $0.description?.isEmpty == false && $0.type != nil })
        #expect(tree.partialNames.isEmpty)
    }

    @Test(arguments: builtinExamples)
    func rendersWithExampleVariables(_ example: BuiltinExample) throws {
        let (m, _, _) = makeTemplateManager()
        let text = try m.render(example.id, variables: example.variables, strict: false)
        for fragment in example.mustContain { #expect(text.contains(fragment), "missing \(fragment.debugDescription) in:\n\(text)") }
        #expect(!text.contains("{{"))
        #expect(!text.contains("\n\n\n"), "blank-line runs in:\n\(text)")
        #expect(text.hasSuffix("\n"))
    }

    @Test(arguments: BuiltinTemplates.all.filter { t in t.variables.contains { $0.name == "language" } }.map(\.id))
    func codeTemplatesWorkForEveryLanguage(_ id: String) throws {
        let (m, _, _) = makeTemplateManager()
        let t = try #require(m.find(id))
        for language in ["Go", "Swift", "Python", "TypeScript"] {
            var vars = JSONObject()
            for v in t.variables where v.required {
                switch v.type {
                case .array?: vars[v.name] = [["name": "x", "type": "int", "description": "d"]]
                default: vars[v.name] = .string(v.name == "language" ? language : "example \(v.name)")
                }
            }
            let text = try m.render(id, variables: vars)
            #expect(text.contains(language))
            #expect(!text.contains("{{"))
        }
    }

    @Test func missingRequiredVariablesOfABuiltin() throws {
        let (m, _, _) = makeTemplateManager()
        #expect(throws: DomainError.missingVariables(template: "Function", missing: ["language", "functionName", "purpose"])) {
            try m.render("builtin-function")
        }
    }
}
