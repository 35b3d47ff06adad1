import JSONCore

/// The 15 built-in templates (PROTOCOL §8): read-only, stable ids (`builtin-function`,
/// …), a fixed `createdAt`, recreated at every start and never persisted.
///
/// They are pure Mustache. The code-related ones take a `language` variable and are
/// written as instructions to an assistant (or as language-neutral documents), so the
/// same template gives sensible results for Go, Swift, Python, TypeScript or any other
/// language — no per-language branches.
public enum BuiltinTemplates {
    public static let idPrefix = "builtin-"
    /// 2026-01-01T00:00:00.000Z.
    public static let createdAt = Timestamp(milliseconds: 1_767_225_600_000)

    private static func v(_ name: String, _ type: VariableType = .string, required: Bool = false, default d: JSONValue? = nil, _ description: String) -> TemplateVariable {
        TemplateVariable(name: name, required: required, default: d, type: type, description: description)
    }

    private static func make(_ slug: String, _ name: String, _ type: TemplateType, _ description: String, tags: [String],
                             _ variables: [TemplateVariable], _ content: String) -> Template {
        Template(id: idPrefix + slug, name: name, description: description, type: type, content: content, variables: variables,
                 tags: tags, metadata: ["source": "builtin"], version: "1.0.0", builtin: true, createdAt: createdAt, updatedAt: createdAt)
    }

    private static let language = v("language", required: true, "Programming language, e.g. Go, Swift, Python, TypeScript")

    public static let all: [Template] = [
        function, codeReview, bugFix, functionDocumentation, statusUpdateEmail, testSuite, model, repository, service,
        httpHandler, featurePlanning, implementation, testing, documentation, deployment,
    ]

    static let function = make(
        "function", "Function", .code, "Asks for one well-designed function in any language, with its contract spelled out.",
        tags: ["code", "function", "generation"],
        [
            language,
            v("functionName", required: true, "Name of the function"),
            v("purpose", required: true, "What the function does, in one or two sentences"),
            v("parameters", .array, default: [], "Parameters: [{name, type?, description?}]"),
            v("returns", default: "", "What the function returns (empty: nothing)"),
            v("constraints", .array, default: [], "Extra requirements, one string each"),
            v("includeTests", .boolean, default: false, "Also ask for unit tests"),
        ],
        """
        Write a {{language}} function named `{{functionName}}`.

        Purpose: {{purpose}}

        Parameters:
        {{#parameters}}
        - `{{name}}`{{#type}} ({{type}}){{/type}}{{#description}}: {{description}}{{/description}}
        {{/parameters}}
        {{^parameters}}
        - none
        {{/parameters}}
        Returns: {{#returns}}{{returns}}{{/returns}}{{^returns}}nothing{{/returns}}

        Requirements:
        - Follow the idioms, naming conventions and standard library of {{language}}.
        - Report failures the way {{language}} code normally does (error values, exceptions, throwing functions or result types) and never fail silently.
        - Validate inputs and handle edge cases explicitly: empty input, zero, very large values, invalid values.
        - Keep it free of global state and I/O unless the purpose requires them.
        - Start with a documentation comment in the style of {{language}} describing the parameters, the return value and the errors.
        {{#constraints}}
        - {{.}}
        {{/constraints}}
        {{#includeTests}}
        - Also write unit tests with the usual test framework for {{language}}, covering normal cases, edge cases and failures.
        {{/includeTests}}

        Answer with the code in a single fenced code block, followed by a short explanation of the design choices.

        """)

    static let codeReview = make(
        "code-review", "Code Review", .prompt, "A structured review request: findings with location, severity and a concrete fix.",
        tags: ["code", "review", "quality"],
        [
            language,
            v("code", required: true, "The code to review"),
            v("context", default: "", "What the code is for, or what changed"),
            v("focus", .array, default: ["correctness", "error handling", "security", "performance", "readability", "tests"], "Aspects to focus on"),
        ],
        """
        Review the following {{language}} code.
        {{#context}}

        Context: {{context}}
        {{/context}}

        ```
        {{{code}}}
        ```

        Focus on:
        {{#focus}}
        - {{.}}
        {{/focus}}

        For every finding give:
        1. Location (line, function or type).
        2. Severity: blocker, major, minor or nit.
        3. What is wrong and why it matters.
        4. A concrete fix, as a {{language}} snippet where it helps.

        Judge the code by the conventions of {{language}} and its standard library. Do not report style preferences as defects.
        Finish with a summary: an overall assessment, the three most important changes, and what is done well.

        """)

