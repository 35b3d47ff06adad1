#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ContextCore
import ContextServer
import Foundation
import JSONRPC

/// This executable's path (for starting the shared daemon).
func executablePath() -> String {
    #if os(Linux)
    if let p = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return p }
    #endif
    return Bundle.main.executablePath ?? CommandLine.arguments[0]
}

/// PROTOCOL §9: $CONTEXTD_DATA_DIR, else $XDG_DATA_HOME/contextd, else ~/.local/share/contextd.
func defaultDataDirectory() -> String {
    let env = ProcessInfo.processInfo.environment
    if let d = env["CONTEXTD_DATA_DIR"], !d.isEmpty { return d }
    if let x = env["XDG_DATA_HOME"], !x.isEmpty { return x + "/contextd" }
    return (env["HOME"] ?? NSHomeDirectory()) + "/.local/share/contextd"
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
            let dir = options.config.dataDirectory ?? defaultDataDirectory()
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
        log.info("serving stdio (store \(server.backend.kind), durability \(server.backend.durability.rawValue))")
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
        writeStderr("contextd doctor: not available in this build yet")
        return 1
    case .help, .version:
        return 0
    }
}
