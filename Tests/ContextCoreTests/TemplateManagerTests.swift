import ContextCore
import JSONCore
import Testing

/// A settable clock for template tests (named apart from other suites' helpers).
final class TemplateTestClock: Clock, @unchecked Sendable {
    // @unchecked: used from one test at a time.
    var ms: Int64 = 1_800_000_000_000
    func now() -> Timestamp { Timestamp(milliseconds: ms) }
}

func makeTemplateManager() -> (TemplateManager, Effects, TemplateTestClock) {
    let clock = TemplateTestClock()
    let effects = Effects()
    let env = DomainEnvironment(clock: clock, ids: SequentialIDGenerator(), effects: effects)
    return (TemplateManager(env: env), effects, clock)
}

@Suite struct TemplateManagerTests {
    @Test func createDeclaresUndeclaredAndWarns() throws {
        let (m, effects, _) = makeTemplateManager()
        let r = try m.create(TemplateDraft(
            name: "Greeting", type: .prompt, content: "Hi {{name}}, {{#items}}{{label}}{{/items}} {{extra.deep}}",
            variables: [TemplateVariable(name: "name", required: true), TemplateVariable(name: "ghost")]))
        #expect(r.template.id == "tpl_1")
        #expect(r.template.version == "1.0.0")
        #expect(!r.template.builtin)
        #expect(r.template.variables.map(\.name) == ["name", "ghost", "items", "extra"])
        #expect(r.template.variables[2] == TemplateVariable(name: "items", required: false))
        #expect(r.warnings == [
            TemplateWarning(kind: .unused, variable: "ghost"),
            TemplateWarning(kind: .undeclared, variable: "items"),
            TemplateWarning(kind: .undeclared, variable: "extra"),
        ])
        let drained = effects.drain()
        #expect(drained.changes.count == 1)
        #expect(drained.events.count == 1)
        if case .template(let event, let t) = drained.events[0] {
            #expect(event == "created")
            #expect(t.id == "tpl_1")
        } else { Issue.record("expected a template event") }
    }

    @Test func namesAreUniqueCaseInsensitively() throws {
        let (m, _, _) = makeTemplateManager()
        _ = try m.create(TemplateDraft(name: "Mine", type: .custom, content: "x"))
        #expect(throws: DomainError.conflict(kind: "template", id: "tpl_1", reason: "a template named 'MINE' already exists")) {
            try m.create(TemplateDraft(name: "MINE", type: .custom, content: "y"))
        }
        // Built-in names are taken too.
        #expect(throws: DomainError.self) { try m.create(TemplateDraft(name: "function", type: .code, content: "x")) }
        #expect(try m.get(id: nil, name: "mInE").id == "tpl_1")
        #expect(try m.get(id: nil, name: "code review").id == "builtin-code-review")
    }

    @Test func invalidInputIsRejectedWithoutChange() throws {
        let (m, effects, _) = makeTemplateManager()
        #expect(throws: DomainError.invalidArgument(field: "content", expected: "a valid Mustache template (unclosed section 'a' at line 1)")) {
            try m.create(TemplateDraft(name: "Bad", type: .custom, content: "{{#a}}"))
        }
        #expect(throws: DomainError.invalidArgument(field: "version", expected: "a semantic version MAJOR.MINOR.PATCH such as 1.0.0")) {
            try m.create(TemplateDraft(name: "Bad", type: .custom, content: "x", version: "1.0"))
        }
        #expect(throws: DomainError.invalidArgument(field: "variables.n.default", expected: "a number, got string")) {
            try m.create(TemplateDraft(name: "Bad", type: .custom, content: "{{n}}", variables: [TemplateVariable(name: "n", default: "1", type: .number)]))
        }
        #expect(throws: DomainError.self) {
            try m.create(TemplateDraft(name: "Bad", type: .custom, content: "x", variables: [TemplateVariable(name: "a.b")]))
        }
        #expect(throws: DomainError.self) {
            try m.create(TemplateDraft(name: "Bad", type: .custom, content: "x", variables: [TemplateVariable(name: "a"), TemplateVariable(name: "a")]))
        }
        #expect(throws: DomainError.self) { try m.create(TemplateDraft(name: "  ", type: .custom, content: "x")) }
        #expect(effects.drain().changes.isEmpty)
        #expect(m.list().count == BuiltinTemplates.all.count)
    }

    @Test func updateBumpsPatchChecksExpectedVersionAndReindexesName() throws {
        let (m, effects, clock) = makeTemplateManager()
        let t = try m.create(TemplateDraft(name: "A", type: .custom, content: "{{x}}")).template
        clock.ms += 5000
        let u = try m.update(id: t.id, TemplatePatch(name: "B", content: "{{x}} {{y}}"))
        #expect(u.template.version == "1.0.1")
        #expect(u.template.name == "B")
        #expect(u.template.updatedAt == Timestamp(milliseconds: clock.ms))
        #expect(u.template.createdAt == t.createdAt)
        #expect(u.warnings == [TemplateWarning(kind: .undeclared, variable: "y")])
        #expect(throws: DomainError.notFound(kind: "template", id: "A")) { try m.get(id: nil, name: "A") }
        #expect(try m.get(id: nil, name: "b").id == t.id)
        let v = try m.update(id: t.id, TemplatePatch(version: "2.0.0", expectedVersion: "1.0.1"))
        #expect(v.template.version == "2.0.0")
        #expect(throws: DomainError.conflict(kind: "template", id: t.id, reason: "version is 2.0.0, expected 1.0.1")) {
            try m.update(id: t.id, TemplatePatch(content: "z", expectedVersion: "1.0.1"))
        }
        #expect(try m.update(id: t.id, TemplatePatch(type: .prompt, tags: ["b", "a", "b"])).template.tags == ["b", "a"])
        #expect(m.list(type: .prompt).map(\.id).contains(t.id))
        #expect(!m.list(type: .custom).map(\.id).contains(t.id))
        let events = effects.drain().events.compactMap { if case .template(let e, _) = $0 { e } else { nil } }
        #expect(events == ["created", "updated", "updated", "updated"])
    }

    @Test func renderedOutputFollowsTheUpdate() throws {
        let (m, _, _) = makeTemplateManager()
        let t = try m.create(TemplateDraft(name: "A", type: .custom, content: "one {{x}}")).template
        #expect(try m.render(t.id, variables: ["x": "1"]) == "one 1")
        _ = try m.update(id: t.id, TemplatePatch(content: "two {{x}}"))
        #expect(try m.render("a", variables: ["x": "2"]) == "two 2")
    }

    @Test func builtinsAreReadOnly() throws {
        let (m, _, _) = makeTemplateManager()
        let reason = "built-in templates are read-only"
        #expect(throws: DomainError.conflict(kind: "template", id: "builtin-function", reason: reason)) { try m.delete(id: "builtin-function") }
        #expect(throws: DomainError.conflict(kind: "template", id: "builtin-function", reason: reason)) {
            try m.update(id: "builtin-function", TemplatePatch(content: "x"))
        }
    }

    @Test func deleteRemovesAndEmits() throws {
        let (m, effects, _) = makeTemplateManager()
        let t = try m.create(TemplateDraft(name: "Gone", type: .custom, content: "x")).template
        _ = effects.drain()
        #expect(try m.delete(id: t.id) == [t.id])
        #expect(throws: DomainError.notFound(kind: "template", id: t.id)) { try m.delete(id: t.id) }
        let d = effects.drain()
        guard case .delete(let key) = d.changes.first else { Issue.record("expected a delete"); return }
        #expect(key == RecordKey(.template, t.id))
        #expect(m.find("gone") == nil)
    }

    @Test func listFiltersAndOrders() throws {
        let (m, _, _) = makeTemplateManager()
        _ = try m.create(TemplateDraft(name: "zeta", type: .email, content: "x", description: "Weekly REPORT", tags: ["Mail"]))
        _ = try m.create(TemplateDraft(name: "Alpha", type: .email, content: "x", tags: ["mail", "team"]))
        #expect(m.list(type: .email).map(\.name) == ["Alpha", "Status Update Email", "zeta"])
        #expect(m.list(tag: "MAIL").map(\.name) == ["Alpha", "zeta"])
        #expect(m.list(query: "report").map(\.name) == ["zeta"])
        #expect(m.list(query: "TEAM").map(\.name) == ["Alpha"])
        #expect(m.list(query: "review").map(\.name).contains("Code Review"))
        let all = m.list()
        #expect(all.count == 17)
        #expect(all.map { $0.name.lowercased() } == all.map { $0.name.lowercased() }.sorted())
    }

    @Test func statistics() throws {
        let (m, _, _) = makeTemplateManager()
        _ = try m.create(TemplateDraft(name: "x", type: .custom, content: "x", tags: ["code", "zzz"]))
        let s = m.statistics()
        #expect(s.total == 16)
        #expect(s.byType.keys == ["code", "prompt", "workflow", "documentation", "email", "custom"])
        #expect(s.byType["custom"] == 1)
        #expect(s.byType["code"] == 6)
        #expect(s.byType["workflow"] == 5)
        #expect(s.tagCloud["code"] == 10)
        #expect(s.tagCloud.keys.first == "code")
        #expect(s.tagCloud["zzz"] == 1)
    }

    @Test func extractVariables() throws {
        #expect(try TemplateManager.extractVariables("{{a}}{{#b.c}}{{d}}{{/b.c}}{{^e}}{{/e}}{{>p}}{{a}}{{! x}}") == ["a", "b.c", "d", "e"])
    }

    @Test func restoreAndAllRecordsSkipBuiltins() throws {
        let (m, _, _) = makeTemplateManager()
        let t = try m.create(TemplateDraft(name: "Keep", type: .custom, content: "{{k}}")).template
        let records = m.allRecords()
        #expect(records.count == 1)
        let (m2, effects2, _) = makeTemplateManager()
        effects2.isSuspended = true
        for case .template(let r) in records { m2.restore(r) }
        var fake = BuiltinTemplates.all[0]
        fake.content = "hijacked"
        m2.restore(fake)
        effects2.isSuspended = false
        #expect(try m2.get(id: t.id, name: nil) == t)
        #expect(try m2.get(id: "builtin-function", name: nil).content != "hijacked")
        m2.restoreDeletion(RecordKey(.template, t.id))
        #expect(m2.find(t.id) == nil)
        #expect(effects2.drain().changes.isEmpty)
    }
}

