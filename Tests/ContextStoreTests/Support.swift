#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ContextCore
import JSONCore
@testable import ContextStore

/// A fresh directory under /tmp, removed when the value is released.
final class TempDir: @unchecked Sendable {
    let path: String
    init(_ tag: String = "store") {
        var template = Array("/tmp/contextd-\(tag)-XXXXXX".utf8CString)
        let p = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        path = String(cString: p!)
    }
    func sub(_ name: String) -> String { path + "/" + name }
    deinit { POSIX.removeTree(path) }
}

/// Test records. The models are built by decoding minimal JSON so the tests do not depend
/// on the models' Swift initialisers. When the models grow required fields, this is the
/// one place to update.
enum Fixtures {
    static func decode<T: Decodable>(_ t: T.Type, _ v: JSONValue) -> T { try! JSONValueDecoder().decode(T.self, from: v) }

    static let t0: JSONValue = "1970-01-01T00:00:00.000Z"

    static func record(_ kind: RecordKind, _ id: String, parent: String = "conv1", extra: String = "") -> Record {
        switch kind {
        case .session:
            .session(decode(Session.self, ["id": .string(id), "name": .string("n " + extra), "mode": "building", "status": "idle", "tags": [], "metadata": [:], "context": [:], "createdAt": t0, "updatedAt": t0, "activeMs": 0]))
        case .checkpoint:
            .checkpoint(decode(Checkpoint.self, ["id": .string(id), "sessionId": .string(parent), "label": "l", "createdAt": t0,
                "state": ["name": "n", "mode": "building", "tags": [], "metadata": [:], "context": [:], "conversations": []]]))
        case .group:
            .group(decode(SessionGroup.self, ["id": .string(id), "name": "g", "tags": [], "metadata": [:], "status": "active", "sessionIds": [], "createdAt": t0, "updatedAt": t0]))
        case .conversation: .conversation(decode(Conversation.self, ["id": .string(id), "title": .string("t " + extra), "createdAt": t0]))
        case .message:
            .message(decode(Message.self, ["id": .string(id), "conversationId": .string(parent), "role": "user", "content": .string("hello " + extra), "createdAt": t0]))
        case .memory: .memory(decode(Memory.self, ["id": .string(id), "content": .string("fact " + extra), "tags": [], "importance": 0.5, "createdAt": t0, "updatedAt": t0]))
        case .template:
            .template(Template(id: id, name: id, type: .custom, content: "Hello {{name}}", createdAt: Timestamp(milliseconds: 0), updatedAt: Timestamp(milliseconds: 0)))
        case .setting: .setting(key: id, value: ["n": .string(extra), "list": [1, 2.5, "x", nil, true]])
        }
    }

    /// One record of every kind.
    static var everyKind: [Record] {
        [
            record(.session, "ses_1"), record(.checkpoint, "chk_1", parent: "ses_1"), record(.group, "grp_1"),
            record(.conversation, "conv1"), record(.message, "msg_1"), record(.message, "msg_2"),
            record(.conversation, "conv2"), record(.message, "msg_3", parent: "conv2"),
            record(.memory, "mem_1"), record(.template, "tpl_1"), record(.setting, "editor.theme", extra: "dark ☃ \"q\""),
        ]
    }
}

/// Last-write-wins state of a store, compared as canonical JSON per key.
struct Folded: Equatable, CustomStringConvertible {
    var records: [RecordKey: String] = [:]
    var order: [RecordKey] = []
    var values: [RecordKey: Record] = [:]

    static func == (a: Folded, b: Folded) -> Bool { a.records == b.records }

    init(_ changes: [Change] = []) { apply(changes) }

    mutating func apply(_ changes: [Change]) {
        for c in changes {
            switch c {
            case .put(let r):
                let json = JSONWriter.string(.object(try! RecordCoding.encode(r)), options: [.sortedKeys])
                if records[r.key] == nil { order.append(r.key) }
                records[r.key] = json
                values[r.key] = r
            case .delete(let k):
                records[k] = nil
                values[k] = nil
                order.removeAll { $0 == k }
            }
        }
    }

    var description: String { records.values.sorted().joined(separator: "\n") }
}

/// A record source over a folded state (what the engine would hold).
final class FoldedSource: RecordSource {
    let state: Folded
    init(_ s: Folded) { state = s }
    func allRecords(component: String) -> [Record] {
        state.order.compactMap { state.values[$0] }.filter { $0.kind.component == component }
    }
}

/// Commits and waits for the completion.
func commitSync(_ b: FileBackend, _ changes: [Change]) throws(DomainError) {
    let sem = DispatchSemaphoreBox()
    let err = ErrorBox()
    b.commit(changes) { e in
        err.error = e
        sem.signal()
    }
    sem.wait()
    if let e = err.error { throw e }
}

import Dispatch
final class DispatchSemaphoreBox: @unchecked Sendable {
    let s = DispatchSemaphore(value: 0)
    func signal() { s.signal() }
    func wait() { s.wait() }
}

func options(_ format: SnapshotFormat, _ durability: Durability = .fsync) -> FileBackendOptions {
    var o = FileBackendOptions(durability: durability, format: format)
    o.autoSaveIntervalSeconds = nil
    return o
}

func open(_ dir: String, _ o: FileBackendOptions) throws(DomainError) -> (FileBackend, [Change]) {
    let b = try FileBackend(directory: dir, options: o)
    do {
        let c = try b.load()
        return (b, c)
    } catch {
        b.close()
        throw error
    }
}

func readBytes(_ p: String) -> [UInt8]? { try? POSIX.readFile(p) }

/// Every file under a directory with its bytes (for "nothing was touched" checks).
func snapshotOfTree(_ dir: String) -> [String: [UInt8]] {
    var out: [String: [UInt8]] = [:]
    for name in POSIX.list(dir) {
        let p = dir + "/" + name
        if POSIX.isDirectory(p) {
            for (k, v) in snapshotOfTree(p) { out[name + "/" + k] = v }
        } else if name != "contextd.lock" {
            out[name] = readBytes(p)
        }
    }
    return out
}

extension Record {
    /// The session inside a `.session` record (fixtures only).
    var sessionValue: Session {
        guard case .session(let s) = self else { fatalError("not a session record") }
        return s
    }
}