    static let bugFix = make(
        "bug-fix", "Bug Fix", .prompt, "Root-cause analysis and a minimal fix with a regression test.",
        tags: ["code", "debugging", "fix"],
        [
            language,
            v("summary", required: true, "One-line description of the bug"),
            v("expected", required: true, "What should happen"),
            v("actual", required: true, "What happens instead"),
            v("code", default: "", "The relevant code"),
            v("errorOutput", default: "", "Error message, stack trace or log excerpt"),
            v("stepsToReproduce", .array, default: [], "Steps to reproduce, one string each"),
            v("environment", default: "", "Versions, OS, configuration"),
        ],
        """
        Fix a bug in {{language}} code.

        Bug: {{summary}}
        Expected: {{expected}}
        Actual: {{actual}}
        {{#environment}}
        Environment: {{environment}}
        {{/environment}}

        Steps to reproduce:
        {{#stepsToReproduce}}
        - {{.}}
        {{/stepsToReproduce}}
        {{^stepsToReproduce}}
        - not known
        {{/stepsToReproduce}}
        {{#errorOutput}}

        Error output:
        ```
        {{{errorOutput}}}
        ```
        {{/errorOutput}}
        {{#code}}

        Code:
        ```
        {{{code}}}
        ```
        {{/code}}

        Please:
        1. Explain the root cause, pointing at the exact lines responsible, and why the symptom follows from it.
        2. Propose the smallest change that fixes the cause rather than the symptom, as a diff or full {{language}} code.
        3. Write a regression test that fails before the fix and passes after it.
        4. Name other places where the same mistake is likely, and any risk the fix introduces.

        """)

    static let functionDocumentation = make(
        "function-documentation", "Function Documentation", .documentation,
        "Reference documentation for one function: signature, parameters, return value, errors and an example.",
        tags: ["documentation", "function", "reference"],
        [
            language,
            v("functionName", required: true, "Name of the function"),
            v("signature", required: true, "The function's signature as declared"),
            v("summary", required: true, "What the function does"),
            v("parameters", .array, default: [], "Parameters: [{name, type?, description}]"),
            v("returns", default: "", "The return value"),
            v("errors", default: "", "Errors or exceptions and when they happen"),
            v("example", default: "", "A usage example"),
            v("notes", .array, default: [], "Remarks: complexity, thread safety, side effects"),
        ],
        """
        ## `{{functionName}}`

        ```{{language}}
        {{{signature}}}
        ```

        {{summary}}

        ### Parameters
        {{#parameters}}
        - `{{name}}`{{#type}} (`{{type}}`){{/type}}: {{description}}
        {{/parameters}}
        {{^parameters}}
        None.
        {{/parameters}}

        ### Returns
        {{#returns}}
        {{returns}}
        {{/returns}}
        {{^returns}}
        Nothing.
        {{/returns}}
        {{#errors}}

        ### Errors
        {{errors}}
        {{/errors}}
        {{#example}}

        ### Example
        ```{{language}}
        {{{example}}}
        ```
        {{/example}}
        {{#notes}}
        - Note: {{.}}
        {{/notes}}

        """)

