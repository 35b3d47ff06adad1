import JSONCore

// Hand-written JSON for the hot wire and record types: the bytes their `Encodable`
// conformances produce (keys in declaration order, nil optionals absent), written
// without Codable's per-field dispatch. `ByteEncoderDomainTests` compares both over
// every record kind; a field added to one of these types must be added here too (that
// test fails until it is).

extension JSONWriter {
    /// `,"key":value` (`key` is that literal, comma and colon included) when the value is
    /// present — an optional field, absent when nil as in the synthesized encoders.
    mutating func member(_ key: StaticString, _ v: String?) {
        guard let v else { return }
        raw(key)
        writeString(v)
    }
    mutating func member(_ key: StaticString, _ v: Int?) {
        guard let v else { return }
        raw(key)
        writeInt(v)
    }
    mutating func member<T: JSONFastEncodable>(_ key: StaticString, _ v: T?) {
        guard let v else { return }
        raw(key)
        v.writeJSON(into: &self)
    }
    mutating func member<T: JSONFastEncodable>(_ key: StaticString, _ v: [T]?) {
        guard let v else { return }
        raw(key)
        writeArray(v)
    }
}

extension Timestamp: JSONFastEncodable {
    public func writeJSON(into w: inout JSONWriter) {
        let f = civil()
        guard (0...9999).contains(f.year) else {
            w.writeString(iso8601)
            return
        }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 26) { b in
            b[0] = UInt8(ascii: "\"")
            Self.put(f, into: b, at: 1)
            b[25] = UInt8(ascii: "\"")
            w.bytes.append(contentsOf: UnsafeBufferPointer(b))
        }
    }
}

extension MessageRole {
    @inline(__always) func writeJSON(into w: inout JSONWriter) {
        switch self {
        case .system: w.raw(#""system""#)
        case .user: w.raw(#""user""#)
        case .assistant: w.raw(#""assistant""#)
        case .tool: w.raw(#""tool""#)
        }
    }
}

extension ToolCall: JSONFastEncodable {
    public func writeJSON(into w: inout JSONWriter) {
        w.raw(#"{"id":"#)
        w.writeString(id)
        w.raw(#","name":"#)
        w.writeString(name)
        w.raw(#","arguments":"#)
        w.write(arguments)
        w.raw("}")
    }
}

extension Message: JSONFastEncodable {
    public func writeJSON(into w: inout JSONWriter) {
        w.raw(#"{"id":"#)
        w.writeString(id)
        w.raw(#","conversationId":"#)
        w.writeString(conversationId)
        w.raw(#","role":"#)
        role.writeJSON(into: &w)
        w.raw(#","content":"#)
        w.writeString(content)
        w.raw(#","metadata":"#)
        w.write(metadata)
        w.raw(#","createdAt":"#)
        createdAt.writeJSON(into: &w)
        w.raw(#","tokens":"#)
        w.writeInt(tokens)
        w.member(#","toolCalls":"#, toolCalls)
        w.member(#","toolCallId":"#, toolCallId)
        w.raw("}")
    }
}

extension Conversation: JSONFastEncodable {
    public func writeJSON(into w: inout JSONWriter) {
        w.raw(#"{"id":"#)
        w.writeString(id)
        w.raw(#","title":"#)
        w.writeString(title)
        w.member(#","sessionId":"#, sessionId)
        w.raw(#","metadata":"#)
        w.write(metadata)
        w.member(#","maxMessages":"#, maxMessages)
        w.member(#","maxTokens":"#, maxTokens)
        w.raw(#","messageCount":"#)
        w.writeInt(messageCount)
        w.raw(#","tokenCount":"#)
        w.writeInt(tokenCount)
        w.raw(#","createdAt":"#)
        createdAt.writeJSON(into: &w)
        w.raw(#","updatedAt":"#)
        updatedAt.writeJSON(into: &w)
        w.member(#","parentConversationId":"#, parentConversationId)
        w.member(#","forkedAtMessageId":"#, forkedAtMessageId)
        w.raw("}")
    }
}

extension PhaseEntry: JSONFastEncodable {
    public func writeJSON(into w: inout JSONWriter) {
        w.raw(#"{"phase":"#)
        w.writeString(phase)
        w.raw(#","at":"#)
        at.writeJSON(into: &w)
        w.raw("}")
    }
}

extension UsageTotals: JSONFastEncodable {
    public func writeJSON(into w: inout JSONWriter) {
        w.raw(#"{"inputTokens":"#)
        w.writeInt(inputTokens)
        w.raw(#","outputTokens":"#)
        w.writeInt(outputTokens)
        w.raw(#","costUsd":"#)
        w.writeDouble(costUsd)
        w.raw("}")
    }
}

extension UsageMap: JSONFastEncodable {
    public func writeJSON(into w: inout JSONWriter) {
        w.raw("{")
        for (k, e) in entries.enumerated() {
            if k > 0 { w.raw(",") }
            w.writeString(e.name)
            w.raw(":")
            e.usage.writeJSON(into: &w)
        }
        w.raw("}")
    }
}

extension SessionUsage: JSONFastEncodable {
    public func writeJSON(into w: inout JSONWriter) {
        w.raw(#"{"inputTokens":"#)
        w.writeInt(inputTokens)
        w.raw(#","outputTokens":"#)
        w.writeInt(outputTokens)
        w.raw(#","costUsd":"#)
        w.writeDouble(costUsd)
        w.raw(#","byPhase":"#)
        byPhase.writeJSON(into: &w)
        w.member(#","byModel":"#, byModel)
        w.raw("}")
    }
}

extension QualityScore: JSONFastEncodable {
    public func writeJSON(into w: inout JSONWriter) {
        w.raw("{")
        if let phase {
            w.raw(#""phase":"#)
            w.writeString(phase)
            w.raw(",")
        }
        w.raw(#""score":"#)
        w.writeDouble(score)
        w.member(#","notes":"#, notes)
        w.raw(#","at":"#)
        at.writeJSON(into: &w)
        w.raw("}")
    }
}

extension Session: JSONFastEncodable {
    public func writeJSON(into w: inout JSONWriter) {
        w.raw(#"{"id":"#)
        w.writeString(id)
        w.raw(#","name":"#)
        w.writeString(name)
        w.raw(#","mode":"#)
        w.writeString(mode.rawValue)
        w.raw(#","status":"#)
        w.writeString(status.rawValue)
        w.member(#","projectId":"#, projectId)
        w.raw(#","tags":"#)
        w.writeStrings(tags)
        w.raw(#","metadata":"#)
        w.write(metadata)
        w.raw(#","context":"#)
        w.write(context)
        w.raw(#","createdAt":"#)
        createdAt.writeJSON(into: &w)
        w.raw(#","updatedAt":"#)
        updatedAt.writeJSON(into: &w)
        w.member(#","startedAt":"#, startedAt)
        w.member(#","lastPausedAt":"#, lastPausedAt)
        w.member(#","endedAt":"#, endedAt)
        w.member(#","failureReason":"#, failureReason)
        w.raw(#","activeMs":"#)
        w.writeInt(activeMs)
        w.member(#","activeSince":"#, activeSince)
        w.member(#","phase":"#, phase)
        w.member(#","phaseHistory":"#, phaseHistory)
        w.member(#","usage":"#, usage)
        w.member(#","quality":"#, quality)
        w.raw("}")
    }
}
