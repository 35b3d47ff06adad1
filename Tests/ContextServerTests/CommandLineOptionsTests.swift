import ContextServer
import ContextStore
import Testing

@Suite("Command line parsing")
struct CommandLineOptionsTests {
    @Test func defaultsToServe() throws {
        let o = try CommandLineOptions.parse([])
        #expect(o.command == .serve)
        #expect(o.config.store == "file")
        #expect(o.config.durability == .fsync)
        #expect(o.logLevel == nil)
    }

    @Test func parsesEveryFlag() throws {
        let o = try CommandLineOptions.parse([
            "serve", "--data-dir", "/d", "--store=memory", "--durability", "os", "--log-level", "debug", "--log-file", "/l",
            "--max-message-bytes", "10", "--max-depth=5", "--max-batch", "7", "--allow-path", "/a", "--allow-path", "/b",
            "--tokenizer", "cl100k_base=/v.tiktoken", "--repair", "--max-sessions", "3", "--max-string-bytes", "100",
            "--max-partial-depth", "4",
        ])
        #expect(o.config.domainLimits.maxSessions == 3)
        #expect(o.config.domainLimits.maxStringBytes == 100)
        #expect(o.config.domainLimits.maxPartialDepth == 4)
        #expect(o.command == .serve)
        #expect(o.config.dataDirectory == "/d")
        #expect(o.config.store == "memory")
        #expect(o.config.durability == .os)
        #expect(o.logLevel == .debug)
        #expect(o.logFile == "/l")
        #expect(o.config.wireLimits.maxMessageBytes == 10)
        #expect(o.config.wireLimits.maxDepth == 5)
        #expect(o.config.wireLimits.maxBatch == 7)
        #expect(o.config.allowPaths == ["/a", "/b"])
        #expect(o.config.tokenizers.map(\.name) == ["cl100k_base"])
        #expect(o.config.repair)
    }

    @Test func commands() throws {
        #expect(try CommandLineOptions.parse(["call", "session/list"]).command == .call(method: "session/list", params: nil))
        #expect(try CommandLineOptions.parse(["call", "ping", "{}"]).command == .call(method: "ping", params: "{}"))
        #expect(try CommandLineOptions.parse(["doctor", "--repair"]).command == .doctor)
        #expect(try CommandLineOptions.parse(["--help"]).command == .help)
        #expect(try CommandLineOptions.parse(["--version"]).command == .version)
    }

    @Test(arguments: [
        ["--durability", "x"], ["--store", "sqlite"], ["--max-depth", "0"], ["--max-batch", "many"], ["--log-level", "loud"],
        ["--tokenizer", "gpt2=/x"], ["--data-dir"], ["--bogus"], ["call"], ["call", "a", "b", "c"], ["serve", "extra"], ["what"],
    ])
    func rejectsBadUsage(_ args: [String]) {
        #expect(throws: UsageError.self) { try CommandLineOptions.parse(args) }
    }
}
