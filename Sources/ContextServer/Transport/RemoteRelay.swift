#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ContextCore
import Foundation

/// `contextd --remote auto`: a stdio front for the shared server of one data directory
/// (like gopls `-remote=auto`). It connects to `DATA_DIR/contextd.sock`, starting
/// `contextd serve --listen unix:…` if none runs, then relays bytes both ways — framing
/// passes through untouched, so the editor's setup does not change.
public enum RemoteRelay {
    /// The socket a data directory's shared server listens on.
    public static func socketPath(dataDirectory: String) -> String {
        dataDirectory + "/contextd.sock"
    }

    /// Connects (starting the daemon when needed) and relays until both directions end.
    /// Returns the process exit code.
    public static func run(dataDirectory: String, executable: String, passThrough: [String], log: Logger) -> Int32 {
        let sock = socketPath(dataDirectory: dataDirectory)
        var fd = SocketListener.connectUnix(sock)
        if fd < 0 {
            log.info("no shared server on \(sock); starting one")
            do {
                try startDaemon(socket: sock, dataDirectory: dataDirectory, executable: executable, passThrough: passThrough)
            } catch {
                log.error("cannot start the shared server: \(error)")
                return 1
            }
            for _ in 0..<200 {
                fd = SocketListener.connectUnix(sock)
                if fd >= 0 { break }
                usleep(25_000)
            }
        }
        guard fd >= 0 else {
            log.error("the shared server did not come up on \(sock); see \(dataDirectory)/contextd.log")
            return 1
        }
        let upstream = fd
        let t = Thread {
            pump(from: 0, to: upstream)
            shutdown(upstream, Int32(SHUT_WR))
        }
        t.start()
        pump(from: upstream, to: 1)
        close(upstream)
        return 0
    }

    static func pump(from: Int32, to: Int32) {
        let size = 1 << 16
        let buf = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
        defer { buf.deallocate() }
        while true {
            let n = read(from, buf, size)
            if n < 0, errno == EINTR { continue }
            if n <= 0 { return }
            var off = 0
            while off < n {
                let w = write(to, buf + off, n - off)
                if w < 0, errno == EINTR { continue }
                if w <= 0 { return }
                off += w
            }
        }
    }

    static func startDaemon(socket: String, dataDirectory: String, executable: String, passThrough: [String]) throws {
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        var args = ["serve", "--listen", "unix:\(socket)", "--data-dir", dataDirectory, "--log-file", dataDirectory + "/contextd.log"]
        if !passThrough.contains("--idle-exit") { args += ["--idle-exit", "600"] }
        p.arguments = args + passThrough
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        // The daemon outlives this relay; it exits after 10 idle minutes.
    }
}

extension Server {
    /// Serves clients on `address` until SIGINT/SIGTERM or the idle timeout; returns the
    /// exit code.
    public func serveListening(_ address: ListenAddress) -> Int32 {
        let listener: SocketListener
        do {
            listener = try SocketListener(server: self, address: address, frameTimeoutSeconds: config.frameTimeoutSeconds)
        } catch {
            log.error(error.message)
            return 1
        }
        log.info("listening on \(address)\(listener.boundPort.map { " (port \($0))" } ?? "")")
        let stop: @Sendable () -> Void = { [self] in
            listener.stop()
            backend.flush()
        }
        let signals = [SIGINT, SIGTERM].map { sig -> DispatchSourceSignal in
            signal(sig, SIG_IGN)
            let src = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            src.setEventHandler {
                self.log.info("signal \(sig): stopping")
                stop()
            }
            src.resume()
            return src
        }
        if let idle = config.idleExitSeconds {
            let t = Thread { [self] in
                var idleFor = 0
                while true {
                    sleep(1)
                    idleFor = connectionCount == 0 ? idleFor + 1 : 0
                    if idleFor >= idle {
                        log.info("no clients for \(idle) s: exiting")
                        stop()
                        return
                    }
                }
            }
            t.start()
        }
        listener.run()
        stop()
        _ = signals
        backend.flush()
        return 0
    }
}
