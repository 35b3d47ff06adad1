// swift-tools-version:6.0
// contextd — a JSON-RPC 2.0 server for the working context of AI-assisted development.
// No package dependencies: Foundation, Dispatch, Glibc/Darwin, Synchronization and the
// system zlib (through the CZlib system library target) only.
import PackageDescription

// Release builds skip the runtime exclusivity checks (`swift_beginAccess` on every class
// property access: 15% of a `session/get`); debug builds, which the tests run, keep them,
// so an overlapping access is still caught.
let speed: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
    name: "contextd",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "contextd", targets: ["contextd"]),
        .executable(name: "contextd-bench", targets: ["contextd-bench"]),
        .library(name: "JSONRPC", targets: ["JSONRPC"]),
        .library(name: "ContextCore", targets: ["ContextCore"]),
        .library(name: "ContextStore", targets: ["ContextStore"]),
        .library(name: "ContextServer", targets: ["ContextServer"]),
    ],
    targets: [
        // MARK: JSONCore — the JSON value type, its byte parser/writer and Codable bridge.
        .target(name: "JSONCore", swiftSettings: speed),

        // MARK: JSONRPC — frames, messages, registry, connection. No domain types.
        .target(name: "JSONRPC", dependencies: ["JSONCore"], swiftSettings: speed),
        .testTarget(name: "JSONRPCTests", dependencies: ["JSONRPC", "JSONCore"]),

        // MARK: ContextCore — the domain and its rules. No JSON-RPC, no files.
        .target(name: "ContextCore", dependencies: ["JSONCore"], swiftSettings: speed),
        .testTarget(name: "ContextCoreTests", dependencies: ["ContextCore", "JSONCore"]),

        // MARK: CZlib — system zlib for gzip snapshots.
        .systemLibrary(
            name: "CZlib",
            providers: [.apt(["zlib1g-dev"]), .brew(["zlib"])]
        ),

        // MARK: ContextStore — persistence: backends, journal, snapshots, backups.
        .target(name: "ContextStore", dependencies: ["ContextCore", "JSONCore", "CZlib"], swiftSettings: speed),
        .testTarget(name: "ContextStoreTests", dependencies: ["ContextStore", "ContextCore", "JSONCore"]),

        // MARK: ContextServer — wiring: methods, lifecycle, events, MCP, transports.
        .target(
            name: "ContextServer",
            dependencies: ["JSONRPC", "ContextCore", "ContextStore", "JSONCore"],
            swiftSettings: speed
        ),
        .testTarget(name: "ContextServerTests", dependencies: ["ContextServer", "JSONRPC", "ContextCore", "ContextStore", "JSONCore"]),

        // MARK: executables
        .executableTarget(name: "contextd", dependencies: ["ContextServer", "ContextStore"]),
        .executableTarget(name: "contextd-bench", dependencies: ["ContextServer", "JSONRPC", "ContextCore", "ContextStore", "JSONCore"]),

        // MARK: end-to-end: spawn the built binary and talk over pipes.
        .testTarget(name: "EndToEndTests", dependencies: ["JSONCore", "JSONRPC"]),
    ],
    swiftLanguageModes: [.v6]
)
