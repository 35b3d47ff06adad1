import ContextCore
import JSONRPC

extension MethodTable {
    /// Registers the methods of this namespace (filled by its owner).
    mutating func registerStoreMethods() {}
}
