import JSONCore

// Hand-written JSON for the hot wire and record types: the bytes their `Encodable`
// conformances produce (keys in declaration order, nil optionals absent), written
// without Codable's per-field dispatch. `ByteEncoderDomainTests` compares both over
// every record kind; a field added to one of these types must be added here too (that
// test fails until it is).

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
        if let toolCalls {
            w.raw(#","toolCalls":"#)
            w.writeArray(toolCalls)
        }
        if let toolCallId {
            w.raw(#","toolCallId":"#)
            w.writeString(toolCallId)
        }
        w.raw("}")
    }
}

extension Conversation: JSONFastEncodable {
    public func writeJSON(into w: inout JSONWriter) {
        w.raw(#"{"id":"#)
        w.writeString(id)
        w.raw(#","title":"#)
        w.writeString(title)
        if let sessionId {
            w.raw(#","sessionId":"#)
            w.writeString(sessionId)
        }
        w.raw(#","metadata":"#)
        w.write(metadata)
        if let maxMessages {
            w.raw(#","maxMessages":"#)
            w.writeInt(maxMessages)
        }
        if let maxTokens {
            w.raw(#","maxTokens":"#)
            w.writeInt(maxTokens)
        }
        w.raw(#","messageCount":"#)
        w.writeInt(messageCount)
        w.raw(#","tokenCount":"#)
        w.writeInt(tokenCount)
        w.raw(#","createdAt":"#)
        createdAt.writeJSON(into: &w)
        w.raw(#","updatedAt":"#)
        updatedAt.writeJSON(into: &w)
        if let parentConversationId {
            w.raw(#","parentConversationId":"#)
            w.writeString(parentConversationId)
        }
        if let forkedAtMessageId {
            w.raw(#","forkedAtMessageId":"#)
            w.writeString(forkedAtMessageId)
        }
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
        if let byModel {
            w.raw(#","byModel":"#)
            byModel.writeJSON(into: &w)
        }
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
        if let notes {
            w.raw(#","notes":"#)
            w.writeString(notes)
        }
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
        if let projectId {
            w.raw(#","projectId":"#)
            w.writeString(projectId)
        }
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
        if let startedAt {
            w.raw(#","startedAt":"#)
            startedAt.writeJSON(into: &w)
        }
        if let lastPausedAt {
            w.raw(#","lastPausedAt":"#)
            lastPausedAt.writeJSON(into: &w)
        }
        if let endedAt {
            w.raw(#","endedAt":"#)
            endedAt.writeJSON(into: &w)
        }
        if let failureReason {
            w.raw(#","failureReason":"#)
            w.writeString(failureReason)
        }
        w.raw(#","activeMs":"#)
        w.writeInt(activeMs)
        if let activeSince {
            w.raw(#","activeSince":"#)
            activeSince.writeJSON(into: &w)
        }
        if let phase {
            w.raw(#","phase":"#)
            w.writeString(phase)
        }
        if let phaseHistory {
            w.raw(#","phaseHistory":"#)
            w.writeArray(phaseHistory)
        }
        if let usage {
            w.raw(#","usage":"#)
            usage.writeJSON(into: &w)
        }
        if let quality {
            w.raw(#","quality":"#)
            w.writeArray(quality)
        }
        w.raw("}")
    }
}
