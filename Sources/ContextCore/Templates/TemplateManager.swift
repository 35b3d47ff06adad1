import JSONCore

/// Owns every template: the 15 read-only built-ins (recreated at each start, never
/// persisted) and user templates (persisted as `.template` records). Parses each
/// template once and caches the tree by id and version; renders in one pass.
///
/// - Important: Not thread-safe; confined to the domain queue (see `ContextEngine`).
public final class TemplateManager: @unchecked Sendable {
    // @unchecked: every member is touched only by the single domain owner.
    let env: DomainEnvironment
    private var templates: [String: Template] = [:]
    /// Lowercased name → id.
    private var byName: [String: String] = [:]
    private var cache: [String: CompiledTemplate] = [:]

    /// A parsed template and its indented variants (for standalone partial tags).
    final class CompiledTemplate {
        let version: String
        let tree: MustacheTemplate
        let declared: [String: Int]
        /// Declared types by declaration index.
        let types: [VariableType?]
        var indented: [String: MustacheTemplate] = [:]
        init(version: String, tree: MustacheTemplate, declared: [String: Int], types: [VariableType?]) {
            self.version = version
            self.types = types
            self.tree = tree
            self.declared = declared
        }
    }

    public init(env: DomainEnvironment) {
        self.env = env
        for t in BuiltinTemplates.all {
            templates[t.id] = t
            byName[t.name.lowercased()] = t.id
        }
    }

    // MARK: Persistence entry points

    /// Loads a persisted user template (built-ins are never persisted; a record that
    /// claims a built-in id is ignored).
    public func restore(_ t: Template) {
        guard !t.id.hasPrefix(BuiltinTemplates.idPrefix), !t.builtin else { return }
        if let old = templates[t.id] { byName[old.name.lowercased()] = nil }
        templates[t.id] = t
        byName[t.name.lowercased()] = t.id
        cache[t.id] = nil
    }

    public func restoreDeletion(_ key: RecordKey) {
        guard let old = templates[key.id], !old.builtin else { return }
        templates[key.id] = nil
        byName[old.name.lowercased()] = nil
        cache[key.id] = nil
    }

    /// User templates only: built-ins are recreated at start.
    public func allRecords() -> [Record] {
        templates.values.filter { !$0.builtin }.sorted { $0.id < $1.id }.map { .template($0) }
    }

    // MARK: Queries

    /// By id, else by name (case-insensitive).
    public func find(_ idOrName: String) -> Template? {
        if let t = templates[idOrName] { return t }
        if let id = byName[idOrName.lowercased()] { return templates[id] }
        return nil
    }

    /// A partial by name (case-insensitive), else by id.
    func findPartial(_ name: String) -> Template? {
        if let id = byName[name.lowercased()] { return templates[id] }
        return templates[name]
    }

    /// `template/get {id | name}`.
    public func get(id: String?, name: String?) throws(DomainError) -> Template {
        if let id {
            guard let t = templates[id] else { throw .notFound(kind: "template", id: id) }
            return t
        }
        if let name {
            guard let id = byName[name.lowercased()], let t = templates[id] else { throw .notFound(kind: "template", id: name) }
            return t
        }
        throw .invalidArgument(field: "id", expected: "an id or a name")
    }

    /// `template/list`: filtered by type, tag (case-insensitive) and query (case-insensitive
    /// substring of name, description or any tag); ordered by name, then id.
    public func list(type: TemplateType? = nil, tag: String? = nil, query: String? = nil) -> [Template] {
        let tagLower = tag?.lowercased()
        let q = query?.lowercased()
        return templates.values.filter { t in
            if let type, t.type != type { return false }
            if let tagLower, !t.tags.contains(where: { $0.lowercased() == tagLower }) { return false }
            if let q, !q.isEmpty {
                if !(t.name.lowercased().contains(q) || t.description.lowercased().contains(q)
                    || t.tags.contains(where: { $0.lowercased().contains(q) }))
                { return false }
            }
            return true
        }.sorted(by: Self.order)
    }

    static func order(_ a: Template, _ b: Template) -> Bool {
        let la = a.name.lowercased(), lb = b.name.lowercased()
        if la != lb { return la < lb }
        return a.id < b.id
    }

