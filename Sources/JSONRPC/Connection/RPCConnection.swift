#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// What a connection hands each request or notification to.
public protocol RPCDispatcher: AnyObject, Sendable {
    /// Handles one request (`id` non-nil) or notification (`id` nil), in the order
    /// received on `connection`. Returns the outcome and the commit gate the reply must
    /// wait for, and whether this request owns that gate (a failed commit turns an owned
    /// reply into the commit's error).
    ///
    /// - Important: Called on the connection's reader thread; a request gets exactly one
    ///   reply, built from the returned outcome.
    func dispatch(method: String, params: JSONValue?, id: RequestID?, connection: RPCConnection) -> DispatchOutcome

    /// The connection's input ended (EOF or error).
    func connectionDidClose(_ connection: RPCConnection)
}

public struct DispatchOutcome: Sendable {
    public var body: Result<RPCResult, RPCError>
    public var gate: UInt64
    public var ownsGate: Bool
    public init(_ result: Result<JSONValue, RPCError>, gate: UInt64 = 0, ownsGate: Bool = false) {
        self.init(body: result.map(RPCResult.init), gate: gate, ownsGate: ownsGate)
    }
    public init(body: Result<RPCResult, RPCError>, gate: UInt64 = 0, ownsGate: Bool = false) {
        self.body = body
        self.gate = gate
        self.ownsGate = ownsGate
    }
    /// The result as a JSON value.
    public var result: Result<JSONValue, RPCError> { body.map(\.value) }
}

/// Limits a connection enforces before dispatch (PROTOCOL §1, §12).
public struct WireLimits: Sendable, Equatable {
    public var maxMessageBytes = 64 << 20
    public var maxDepth = 256
    public var maxBatch = 1000
    public init() {}
}

/// One client connection: a reader thread doing large `read(2)`s into a `FrameDecoder`,
/// JSON-RPC semantics (parse errors, batches, cancellation), in-order dispatch, and one
/// ordered output queue whose ready frames go out together in one `write(2)`.
public final class RPCConnection: Sendable {
    public let id: Int
    public let limits: WireLimits
    let inputFD: Int32
    let outputFD: Int32
    let tracker: CommitTracker
    /// Server-owned per-connection state (lifecycle, subscriptions).
    public let attachment: (any AnyObject & Sendable)?

    struct Part {
        var id: RequestID?
        var body: [UInt8]
        var gate: UInt64
        var ownsGate: Bool
    }
    struct Item {
        var parts: [Part]
        var isBatch: Bool
        var gate: UInt64 { parts.reduce(0) { max($0, $1.gate) } }
    }
    struct Output {
        var framing: Framing = .contentLength
        var queue: [Item] = []
        var head = 0
        var buffer: [UInt8] = []
        var broken = false
    }
    private let output = Mutex(Output())
    private let closed = Atomic<Bool>(false)

    public init(id: Int, input: Int32, output: Int32, limits: WireLimits, tracker: CommitTracker, attachment: (any AnyObject & Sendable)? = nil) {
        self.id = id
        self.attachment = attachment
        self.inputFD = input
        self.outputFD = output
        self.limits = limits
        self.tracker = tracker
    }

    /// The framing replies use (that of the client's first message).
    public var framing: Framing { output.withLock { $0.framing } }

    // MARK: Reading

