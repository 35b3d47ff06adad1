#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ContextCore
import JSONCore

/// `contextd-bench templates`: in-process renders per second of a cached 4 KB template
/// with 20 variables and one 100-item section (issue 5 target: ≥ 100,000/s, release
/// build). Measures the whole `TemplateManager.render` path (lookup, type checks,
/// defaults, cached tree, one-pass render, String result) and the bare renderer.
///   contextd-bench templates [--json] [--iterations N]
func runTemplateBench(arguments: [String]) throws {
    let json = arguments.contains("--json")
    let iterations = max(1, templateIntOption(arguments, "--iterations", 200_000))

    // A 4 KB template: prose with 20 variables spread through it and one list section.
    var content = "# {{title}}\n\n"
    let filler = "This paragraph is ordinary prose that stands for the instructions a prompt template carries around its placeholders. "
    for i in 1...19 {
        content += filler.prefix(150) + " {{var\(i)}}.\n"
    }
    content += "\nItems:\n{{#items}}\n- {{name}}: {{value}}\n{{/items}}\n"
    while content.utf8.count < 4096 { content += "Closing remarks keep the template at four kilobytes. " }
    let names = ["title"] + (1...19).map { "var\($0)" }
    var declared = names.map { TemplateVariable(name: $0, required: true, type: .string, description: "bench") }
    declared.append(TemplateVariable(name: "items", required: true, type: .array, description: "bench"))

    var vars = JSONObject()
    for (i, n) in names.enumerated() { vars[n] = .string("value number \(i)") }
    vars["items"] = .array((0..<100).map { i in ["name": .string("item-\(i)"), "value": .int(i)] })

    let clock = SystemClock()
    let engine = TemplateManager(env: DomainEnvironment(clock: clock, ids: SequentialIDGenerator()))
    let t = try engine.create(TemplateDraft(name: "bench", type: .prompt, content: content, variables: declared)).template
    let first = try engine.render(t.id, variables: vars)
    let outputBytes = first.utf8.count

    // CPU time of this thread: on a shared machine wall time also counts other
    // processes' time slices; both are reported.
    var lastWall = 0.0
    func seconds(_ body: () throws -> Void) rethrows -> Double {
        var a = timespec(), b = timespec(), wa = timespec(), wb = timespec()
        clock_gettime(CLOCK_MONOTONIC, &wa)
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a)
        try body()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b)
        clock_gettime(CLOCK_MONOTONIC, &wb)
        lastWall = Double(wb.tv_sec - wa.tv_sec) + Double(wb.tv_nsec - wa.tv_nsec) / 1e9
        return Double(b.tv_sec - a.tv_sec) + Double(b.tv_nsec - a.tv_nsec) / 1e9
    }

    var sink = 0
    for _ in 0..<min(iterations, 2000) { sink &+= try engine.render(t.id, variables: vars).utf8.count }
    let managerTime = try seconds {
        for _ in 0..<iterations { sink &+= try engine.render(t.id, variables: vars).utf8.count }
    }
    let managerWall = lastWall
    let tree = try MustacheTemplate(parsing: content)
    let root = JSONValue.object(vars)
    let rendererTime = try seconds {
        for _ in 0..<iterations { sink &+= try MustacheRenderer.renderBytes(tree, context: root).count }
    }
    let parseCount = max(1, iterations / 20)
    let parseTime = try seconds {
        for _ in 0..<parseCount { sink &+= try MustacheTemplate(parsing: content).tagNames.count }
    }

    let managerRate = Double(iterations) / managerTime
    let managerWallRate = Double(iterations) / managerWall
    let rendererRate = Double(iterations) / rendererTime
    let parseRate = Double(parseCount) / parseTime
    if json {
        let o: JSONObject = [
            "templateBytes": .int(content.utf8.count), "outputBytes": .int(outputBytes), "iterations": .int(iterations),
            "rendersPerSecond": .double(managerRate.rounded()), "rendersPerWallSecond": .double(managerWallRate.rounded()), "microsecondsPerRender": .double((1e6 / managerRate * 100).rounded() / 100),
            "rendererOnlyPerSecond": .double(rendererRate.rounded()), "parsesPerSecond": .double(parseRate.rounded()),
            "target": .int(100_000), "sink": .int(sink & 1),
        ]
        templateWrite(JSONWriter.string(.object(o), options: [.pretty]))
    } else {
        templateWrite("template: \(content.utf8.count) bytes, 20 variables, one 100-item section; output \(outputBytes) bytes")
        templateWrite("template/render (manager, cached): \(Int(managerRate)) renders per CPU second (\(String(format1(1e6 / managerRate))) µs each; target ≥ 100000)")
        templateWrite("                   (wall clock):   \(Int(managerWallRate)) renders/s")
        templateWrite("renderer only (bytes):            \(Int(rendererRate)) renders per CPU second")
        templateWrite("parse (cold, uncached):           \(Int(parseRate)) parses per CPU second")
        if sink == 42 { templateWrite("") }
    }
}

private func format1(_ v: Double) -> String {
    let r = (v * 100).rounded() / 100
    return "\(r)"
}

private func templateIntOption(_ args: [String], _ name: String, _ fallback: Int) -> Int {
    guard let i = args.firstIndex(of: name), i + 1 < args.count, let v = Int(args[i + 1]) else { return fallback }
    return v
}

private func templateWrite(_ s: String) {
    let b = Array((s + "\n").utf8)
    _ = b.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
}
