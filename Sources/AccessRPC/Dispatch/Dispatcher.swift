import AccessCore
import Logging
import Metrics
import Synchronization

/// One call as a transport hands it to the dispatcher.
public struct DispatchRequest: Sendable {
    public var method: String
    public var metadata: [MetadataEntry]
    /// The request as bytes of the registry's codec (the socket).
    public var payload: [UInt8]
    /// The request already decoded (the gateway decodes JSON into the request type): when set, `payload` is
    /// not read and the response comes back as `DispatchResult.message`, no codec involved.
    public var message: (any ProtoMessage)?
    /// The caller's timeout; nil or zero means the configured default.
    public var timeout: Duration?
    /// When the call began as the transport saw it (a request head that arrived before its body); the deadline
    /// counts from here. Nil: when the dispatcher receives it.
    public var startedAt: ContinuousClock.Instant?
    public var peer: Peer
    public var transport: Transport

    public init(
        method: String, metadata: [MetadataEntry] = [], payload: [UInt8] = [], message: (any ProtoMessage)? = nil,
        timeout: Duration? = nil, startedAt: ContinuousClock.Instant? = nil, peer: Peer = .local,
        transport: Transport = .socket
    ) {
        self.method = method
        self.metadata = metadata
        self.payload = payload
        self.message = message
        self.timeout = timeout
        self.startedAt = startedAt
        self.peer = peer
        self.transport = transport
    }
}

/// A call's outcome: status, response metadata, and the response (OK only): `payload` bytes for a request
/// that came as bytes, `message` for one that came typed.
public struct DispatchResult: Sendable {
    public var status: Status
    public var metadata: [MetadataEntry]
    public var payload: [UInt8]
    public var message: (any ProtoMessage)?

    public init(
        status: Status, metadata: [MetadataEntry] = [], payload: [UInt8] = [], message: (any ProtoMessage)? = nil
    ) {
        self.status = status
        self.metadata = metadata
        self.payload = payload
        self.message = message
    }
}

/// The one dispatch path: `(method, metadata, payload, deadline) -> (status, metadata, payload)`.
///
/// Shared by the socket server and the HTTP gateway, it owns the call policy for both: the limits, the answer
/// to unknown methods, the caller's admission (`MethodAccess`), the deadline (armed here, on `timer`, for
/// every call), and the logging and counting of every call.
public struct Dispatcher: Sendable {
    public let registry: MethodRegistry
    public let limits: DispatchLimits
    private let logger: Logger
    private let metrics: any MetricsFactory
    private let instruments: Instruments
    private let timer: any DeadlineTimer

    /// - Parameters:
    ///   - metrics: where the per-method counters and timers go; the process-wide factory by default.
    ///   - timer: what arms each call's deadline; a task per call by default, the event loops on the server.
    public init(
        registry: MethodRegistry, limits: DispatchLimits = DispatchLimits(), logger: Logger,
        metrics: any MetricsFactory = MetricsSystem.factory, timer: any DeadlineTimer = TaskDeadlineTimer()
    ) {
        self.registry = registry
        self.limits = limits
        self.logger = logger
        self.metrics = metrics
        self.instruments = Instruments(factory: metrics)
        self.timer = timer
    }

    /// The deadline for a caller's timeout: the default when none, never past the maximum.
    public func deadline(for timeout: Duration?, from start: ContinuousClock.Instant = .now) -> ContinuousClock.Instant
    {
        guard let timeout, timeout > .zero else { return start + limits.defaultTimeout }
        return start + min(timeout, limits.maxTimeout)
    }

    /// Runs one call to completion within its deadline. When the deadline passes the handler is cancelled and
    /// the call answers DEADLINE_EXCEEDED (unless its transaction is already committing: then with what the
    /// commit decided); `signal.onDeadline` tells the transport at that moment. When the transport fires
    /// `signal` itself (the caller cancelled, shutdown) the handler is cancelled and the signal's reason is the
    /// result.
    ///
    /// Cancelling the handler cancels the task it runs in. By default that is a child task of the caller's, so
    /// the caller's own task (an HTTP connection's, a test's) is never cancelled; a transport that already runs
    /// every call in a task of its own (the socket server) passes `inCallTask: true` and saves the child.
    public func dispatch(
        _ request: DispatchRequest, signal given: CancellationSignal? = nil, inCallTask: Bool = false
    ) async -> DispatchResult {
        guard inCallTask else {
            async let result = dispatch(request, signal: given, inCallTask: true)
            return await result
        }
        let start = ContinuousClock.now
        let signal = given ?? CancellationSignal()
        let deadline = deadline(for: request.timeout, from: request.startedAt ?? start)
        let armed = timer.schedule(at: deadline) { signal.expire() }
        defer { armed.cancel() }
        let requestID = Self.requestID(from: request.metadata)
        var result: DispatchResult
        var cause: String?
        do {
            result = try await run(request, deadline: deadline, requestID: requestID, signal: signal)
        } catch {
            let rpcError = Self.rpcError(error, signal: signal)
            cause = rpcError.cause
            result = DispatchResult(status: Status(rpcError))
        }
        result.metadata.append(MetadataEntry("x-request-id", requestID))
        record(request, result: result, requestID: requestID, cause: cause, duration: .now - start)
        return result
    }