    /// `template/statistics`.
    public func statistics() -> TemplateStatistics {
        var byType = JSONObject()
        for type in TemplateType.allCases { byType.appendUnchecked(type.rawValue, .int(templates.values.count { $0.type == type })) }
        var counts: [String: Int] = [:]
        for t in templates.values { for tag in t.tags { counts[tag, default: 0] += 1 } }
        var cloud = JSONObject()
        for (tag, n) in counts.sorted(by: { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }) {
            cloud.appendUnchecked(tag, .int(n))
        }
        return TemplateStatistics(total: templates.count, byType: byType, tagCloud: cloud)
    }

    /// `template/extractVariables`: every tag name as written, in order of first use.
    public static func extractVariables(_ content: String) throws(DomainError) -> [String] {
        try MustacheTemplate(parsing: content).tagNames
    }

    // MARK: Mutations

    /// `template/create`. Variables the content uses at the root without declaring them
    /// are declared as optional; warnings list those and the declared-but-unused ones.
    public func create(_ d: TemplateDraft) throws(DomainError) -> TemplateChange {
        try Self.validateName(d.name)
        if let other = byName[d.name.lowercased()] {
            throw .conflict(kind: "template", id: other, reason: "a template named '\(d.name)' already exists")
        }
        let tree = try parse(d.content)
        let declared = try Self.validateVariables(d.variables ?? [])
        let tags = try Self.normalizedTags(d.tags ?? [])
        let version = d.version ?? "1.0.0"
        try Self.validateVersion(version, field: "version")
        let (variables, warnings) = Self.analyze(tree, declared)
        let now = env.now()
        let t = Template(
            id: env.ids.next("tpl"), name: d.name, description: d.description ?? "", type: d.type, content: d.content,
            variables: variables, tags: tags, metadata: d.metadata ?? JSONObject(), version: version, builtin: false,
            createdAt: now, updatedAt: now)
        insert(t)
        env.effects.put(.template(t))
        env.effects.emit(.template(event: "created", template: t))
        return TemplateChange(template: t, warnings: warnings)
    }

    /// `template/update`: absent fields stay; `version` absent bumps the patch number;
    /// `expectedVersion` that does not match → 1003.
    public func update(id: String, _ p: TemplatePatch) throws(DomainError) -> TemplateChange {
        guard var t = templates[id] else { throw .notFound(kind: "template", id: id) }
        if t.builtin { throw .conflict(kind: "template", id: id, reason: "built-in templates are read-only") }
        if let expected = p.expectedVersion, expected != t.version {
            throw .conflict(kind: "template", id: id, reason: "version is \(t.version), expected \(expected)")
        }
        if let name = p.name {
            try Self.validateName(name)
            if let other = byName[name.lowercased()], other != id {
                throw .conflict(kind: "template", id: other, reason: "a template named '\(name)' already exists")
            }
        }
        let content = p.content ?? t.content
        let tree = try parse(content)
        let declared = try Self.validateVariables(p.variables ?? t.variables)
        let tags = try p.tags.map { (tags) throws(DomainError) in try Self.normalizedTags(tags) } ?? t.tags
        let version: String
        if let v = p.version {
            try Self.validateVersion(v, field: "version")
            version = v
        } else {
            version = Self.bumpPatch(t.version)
        }
        let (variables, warnings) = Self.analyze(tree, declared)
        byName[t.name.lowercased()] = nil
        if let name = p.name { t.name = name }
        if let type = p.type { t.type = type }
        if let d = p.description { t.description = d }
        if let m = p.metadata { t.metadata = m }
        t.content = content
        t.variables = variables
        t.tags = tags
        t.version = version
        t.updatedAt = env.now()
        insert(t)
        env.effects.put(.template(t))
        env.effects.emit(.template(event: "updated", template: t))
        return TemplateChange(template: t, warnings: warnings)
    }