@Suite struct TemplateVariableTests {
    func manager(_ content: String, _ vars: [TemplateVariable]) throws -> (TemplateManager, String) {
        let (m, _, _) = makeTemplateManager()
        let t = try m.create(TemplateDraft(name: "T", type: .custom, content: content, variables: vars)).template
        return (m, t.id)
    }

    @Test func emptyDefaultIsARealDefault() throws {
        let (m, id) = try manager("[{{suffix}}]", [TemplateVariable(name: "suffix", required: true, default: "")])
        #expect(try m.render(id) == "[]")
        #expect(try m.render(id, strict: true) == "[]")
        #expect(try m.render(id, variables: ["suffix": "s"]) == "[s]")
    }

    @Test func defaultsApplyWhenAbsentOrNull() throws {
        let (m, id) = try manager("{{a}}-{{b}}", [TemplateVariable(name: "a", default: 1, type: .number), TemplateVariable(name: "b", default: false)])
        #expect(try m.render(id) == "1-false")
        #expect(try m.render(id, variables: ["a": nil, "b": "x"]) == "1-x")
    }

    @Test func missingRequiredListsAllAtOnce() throws {
        let (m, id) = try manager("{{a}}{{b}}{{c}}", [
            TemplateVariable(name: "a", required: true), TemplateVariable(name: "b", required: true),
            TemplateVariable(name: "c", required: true, default: "ok"),
        ])
        #expect(throws: DomainError.missingVariables(template: "T", missing: ["a", "b"])) { try m.render(id) }
        #expect(throws: DomainError.missingVariables(template: "T", missing: ["b"])) { try m.render(id, variables: ["a": "1", "b": nil]) }
        #expect(try m.render(id, variables: ["a": "1", "b": "2"]) == "12ok")
    }

