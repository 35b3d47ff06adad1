import JSONCore

/// Counts the tokens of a text for one tokenizer.
public protocol TokenCounter: Sendable {
    /// The tokenizer's name as reported on the wire (`estimate`, `cl100k_base`, `o200k_base`).
    var name: String { get }
    /// The number of tokens `text` encodes to (no special tokens, no overhead).
    func count(_ text: String) -> Int
}

/// The tokenizers a server has: the built-in estimator plus any configured BPE
/// vocabularies. The first configured vocabulary becomes the default (messages and
/// conversations are counted with it); without one the estimator is the default.
public struct TokenizerRegistry: Sendable {
    public private(set) var counters: [String: any TokenCounter]
    public private(set) var defaultName: String

    /// Only the estimator.
    public init() {
        counters = [HeuristicTokenEstimator.name: HeuristicTokenEstimator()]
        defaultName = HeuristicTokenEstimator.name
    }

    /// The estimator plus one BPE tokenizer per `(name, contents of the .tiktoken file)`.
    /// `name` must be `cl100k_base` or `o200k_base` (it selects the pre-tokenization).
    public init(configured: [(name: String, vocabulary: [UInt8])]) throws(DomainError) {
        self.init()
        for (name, bytes) in configured { try register(name: name, vocabulary: bytes) }
    }

    /// Adds a BPE tokenizer from the bytes of a `.tiktoken` file; the first one added
    /// becomes the default.
    public mutating func register(name: String, vocabulary: [UInt8]) throws(DomainError) {
        guard let pattern = BPETokenizer.Pattern(encodingName: name) else {
            throw .invalidArgument(field: "tokenizer", expected: "cl100k_base or o200k_base, got '\(name)'")
        }
        let tok = try BPETokenizer(name: name, pattern: pattern, vocabulary: vocabulary)
        let first = defaultName == HeuristicTokenEstimator.name
        counters[name] = tok
        if first { defaultName = name }
    }

    /// The default counter.
    public var `default`: any TokenCounter { counters[defaultName]! }

    /// The counter named `name` (nil = default); `invalidArgument` for an unknown name.
    public func counter(named name: String?) throws(DomainError) -> any TokenCounter {
        guard let name else { return self.default }
        guard let c = counters[name] else {
            throw .invalidArgument(field: "tokenizer", expected: "one of \(names.joined(separator: ", "))")
        }
        return c
    }

    /// Every available tokenizer name, default first.
    public var names: [String] { [defaultName] + counters.keys.filter { $0 != defaultName }.sorted() }
}
