import AccessCore

/// Resolves and admits the caller of a call before its handler runs: UNAUTHENTICATED or PERMISSION_DENIED
/// otherwise. The service provides one per operation (its credential rules and feature policy).
public protocol CallAuthorizer: Sendable {
    func authorize(_ context: CallContext) async throws -> Caller
    /// The same decision when it can be made without waiting (nothing to look up), else nil; lets the
    /// dispatcher answer synchronous methods where the call arrived. The default is nil.
    func authorizeSynchronously(_ context: CallContext) throws -> Caller?
}

extension CallAuthorizer {
    public func authorizeSynchronously(_ context: CallContext) throws -> Caller? { nil }
}

/// Who may call a method, enforced by the dispatcher for every transport before the handler runs.
public enum MethodAccess: Sendable {
    /// Anyone: the explicit list of anonymous methods (health, reflection, sign-up, sign-in, password reset,
    /// token refresh).
    case anonymous
    /// A caller `authorize` admits; the handler sees it as `CallContext.caller`.
    case authorized(any CallAuthorizer)
    /// Registered without a policy: every call is refused (fail closed).
    case missing
}

/// A method the dispatcher can serve: its policy, its message types, and its handler over type-erased
/// messages. Bytes come in and go out only through the registry's codec (`decode` / `encode`); a transport
/// holding typed messages (the gateway) skips them.
public struct RegisteredMethod: Sendable {
    public let descriptor: MethodDescriptor
    public let access: MethodAccess
    public let requestType: any ProtoMessage.Type
    public let responseType: any ProtoMessage.Type
    /// False only for the explicitly anonymous methods.
    public var requiresAuthentication: Bool {
        if case .anonymous = access { return false }
        return true
    }
    /// The registry's codec for this method's request and response.
    let decode: @Sendable (_ bytes: [UInt8], _ limits: CodecLimits) throws -> any ProtoMessage
    let encode: @Sendable (_ response: any ProtoMessage) throws -> [UInt8]
    let handler: @Sendable (_ request: any ProtoMessage, _ context: CallContext) async throws -> any ProtoMessage
    /// Set for methods whose work is, or may be, synchronous: the dispatcher may run them where the call arrived
    /// (the socket's event loop) without a task. Nil from it means "this one needs to wait": the call then takes
    /// the ordinary path, as if the attempt had not been made.
    let synchronousHandler:
        (@Sendable (_ request: any ProtoMessage, _ context: CallContext) throws -> (any ProtoMessage)?)?

    @usableFromInline
    init(
        descriptor: MethodDescriptor, access: MethodAccess, requestType: any ProtoMessage.Type,
        responseType: any ProtoMessage.Type,
        decode: @escaping @Sendable (_ bytes: [UInt8], _ limits: CodecLimits) throws -> any ProtoMessage,
        encode: @escaping @Sendable (_ response: any ProtoMessage) throws -> [UInt8],
        handler:
            @escaping @Sendable (_ request: any ProtoMessage, _ context: CallContext) async throws
            -> any ProtoMessage,
        synchronousHandler: (
            @Sendable (_ request: any ProtoMessage, _ context: CallContext) throws -> (any ProtoMessage)?
        )?
    ) {
        self.descriptor = descriptor
        self.access = access
        self.requestType = requestType
        self.responseType = responseType
        self.decode = decode
        self.encode = encode
        self.handler = handler
        self.synchronousHandler = synchronousHandler
    }
}

/// Method name -> handler, built once at start-up and read-only afterwards; shared by every transport.
///
/// The registry never names a wire format: it takes the codec that turns payload bytes into the request type
/// and the response back (`PayloadCodec`, as grpc-swift's router takes a serializer and deserializer per
/// method). The socket server's is AccessWire's `ProtobufCodec`.
///
/// The registration functions are `@inlinable` so that they are specialised for each message type where the
/// service registers its methods: unspecialised, the closures they build looked up generic metadata on every
/// call (5 % of an authenticated read's CPU).
public struct MethodRegistry: Sendable {
    @usableFromInline var methods: [String: RegisteredMethod] = [:]
    /// What payload bytes mean for every method registered here.
    public let codec: any PayloadCodec

    public init(codec: any PayloadCodec) {
        self.codec = codec
    }