    static let statusUpdateEmail = make(
        "status-update-email", "Status Update Email", .email, "A concise project status email: done, in progress, blockers, next steps.",
        tags: ["email", "status", "communication"],
        [
            v("recipient", required: true, "Who the email is addressed to"),
            v("sender", required: true, "Who signs the email"),
            v("project", required: true, "Project name"),
            v("period", default: "this week", "The period covered"),
            v("overallStatus", default: "on track", "on track, at risk, off track, …"),
            v("completed", .array, default: [], "Items completed"),
            v("inProgress", .array, default: [], "Items in progress"),
            v("blockers", .array, default: [], "Blockers and who can unblock them"),
            v("nextSteps", .array, default: [], "Planned next steps"),
        ],
        """
        Subject: {{project}} status update: {{period}}

        Hi {{recipient}},

        Here is where {{project}} stands for {{period}}. Overall status: {{overallStatus}}.

        Completed:
        {{#completed}}
        - {{.}}
        {{/completed}}
        {{^completed}}
        - Nothing completed in this period.
        {{/completed}}

        In progress:
        {{#inProgress}}
        - {{.}}
        {{/inProgress}}
        {{^inProgress}}
        - Nothing in progress.
        {{/inProgress}}

        Blockers:
        {{#blockers}}
        - {{.}}
        {{/blockers}}
        {{^blockers}}
        - None.
        {{/blockers}}

        Next steps:
        {{#nextSteps}}
        - {{.}}
        {{/nextSteps}}
        {{^nextSteps}}
        - To be planned.
        {{/nextSteps}}

        Let me know if you have questions.

        Best regards,
        {{sender}}

        """)

    static let testSuite = make(
        "test-suite", "Test Suite", .code, "Asks for a complete, idiomatic test suite for a unit of code.",
        tags: ["code", "testing", "generation"],
        [
            language,
            v("subject", required: true, "The function, type or module under test"),
            v("framework", default: "", "Test framework (empty: the usual one for the language)"),
            v("code", default: "", "The code under test"),
            v("behaviors", .array, default: [], "Behaviours that must be covered, one string each"),
            v("includeEdgeCases", .boolean, default: true, "Ask for edge cases and failure paths"),
        ],
        """
        Write a test suite in {{language}} for {{subject}}{{#framework}} using {{framework}}{{/framework}}{{^framework}} using the standard or most common test framework for {{language}}{{/framework}}.
        {{#code}}

        Code under test:
        ```
        {{{code}}}
        ```
        {{/code}}

        Cover these behaviours:
        {{#behaviors}}
        - {{.}}
        {{/behaviors}}
        {{^behaviors}}
        - Every public behaviour visible in the code or description above.
        {{/behaviors}}
        {{#includeEdgeCases}}
        - Edge cases: empty and boundary inputs, invalid input, failures of dependencies, and error paths.
        {{/includeEdgeCases}}

        Guidelines:
        - One behaviour per test, named after what it checks; arrange, act, assert.
        - Prefer table-driven or parameterized tests where {{language}} makes them natural.
        - Tests are deterministic: no sleeps, no real network, injected clocks and randomness.
        - Assert on observable behaviour, not on implementation details.

        Answer with the complete test file in one fenced code block, then list anything you could not test and why.

        """)

    static let model = make(
        "model", "Model", .code, "Asks for a data model type with fields, validation and serialization.",
        tags: ["code", "model", "generation"],
        [
            language,
            v("modelName", required: true, "Name of the type"),
            v("summary", default: "", "What the model represents"),
            v("fields", .array, required: true, "Fields: [{name, type, description?, optional?}]"),
            v("serialization", default: "JSON", "Wire or storage format to support (empty: none)"),
            v("immutable", .boolean, default: true, "Prefer an immutable value type"),
        ],
        """
        Define a data model named `{{modelName}}` in {{language}}.
        {{#summary}}
        It represents {{summary}}.
        {{/summary}}

        Fields:
        {{#fields}}
        - `{{name}}`: {{type}}{{#optional}} (optional){{/optional}}{{#description}}: {{description}}{{/description}}
        {{/fields}}

        Requirements:
        - Use the idiomatic construct of {{language}} for a plain data type (for example a struct, a data class, a dataclass or an interface with a constructor function).
        {{#immutable}}
        - Make it an immutable value; provide a way to make modified copies.
        {{/immutable}}
        - Represent optional fields with the language's own notion of absence, not sentinel values.
        - Validate invariants when constructing a value and report violations with the usual error mechanism of {{language}}.
        {{#serialization}}
        - Support {{serialization}} encoding and decoding with stable field names, using the standard library or the most common package for {{language}}.
        {{/serialization}}
        - Document the type and each field.

        Answer with the code in one fenced code block, followed by an example of constructing a value.

        """)