    @Test(arguments: [
        (VariableType.string, JSONValue.int(1), "a string, got number"),
        (.number, JSONValue.string("1"), "a number, got string"),
        (.boolean, JSONValue.string("true"), "a boolean, got string"),
        (.array, JSONValue.object(["k": 1]), "an array, got object"),
        (.object, JSONValue.array([1]), "an object, got array"),
    ])
    func typeMismatchNamesTheVariable(_ type: VariableType, _ value: JSONValue, _ expected: String) throws {
        let (m, id) = try manager("{{v}}", [TemplateVariable(name: "v", type: type)])
        do {
            _ = try m.render(id, variables: ["v": value])
            Issue.record("expected a type error")
        } catch {
            guard case .invalidArgument(let field, let exp) = error else { Issue.record("\(error)"); return }
            #expect(field == "variables.v")
            #expect(exp == expected)
        }
    }

    @Test(arguments: [
        (VariableType.string, JSONValue.string("s")), (.number, .int(2)), (.boolean, .bool(true)), (.array, JSONValue.array([1])), (.object, JSONValue.object(["k": 1])),
    ])
    func typeMatchRenders(_ type: VariableType, _ value: JSONValue) throws {
        let (m, id) = try manager("{{v}}", [TemplateVariable(name: "v", type: type)])
        #expect(try m.render(id, variables: ["v": value]) == MustacheRenderer.render(MustacheTemplate(parsing: "{{v}}"), context: ["v": value]))
    }

