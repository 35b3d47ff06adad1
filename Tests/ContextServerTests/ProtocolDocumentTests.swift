import ContextCore
import ContextServer
import ContextStore
import Foundation
import JSONCore
import Testing

/// `protocol/contextd.openrpc.json` is the contract: the method table and the document must
/// name the same methods, and the binary must embed the document as it is in the repository.
@Suite("OpenRPC document ↔ method registry")
struct ProtocolDocumentTests {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func documentOnDisk() throws -> JSONValue {
        let url = repositoryRoot.appendingPathComponent("protocol/contextd.openrpc.json")
        return try JSONParser.parse([UInt8](try Data(contentsOf: url)))
    }

    static func makeServer() throws -> Server {
        var config = ServerConfiguration()
        config.store = "memory"
        let env = DomainEnvironment(clock: SystemClock(), ids: SequentialIDGenerator())
        return Server(config: config, backend: MemoryBackend(), engine: ContextEngine(env: env), log: try Logger(level: .error))
    }

    @Test func embeddedDocumentIsTheRepositoryFile() throws {
        // Fails when protocol/contextd.openrpc.json changed without `python3 protocol/embed.py`.
        #expect(ProtocolDocument.embedded.value == (try Self.documentOnDisk()))
        #expect(!ProtocolDocument.embedded.methodNames.isEmpty)
    }

    @Test func everyRegisteredMethodIsDocumented() throws {
        let documented = Set(ProtocolDocument.embedded.methodNames)
        let served = Set(try Self.makeServer().methodNames).subtracting(methodsOutsideProtocolDocument)
        let undocumented = served.subtracting(documented).sorted()
        #expect(undocumented.isEmpty, "served but not in protocol/contextd.openrpc.json: \(undocumented)")
    }

    @Test func everyDocumentedMethodIsServed() throws {
        let served = Set(try Self.makeServer().methodNames)
        let unserved = ProtocolDocument.embedded.methodNames.filter { !served.contains($0) }
        #expect(unserved.isEmpty, "in protocol/contextd.openrpc.json but not served: \(unserved)")
    }

    @Test func theExclusionListNamesOnlyServedMethodsOutsideTheDocument() throws {
        let served = Set(try Self.makeServer().methodNames)
        let documented = Set(ProtocolDocument.embedded.methodNames)
        for name in methodsOutsideProtocolDocument.sorted() {
            #expect(served.contains(name), "\(name) is excluded from the document but not served")
            #expect(!documented.contains(name), "\(name) is both excluded and documented")
        }
    }

    @Test func methodNamesAreUniqueAndByName() throws {
        let doc = ProtocolDocument.embedded
        #expect(Set(doc.methodNames).count == doc.methodNames.count)
        for (name, m) in doc.methods {
            #expect(m["paramStructure"]?.stringValue == "by-name", "\(name)")
            #expect(m["result"]?["schema"] != nil, "\(name)")
            #expect(m["examples"]?.arrayValue?.isEmpty == false, "\(name) has no example")
        }
    }

    @Test func rpcDiscoverReturnsTheDocument() throws {
        let server = try Self.makeServer()
        let result = try server.call(method: "rpc.discover", params: nil).get()
        #expect(result == ProtocolDocument.embedded.value)
    }

    @Test(arguments: ["session/create", "memory/addMessage", "template/render", "context/build", "store/backup"])
    func paramsSchemasStandAlone(method: String) throws {
        let schema = try #require(ProtocolDocument.embedded.paramsSchema(method))
        #expect(schema["type"] == "object")
        #expect(!JSONWriter.string(schema).contains("$ref"))
        let required = schema["required"]?.arrayValue?.compactMap(\.stringValue) ?? []
        for name in required { #expect(schema["properties"]?[name] != nil) }
    }
}
