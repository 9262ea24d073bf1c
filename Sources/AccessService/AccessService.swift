import AccessCore
import AccessRPC

/// The operations of SPEC.md, registered into the shared method registry. Every authenticated operation
/// resolves its caller and checks its `OperationPolicy` before the handler runs, and every mutation writes an
/// audit row in its own transaction.
public struct AccessService: Sendable {
    let store: any ServiceStore
    let configuration: ServiceConfiguration
    let clock: any WallClock
    let hasher: PasswordHasher
    let authenticator: Authenticator
    let billing: (any BillingProvider)?
    let checkouts = SingleFlight<CheckoutKey, CheckoutOutcome>()
    let anonymousLimiter: PeerRateLimiter
    /// Every operation's policy by method name, as registered: what DecisionService judges a named operation by.
    let policies = PolicyBook()

    /// - Parameter billing: the billing provider; nil when billing is not configured.
    public init(
        store: any ServiceStore, configuration: ServiceConfiguration, billing: (any BillingProvider)? = nil,
        clock: any WallClock = SystemWallClock()
    ) throws {
        self.store = store
        self.billing = billing
        self.configuration = configuration
        self.clock = clock
        self.hasher = try PasswordHasher(parameters: configuration.passwordHashing)
        self.authenticator = Authenticator(
            store: store, clock: clock, cacheCapacity: configuration.principalCacheEntries,
            cacheMaxAge: configuration.principalCacheSeconds)
        self.anonymousLimiter = PeerRateLimiter(rate: configuration.anonymousRate, burst: configuration.anonymousBurst)
    }

    /// Registers every implemented operation.
    public func register(into registry: inout MethodRegistry) throws {
        try registerSessionOperations(into: &registry)
        try registerTokenOperations(into: &registry)
        try registerAccountOperations(into: &registry)
        try registerPasswordOperations(into: &registry)
        try registerNotificationOperations(into: &registry)
        try registerTeamOperations(into: &registry)
        try registerRoleOperations(into: &registry)
        try registerInventoryOperations(into: &registry)
        try registerBillingOperations(into: &registry)
        try registerDashboardOperations(into: &registry)
        try registerDecisionOperations(into: &registry)
    }

    /// The current time in whole seconds.
    var now: Int64 { Int64(clock.now()) }

    /// An audit row for a mutation by `caller`.
    /// The call's place in the password-hashing queue: its peer and deadline.
    func hashCaller(_ context: CallContext) -> HashCaller {
        HashCaller(peer: context.peer.throttleKey, deadline: context.deadline, limits: configuration.hashAdmission)
    }

    func audit(_ caller: Caller?, _ context: CallContext, _ operation: String, target: String = "") -> AuditEntry {
        AuditEntry(
            actorUserID: caller?.userID, actorEmail: caller?.email ?? "", accountID: caller?.accountID,
            operation: operation, target: target, timestamp: now, transport: context.transport.rawValue,
            peer: "\(context.peer)")
    }
}

extension MethodRegistry {
    /// Registers an operation that needs a caller allowed by `policy`. With `now`, the operation may be answered
    /// where the call arrived when its caller is in the principal cache and `now` can answer from memory (nil:
    /// it has to wait, and `handler` runs).
    mutating func register<Request: ProtoMessage, Response: ProtoMessage>(
        _ spec: MethodSpec<Request, Response>, policy: OperationPolicy, service: AccessService,
        now: (@Sendable (Request, Caller, CallContext) throws -> Response?)? = nil,
        handler: @escaping @Sendable (Request, Caller, CallContext) async throws -> Response
    ) throws {
        service.policies.record(spec.descriptor.method, policy)
        let access = MethodAccess.authorized(
            OperationAuthorizer(authenticator: service.authenticator, policy: policy, operation: spec.descriptor.method)
        )
        @Sendable func admitted(_ context: CallContext) throws -> Caller {
            guard let caller = context.caller else {
                throw RPCError(.internal, "the call reached its handler without a caller")
            }
            return caller
        }
        guard let now else {
            try register(spec, access: access) { request, context in
                try await handler(request, try admitted(context), context)
            }
            return
        }
        try register(
            spec, access: access, attempt: { request, context in try now(request, try admitted(context), context) }
        ) { request, context in
            try await handler(request, try admitted(context), context)
        }
    }

    /// Registers an operation anonymous callers may use (Signup, Login, ResetPassword).
    mutating func registerAnonymous<Request: ProtoMessage, Response: ProtoMessage>(
        _ spec: MethodSpec<Request, Response>,
        handler: @escaping @Sendable (Request, CallContext) async throws -> Response
    ) throws {
        try register(spec, access: .anonymous, handler: handler)
    }
}

/// An operation's access rule as the dispatcher runs it: the credential resolved into a caller (in the API scope
/// for account-wide operations), then the feature policy checked.
struct OperationAuthorizer: CallAuthorizer {
    let authenticator: Authenticator
    let policy: OperationPolicy
    let operation: String

    func authorize(_ context: CallContext) async throws -> Caller {
        let caller = try await authenticator.caller(for: context, scope: policy.isAccountWide ? .api : nil)
        try policy.check(caller, operation: operation)
        return caller
    }

    /// The same admission from the principal cache, without waiting; nil on a miss.
    func authorizeSynchronously(_ context: CallContext) throws -> Caller? {
        guard let caller = try authenticator.callerNow(for: context, scope: policy.isAccountWide ? .api : nil) else {
            return nil
        }
        try policy.check(caller, operation: operation)
        return caller
    }
}

/// The policies of the registered operations, by method name (`CreateCustomRole`); written while registering,
/// read by DecisionService afterwards.
final class PolicyBook: Sendable {
    private let policies = Locked<[String: OperationPolicy]>([:])

    func record(_ method: String, _ policy: OperationPolicy) {
        policies.withLock { $0[method] = policy }
    }

    func policy(_ method: String) -> OperationPolicy? {
        policies.withLock { $0[method] }
    }
}
