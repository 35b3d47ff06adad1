// libFuzzer target: the JSON parser and writer (JSONCore).
//
// Properties checked on every input the parser accepts:
//  - parse → write (compact, pretty, sorted keys) → parse gives an equal value;
//  - writing is canonical: writing the re-parsed value gives the same bytes;
//  - the Codable bridge carries the value through unchanged;
//  - a lower depth limit only ever turns success into a depthLimitExceeded error.
// Inputs it rejects must fail with an offset inside the input.
import JSONCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = inputBytes(data, size)
    let value: JSONValue
    do {
        value = try JSONParser.parse(bytes)
    } catch {
        require(error.offset >= 0 && error.offset <= bytes.count, "error offset \(error.offset) outside the input of \(bytes.count) bytes")
        _ = error.description
        // The String entry point must agree on rejection for valid UTF-8 text.
        if let text = String(validating: bytes, as: UTF8.self) {
            require((try? JSONParser.parse(text)) == nil, "String entry point accepted what the byte entry point rejected")
        }
        return 0
    }
    for options: JSONWriter.Options in [[], [.pretty], [.sortedKeys], [.pretty, .sortedKeys]] {
        let written = JSONWriter.encode(value, options: options)
        let again: JSONValue
        do { again = try JSONParser.parse(written) } catch {
            require(false, "writer output (options \(options.rawValue)) does not parse: \(error) — \(String(decoding: written, as: UTF8.self).prefix(200))")
            return 0
        }
        require(again == value, "parse → write(\(options.rawValue)) → parse changed the value")
        let rewritten = JSONWriter.encode(again, options: options)
        require(rewritten == written, "writing is not canonical (options \(options.rawValue))")
    }
    // The Codable bridge.
    do {
        let decoded = try JSONValueDecoder().decode(JSONValue.self, from: value)
        require(decoded == value, "JSONValueDecoder changed the value")
        let encoded = try JSONValueEncoder().encode(value)
        require(encoded == value, "JSONValueEncoder changed the value")
    } catch {
        require(false, "Codable bridge failed on a parsed value: \(error)")
    }
    // Depth limits: a shallower limit may only fail with depthLimitExceeded.
    for limit in [1, 2, 8] {
        do {
            let v = try JSONParser.parse(bytes, maxDepth: limit)
            require(v == value, "a depth limit changed the value")
        } catch {
            if case .depthLimitExceeded(let m) = error.reason {
                require(m == limit, "depth error reports \(m), limit was \(limit)")
            } else {
                require(false, "depth limit \(limit) produced \(error) on an input that parses")
            }
        }
    }
    return 0
}
