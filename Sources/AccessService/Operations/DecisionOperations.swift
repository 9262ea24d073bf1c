import AccessCore
import AccessRPC

// DecisionService (<doc:Decisions>): may this credential do this, here? Decided by the code every operation runs —
// the credential resolved by the `Authenticator`, the operation's `OperationPolicy` (feature table, token
// utility), the collection restriction (`Caller.mayUse`) — read through the principal cache, whose entries are
// trusted only while the store's authority version has not moved, so a decision reflects every revocation
// acknowledged before it, on every process. Rules about a target (hierarchy, last
// admin, owner) are not decisions.
extension AccessService {
    /// Most checks one AuthorizeBatch may carry.
    static let maxDecisionChecks = 100

    func registerDecisionOperations(into registry: inout MethodRegistry) throws {
        // Registered anonymous: a decision client may be a trusted socket peer with no credential of its own.
        // `decisionSubject` admits the asker before anything is resolved. Answered where the call arrived when
        // every credential involved is in the principal cache.
        try registry.register(
            Methods.DecisionService.authorize, access: .anonymous,
            attempt: { request, context in
                let check = try decisionCheck(request.check ?? DecisionCheck(), field: "check")
                guard let outcome = try decideNow([check], request.credential, request.contextSource, context) else {
                    return nil
                }
                return AuthorizeResponse(decision: outcome.decisions[0], principal: outcome.principal)
            }
        ) { request, context in
            let check = try decisionCheck(request.check ?? DecisionCheck(), field: "check")
            let outcome = try await decide([check], request.credential, request.contextSource, context)
            return AuthorizeResponse(decision: outcome.decisions[0], principal: outcome.principal)
        }
        try registry.register(
            Methods.DecisionService.authorizeBatch, access: .anonymous,
            attempt: { request, context in
                let checks = try batchChecks(request)
                guard let outcome = try decideNow(checks, request.credential, request.contextSource, context) else {
                    return nil
                }
                return AuthorizeBatchResponse(decisions: outcome.decisions, principal: outcome.principal)
            }
        ) { request, context in
            let outcome = try await decide(try batchChecks(request), request.credential, request.contextSource, context)
            return AuthorizeBatchResponse(decisions: outcome.decisions, principal: outcome.principal)
        }
    }

    func batchChecks(_ request: AuthorizeBatchRequest) throws -> [ResolvedCheck] {
        guard !request.checks.isEmpty else { throw RPCError.invalidField("checks", "must not be empty") }
        guard request.checks.count <= Self.maxDecisionChecks else {
            throw RPCError.invalidField("checks", "at most \(Self.maxDecisionChecks) per call")
        }
        return try request.checks.enumerated().map { try decisionCheck($1, field: "checks[\($0)]") }
    }

    typealias Outcome = (decisions: [Decision], principal: DecisionPrincipal?)

    /// A decision with whatever the store must be asked.
    func decide(
        _ checks: [ResolvedCheck], _ asked: DecisionCredential?, _ contextSource: String, _ context: CallContext
    ) async throws -> Outcome {
        var asker: Caller?
        var found = try decisionSubject(asked, context, asker: nil)
        if found == nil {
            asker = try await authenticator.caller(for: context)
            found = try decisionSubject(asked, context, asker: asker)
        }
        guard let (subject, organization) = found else { throw RPCError(.internal, "no decision subject") }
        let source = contextSource.isEmpty ? nil : contextSource
        var callers: [Scope?: Result<Caller, RPCError>] = [:]
        for scope in Self.decisionScopes(checks) {
            callers[scope] = await Self.outcome(organization) {
                try await authenticator.caller(
                    presenting: subject, contextSource: source, method: Methods.DecisionService.authorize.descriptor,
                    scope: scope)
            }
        }
        return Self.judge(checks, callers)
    }

    /// The same decision from the principal cache, without waiting; nil when something is not cached.
    func decideNow(
        _ checks: [ResolvedCheck], _ asked: DecisionCredential?, _ contextSource: String, _ context: CallContext
    ) throws -> Outcome? {
        var found = try decisionSubject(asked, context, asker: nil)
        if found == nil {
            guard let asker = try authenticator.callerNow(for: context) else { return nil }
            found = try decisionSubject(asked, context, asker: asker)
        }
        guard let (subject, organization) = found else { return nil }
        let source = contextSource.isEmpty ? nil : contextSource
        var callers: [Scope?: Result<Caller, RPCError>] = [:]
        for scope in Self.decisionScopes(checks) {
            var missed = false
            callers[scope] = Self.outcome(organization) {
                guard
                    let caller = try authenticator.callerNow(
                        presenting: subject, contextSource: source,
                        method: Methods.DecisionService.authorize.descriptor, scope: scope)
                else {
                    missed = true
                    throw RPCError(.unavailable, "not cached")
                }
                return caller
            }
            if missed { return nil }
        }
        return Self.judge(checks, callers)
    }

    /// One validated question: the policy it is judged by and, if any, the collection it touches.
    struct ResolvedCheck {
        var policy: OperationPolicy
        var name: String
        var collectionID: Int32?
    }

