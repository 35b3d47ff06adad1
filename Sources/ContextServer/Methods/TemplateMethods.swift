import ContextCore
import JSONRPC

// template/* (PROTOCOL §8). Logic lives in ContextCore's TemplateManager; file I/O,
// confined to the allowed roots, lives here (ContextCore does no files).

struct TemplateRef: Decodable, Sendable {
    let id: String?
    let name: String?
}

struct TemplateIDParams: Decodable, Sendable {
    let id: String
}

struct TemplateUpdateParams: Decodable, Sendable {
    let id: String
    let patch: TemplatePatch
    enum CodingKeys: String, CodingKey { case id }
    init(from decoder: any Decoder) throws {
        id = try decoder.container(keyedBy: CodingKeys.self).decode(String.self, forKey: .id)
        patch = try TemplatePatch(from: decoder)
    }
}

struct TemplateListParams: Decodable, Sendable {
    let type: TemplateType?
    let tag: String?
    let query: String?
}

struct TemplateRenderParams: Decodable, Sendable {
    let id: String?
    let name: String?
    let variables: JSONObject?
    let escape: TemplateEscape?
    let strict: Bool?
}

struct TemplateContentParams: Decodable, Sendable {
    let content: String
}

struct TemplateImportParams: Decodable, Sendable {
    let snapshot: JSONValue
    let onConflict: ImportConflictPolicy?
}

struct TemplateSaveParams: Decodable, Sendable {
    let id: String
    let path: String
}

struct TemplateLoadParams: Decodable, Sendable {
    let path: String
    let onConflict: ImportConflictPolicy?
}

struct TemplateList: Encodable { let templates: [Template] }
struct TemplateRemoved: Encodable { let removed: [String] }
struct TemplateText: Encodable { let text: String }
struct TemplateVariableNames: Encodable { let variables: [String] }
struct TemplateSaved: Encodable {
    let path: String
    let bytes: Int
}
struct TemplateLoadFailure: Encodable {
    let path: String
    let error: String
    let code: Int
}
struct TemplateDirectoryLoad: Encodable {
    let loaded: [Template]
    let failed: [TemplateLoadFailure]
}

/// Template files are small; refuse anything over this many bytes.
let maxTemplateFileBytes = 64 << 20

extension RequestContext {
    var pathConfinement: PathConfinement {
        let c = config
        return PathConfinement(roots: c.allowedRoots, workspaceRoot: c.workspaceRoot)
    }
}

extension MethodTable {
    /// Registers the methods of this namespace.
    mutating func registerTemplateMethods() {
        register("template/create", TemplateDraft.self) { p, ctx in
            try ctx.engine.templates.create(p)
        }
        register("template/get", TemplateRef.self) { p, ctx in
            try ctx.engine.templates.get(id: p.id, name: p.name)
        }
        register("template/update", TemplateUpdateParams.self) { p, ctx in
            try ctx.engine.templates.update(id: p.id, p.patch)
        }
        register("template/delete", TemplateIDParams.self) { p, ctx in
            TemplateRemoved(removed: try ctx.engine.templates.delete(id: p.id))
        }
        register("template/list", TemplateListParams.self) { p, ctx in
            TemplateList(templates: ctx.engine.templates.list(type: p.type, tag: p.tag, query: p.query))
        }
        register("template/render", TemplateRenderParams.self) { p, ctx in
            let m = ctx.engine.templates
            let t = try m.get(id: p.id, name: p.id == nil ? p.name : nil)
            let text = try m.render(t, variables: p.variables ?? JSONObject(), escape: p.escape ?? .none, strict: p.strict ?? false)
            return TemplateText(text: text)
        }
        register("template/extractVariables", TemplateContentParams.self) { p, _ in
            TemplateVariableNames(variables: try TemplateManager.extractVariables(p.content))
        }
        register("template/statistics", NoParams.self) { _, ctx in
            ctx.engine.templates.statistics()
        }
        register("template/export", TemplateIDParams.self) { p, ctx in
            try ctx.engine.templates.export(id: p.id)
        }
        register("template/import", TemplateImportParams.self) { p, ctx in
            try ctx.withProgress("importing template") { () throws(DomainError) in try ctx.engine.templates.importSnapshot(p.snapshot, onConflict: p.onConflict ?? .error) }
        }
        register("template/saveToFile", TemplateSaveParams.self) { p, ctx in
            let snapshot = try ctx.engine.templates.export(id: p.id)
            let target = try ctx.pathConfinement.writable(p.path)
            var bytes = JSONWriter.encode(try JSONValueEncoder().encode(snapshot), options: [.pretty])
            bytes.append(UInt8(ascii: "\n"))
            try PathConfinement.writeAtomically(bytes, to: target, displayPath: p.path)
            return TemplateSaved(path: target, bytes: bytes.count)
        }
        register("template/loadFromFile", TemplateLoadParams.self) { p, ctx in
            let source = try ctx.pathConfinement.existing(p.path)
            return try loadTemplateFile(source, displayPath: p.path, onConflict: p.onConflict ?? .error, ctx: ctx)
        }
        register("template/loadDirectory", TemplateLoadParams.self) { p, ctx in
            let confinement = ctx.pathConfinement
            let dir = try confinement.existing(p.path)
            let names = try PathConfinement.jsonFiles(in: dir, displayPath: p.path)
            let progress = ctx.progress()
            progress.begin("loading \(names.count) template file\(names.count == 1 ? "" : "s")")
            var loaded: [Template] = []
            var failed: [TemplateLoadFailure] = []
            for (i, name) in names.enumerated() {
                let display = dir == "/" ? "/" + name : dir + "/" + name
                do {
                    // Each entry is confined on its own (a symlink may point anywhere).
                    let source = try confinement.existing(display)
                    loaded.append(try loadTemplateFile(source, displayPath: display, onConflict: p.onConflict ?? .error, ctx: ctx))
                } catch let e as DomainError {
                    failed.append(TemplateLoadFailure(path: display, error: e.message, code: templateErrorCode(e)))
                }
                progress.report(name, percentage: (i + 1) * 100 / max(names.count, 1))
            }
            progress.end("loaded \(loaded.count), failed \(failed.count)")
            return TemplateDirectoryLoad(loaded: loaded, failed: failed)
        }
    }
}

/// Reads, parses and imports one template file.
func loadTemplateFile(_ resolved: String, displayPath: String, onConflict: ImportConflictPolicy, ctx: RequestContext) throws(DomainError) -> Template {
    let bytes = try PathConfinement.read(resolved, displayPath: displayPath, maxBytes: maxTemplateFileBytes)
    let value: JSONValue
    do {
        value = try JSONParser.parse(bytes)
    } catch {
        throw .invalidArgument(field: "path", expected: "a JSON template snapshot in '\(displayPath)' (\(error))")
    }
    return try ctx.engine.templates.importSnapshot(value, onConflict: onConflict, field: "snapshot")
}

/// The JSON-RPC code of a domain error, for `loadDirectory`'s `failed[].code`.
func templateErrorCode(_ e: DomainError) -> Int {
    switch e {
    case .notFound: 1001
    case .invalidTransition: 1002
    case .conflict: 1003
    case .missingVariables: 1004
    case .groupClosed: 1005
    case .storage: 1006
    case .pathNotAllowed: 1007
    case .limitExceeded: 1008
    case .invalidArgument: -32602
    }
}
