// STUB — replaced by the templates work (issue 5).
public struct Template: Sendable, Codable, Equatable {
    public var id: String
}
public final class TemplateManager: @unchecked Sendable {
    let env: DomainEnvironment
    var templates: [String: Template] = [:]
    public init(env: DomainEnvironment) { self.env = env }
    public func restore(_ t: Template) { templates[t.id] = t }
    public func restoreDeletion(_ key: RecordKey) { templates[key.id] = nil }
    public func allRecords() -> [Record] { templates.values.map { .template($0) } }
}