    /// Answers a call at once, on the calling thread, when nothing in it has to wait: a synchronous method
    /// (`registerSynchronous`, or an `attempt` that answers from memory) whose caller is admitted without
    /// waiting, or a refusal that needs no lookup (an unknown method, a method without an access policy, bad
    /// metadata, a credential the authorizer refuses from memory). Nil otherwise, having done nothing, and the
    /// transport dispatches it the ordinary way. Same checks, answers, logs and metrics as `dispatch`.
    public func dispatchSynchronously(_ request: DispatchRequest) -> DispatchResult? {
        let method = registry.method(request.method)
        let start = ContinuousClock.now
        let requestID = Self.requestID(from: request.metadata)
        var result: DispatchResult
        var cause: String?
        do {
            try validate(metadata: request.metadata)
            guard let method else { throw unknownMethod(request.method) }
            if case .missing = method.access { throw Self.noPolicy(method) }
            if case .anonymous = method.access, method.synchronousHandler == nil { return nil }
            var context = makeContext(
                method, request, deadline: deadline(for: request.timeout, from: start), requestID: requestID)
            if case .authorized(let authorizer) = method.access {
                // A refusal the authorizer can make from memory is answered here, whatever the method.
                guard let caller = try authorizer.authorizeSynchronously(context) else { return nil }
                context.caller = caller
            }
            // Admitted, but its work waits: nothing was done or recorded here.
            guard let synchronous = method.synchronousHandler else { return nil }
            guard let answered = try respondNow(request, method: method, { try synchronous($0, context) }) else {
                return nil  // it has to wait after all: nothing was done or recorded
            }
            result = answered
        } catch {
            let rpcError = Self.rpcError(error, signal: nil)
            cause = rpcError.cause
            result = DispatchResult(status: Status(rpcError))
        }
        result.metadata.append(MetadataEntry("x-request-id", requestID))
        record(request, result: result, requestID: requestID, cause: cause, duration: .now - start)
        return result
    }

    /// UNIMPLEMENTED for a name the registry lacks: a method of the contract this server does not serve, or an
    /// unknown name (echoed at most 128 characters, control characters escaped: it is the caller's text).
    private func unknownMethod(_ name: String) -> RPCError {
        if ProtoCatalog.methodPaths.contains(name) {
            return RPCError(.unimplemented, "\(name) is not implemented by this server")
        }
        return RPCError(.unimplemented, "unknown method \(Self.echoed(name))")
    }

    private func makeContext(
        _ method: RegisteredMethod, _ request: DispatchRequest, deadline: ContinuousClock.Instant, requestID: String
    ) -> CallContext {
        CallContext(
            method: method.descriptor, metadata: request.metadata, deadline: deadline, peer: request.peer,
            transport: request.transport, requestID: requestID, baseLogger: logger,
            codecLimits: limits.codec)
    }

    /// Decodes the request (bytes through the registry's codec; a typed message as it is), runs `handler`,
    /// and answers in the request's form; nil when the handler has to wait.
    private func respondNow(
        _ request: DispatchRequest, method: RegisteredMethod,
        _ handler: (any ProtoMessage) throws -> (any ProtoMessage)?
    ) throws -> DispatchResult? {
        if let message = request.message {
            return try handler(message).map { DispatchResult(status: .ok, message: $0) }
        }
        let decoded = try method.decode(request.payload, limits.codec)
        return try handler(decoded).map { DispatchResult(status: .ok, payload: try method.encode($0)) }
    }

    private static func noPolicy(_ method: RegisteredMethod) -> RPCError {
        RPCError(.permissionDenied, "\(method.descriptor.path) has no access policy; refused")
    }

    private func run(
        _ request: DispatchRequest, deadline: ContinuousClock.Instant, requestID: String, signal: CancellationSignal
    ) async throws -> DispatchResult {
        try validate(metadata: request.metadata)
        guard let method = registry.method(request.method) else { throw unknownMethod(request.method) }
        let admitted = makeContext(method, request, deadline: deadline, requestID: requestID)
        // The stores read the call's deadline (to bound lock waits and statements) and its commit gate from
        // task-locals.
        return try await CallScope.$deadline.withValue(deadline) {
            try await CallScope.$commitGate.withValue(signal.commitGate) {
                // The signal cancels this task when it fires; the handler sees an ordinary task cancellation,
                // and `rpcError` reports the signal's reason.
                try await signal.cancelling {
                    // Access is the dispatcher's, for every transport: a method without a policy answers nobody.
                    var context = admitted
                    switch method.access {
                    case .anonymous: break
                    case .authorized(let authorizer): context.caller = try await authorizer.authorize(context)
                    case .missing: throw Self.noPolicy(method)
                    }
                    // A call whose deadline passed before it got here (a slow body, a queue) does no work.
                    guard ContinuousClock.now < deadline else {
                        throw RPCError(.deadlineExceeded, "the call's deadline passed")
                    }
                    if let message = request.message {
                        return DispatchResult(status: .ok, message: try await method.handler(message, context))
                    }
                    let decoded = try method.decode(request.payload, limits.codec)
                    try Task.checkCancellation()
                    return DispatchResult(
                        status: .ok, payload: try method.encode(try await method.handler(decoded, context)))
                }
            }
        }
    }