    /// `template/delete` → the removed ids. Built-ins are read-only (1003).
    public func delete(id: String) throws(DomainError) -> [String] {
        guard let t = templates[id] else { throw .notFound(kind: "template", id: id) }
        if t.builtin { throw .conflict(kind: "template", id: id, reason: "built-in templates are read-only") }
        templates[id] = nil
        byName[t.name.lowercased()] = nil
        cache[id] = nil
        env.effects.delete(RecordKey(.template, id))
        env.effects.emit(.template(event: "deleted", template: t))
        return [id]
    }

    /// `template/export`.
    public func export(id: String) throws(DomainError) -> TemplateSnapshot {
        guard let t = templates[id] ?? find(id) else { throw .notFound(kind: "template", id: id) }
        return TemplateSnapshot(template: t)
    }

    /// `template/import` (also `loadFromFile`, `loadDirectory`). Accepts an export
    /// snapshot `{schemaVersion: 1, template}` or a bare template object (only `name`,
    /// `type` and `content` required). `field` prefixes error field names.
    public func importSnapshot(_ value: JSONValue, onConflict policy: ImportConflictPolicy = .error, field: String = "snapshot") throws(DomainError) -> Template {
        guard case .object(let obj) = value else { throw .invalidArgument(field: field, expected: "an object {schemaVersion: 1, template}") }
        let body: JSONValue
        var bodyField = field
        if let inner = obj["template"] {
            if let sv = obj["schemaVersion"], sv.intValue != TemplateSnapshot.currentSchemaVersion {
                throw .invalidArgument(field: "\(field).schemaVersion", expected: "1")
            }
            body = inner
            bodyField = "\(field).template"
        } else {
            body = value
        }
        let draft: ImportedTemplate
        do {
            draft = try JSONValueDecoder().decode(ImportedTemplate.self, from: body)
        } catch {
            let f = JSONDecodingFailure(error)
            throw .invalidArgument(field: f.field.isEmpty ? bodyField : "\(bodyField).\(f.field)", expected: f.expected.isEmpty ? f.message : f.expected)
        }
        try Self.validateName(draft.name, field: "\(bodyField).name")
        if let id = draft.id { try IDRules.validate(id, field: "\(bodyField).id") }
        let tree = try parse(draft.content, field: "\(bodyField).content")
        let declared = try Self.validateVariables(draft.variables ?? [], field: "\(bodyField).variables")
        let tags = try Self.normalizedTags(draft.tags ?? [], field: "\(bodyField).tags")
        let version = draft.version ?? "1.0.0"
        try Self.validateVersion(version, field: "\(bodyField).version")
        let (variables, _) = Self.analyze(tree, declared)

        let idMatch = draft.id.flatMap { templates[$0] }
        let nameMatch = byName[draft.name.lowercased()].flatMap { templates[$0] }
        let now = env.now()
        var id = draft.id
        var name = draft.name
        var createdAt = draft.createdAt ?? now
        var replaced: Template?
        switch policy {
        case .error:
            if let t = idMatch { throw .conflict(kind: "template", id: t.id, reason: "a template with this id already exists") }
            if let t = nameMatch { throw .conflict(kind: "template", id: t.id, reason: "a template named '\(draft.name)' already exists") }
        case .replace:
            if let t = idMatch ?? nameMatch, t.builtin {
                throw .conflict(kind: "template", id: t.id, reason: "built-in templates are read-only")
            }
            if let a = idMatch, let b = nameMatch, a.id != b.id {
                throw .conflict(kind: "template", id: b.id, reason: "the name '\(draft.name)' belongs to another template than id '\(a.id)'")
            }
            if let target = idMatch ?? nameMatch {
                id = target.id
                createdAt = target.createdAt
                replaced = target
            }
        case .newId:
            if idMatch != nil || nameMatch != nil || id?.hasPrefix(BuiltinTemplates.idPrefix) == true { id = nil }
            if nameMatch != nil {
                var n = 2
                while byName["\(draft.name) (\(n))".lowercased()] != nil { n += 1 }
                name = "\(draft.name) (\(n))"
            }
        }
        if policy != .newId, let i = id, i.hasPrefix(BuiltinTemplates.idPrefix), replaced == nil {
            throw .conflict(kind: "template", id: i, reason: "ids starting with '\(BuiltinTemplates.idPrefix)' are reserved for built-ins")
        }
        let t = Template(
            id: id ?? env.ids.next("tpl"), name: name, description: draft.description ?? "", type: draft.type, content: draft.content,
            variables: variables, tags: tags, metadata: draft.metadata ?? JSONObject(), version: version, builtin: false,
            createdAt: createdAt, updatedAt: now)
        if let replaced { byName[replaced.name.lowercased()] = nil }
        insert(t)
        env.effects.put(.template(t))
        env.effects.emit(.template(event: "imported", template: t))
        return t
    }