    static let repository = make(
        "repository", "Repository", .code, "Asks for a repository (data access layer) for one entity type.",
        tags: ["code", "architecture", "persistence"],
        [
            language,
            v("entityName", required: true, "The entity stored, e.g. User"),
            v("idType", default: "string", "Type of the entity's id"),
            v("storage", default: "an in-memory map, behind an interface so a database can replace it", "Where the data lives"),
            v("operations", .array, default: ["create", "get by id", "list with pagination", "update", "delete"], "Operations to provide"),
            v("concurrency", .boolean, default: true, "Must be safe for concurrent use"),
        ],
        """
        Implement a repository for `{{entityName}}` entities in {{language}}.

        Storage: {{storage}}.
        Ids are of type {{idType}}.

        Operations:
        {{#operations}}
        - {{.}}
        {{/operations}}

        Requirements:
        - Declare the repository as an interface (protocol, abstract class or the equivalent in {{language}}) and provide one implementation.
        - Distinguish "not found" from other failures, using the normal error mechanism of {{language}}.
        - Creating an entity with an id that already exists is an error; updates of missing entities are errors.
        - List operations return entities in a stable order and support a limit and a cursor or offset.
        {{#concurrency}}
        - The implementation must be safe for concurrent use; explain the synchronization chosen.
        {{/concurrency}}
        - Include unit tests for every operation, success and failure.

        Answer with the code in fenced code blocks (interface, implementation, tests).

        """)

    static let service = make(
        "service", "Service", .code, "Asks for a service (business logic layer) with explicit dependencies.",
        tags: ["code", "architecture", "service"],
        [
            language,
            v("serviceName", required: true, "Name of the service"),
            v("responsibility", required: true, "What the service is responsible for"),
            v("operations", .array, required: true, "Operations: [{name, description}]"),
            v("dependencies", .array, default: [], "Collaborators the service uses, one string each"),
        ],
        """
        Implement a service named `{{serviceName}}` in {{language}}.

        Responsibility: {{responsibility}}

        Operations:
        {{#operations}}
        - `{{name}}`: {{description}}
        {{/operations}}

        Dependencies:
        {{#dependencies}}
        - {{.}}
        {{/dependencies}}
        {{^dependencies}}
        - none
        {{/dependencies}}

        Requirements:
        - Receive every dependency through the constructor (or initializer) as an interface, so tests can substitute fakes.
        - Keep business rules in the service; keep transport, storage and formatting out of it.
        - Validate inputs and return domain errors that callers can tell apart, in the style of {{language}}.
        - Make operations safe to retry where possible, and say which are not.
        - Log or report failures through an injected logger, not global state.
        - Include unit tests using fakes for the dependencies.

        Answer with the code in fenced code blocks, then explain the main design decisions briefly.

        """)

    static let httpHandler = make(
        "http-handler", "HTTP Handler", .code, "Asks for one HTTP endpoint handler with validation, status codes and tests.",
        tags: ["code", "http", "api"],
        [
            language,
            v("method", required: true, "HTTP method, e.g. POST"),
            v("path", required: true, "Route path, e.g. /users/{id}"),
            v("summary", required: true, "What the endpoint does"),
            v("framework", default: "", "Web framework (empty: the standard library)"),
            v("requestBody", default: "", "Shape of the request body"),
            v("responseBody", default: "", "Shape of the response body"),
            v("statusCodes", .array, default: [], "Responses: [{code, meaning}]"),
            v("authentication", default: "", "Authentication or authorization rule"),
        ],
        """
        Write an HTTP handler in {{language}} for `{{method}} {{path}}`{{#framework}} using {{framework}}{{/framework}}{{^framework}} using the standard library's HTTP support{{/framework}}.

        It {{summary}}.
        {{#requestBody}}

        Request body:
        ```
        {{{requestBody}}}
        ```
        {{/requestBody}}
        {{#responseBody}}

        Response body:
        ```
        {{{responseBody}}}
        ```
        {{/responseBody}}

        Responses:
        {{#statusCodes}}
        - {{code}}: {{meaning}}
        {{/statusCodes}}
        {{^statusCodes}}
        - Use the conventional status codes: success, 400 for invalid input, 404 for missing resources, 500 for unexpected failures.
        {{/statusCodes}}
        {{#authentication}}
        Authentication: {{authentication}}. Reject unauthenticated requests with 401 and unauthorized ones with 403.
        {{/authentication}}

        Requirements:
        - Parse and validate path parameters, query parameters and the body; answer invalid input with a JSON error body naming the field.
        - Keep business logic in a separate function or service the handler calls, so it can be tested on its own.
        - Set the Content-Type header, limit the request body size, and never leak internal error details to the client.
        - Include tests that exercise the handler through the HTTP layer for success and each error response.

        Answer with the code in fenced code blocks.

        """)

