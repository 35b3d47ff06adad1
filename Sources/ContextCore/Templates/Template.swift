import JSONCore

/// What a template is for (PROTOCOL §8).
public enum TemplateType: String, Sendable, Codable, CaseIterable {
    case code, prompt, workflow, documentation, email, custom

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let s = try c.decode(String.self)
        guard let t = TemplateType(rawValue: s) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "one of code, prompt, workflow, documentation, email, custom"))
        }
        self = t
    }
}

/// The JSON type a variable's value must have.
public enum VariableType: String, Sendable, Codable, CaseIterable {
    case string, number, boolean, array, object

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let s = try c.decode(String.self)
        guard let t = VariableType(rawValue: s) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "one of string, number, boolean, array, object"))
        }
        self = t
    }

    /// "a string", "an array", … for error messages.
    public var withArticle: String {
        switch self {
        case .array, .object: "an \(rawValue)"
        default: "a \(rawValue)"
        }
    }

    /// Whether `value` has this type.
    public func accepts(_ value: JSONValue) -> Bool {
        switch (self, value) {
        case (.string, .string), (.number, .number), (.boolean, .bool), (.array, .array), (.object, .object): true
        default: false
        }
    }
}

/// A declared template variable. `default` is a real default whatever its value (an
/// empty string included); a variable is missing only when it is required and has
/// neither a value nor a default.
public struct TemplateVariable: Sendable, Codable, Equatable {
    public var name: String
    public var required: Bool
    public var `default`: JSONValue?
    public var type: VariableType?
    public var description: String?

    public init(name: String, required: Bool = false, default: JSONValue? = nil, type: VariableType? = nil, description: String? = nil) {
        self.name = name
        self.required = required
        self.default = `default`
        self.type = type
        self.description = description
    }

    enum CodingKeys: String, CodingKey { case name, required, `default`, type, description }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        required = try c.decodeIfPresent(Bool.self, forKey: .required) ?? false
        `default` = try c.decodeIfPresent(JSONValue.self, forKey: .default)
        type = try c.decodeIfPresent(VariableType.self, forKey: .type)
        description = try c.decodeIfPresent(String.self, forKey: .description)
    }
}

/// A Mustache template (PROTOCOL §8). Built-ins have ids `builtin-…`, are read-only and
/// are recreated at every start rather than persisted.
public struct Template: Sendable, Codable, Equatable {
    public var id: String
    /// Unique, compared case-insensitively.
    public var name: String
    public var description: String
    public var type: TemplateType
    public var content: String
    public var variables: [TemplateVariable]
    /// A set kept in order of first addition.
    public var tags: [String]
    public var metadata: JSONObject
    /// Semantic version `MAJOR.MINOR.PATCH`; an update without a version bumps PATCH.
    public var version: String
    public var builtin: Bool
    public var createdAt: Timestamp
    public var updatedAt: Timestamp

    public init(
        id: String, name: String, description: String = "", type: TemplateType, content: String, variables: [TemplateVariable] = [],
        tags: [String] = [], metadata: JSONObject = JSONObject(), version: String = "1.0.0", builtin: Bool = false,
        createdAt: Timestamp, updatedAt: Timestamp
    ) {
        self.id = id
        self.name = name
        self.description = description
        self.type = type
        self.content = content
        self.variables = variables
        self.tags = tags
        self.metadata = metadata
        self.version = version
        self.builtin = builtin
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// A warning from `template/create|update`: a declared variable the content never uses,
/// or a variable the content uses without declaring (it is then declared as optional).
public struct TemplateWarning: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable { case unused, undeclared }
    public var kind: Kind
    public var variable: String
    public init(kind: Kind, variable: String) {
        self.kind = kind
        self.variable = variable
    }
}

/// The result of `template/create` and `template/update`.
public struct TemplateChange: Sendable, Codable, Equatable {
    public var template: Template
    public var warnings: [TemplateWarning]
}

/// The export format of one template (`template/export`, `saveToFile`).
public struct TemplateSnapshot: Sendable, Codable, Equatable {
    public static let currentSchemaVersion = 1
    public var schemaVersion: Int
    public var template: Template
    public init(template: Template) {
        schemaVersion = Self.currentSchemaVersion
        self.template = template
    }
}

/// `template/statistics`: counts over every template, built-ins included. `byType` lists
/// every type (zero included) in declaration order; `tagCloud` maps each tag to the
/// number of templates carrying it, most used first, then by tag.
public struct TemplateStatistics: Sendable, Codable, Equatable {
    public var total: Int
    public var byType: JSONObject
    public var tagCloud: JSONObject
}

/// How `template/import` treats a template whose id or name already exists.
public enum ImportConflictPolicy: String, Sendable, Codable {
    /// Fail with 1003.
    case error
    /// Replace the existing template with that id (else that name), keeping its id.
    case replace
    /// Import under a fresh id; a taken name gets a ` (2)`, ` (3)`, … suffix.
    case newId
}

/// Render-time HTML escaping.
public enum TemplateEscape: String, Sendable, Codable {
    case none, html
}

/// The fields of `template/create`.
public struct TemplateDraft: Sendable, Decodable {
    public var name: String
    public var type: TemplateType
    public var content: String
    public var description: String?
    public var variables: [TemplateVariable]?
    public var tags: [String]?
    public var metadata: JSONObject?
    public var version: String?

    public init(name: String, type: TemplateType, content: String, description: String? = nil, variables: [TemplateVariable]? = nil,
                tags: [String]? = nil, metadata: JSONObject? = nil, version: String? = nil) {
        self.name = name
        self.type = type
        self.content = content
        self.description = description
        self.variables = variables
        self.tags = tags
        self.metadata = metadata
        self.version = version
    }
}

/// The fields of `template/update` (all optional; absent = unchanged).
public struct TemplatePatch: Sendable, Decodable {
    public var name: String?
    public var type: TemplateType?
    public var content: String?
    public var description: String?
    public var variables: [TemplateVariable]?
    public var tags: [String]?
    public var metadata: JSONObject?
    public var version: String?
    public var expectedVersion: String?

    public init(name: String? = nil, type: TemplateType? = nil, content: String? = nil, description: String? = nil,
                variables: [TemplateVariable]? = nil, tags: [String]? = nil, metadata: JSONObject? = nil,
                version: String? = nil, expectedVersion: String? = nil) {
        self.name = name
        self.type = type
        self.content = content
        self.description = description
        self.variables = variables
        self.tags = tags
        self.metadata = metadata
        self.version = version
        self.expectedVersion = expectedVersion
    }
}

/// A template as found in an import: a snapshot's `template`, or a hand-written file with
/// only `name`, `type` and `content` required.
struct ImportedTemplate: Decodable {
    var id: String?
    var name: String
    var type: TemplateType
    var content: String
    var description: String?
    var variables: [TemplateVariable]?
    var tags: [String]?
    var metadata: JSONObject?
    var version: String?
    var createdAt: Timestamp?
}