    private func validate(metadata: [MetadataEntry]) throws {
        var total = 0
        for entry in metadata {
            total += entry.key.utf8.count + entry.value.utf8.count
            guard !entry.key.isEmpty, entry.key.utf8.allSatisfy(Self.isMetadataKeyByte) else {
                throw RPCError.invalidField("metadata", "key \"\(entry.key.prefix(64))\" is not lower-case ASCII")
            }
        }
        guard total <= limits.maxMetadataBytes else {
            throw RPCError(
                .resourceExhausted, "metadata of \(total) bytes exceeds the \(limits.maxMetadataBytes)-byte limit")
        }
    }

    private static func isMetadataKeyByte(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
            || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
    }

    /// A caller-chosen name as it may appear in an answer or a log line: its first 128 characters with control
    /// characters escaped, and `…` when it was longer.
    static func echoed(_ name: String) -> String {
        let head = EscapingLogHandler.escape(String(name.prefix(128)))
        return name.count > 128 ? head + "…" : head
    }

    /// The caller's request id when it is short and printable, else a fresh random one.
    static func requestID(from metadata: [MetadataEntry]) -> String {
        if let given = metadata.first(where: { $0.key == "x-request-id" })?.value, !given.isEmpty,
            given.utf8.count <= 128,
            given.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F })
        {
            return given
        }
        return freshRequestID()
    }

    /// A fresh request id: 128 bits of SipHash (the standard library's `Hasher`) over a key drawn once from the
    /// system's generator and a call counter. Unique, unpredictable without the key, revealing nothing of how
    /// many calls the server answered, and no system call per call (two `getrandom`s were 6 % of an
    /// authenticated read's CPU).
    static func freshRequestID() -> String {
        let count = requestCounter.wrappingAdd(1, ordering: .relaxed).newValue
        var high = Hasher()
        high.combine(requestKey.0)
        high.combine(requestKey.1)
        high.combine(count)
        var low = high
        high.combine(0 as UInt8)
        low.combine(1 as UInt8)
        let halves = (UInt64(bitPattern: Int64(high.finalize())), UInt64(bitPattern: Int64(low.finalize())))
        return String(unsafeUninitializedCapacity: 32) { buffer in
            let digits: StaticString = "0123456789abcdef"
            for i in 0..<16 {
                let shift = UInt64(60 - 4 * i)
                buffer[i] = digits.utf8Start[Int((halves.0 >> shift) & 0xF)]
                buffer[16 + i] = digits.utf8Start[Int((halves.1 >> shift) & 0xF)]
            }
            return 32
        }
    }

    private static let requestCounter = Atomic<UInt64>(0)
    private static let requestKey: (UInt64, UInt64) = {
        var generator = SystemRandomNumberGenerator()
        return (generator.next(), generator.next())
    }()

    private static func rpcError(_ error: any Error, signal: CancellationSignal?) -> RPCError {
        if let reason = signal?.reason { return reason }
        switch error {
        case let error as RPCError: return error
        case is CancellationError: return RPCError(.cancelled, "the call was cancelled")
        // Only the type is logged: an arbitrary error's description may carry request data or secrets.
        default: return RPCError(.internal, "internal error", cause: "unexpected \(type(of: error))")
        }
    }

    private func record(
        _ request: DispatchRequest, result: DispatchResult, requestID: String, cause: String?, duration: Duration
    ) {
        let known = registry.method(request.method) != nil
        let method = known ? request.method : "unknown"
        let code = result.status.code
        instruments.counter(method: method, code: code, transport: request.transport).increment()
        instruments.timer(method: method, transport: request.transport).recordNanoseconds(duration.nanosecondsClamped)
        let level: Logger.Level = code == .internal || code == .unknown || code == .dataLoss ? .error : .info
        guard logger.logLevel <= level else { return }  // no metadata built for a line nobody will see
        var fields: Logger.Metadata = [
            "method": "\(known ? request.method : Self.echoed(request.method))",
            "code": "\(code.grpcName)",
            "duration-us": "\(duration.nanosecondsClamped / 1000)",
            "peer": "\(request.peer)",
            "transport": "\(request.transport.rawValue)",
            "request-id": "\(requestID)",
        ]
        if let cause { fields["cause"] = "\(cause)" }
        logger.log(level: level, "call", metadata: fields)
    }
}