    // MARK: Rendering

    /// `template/render`: checks value types against declared types (-32602 naming
    /// `variables.NAME`), reports every missing variable at once (1004), applies defaults
    /// and renders. `strict` makes every referenced variable required and a missing
    /// partial an error (1001).
    public func render(
        _ idOrName: String, variables: JSONObject = JSONObject(), escape: TemplateEscape = .none, strict: Bool = false
    ) throws(DomainError) -> String {
        guard let t = find(idOrName) else { throw .notFound(kind: "template", id: idOrName) }
        return try render(t, variables: variables, escape: escape, strict: strict)
    }

    public func render(_ t: Template, variables: JSONObject, escape: TemplateEscape = .none, strict: Bool = false) throws(DomainError) -> String {
        let compiled = try self.compiled(t)
        // One pass over the given values: type checks, and which declared ones are set.
        var given = [Bool](repeating: false, count: compiled.types.count)
        for (name, value) in variables {
            guard let i = compiled.declared[name], !value.isNull else { continue }
            given[i] = true
            if let type = compiled.types[i], !type.accepts(value) {
                throw .invalidArgument(field: "variables.\(name)", expected: "\(type.withArticle), got \(value.typeName)")
            }
        }
        // Missing and defaults.
        var missing: [String] = []
        var root = variables
        var rootCopied = false
        for (i, v) in t.variables.enumerated() where !given[i] {
            if let d = v.default {
                if !rootCopied { rootCopied = true; root = JSONObject(variables.filter { !$0.value.isNull }.map { ($0.key, $0.value) }) }
                root[v.name] = d
            } else if v.required || (strict && isReferenced(v.name, compiled.tree)) {
                missing.append(v.name)
            }
        }
        if strict {
            for name in compiled.tree.rootVariables where compiled.declared[name] == nil {
                let given = variables[name]
                if given == nil || given == .null { missing.append(name) }
            }
        }
        if !missing.isEmpty { throw .missingVariables(template: t.name, missing: missing) }
        let options = MustacheRenderOptions(
            escapeHTML: escape == .html, strictPartials: strict, maxPartialDepth: env.limits.maxPartialDepth,
            maxOutputBytes: env.limits.maxTemplateOutputBytes)
        return try MustacheRenderer.render(compiled.tree, context: .object(root), options: options, partials: PartialResolver(manager: self))
    }

    private func isReferenced(_ name: String, _ tree: MustacheTemplate) -> Bool {
        tree.rootVariables.contains(name) || tree.nestedVariables.contains(name)
    }

    /// Resolves `{{> name}}` to another template by name (case-insensitive), else by id.
    struct PartialResolver: MustachePartialResolver {
        let manager: TemplateManager
        func partial(named name: String, indentation: String) throws(DomainError) -> MustacheTemplate? {
            guard let t = manager.findPartial(name) else { return nil }
            let c = try manager.compiled(t)
            if indentation.isEmpty { return c.tree }
            if let tree = c.indented[indentation] { return tree }
            let tree = try MustacheTemplate(parsing: MustacheTemplate.indent(t.content, by: indentation))
            c.indented[indentation] = tree
            return tree
        }
    }

    /// The cached parse of `t` (by id and version).
    func compiled(_ t: Template) throws(DomainError) -> CompiledTemplate {
        if let c = cache[t.id], c.version == t.version { return c }
        let tree = try parse(t.content)
        var declared: [String: Int] = [:]
        for (i, v) in t.variables.enumerated() { declared[v.name] = i }
        let c = CompiledTemplate(version: t.version, tree: tree, declared: declared, types: t.variables.map(\.type))
        cache[t.id] = c
        return c
    }

