import AccessCore
import AccessWire

/// Handles one call: request payload bytes in, response payload bytes out, or an error.
public typealias RawHandler = @Sendable (_ payload: [UInt8], _ context: CallContext) async throws -> [UInt8]

/// Resolves and admits the caller of a call before its handler runs: UNAUTHENTICATED or PERMISSION_DENIED
/// otherwise. The service provides one per operation (its credential rules and feature policy).
public protocol CallAuthorizer: Sendable {
    func authorize(_ context: CallContext) async throws -> Caller
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

/// A method the dispatcher can serve.
public struct RegisteredMethod: Sendable {
    public let descriptor: MethodDescriptor
    public let requestSchema: MessageSchema
    public let responseSchema: MessageSchema
    public let access: MethodAccess
    /// False only for the explicitly anonymous methods.
    public var requiresAuthentication: Bool {
        if case .anonymous = access { return false }
        return true
    }
    let handler: RawHandler
}

/// Method name -> handler, built once at start-up and read-only afterwards; shared by every transport.
public struct MethodRegistry: Sendable {
    private(set) var methods: [String: RegisteredMethod] = [:]

    public init() {}

    /// Registers a typed handler with who may call it (`access`; without one, every call is refused). Request
    /// bytes are decoded (and validated as UTF-8, within the codec limits) after the caller is admitted and
    /// before the handler runs; its response is encoded after.
    public mutating func register<Request: ProtoMessage, Response: ProtoMessage>(
        _ spec: MethodSpec<Request, Response>, access: MethodAccess = .missing,
        handler: @escaping @Sendable (Request, CallContext) async throws -> Response
    ) throws {
        let requestSchema = try MessageCodec.schema(for: Request.self)
        let responseSchema = try MessageCodec.schema(for: Response.self)
        guard methods[spec.path] == nil else { throw RPCError(.alreadyExists, "\(spec.path) is registered twice") }
        methods[spec.path] = RegisteredMethod(
            descriptor: spec.descriptor, requestSchema: requestSchema, responseSchema: responseSchema,
            access: access,
            handler: { payload, context in
                let request = try MessageCodec.decode(Request.self, from: payload, limits: context.codecLimits)
                try Task.checkCancellation()
                return try MessageCodec.encode(try await handler(request, context))
            })
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
