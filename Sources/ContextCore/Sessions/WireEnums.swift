/// Enums decoded from client input say which values are accepted, so a bad value comes
/// back as -32602 with `expected: "one of: …"`.
protocol ClosedStringEnum: RawRepresentable, CaseIterable, Decodable where RawValue == String {}

extension ClosedStringEnum {
    public init(from decoder: any Decoder) throws {
        let raw = try decoder.singleValueContainer().decode(String.self)
        guard let v = Self(rawValue: raw) else {
            throw DecodingError.dataCorrupted(
                .init(
                    codingPath: decoder.codingPath,
                    debugDescription: "one of: \(Self.allCases.map(\.rawValue).joined(separator: ", "))"))
        }
        self = v
    }
}

extension SessionMode: ClosedStringEnum {}
extension SessionStatus: ClosedStringEnum {}
extension GroupStatus: ClosedStringEnum {}