    /// Registers a typed handler with who may call it (`access`; without one, every call is refused). Request
    /// bytes are decoded (within the codec limits) after the caller is admitted and before the handler runs;
    /// its response is encoded after.
    @inlinable
    public mutating func register<Request: ProtoMessage, Response: ProtoMessage>(
        _ spec: MethodSpec<Request, Response>, access: MethodAccess = .missing,
        handler: @escaping @Sendable (Request, CallContext) async throws -> Response
    ) throws {
        try add(spec, access: access, synchronous: nil) { request, context in
            try await handler(try Self.cast(request, spec), context)
        }
    }

    /// Registers a handler that can often answer without waiting (from memory): `attempt` is tried where the
    /// call arrived when the caller is admitted without waiting, and answers nil when it would have to wait; the
    /// call then runs `handler`. Both must give the same answer for the same state.
    @inlinable
    public mutating func register<Request: ProtoMessage, Response: ProtoMessage>(
        _ spec: MethodSpec<Request, Response>, access: MethodAccess = .missing,
        attempt: @escaping @Sendable (Request, CallContext) throws -> Response?,
        handler: @escaping @Sendable (Request, CallContext) async throws -> Response
    ) throws {
        let synchronous: @Sendable (any ProtoMessage, CallContext) throws -> (any ProtoMessage)? = {
            request, context in
            try attempt(try Self.cast(request, spec), context)
        }
        try add(spec, access: access, synchronous: synchronous) { request, context in
            try await handler(try Self.cast(request, spec), context)
        }
    }

    /// Registers a handler whose work is synchronous (no storage, no I/O): besides the ordinary path, the
    /// dispatcher's `dispatchSynchronously` answers it on the calling thread when its caller can be admitted
    /// without waiting.
    @inlinable
    public mutating func registerSynchronous<Request: ProtoMessage, Response: ProtoMessage>(
        _ spec: MethodSpec<Request, Response>, access: MethodAccess = .missing,
        handler: @escaping @Sendable (Request, CallContext) throws -> Response
    ) throws {
        let run: @Sendable (any ProtoMessage, CallContext) throws -> any ProtoMessage = { request, context in
            try handler(try Self.cast(request, spec), context)
        }
        try add(spec, access: access, synchronous: run) { request, context in try run(request, context) }
    }

    @inlinable
    mutating func add<Request: ProtoMessage, Response: ProtoMessage>(
        _ spec: MethodSpec<Request, Response>, access: MethodAccess,
        synchronous: (@Sendable (any ProtoMessage, CallContext) throws -> (any ProtoMessage)?)?,
        handler: @escaping @Sendable (any ProtoMessage, CallContext) async throws -> any ProtoMessage
    ) throws {
        guard methods[spec.path] == nil else { throw RPCError(.alreadyExists, "\(spec.path) is registered twice") }
        let decode = codec.decoder(for: Request.self)
        let encode = codec.encoder(for: Response.self)
        methods[spec.path] = RegisteredMethod(
            descriptor: spec.descriptor, access: access, requestType: Request.self, responseType: Response.self,
            decode: { bytes, limits in try decode(bytes, limits) },
            encode: { response in
                guard let response = response as? Response else {
                    throw RPCError(.internal, "\(spec.path) answered with a \(type(of: response))")
                }
                return try encode(response)
            },
            handler: handler, synchronousHandler: synchronous)
    }

    /// The request as the handler's type: a transport handing a typed message of another type is refused.
    @inlinable
    static func cast<Request: ProtoMessage, Response: ProtoMessage>(
        _ request: any ProtoMessage, _ spec: MethodSpec<Request, Response>
    ) throws -> Request {
        guard let typed = request as? Request else {
            throw RPCError(
                .invalidArgument, "\(spec.path) takes a \(Request.protoName), not a \(type(of: request).protoName)")
        }
        return typed
    }

    /// The method registered under a wire name such as `/akto.rpc.v1.Health/Check`.
    public func method(_ path: String) -> RegisteredMethod? { methods[path] }

    /// Every registered method, sorted by wire name.
    public var all: [RegisteredMethod] { methods.values.sorted { $0.descriptor.path < $1.descriptor.path } }

    /// The gateway path of a method: `/api/<lowerCamel(method)>` for `akto.access.v1`, nil for the others.
    public static func httpPath(of descriptor: MethodDescriptor) -> String? {
        guard descriptor.package == "akto.access.v1" else { return nil }
        return "/api/" + descriptor.method.prefix(1).lowercased() + descriptor.method.dropFirst()
    }
}