    /// Reads until end of input, dispatching in order. Blocks the calling thread; run it
    /// on a dedicated thread.
    ///
    /// - Parameter incompleteFrameTimeout: seconds a partly received frame may stay
    ///   incomplete before the connection is dropped (a slow-loris client); needs a read
    ///   timeout on the descriptor (`SO_RCVTIMEO`) to take effect. nil = no limit.
    public func runReadLoop(dispatcher: any RPCDispatcher, incompleteFrameTimeout: Int? = nil) {
        var decoder = FrameDecoder(maxMessageBytes: limits.maxMessageBytes)
        let chunk = 1 << 20
        let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 16)
        defer { buf.deallocate() }
        var frames: [Frame] = []
        var partialSince: timespec?
        while !closed.load(ordering: .relaxed) {
            let n = read(inputFD, buf.baseAddress, chunk)
            if n < 0 {
                if errno == EAGAIN || errno == EWOULDBLOCK {
                    if let limit = incompleteFrameTimeout, let since = partialSince, Self.secondsSince(since) >= limit {
                        break  // a frame that never completes: drop the client
                    }
                    continue
                }
                if errno == EINTR { continue }
                break
            }
            if n == 0 { break }
            decoder.push(UnsafeRawBufferPointer(rebasing: buf[0..<n]))
            frames.removeAll(keepingCapacity: true)
            while let f = decoder.next() { frames.append(f) }
            if let framing = decoder.framing {
                output.withLock { $0.framing = framing }
            }
            if !frames.isEmpty {
                process(frames, dispatcher: dispatcher)
                flush()
            }
            if decoder.bufferedByteCount == 0 || !frames.isEmpty {
                partialSince = nil
            }
            if decoder.bufferedByteCount > 0, partialSince == nil {
                var now = timespec()
                clock_gettime(CLOCK_MONOTONIC, &now)
                partialSince = now
            }
        }
        dispatcher.connectionDidClose(self)
    }

    static func secondsSince(_ t: timespec) -> Int {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int(now.tv_sec - t.tv_sec)
    }

    /// Stops reading after the current chunk.
    public func close() { closed.store(true, ordering: .relaxed) }
    public var isClosed: Bool { closed.load(ordering: .relaxed) }

    enum Unit {
        case single(IncomingMessage)
        case batch([IncomingMessage])
        case error(RPCError)
    }

    func decode(_ frame: Frame) -> Unit {
        switch frame {
        case .oversized(let length):
            return .error(.limitExceeded(limit: "maxMessageBytes", max: limits.maxMessageBytes, value: length))
        case .badHeader(let why):
            return .error(RPCError(.parseError, "parse error: \(why)"))
        case .message(let bytes):
            let value: JSONValue
            do {
                value = try JSONParser.parse(bytes, maxDepth: limits.maxDepth)
            } catch {
                if case .depthLimitExceeded = error.reason {
                    return .error(.limitExceeded(limit: "maxDepth", max: limits.maxDepth, value: limits.maxDepth + 1))
                }
                return .error(RPCError(.parseError, "parse error: \(error)", data: ["offset": .int(error.offset)]))
            }
            if case .array(let elements) = value {
                if elements.isEmpty { return .error(RPCError(.invalidRequest, "invalid request: empty batch")) }
                if elements.count > limits.maxBatch {
                    return .error(.limitExceeded(limit: "maxBatch", max: limits.maxBatch, value: elements.count))
                }
                return .batch(elements.map(IncomingMessage.classify))
            }
            return .single(IncomingMessage.classify(value))
        }
    }

    func process(_ frames: [Frame], dispatcher: any RPCDispatcher) {
        let units = frames.map(decode)
        // `$/cancelRequest` jumps the queue: a request read in the same chunk before its
        // cancellation has not started yet, so it is answered -32800.
        var cancelledAt: [RequestID: Int] = [:]
        for (k, u) in units.enumerated() {
            func scan(_ m: IncomingMessage) {
                // LSP `$/cancelRequest {id}` and MCP `notifications/cancelled {requestId}`.
                if case .notification(let method, let p) = m {
                    let raw = method == "$/cancelRequest" ? p?["id"] : method == "notifications/cancelled" ? p?["requestId"] : nil
                    if let raw, let id = RequestID(raw) { cancelledAt[id] = k }
                }
            }
            switch u {
            case .single(let m): scan(m)
            case .batch(let ms): ms.forEach(scan)
            case .error: break
            }
        }
        for (k, u) in units.enumerated() {
            if isClosed { break }  // `exit` was received: nothing after it runs
            switch u {
            case .error(let e):
                enqueue(Item(parts: [Part(id: nil, body: ResponseWriter.error(id: nil, e), gate: 0, ownsGate: false)], isBatch: false))
            case .single(let m):
                if let part = handle(m, index: k, cancelledAt: cancelledAt, dispatcher: dispatcher) {
                    enqueue(Item(parts: [part], isBatch: false))
                }
            case .batch(let ms):
                var parts: [Part] = []
                for m in ms {
                    if let p = handle(m, index: k, cancelledAt: cancelledAt, dispatcher: dispatcher) { parts.append(p) }
                }
                // A batch of only notifications gets no reply at all.
                if !parts.isEmpty { enqueue(Item(parts: parts, isBatch: true)) }
            }
        }
    }

    func handle(_ m: IncomingMessage, index: Int, cancelledAt: [RequestID: Int], dispatcher: any RPCDispatcher) -> Part? {
        switch m {
        case .response:
            return nil
        case .invalid(let id, let error):
            return Part(id: id, body: ResponseWriter.error(id: id, error), gate: 0, ownsGate: false)
        case .notification(let method, let params):
            if method == "$/cancelRequest" || method == "notifications/cancelled" { return nil }
            _ = dispatcher.dispatch(method: method, params: params, id: nil, connection: self)
            return nil
        case .request(let id, let method, let params):
            if let at = cancelledAt[id], at > index {
                return Part(id: id, body: ResponseWriter.error(id: id, RPCError(.requestCancelled, "request cancelled")), gate: 0, ownsGate: false)
            }
            let outcome = dispatcher.dispatch(method: method, params: params, id: id, connection: self)
            let body: [UInt8]
            switch outcome.body {
            case .success(let v): body = ResponseWriter.result(id: id, v)
            case .failure(let e): body = ResponseWriter.error(id: id, e)
            }
            return Part(id: id, body: body, gate: outcome.gate, ownsGate: outcome.ownsGate)
        }
    }

    // MARK: Writing

    func enqueue(_ item: Item) {
        output.withLock { $0.queue.append(item) }
    }

    /// Queues a server→client notification, sent once `gate` is durable.
    public func sendNotification(method: String, params: JSONValue, gate: UInt64 = 0) {
        let body = ResponseWriter.notification(method: method, params: params)
        enqueue(Item(parts: [Part(id: nil, body: body, gate: gate, ownsGate: false)], isBatch: false))
    }

    /// Writes every queued frame whose gate is durable, in order, in one `write(2)`.
    public func flush() {
        let durable = tracker.durable
        output.withLock { out in
            guard !out.broken else {
                out.queue.removeAll()
                out.head = 0
                return
            }
            out.buffer.removeAll(keepingCapacity: true)
            while out.head < out.queue.count {
                let item = out.queue[out.head]
                guard item.gate <= durable else { break }
                var body: [UInt8]
                if item.isBatch {
                    body = [UInt8(ascii: "[")]
                    for (k, p) in item.parts.enumerated() {
                        if k > 0 { body.append(UInt8(ascii: ",")) }
                        body.append(contentsOf: resolved(p))
                    }
                    body.append(UInt8(ascii: "]"))
                } else {
                    body = resolved(item.parts[0])
                }
                FrameEncoder.append(body, framing: out.framing, to: &out.buffer)
                out.head += 1
            }
            if out.head == out.queue.count {
                out.queue.removeAll(keepingCapacity: true)
                out.head = 0
            } else if out.head > 1024 {
                out.queue.removeSubrange(0..<out.head)
                out.head = 0
            }
            if !out.buffer.isEmpty, !writeAll(out.buffer) {
                out.broken = true
            }
        }
    }

    /// Whether replies are still waiting for their gate.
    public var hasPendingOutput: Bool { output.withLock { $0.head < $0.queue.count } }

    func resolved(_ p: Part) -> [UInt8] {
        if p.ownsGate, p.gate > 0, let failure = tracker.takeFailure(p.gate) {
            return ResponseWriter.error(id: p.id, failure)
        }
        return p.body
    }

    func writeAll(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { raw in
            var off = 0
            while off < raw.count {
                let n = write(outputFD, raw.baseAddress! + off, raw.count - off)
                if n < 0 {
                    if errno == EINTR || errno == EAGAIN { continue }
                    return false
                }
                off += n
            }
            return true
        }
    }
}