    static let featurePlanning = make(
        "feature-planning", "Feature Planning", .workflow, "Plan a feature: problem, user stories, acceptance criteria, milestones, risks.",
        tags: ["workflow", "planning", "feature"],
        [
            v("feature", required: true, "Name of the feature"),
            v("goal", required: true, "The problem it solves or the outcome wanted"),
            v("users", default: "", "Who it is for"),
            v("constraints", .array, default: [], "Technical or business constraints"),
            v("outOfScope", .array, default: [], "What is explicitly not part of it"),
            v("deadline", default: "", "Target date"),
        ],
        """
        # Feature plan: {{feature}}

        Goal: {{goal}}
        {{#users}}
        Users: {{users}}
        {{/users}}
        {{#deadline}}
        Target date: {{deadline}}
        {{/deadline}}

        Constraints:
        {{#constraints}}
        - {{.}}
        {{/constraints}}
        {{^constraints}}
        - none stated
        {{/constraints}}

        Out of scope:
        {{#outOfScope}}
        - {{.}}
        {{/outOfScope}}
        {{^outOfScope}}
        - to be decided
        {{/outOfScope}}

        Produce the plan with these sections:
        1. Problem statement: who has the problem, how they cope today, and how we will know it is solved.
        2. User stories: "As a …, I want …, so that …", each with acceptance criteria written as testable statements.
        3. Design outline: components touched, data model changes, interfaces, and alternatives considered.
        4. Milestones: small, independently shippable steps in order, each with an estimate.
        5. Risks and open questions, each with a way to reduce or answer it.
        6. Rollout: feature flags, migration, monitoring and how to roll back.

        """)

    static let implementation = make(
        "implementation", "Implementation", .workflow, "Carry out a planned feature step by step, with tests and a change summary.",
        tags: ["workflow", "implementation", "code"],
        [
            language,
            v("feature", required: true, "The feature being implemented"),
            v("plan", required: true, "The agreed plan or design"),
            v("files", .array, default: [], "Files or modules expected to change"),
            v("acceptanceCriteria", .array, default: [], "Criteria the result must meet"),
        ],
        """
        Implement {{feature}} in {{language}}.

        Plan:
        {{{plan}}}

        Files or modules expected to change:
        {{#files}}
        - {{.}}
        {{/files}}
        {{^files}}
        - to be determined from the plan
        {{/files}}

        Acceptance criteria:
        {{#acceptanceCriteria}}
        - [ ] {{.}}
        {{/acceptanceCriteria}}
        {{^acceptanceCriteria}}
        - [ ] the behaviour described in the plan works and is covered by tests
        {{/acceptanceCriteria}}

        Work in small steps. For each step:
        1. State what you are about to change and why.
        2. Make the change, following the existing conventions of the codebase and of {{language}}.
        3. Add or update tests that prove the step works, and run them.

        Do not change unrelated code. When done, summarize the changes per file, how each acceptance criterion is met, and any follow-up work.

        """)

