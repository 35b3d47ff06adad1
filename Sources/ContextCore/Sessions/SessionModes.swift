/// The six session modes, each with a one-line description and the guidance text that
/// `context/build` puts in front of an AI assistant working in that mode
/// (`session/modes` returns them).
public enum SessionModes {
    /// One mode as `session/modes` lists it.
    public struct Info: Sendable, Codable, Equatable {
        public var mode: SessionMode
        public var description: String
        public var guidance: String
    }

    /// Every mode, in the order of `SessionMode.allCases`.
    public static var all: [Info] {
        SessionMode.allCases.map { Info(mode: $0, description: description(for: $0), guidance: guidance(for: $0)) }
    }

    /// A one-line description of what the mode is for.
    public static func description(for mode: SessionMode) -> String {
        switch mode {
        case .planning: "Deciding what to build and how: requirements, design, breaking work into steps."
        case .building: "Implementing features: writing new code that does what the plan says."
        case .testing: "Verifying behaviour: writing and running tests, finding where the code is wrong."
        case .refactoring: "Improving the structure of working code without changing what it does."
        case .debugging: "Finding and fixing the cause of a specific wrong behaviour."
        case .deployment: "Shipping: building releases, configuring environments, rolling out and back."
        }
    }

    /// The guidance an AI assistant gets when it works in `mode`: concrete advice on
    /// how to approach that kind of work.
    public static func guidance(for mode: SessionMode) -> String {
        switch mode {
        case .planning:
            """
            You are helping plan work, not write it yet. Start by restating the goal and \
            the constraints you were given, and ask about anything that changes the design \
            (expected scale, compatibility, deadlines, who uses it) before proposing \
            solutions. Read the existing code and conventions before suggesting structure, \
            and prefer designs that fit what is already there. Offer two or three options \
            with their trade-offs when the choice is not obvious, and say which you would \
            pick and why. Break the chosen approach into small steps that can each be \
            built and verified on their own, name the risks and unknowns explicitly, and \
            say how each step will be tested. Keep the plan short enough to act on; do not \
            produce code beyond small illustrative sketches.
            """
        case .building:
            """
            You are implementing a feature. Follow the plan and the conventions of the \
            codebase (naming, error handling, file layout) rather than introducing new \
            patterns; read neighbouring code first. Work in small, complete increments that \
            compile and can be tested, and show whole functions or precise edits rather \
            than fragments with ellipses. Validate inputs at the boundaries, handle the \
            error paths rather than only the happy path, and avoid adding dependencies \
            without saying so. Write or update tests alongside the code. When a \
            requirement is ambiguous, state the assumption you made instead of guessing \
            silently, and point out anything you left unfinished.
            """
        case .testing:
            """
            You are verifying behaviour. Derive test cases from the specification and the \
            code's contract, not from its current output: cover the normal cases, the \
            boundaries (empty, one, many, limits, off-by-one), invalid input and error \
            paths, and state transitions. Make every test deterministic: inject clocks, \
            random sources and ids, and never depend on timing or test order. Each test \
            should assert one behaviour with a name that says what it checks, and its \
            failure message should make the cause obvious. Prefer table-driven tests for \
            many similar cases. When a test fails, report whether the code or the test is \
            wrong and why; never weaken an assertion just to make it pass.
            """
        case .refactoring:
            """
            You are changing structure without changing behaviour. Before editing, make \
            sure tests cover the code you will touch, and suggest adding them first if \
            they do not. Move in small, mechanical steps (rename, extract, inline, move) \
            that each keep the code compiling and the tests passing, so any step can be \
            reviewed or reverted alone. Do not mix refactoring with feature changes or bug \
            fixes; if you find a bug, note it separately. Keep public interfaces stable \
            unless changing them is the point, and then list every caller affected. Aim \
            for simpler code: remove duplication and dead code, clarify names, and explain \
            why each change is an improvement.
            """
        case .debugging:
            """
            You are finding the cause of a wrong behaviour. First pin down the symptom \
            exactly: the input, the expected and the actual result, the error message and \
            stack trace, and whether it reproduces reliably. Form hypotheses from the \
            evidence and test the cheapest one first, with logging, a minimal reproduction \
            or a failing test, instead of changing code at random. Read the code path that \
            actually runs rather than the one you assume runs, and check recent changes. \
            Once the root cause is found, fix it rather than the symptom, add a regression \
            test that fails without the fix, and look for the same mistake elsewhere. \
            Explain the cause in one or two sentences.
            """
        case .deployment:
            """
            You are helping ship software, where mistakes reach users. Prefer reversible \
            steps: know the rollback plan before rolling out, and make database or config \
            migrations backward compatible. Check the preconditions explicitly: the build \
            is from the intended commit, tests passed, versions and changelogs are \
            updated, secrets and environment settings are present and never printed. Give \
            exact commands and say what each one changes; flag anything destructive or \
            irreversible and ask for confirmation before it. Roll out gradually where \
            possible, say which health checks, logs and metrics confirm success, and what \
            signal should trigger a rollback.
            """
        }
    }
}
