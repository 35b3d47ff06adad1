import Foundation
import JSONRPC
import Testing

/// The shared server (`--listen`): many clients, one state.
@Suite("Shared server over sockets")
struct ListenEndToEndTests {
    static func waitForSocket(_ path: String) throws {
        for _ in 0..<400 {
            if FileManager.default.fileExists(atPath: path) { return }
            usleep(10_000)
        }
        throw HarnessError("socket \(path) never appeared")
    }

    @Test func manyClientsNoLostDuplicatedOrMisroutedReplies() throws {
        let dir = ServerProcess.temporaryDirectory()
        let sock = dir + "/s.sock"
        let server = try ServerProcess.start(arguments: ["--store", "memory", "--listen", "unix:\(sock)"])
        defer { server.stop() }
        try Self.waitForSocket(sock)
        let attrs = try FileManager.default.attributesOfItem(atPath: sock)
        #expect((attrs[.posixPermissions] as? Int) == 0o600)

        let clients = 8, perClient = 1000
        let failures = NSLock()
        nonisolated(unsafe) var problems: [String] = []
        DispatchQueue.concurrentPerform(iterations: clients) { c in
            do {
                let client = try SocketClient(unixPath: sock)
                // Pipeline everything, with ids tagged by client, then collect.
                var out: [UInt8] = []
                for i in 0..<perClient {
                    let method = i % 3 == 0 ? "events/subscribe" : "ping"
                    let params: JSONValue = method == "ping" ? ["n": .int(i)] : ["topics": ["session"]]
                    FrameEncoder.append(JSONWriter.encode(["jsonrpc": "2.0", "id": .string("c\(c)-\(i)"), "method": .string(method), "params": params]), framing: .contentLength, to: &out)
                }
                client.sendRaw(out)
                for i in 0..<perClient {
                    let r = try client.waitFor { $0["id"] == .string("c\(c)-\(i)") }
                    if r["result"] == nil { throw HarnessError("error reply \(r)") }
                }
                if !client.allMessages.isEmpty { throw HarnessError("extra messages: \(client.allMessages.count)") }
                client.close()
            } catch {
                failures.lock()
                problems.append("client \(c): \(error)")
                failures.unlock()
            }
        }
        #expect(problems.isEmpty, "\(problems)")
    }

    @Test func tcpWithTokenRefusesStrangers() throws {
        let dir = ServerProcess.temporaryDirectory()
        let tokenFile = dir + "/token"
        try "s3cret\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let port = UInt16.random(in: 20000...60000)
        let server = try ServerProcess.start(arguments: ["--store", "memory", "--listen", "tcp:127.0.0.1:\(port)", "--auth-token-file", tokenFile])
        defer { server.stop() }
        var stranger: SocketClient?
        for _ in 0..<200 {
            stranger = try? SocketClient(tcpPort: port)
            if stranger != nil { break }
            usleep(10_000)
        }
        let s = try #require(stranger)
        let refused = try s.request("ping")
        #expect(refused["error"]?["code"] == -32600)
        #expect(s.waitClosed(timeout: 5))

        let wrong = try SocketClient(tcpPort: port)
        #expect(try wrong.request("initialize", ["authToken": "nope"])["error"] != nil)
        #expect(wrong.waitClosed(timeout: 5))

        let friend = try SocketClient(tcpPort: port)
        #expect(try friend.call("initialize", ["initializationOptions": ["authToken": "s3cret"]])["serverInfo"] != nil)
        #expect(try friend.call("ping") == .object([:]))
    }

    @Test func nonLoopbackTCPNeedsAToken() throws {
        let s = try ServerProcess.start(arguments: ["--store", "memory", "--listen", "tcp:0.0.0.0:0"])
        #expect(try s.waitForExit() == 64)
        #expect(s.stderrText.contains("--auth-token-file"))
    }

    @Test func slowLorisIsDroppedWithoutAffectingOthers() throws {
        let dir = ServerProcess.temporaryDirectory()
        let sock = dir + "/s.sock"
        let server = try ServerProcess.start(arguments: ["--store", "memory", "--listen", "unix:\(sock)", "--frame-timeout", "2"])
        defer { server.stop() }
        try Self.waitForSocket(sock)
        let loris = try SocketClient(unixPath: sock)
        loris.sendRaw(Array("Content-Length: 100\r\n".utf8))
        let other = try SocketClient(unixPath: sock)
        #expect(try other.call("ping") == .object([:]))
        #expect(loris.waitClosed(timeout: 8))
        #expect(try other.call("ping") == .object([:]))
    }

    @Test func eventsReachEverySubscriber() throws {
        let dir = ServerProcess.temporaryDirectory()
        let sock = dir + "/s.sock"
        let server = try ServerProcess.start(arguments: ["--store", "memory", "--listen", "unix:\(sock)"])
        defer { server.stop() }
        try Self.waitForSocket(sock)
        let subscribers = try (0..<4).map { _ in try SocketClient(unixPath: sock) }
        for c in subscribers { _ = try c.call("events/subscribe", ["topics": ["session"]]) }
        let writer = try SocketClient(unixPath: sock)
        let created = try writer.call("session/create", ["name": "shared", "mode": "planning"])
        for c in subscribers {
            let e = try c.nextNotification(method: "session/didChange")
            #expect(e["event"] == "created")
            #expect(e["session"]?["id"] == created["id"])
            // And the state is shared: every client reads the same session.
            #expect(try c.call("session/get", ["id": created["id"]!])["name"] == "shared")
        }
        // The writer did not subscribe: it gets no event.
        #expect(writer.allMessages.isEmpty)
    }

    @Test func remoteAutoSharesOneLiveStateBetweenEditors() throws {
        let dir = ServerProcess.temporaryDirectory()
        let a = try ServerProcess.start(arguments: ["--remote", "auto", "--data-dir", dir, "--store", "memory", "--idle-exit", "2"])
        let b = try ServerProcess.start(arguments: ["--remote", "auto", "--data-dir", dir, "--store", "memory", "--idle-exit", "2"])
        _ = try b.call("events/subscribe", ["topics": ["session"]])
        let s = try a.call("session/create", ["name": "from A", "mode": "debugging"])
        let e = try b.nextNotification(method: "session/didChange")
        #expect(e["session"]?["id"] == s["id"])
        #expect(try b.call("session/start", ["id": s["id"]!])["status"] == "active")
        #expect(try a.call("session/get", ["id": s["id"]!])["status"] == "active")
        #expect(try a.closeInputAndWait() == 0)
        #expect(try b.closeInputAndWait() == 0)
        // The daemon exits by itself once idle.
        var gone = false
        for _ in 0..<100 {
            if !FileManager.default.fileExists(atPath: dir + "/contextd.sock") {
                gone = true
                break
            }
            usleep(100_000)
        }
        #expect(gone, "the shared daemon should exit after --idle-exit and remove its socket")
    }
}