    // MARK: Helpers

    private func insert(_ t: Template) {
        templates[t.id] = t
        byName[t.name.lowercased()] = t.id
        cache[t.id] = nil
    }

    private func parse(_ content: String, field: String = "content") throws(DomainError) -> MustacheTemplate {
        let max = env.limits.maxStringBytes
        if content.utf8.count > max { throw .limitExceeded(limit: "maxStringBytes", max: max, value: content.utf8.count) }
        return try MustacheTemplate(parsing: content, field: field)
    }

    /// Declared variables plus every root-level variable the content uses without
    /// declaring it (as optional); warnings for both directions.
    static func analyze(_ tree: MustacheTemplate, _ declared: [TemplateVariable]) -> ([TemplateVariable], [TemplateWarning]) {
        var warnings: [TemplateWarning] = []
        let used = Set(tree.rootVariables).union(tree.nestedVariables)
        let names = Set(declared.map(\.name))
        for v in declared where !used.contains(v.name) { warnings.append(TemplateWarning(kind: .unused, variable: v.name)) }
        var variables = declared
        for name in tree.rootVariables where !names.contains(name) {
            warnings.append(TemplateWarning(kind: .undeclared, variable: name))
            variables.append(TemplateVariable(name: name, required: false))
        }
        return (variables, warnings)
    }

    static func validateName(_ name: String, field: String = "name") throws(DomainError) {
        let trimmed = name.trimmingWhitespace
        guard !trimmed.isEmpty, name.utf8.count <= 200, !name.unicodeScalars.contains(where: { $0.value < 32 || $0.value == 127 }) else {
            throw .invalidArgument(field: field, expected: "a non-empty name of at most 200 bytes without control characters")
        }
    }

    static func validateVariables(_ vars: [TemplateVariable], field: String = "variables") throws(DomainError) -> [TemplateVariable] {
        var seen: Set<String> = []
        for (i, v) in vars.enumerated() {
            let u = v.name.utf8
            let bad = u.contains { $0 <= 32 || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "{") || $0 == UInt8(ascii: "}") || $0 == 127 }
            guard !u.isEmpty, u.count <= 128, !bad else {
                throw .invalidArgument(field: "\(field)[\(i)].name", expected: "a name of 1-128 bytes without whitespace, '.', '{' or '}'")
            }
            guard seen.insert(v.name).inserted else {
                throw .invalidArgument(field: "\(field)[\(i)].name", expected: "unique variable names ('\(v.name)' is repeated)")
            }
            if let d = v.default, let type = v.type, !type.accepts(d) {
                throw .invalidArgument(field: "\(field).\(v.name).default", expected: "\(type.withArticle), got \(d.typeName)")
            }
        }
        return vars
    }

    static func normalizedTags(_ tags: [String], field: String = "tags") throws(DomainError) -> [String] {
        var out: [String] = []
        var seen: Set<String> = []
        for (i, tag) in tags.enumerated() {
            guard !tag.trimmingWhitespace.isEmpty, tag.utf8.count <= 128 else {
                throw .invalidArgument(field: "\(field)[\(i)]", expected: "a non-empty tag of at most 128 bytes")
            }
            if seen.insert(tag).inserted { out.append(tag) }
        }
        return out
    }

    static func parseVersion(_ v: String) -> (Int, Int, Int)? {
        let parts = v.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { return nil }
        var nums: [Int] = []
        for p in parts {
            guard !p.isEmpty, p.utf8.count <= 9, p.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let n = Int(p) else { return nil }
            nums.append(n)
        }
        return (nums[0], nums[1], nums[2])
    }

    static func validateVersion(_ v: String, field: String) throws(DomainError) {
        guard parseVersion(v) != nil else { throw .invalidArgument(field: field, expected: "a semantic version MAJOR.MINOR.PATCH such as 1.0.0") }
    }

    static func bumpPatch(_ v: String) -> String {
        guard let (a, b, c) = parseVersion(v) else { return "1.0.0" }
        return "\(a).\(b).\(c + 1)"
    }
}

extension String {
    var trimmingWhitespace: Substring {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return s
    }
}
