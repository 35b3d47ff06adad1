// contextd-bench — benchmarks that print figures (text, or JSON with --json).
//   contextd-bench rpc [--binary PATH] [--sequential N] [--pipelined N] [--window N]
//   contextd-bench scale [--sizes 10000,100000,1000000] [--requests N] [--dir PATH]
// Scenarios spawn the release binary (.build/release/contextd by default; build it with
// `swift build -c release` first) and talk to it over real pipes.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

let args = Array(CommandLine.arguments.dropFirst())
let usage = """
    usage: contextd-bench SCENARIO [--json] [--binary PATH] [options]
    scenarios:
      rpc        ping latency p50/p99, pipelined throughput, 1 MiB requests, start-up,
                 idle RSS, JSON parse/write MB/s  (--sequential N --pipelined N --window N
                 --skip-json-speed)
      method     sequential p50 and pipelined throughput of one method (--method NAME
                 --params JSON [--setup NAME --setup-params JSON: $ID in --params becomes
                 its result.id] [--durability MODE] --sequential N --pipelined N --window N)
      memory     token estimator error and MB/s, exact BPE MB/s, search p50/p99 and
                 index memory over a generated corpus, addMessage rate  (--messages N
                 --conversations N --queries N --repeat R: each query's best of R runs
                 --adds N --only tokens|search|add --tokenizer cl100k_base=PATH;
                 --calibrate fits the estimator's parameters instead)
      templates  renders per second of a cached 4 KB template with 20 variables and a
                 100-item section, in-process
      store      commit throughput by durability (64 in flight), full snapshot MB/s per
                 format, load and start-up with N messages  (--commits N --messages N
                 --conversations N --content BYTES --dir PATH)
      scale      p50/p99 of memory/getMessages (recent 20), session/get, memory/addMessage
                 and 2-word memory/search at each store size, start-up and first-search
                 time, idle RSS, RSS once loaded ÷ raw text  (--sizes 10000,100000,1000000
                 --per-conversation N --requests N --durability MODE --dir PATH)
    Build the server first: swift build -c release
    """

guard let scenario = args.first, !scenario.hasPrefix("-") else {
    writeOut(usage)
    exit(args.contains("--help") || args.contains("-h") ? 0 : 64)
}
let json = args.contains("--json")
let binary = stringOption(args, "--binary") ?? defaultBinary()

func defaultBinary() -> String {
    let exe = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("contextd").path
    if FileManager.default.isExecutableFile(atPath: exe) { return exe }
    return ".build/release/contextd"
}

do {
    switch scenario {
    case "rpc": try runRPCBench(binary: binary, arguments: args, json: json)
    case "store": try runStoreBench(arguments: args)
    case "scale": try runScaleBench(binary: binary, arguments: args, json: json)  // ScaleBench.swift
    case "templates": try runTemplateBench(arguments: args)
    case "memory": runMemoryBench(arguments: Array(args.dropFirst()))
    case "method": try runMethodBench(binary: binary, arguments: args, json: json)  // PeersSupport.swift
    default:
        writeOut(usage)
        exit(64)
    }
} catch {
    FileHandle.standardError.write(Data("contextd-bench: \(error)\n".utf8))
    exit(1)
}
