// contextd — the command line: parse, wire, run. Nothing but protocol frames is ever
// written to stdout; messages for people go to stderr.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ContextServer
import JSONRPC

func writeStderr(_ s: String) {
    var bytes = Array(s.utf8)
    if bytes.last != 0x0A { bytes.append(0x0A) }
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

func writeStdout(_ s: String) {
    let bytes = Array((s + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
}

signal(SIGPIPE, SIG_IGN)

let options: CommandLineOptions
do {
    options = try CommandLineOptions.parse(Array(CommandLine.arguments.dropFirst()))
} catch {
    writeStderr("contextd: \(error.message)")
    exit(64)
}

switch options.command {
case .help:
    writeStdout(CommandLineOptions.helpText)
    exit(0)
case .version:
    writeStdout("contextd \(contextdVersion)")
    exit(0)
default:
    break
}

let log: Logger
do {
    let defaultLevel: Logger.Level = options.command == .serve ? .info : .warn
    log = try Logger(level: options.logLevel ?? defaultLevel, path: options.logFile)
} catch {
    writeStderr("contextd: \(error.message)")
    exit(1)
}

exit(run(options, log: log))