    func decisionCheck(_ check: DecisionCheck, field: String) throws -> ResolvedCheck {
        if !check.operation.isEmpty {
            guard check.feature.isEmpty, check.access.isEmpty else {
                throw RPCError.invalidField(field, "name an operation, or a feature and an access, not both")
            }
            guard let policy = policies.policy(check.operation) else {
                throw RPCError.invalidField(
                    "\(field).operation", "\(check.operation.prefix(64)) is no operation with a policy")
            }
            return ResolvedCheck(policy: policy, name: check.operation, collectionID: check.collectionId)
        }
        let level: AccessLevel
        switch check.access.uppercased() {
        case "READ": level = .read
        case "READ_WRITE", "WRITE": level = .readWrite
        default: throw RPCError.invalidField("\(field).access", "must be READ or READ_WRITE")
        }
        let name = check.feature.uppercased()
        if name == "INGEST" {
            return ResolvedCheck(
                policy: OperationPolicy(.inventory, .readWrite, isIngest: true), name: "INGEST",
                collectionID: check.collectionId)
        }
        guard let feature = Feature(rawValue: name) else {
            let names = (Feature.allCases.map(\.rawValue) + ["INGEST"]).joined(separator: ", ")
            throw RPCError.invalidField("\(field).feature", "must be one of \(names)")
        }
        return ResolvedCheck(
            policy: OperationPolicy(feature, level), name: "\(name) \(check.access.uppercased())",
            collectionID: check.collectionId)
    }

    /// The credential a decision is about, once the asker may ask: its own (what the call carries) always; any
    /// other only for a decision client — a socket peer in `--decision-allowed-uid`, or a caller with a DECISIONS
    /// API key. A decision reveals whom a credential belongs to, so no one else may use it as a lookup; and a
    /// DECISIONS key, minted by one organization's admin, looks up that organization's credentials only (the
    /// second value: the organization a subject must belong to). Nil when that depends on who the asker is and
    /// `asker` (the call's own caller) is not given yet.
    func decisionSubject(_ asked: DecisionCredential?, _ context: CallContext, asker: Caller?) throws -> (
        PresentedCredentials, organization: String?
    )? {
        let own = PresentedCredentials(context)
        let subject = PresentedCredentials(
            authorization: asked.flatMap { $0.sessionToken.isEmpty ? nil : "Bearer " + $0.sessionToken },
            apiKey: asked.flatMap { $0.apiKey.isEmpty ? nil : $0.apiKey },
            accessToken: asked.flatMap { $0.accessToken.isEmpty ? nil : $0.accessToken })
        if subject.isEmpty { return (own, nil) }
        if case .unix(let peer?) = context.peer, configuration.decisionAllowedUIDs.contains(peer.uid) {
            return (subject, nil)
        }
        if !own.isEmpty {
            guard let asker else { return nil }
            if case .apiKey(_, .decisions) = asker.credential { return (subject, asker.organizationID) }
            if subject.matches(own) { return (own, nil) }
        }
        throw RPCError(
            .permissionDenied,
            "only a decision client (a socket peer in --decision-allowed-uid, or a DECISIONS API key) may ask about a credential other than its own"
        )
    }

    /// The scopes a decision resolves its credential in: the one asked about (for the principal and scoped
    /// checks) and the API scope when a check is account-wide (as the operations themselves resolve it).
    static func decisionScopes(_ checks: [ResolvedCheck]) -> [Scope?] {
        checks.contains { $0.policy.isAccountWide } ? [nil, .api] : [nil]
    }

    /// A resolution as a decision reports it; a DECISIONS key is no lookup into other organizations: their
    /// credentials stand for nobody here.
    static func outcome(_ organization: String?, _ resolve: () throws -> Caller) -> Result<Caller, RPCError> {
        do {
            return try checked(resolve(), organization)
        } catch {
            return .failure(error as? RPCError ?? RPCError(.unauthenticated, "the credential could not be resolved"))
        }
    }

    static func outcome(_ organization: String?, _ resolve: () async throws -> Caller) async -> Result<
        Caller, RPCError
    > {
        do {
            return try checked(await resolve(), organization)
        } catch {
            return .failure(error as? RPCError ?? RPCError(.unauthenticated, "the credential could not be resolved"))
        }
    }

    private static func checked(_ caller: Caller, _ organization: String?) throws -> Result<Caller, RPCError> {
        if let organization, caller.organizationID != organization {
            throw RPCError(.permissionDenied, "this DECISIONS key decides for its own organization's credentials only")
        }
        return .success(caller)
    }

    /// Every check judged for the credential resolved in `callers` (by scope): the operation's policy, then the
    /// collection rule.
    static func judge(_ checks: [ResolvedCheck], _ callers: [Scope?: Result<Caller, RPCError>]) -> Outcome {
        var decisions: [Decision] = []
        for check in checks {
            switch callers[check.policy.isAccountWide ? .api : nil] ?? .failure(RPCError(.internal, "unresolved")) {
            case .failure(let error):
                decisions.append(Decision(allowed: false, code: error.code.grpcName, reason: error.message))
            case .success(let caller):
                do {
                    try check.policy.check(caller, operation: check.name)
                    if let collection = check.collectionID, !caller.mayUse(collection: collection) {
                        throw RPCError(
                            .permissionDenied, "role \(caller.roleName) may not use collection \(collection)")
                    }
                    decisions.append(Decision(allowed: true))
                } catch let error as RPCError {
                    decisions.append(Decision(allowed: false, code: error.code.grpcName, reason: error.message))
                } catch {
                    decisions.append(Decision(allowed: false, code: StatusCode.permissionDenied.grpcName))
                }
            }
        }
        guard case .success(let caller) = callers[nil] else { return (decisions, nil) }
        return (decisions, principal(caller))
    }

    static func principal(_ caller: Caller) -> DecisionPrincipal {
        var principal = DecisionPrincipal(
            userId: caller.userID, login: caller.email, accountId: caller.accountID,
            organizationId: caller.organizationID, scope: caller.contextSource, role: caller.roleName,
            baseRole: caller.baseRole.rawValue, collectionLimited: caller.collectionIDs != nil,
            collectionIds: (caller.collectionIDs ?? []).sorted(), credential: "SESSION")
        if case .apiKey(_, let utility) = caller.credential {
            principal.credential = "API_KEY"
            principal.tokenUtility = utility.rawValue
        }
        return principal
    }
}
