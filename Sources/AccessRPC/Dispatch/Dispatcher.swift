import AccessCore
import AccessWire
import Logging
import Metrics

/// One call as a transport hands it to the dispatcher.
public struct DispatchRequest: Sendable {
    public var method: String
    public var metadata: [MetadataEntry]
    public var payload: [UInt8]
    /// The caller's timeout; nil or zero means the configured default.
    public var timeout: Duration?
    public var peer: Peer
    public var transport: Transport

    public init(
        method: String, metadata: [MetadataEntry] = [], payload: [UInt8] = [], timeout: Duration? = nil,
        peer: Peer = .local, transport: Transport = .socket
    ) {
        self.method = method
        self.metadata = metadata
        self.payload = payload
        self.timeout = timeout
        self.peer = peer
        self.transport = transport
    }
}

/// A call's outcome: status, response metadata, and the response payload (OK only).
public struct DispatchResult: Sendable, Equatable {
    public var status: Status
    public var metadata: [MetadataEntry]
    public var payload: [UInt8]

    public init(status: Status, metadata: [MetadataEntry] = [], payload: [UInt8] = []) {
        self.status = status
        self.metadata = metadata
        self.payload = payload
    }
}

/// The one dispatch path: `(method, metadata, payload, deadline) -> (status, metadata, payload)`.
///
/// Shared by the socket server and the HTTP gateway, so both apply the same limits, answer unknown methods
/// the same way, and log and count every call the same way.
public struct Dispatcher: Sendable {
    public let registry: MethodRegistry
    public let limits: DispatchLimits
    private let logger: Logger
    private let metrics: any MetricsFactory
    private let instruments: Instruments

    /// - Parameter metrics: where the per-method counters and timers go; the process-wide factory by default.
    public init(
        registry: MethodRegistry, limits: DispatchLimits = DispatchLimits(), logger: Logger,
        metrics: any MetricsFactory = MetricsSystem.factory
    ) {
        self.registry = registry
        self.limits = limits
        self.logger = logger
        self.metrics = metrics
        self.instruments = Instruments(factory: metrics)
    }

    /// The deadline for a caller's timeout: the default when none, never past the maximum.
    public func deadline(for timeout: Duration?, from start: ContinuousClock.Instant = .now) -> ContinuousClock.Instant
    {
        guard let timeout, timeout > .zero else { return start + limits.defaultTimeout }
        return start + min(timeout, limits.maxTimeout)
    }

    /// Runs one call to completion. When `signal` fires (the caller cancelled, or the transport's deadline
    /// timer ran out) the handler is cancelled and the signal's reason is the result.
    public func dispatch(_ request: DispatchRequest, signal: CancellationSignal? = nil) async -> DispatchResult {
        let start = ContinuousClock.now
        let requestID = Self.requestID(from: request.metadata)
        var result: DispatchResult
        var cause: String?
        do {
            let payload = try await run(request, requestID: requestID, start: start, signal: signal)
            result = DispatchResult(status: .ok, payload: payload)
        } catch {
            let rpcError = Self.rpcError(error, signal: signal)
            cause = rpcError.cause
            result = DispatchResult(status: Status(rpcError))
        }
        result.metadata.append(MetadataEntry("x-request-id", requestID))
        record(request, result: result, requestID: requestID, cause: cause, duration: .now - start)
        return result
    }

    private func run(
        _ request: DispatchRequest, requestID: String, start: ContinuousClock.Instant, signal: CancellationSignal?
    ) async throws -> [UInt8] {
        try validate(metadata: request.metadata)
        guard let method = registry.method(request.method) else {
            if SchemaRegistry.shared.methods.contains(where: { "/\($0.service)/\($0.method)" == request.method }) {
                throw RPCError(.unimplemented, "\(request.method) is not implemented by this server")
            }
            // Echoed at most 128 characters, control characters escaped: an unknown name is the caller's text.
            throw RPCError(.unimplemented, "unknown method \(Self.echoed(request.method))")
        }
        let context = CallContext(
            method: method.descriptor, metadata: request.metadata,
            deadline: deadline(for: request.timeout, from: start),
            peer: request.peer, transport: request.transport, requestID: requestID, baseLogger: logger,
            codecLimits: limits.codec)
        // The stores read the call's deadline (to bound lock waits and statements) and its commit gate from
        // task-locals.
        return try await CallScope.$deadline.withValue(context.deadline) {
            try await CallScope.$commitGate.withValue(signal?.commitGate) {
                let admitted = context
                let body = { @Sendable () async throws -> [UInt8] in
                    // Access is the dispatcher's, for every transport: a method without a policy answers nobody.
                    var context = admitted
                    switch method.access {
                    case .anonymous: break
                    case .authorized(let authorizer): context.caller = try await authorizer.authorize(context)
                    case .missing:
                        throw RPCError(.permissionDenied, "\(method.descriptor.path) has no access policy; refused")
                    }
                    return try await method.handler(request.payload, context)
                }
                guard let signal else { return try await body() }
                // The signal cancels this task when it fires; the handler sees an ordinary task cancellation, and
                // `rpcError` reports the signal's reason.
                return try await signal.cancelling { try await body() }
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
        var generator = SystemRandomNumberGenerator()
        let high = generator.next() as UInt64
        let low = generator.next() as UInt64
        return hex(high) + hex(low)
    }

    private static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

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