    static let testing = make(
        "testing", "Testing", .workflow, "Plan and write the tests that prove a feature works.",
        tags: ["workflow", "testing", "quality"],
        [
            language,
            v("feature", required: true, "The feature under test"),
            v("testTypes", .array, default: ["unit", "integration", "end-to-end"], "Kinds of tests wanted"),
            v("acceptanceCriteria", .array, default: [], "Criteria the tests must prove"),
            v("risks", .array, default: [], "Known risky areas to test harder"),
        ],
        """
        Test {{feature}} ({{language}}).

        Test levels:
        {{#testTypes}}
        - {{.}}
        {{/testTypes}}

        Acceptance criteria to prove:
        {{#acceptanceCriteria}}
        - {{.}}
        {{/acceptanceCriteria}}
        {{^acceptanceCriteria}}
        - derive them from the feature's description and record them in the test plan
        {{/acceptanceCriteria}}

        Risky areas to test harder:
        {{#risks}}
        - {{.}}
        {{/risks}}
        {{^risks}}
        - input validation, error handling, concurrency and data migrations
        {{/risks}}

        Steps:
        1. Write a test plan: for each level, the cases with their inputs and expected results, including boundaries and failures.
        2. Write the tests with the usual frameworks for {{language}}; keep them deterministic and independent of each other.
        3. Run them and report: passed, failed (with the cause), and what is not covered and why.
        4. For every bug found, add a regression test before fixing it.

        """)

    static let documentation = make(
        "documentation", "Documentation", .workflow, "Write or update the documentation for a project or feature.",
        tags: ["workflow", "documentation", "writing"],
        [
            v("project", required: true, "Project or component"),
            v("feature", default: "", "Feature the documentation is about (empty: the whole project)"),
            v("audience", default: "developers", "Who reads it"),
            v("format", default: "Markdown", "Output format"),
            v("topics", .array, default: ["overview", "installation", "quick start", "configuration", "reference", "troubleshooting"], "Sections to write"),
        ],
        """
        Write documentation for {{project}}{{#feature}}: {{feature}}{{/feature}}.

        Audience: {{audience}}. Format: {{format}}.

        Sections:
        {{#topics}}
        - {{.}}
        {{/topics}}

        Guidelines:
        - Start with what it is and why the reader should care, in two or three sentences.
        - Show, then explain: every concept gets a runnable example with its expected output.
        - Use the exact names of commands, options, fields and errors as the code defines them.
        - State defaults, limits and failure behaviour explicitly.
        - Keep sentences short; prefer lists and tables for reference material.
        - End with where to get help and how to report problems.

        """)

    static let deployment = make(
        "deployment", "Deployment", .workflow, "A deployment checklist: pre-checks, rollout, verification and rollback.",
        tags: ["workflow", "deployment", "operations"],
        [
            v("service", required: true, "Service or application deployed"),
            v("version", required: true, "Version being deployed"),
            v("environment", default: "production", "Target environment"),
            v("strategy", default: "rolling", "rolling, blue-green, canary, …"),
            v("preChecks", .array, default: [], "Extra checks before deploying"),
            v("healthCheck", default: "", "Health check endpoint or command"),
            v("rollbackPlan", default: "", "How to roll back (empty: redeploy the previous version)"),
        ],
        """
        # Deployment: {{service}} {{version}} to {{environment}}

        Strategy: {{strategy}}

        ## Before
        - [ ] Release notes and changelog for {{version}} reviewed
        - [ ] CI green for the exact commit being deployed; artifacts built once and signed
        - [ ] Database migrations reviewed; backwards compatible with the running version
        - [ ] Configuration and secrets for {{environment}} in place
        - [ ] Backups verified and on-call informed
        {{#preChecks}}
        - [ ] {{.}}
        {{/preChecks}}

        ## Rollout
        - [ ] Announce the start of the deployment
        - [ ] Deploy {{version}} with the {{strategy}} strategy, watching error rate, latency and saturation
        - [ ] Run migrations (if any) at the planned step

        ## Verify
        {{#healthCheck}}
        - [ ] Health check passes: {{healthCheck}}
        {{/healthCheck}}
        - [ ] Smoke tests of the critical user paths pass
        - [ ] Dashboards and logs show no new errors for 15 minutes

        ## Rollback
        {{#rollbackPlan}}
        {{rollbackPlan}}
        {{/rollbackPlan}}
        {{^rollbackPlan}}
        Redeploy the previous version with the same strategy; revert migrations only if they are not backwards compatible.
        {{/rollbackPlan}}
        Trigger it when error rate or latency exceed their limits, or when a critical path fails.

        """)
}
