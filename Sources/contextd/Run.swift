#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ContextCore
import ContextServer
import JSONRPC

/// Runs the parsed command; returns the process exit code.
func run(_ options: CommandLineOptions, log: Logger) -> Int32 {
    switch options.command {
    case .serve:
        let server: Server
        do {
            server = try Server.bootstrap(config: options.config, log: log)
        } catch {
            writeStderr("contextd: \(error.message)")
            return 1
        }
        log.info("serving stdio (store \(server.backend.kind), durability \(server.backend.durability.rawValue))")
        let code = server.serveStdio()
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
