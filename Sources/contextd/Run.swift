#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ContextCore
import ContextServer
import ContextStore
import Foundation
import JSONRPC

/// This executable's path (for starting the shared daemon).
func executablePath() -> String {
    #if os(Linux)
    if let p = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return p }
    #endif
    return Bundle.main.executablePath ?? CommandLine.arguments[0]
}


/// Runs the parsed command; returns the process exit code.
func run(_ options: CommandLineOptions, log: Logger) -> Int32 {
    switch options.command {
    case .serve:
        var options = options
        if let file = options.config.authTokenFile {
            guard let token = try? String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines), !token.isEmpty else {
                writeStderr("contextd: cannot read a token from --auth-token-file \(file)")
                return 1
            }
            options.config.authToken = token
        }
        if options.config.remote != nil {
            let dir = DataDirectory.resolve(explicit: options.config.dataDirectory, environment: ProcessInfo.processInfo.environment)
            var passThrough: [String] = ["--durability", options.config.durability.rawValue]
            for p in options.config.allowPaths { passThrough += ["--allow-path", p] }
            for t in options.config.tokenizers { passThrough += ["--tokenizer", "\(t.name)=\(t.path)"] }
            if let idle = options.config.idleExitSeconds { passThrough += ["--idle-exit", String(idle)] }
            if options.config.store != "file" { passThrough += ["--store", options.config.store] }
            return RemoteRelay.run(dataDirectory: dir, executable: executablePath(), passThrough: passThrough, log: log)
        }
        let server: Server
        do {
            server = try Server.bootstrap(config: options.config, log: log)
        } catch {
            writeStderr("contextd: \(error.message)")
            return 1
        }
        if options.config.listen == nil { log.info("serving stdio (store \(server.backend.kind), durability \(server.backend.durability.rawValue))") }
        let code = options.config.listen.map { server.serveListening($0) } ?? server.serveStdio()
        server.backend.close()
        return code
    case .call(let method, let paramsText):
        var params: JSONValue?
        if let paramsText {
            do {
                params = try JSONParser.parse(paramsText)
            } catch {
                writeStderr("contextd: the params argument is not valid JSON: \(error)")
                return 64
            }
        }
        let server: Server
        do {
            server = try Server.bootstrap(config: options.config, log: log)
        } catch {
            writeStderr("contextd: \(error.message)")
            return 1
        }
        defer { server.backend.close() }
        switch server.call(method: method, params: params) {
        case .success(let v):
            writeStdout(JSONWriter.string(v, options: [.pretty]))
            return 0
        case .failure(let e):
            writeStderr(JSONWriter.string(e.json, options: [.pretty]))
            return 1
        }
    case .doctor:
        let dir = DataDirectory.resolve(explicit: options.config.dataDirectory, environment: ProcessInfo.processInfo.environment)
        let report = Doctor.check(directory: dir, repair: options.config.repair)
        let value = (try? JSONValueEncoder().encode(report)) ?? .null
        writeStdout(JSONWriter.string(value, options: [.pretty]))
        if !report.ok {
            writeStderr("contextd doctor: problems found in \(dir)\(options.config.repair ? "" : "; run contextd doctor --repair to quarantine unreadable files")")
        }
        return report.ok ? 0 : 1
    case .help, .version:
        return 0
    }
}