    @Test func strictMakesReferencedVariablesRequired() throws {
        let (m, id) = try manager("{{a}} {{b}} {{#list}}{{field}}{{/list}}{{^c}}{{/c}}", [
            TemplateVariable(name: "a"), TemplateVariable(name: "unused"), TemplateVariable(name: "b", default: "d"),
        ])
        #expect(try m.render(id) == " d ")
        #expect(throws: DomainError.missingVariables(template: "T", missing: ["a", "list", "c"])) { try m.render(id, strict: true) }
        #expect(try m.render(id, variables: ["a": "A", "list": [["field": 1]], "c": false], strict: true) == "A d 1")
    }

    @Test func strictMakesAMissingPartialAnError() throws {
        let (m, id) = try manager("[{{>nowhere}}]", [])
        #expect(try m.render(id) == "[]")
        #expect(throws: DomainError.notFound(kind: "template", id: "nowhere")) { try m.render(id, strict: true) }
    }

    @Test func partialsResolveOtherTemplatesByName() throws {
        let (m, _, _) = makeTemplateManager()
        _ = try m.create(TemplateDraft(name: "Signature", type: .custom, content: "-- \n{{sender}}\n"))
        let t = try m.create(TemplateDraft(name: "Mail", type: .email, content: "Hello\n  {{> SIGNATURE}}\n", variables: [TemplateVariable(name: "sender", required: true)])).template
        #expect(try m.render(t.id, variables: ["sender": "Ann"]) == "Hello\n  -- \n  Ann\n")
        #expect(try m.render(t.id, variables: ["sender": "Bob"]) == "Hello\n  -- \n  Bob\n")
    }

    @Test func partialCycleBetweenTemplates() throws {
        let (m, _, _) = makeTemplateManager()
        _ = try m.create(TemplateDraft(name: "ping", type: .custom, content: "{{>pong}}"))
        _ = try m.create(TemplateDraft(name: "pong", type: .custom, content: "{{>ping}}"))
        #expect(throws: DomainError.limitExceeded(limit: "partialDepth", max: 16, value: 17)) { try m.render("ping") }
    }

    @Test func escapeHTML() throws {
        let (m, id) = try manager("{{v}}|{{{v}}}", [])
        #expect(try m.render(id, variables: ["v": "<a href='x'>&\"</a>"], escape: .html) == "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;|<a href='x'>&\"</a>")
        #expect(try m.render(id, variables: ["v": "<&>"]) == "<&>|<&>")
    }

    @Test func outputLimitFromTheEnvironment() throws {
        let clock = TemplateTestClock()
        var limits = DomainLimits()
        limits.maxTemplateOutputBytes = 10
        let m = TemplateManager(env: DomainEnvironment(clock: clock, ids: SequentialIDGenerator(), limits: limits))
        let t = try m.create(TemplateDraft(name: "big", type: .custom, content: "{{v}}")).template
        #expect(try m.render(t.id, variables: ["v": "0123456789"]) == "0123456789")
        #expect(throws: DomainError.limitExceeded(limit: "outputBytes", max: 10, value: 11)) { try m.render(t.id, variables: ["v": "0123456789a"]) }
    }

    @Test func unknownTemplate() {
        let (m, _, _) = makeTemplateManager()
        #expect(throws: DomainError.notFound(kind: "template", id: "nope")) { try m.render("nope") }
    }
}

@Suite struct TemplateImportTests {
    @Test func exportImportRoundTrip() throws {
        let (m, _, _) = makeTemplateManager()
        let t = try m.create(TemplateDraft(name: "Rt", type: .prompt, content: "{{q}}", tags: ["x"], metadata: ["k": 1])).template
        let snap = try m.export(id: t.id)
        #expect(snap.schemaVersion == 1)
        let json = try JSONValueEncoder().encode(snap)
        let (m2, effects2, _) = makeTemplateManager()
        let imported = try m2.importSnapshot(json)
        #expect(imported.id == t.id)
        #expect(imported.name == t.name)
        #expect(imported.content == t.content)
        #expect(imported.variables == t.variables)
        #expect(imported.metadata == t.metadata)
        #expect(imported.createdAt == t.createdAt)
        let events = effects2.drain().events.compactMap { if case .template(let e, _) = $0 { e } else { nil } }
        #expect(events == ["imported"])
    }

    @Test func conflictPolicies() throws {
        let (m, _, _) = makeTemplateManager()
        let t = try m.create(TemplateDraft(name: "Same", type: .custom, content: "v1")).template
        var json = try JSONValueEncoder().encode(try m.export(id: t.id))
        #expect(throws: DomainError.conflict(kind: "template", id: t.id, reason: "a template with this id already exists")) {
            try m.importSnapshot(json, onConflict: .error)
        }
        // replace keeps the id and createdAt, takes the content.
        if case .object(var o) = json, case .object(var inner)? = o["template"] {
            inner["content"] = "v2"
            o["template"] = .object(inner)
            json = .object(o)
        }
        let r = try m.importSnapshot(json, onConflict: .replace)
        #expect(r.id == t.id)
        #expect(try m.render(t.id) == "v2")
        // newId: fresh id and a free name.
        let n = try m.importSnapshot(json, onConflict: .newId)
        #expect(n.id != t.id)
        #expect(n.name == "Same (2)")
        let n3 = try m.importSnapshot(json, onConflict: .newId)
        #expect(n3.name == "Same (3)")
        #expect(m.list(query: "same").count == 3)
    }

    @Test func replaceByName() throws {
        let (m, _, _) = makeTemplateManager()
        let t = try m.create(TemplateDraft(name: "ByName", type: .custom, content: "old")).template
        let r = try m.importSnapshot(["template": ["name": "BYNAME", "type": "custom", "content": "new"]], onConflict: .replace)
        #expect(r.id == t.id)
        #expect(r.name == "BYNAME")
        #expect(m.find("byname")?.content == "new")
        #expect(m.list().count == 16)
    }

    @Test func builtinsCannotBeReplacedOnlyCopied() throws {
        let (m, _, _) = makeTemplateManager()
        let json = try JSONValueEncoder().encode(try m.export(id: "builtin-model"))
        #expect(throws: DomainError.self) { try m.importSnapshot(json, onConflict: .replace) }
        #expect(throws: DomainError.self) { try m.importSnapshot(json, onConflict: .error) }
        let copy = try m.importSnapshot(json, onConflict: .newId)
        #expect(!copy.builtin)
        #expect(copy.name == "Model (2)")
        #expect(copy.id.hasPrefix("tpl_"))
    }

    @Test func bareTemplatesAndBadSnapshots() throws {
        let (m, _, _) = makeTemplateManager()
        let t = try m.importSnapshot(["name": "Bare", "type": "prompt", "content": "{{x}}"])
        #expect(t.version == "1.0.0")
        #expect(t.variables.map(\.name) == ["x"])
        #expect(throws: DomainError.invalidArgument(field: "snapshot.schemaVersion", expected: "1")) {
            try m.importSnapshot(["schemaVersion": 2, "template": ["name": "N", "type": "custom", "content": ""]])
        }
        do {
            _ = try m.importSnapshot(["schemaVersion": 1, "template": ["name": "N", "type": "weird", "content": ""]])
            Issue.record("expected failure")
        } catch {
            guard case .invalidArgument(let field, let expected) = error else { Issue.record("\(error)"); return }
            #expect(field == "snapshot.template.type")
            #expect(expected.contains("prompt"))
        }
        #expect(throws: DomainError.self) { try m.importSnapshot(["schemaVersion": 1, "template": ["name": "N", "type": "custom"]]) }
        #expect(throws: DomainError.self) { try m.importSnapshot(["schemaVersion": 1, "template": ["name": "N", "type": "custom", "content": "{{#x}}"]]) }
        #expect(throws: DomainError.self) { try m.importSnapshot("nope") }
    }
}
