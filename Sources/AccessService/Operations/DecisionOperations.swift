import AccessCore
import AccessRPC

// DecisionService (<doc:Decisions>): may this credential do this, here? Decided by the code every operation runs —
// the credential resolved by the `Authenticator`, the operation's `OperationPolicy` (feature table, token
// utility), the collection restriction (`Caller.mayUse`) — read from the store on every call, so a decision
// reflects every revocation acknowledged before it, on every process. Rules about a target (hierarchy, last
// admin, owner) are not decisions.
extension AccessService {
    /// Most checks one AuthorizeBatch may carry.
    static let maxDecisionChecks = 100

    func registerDecisionOperations(into registry: inout MethodRegistry) throws {
        // Registered anonymous: a decision client may be a trusted socket peer with no credential of its own.
        // `decisionSubject` admits the asker before anything is resolved.
        try registry.registerAnonymous(Methods.DecisionService.authorize) { request, context in
            let check = try decisionCheck(request.check ?? DecisionCheck(), field: "check")
            let (subject, organization) = try await decisionSubject(request.credential, context)
            let outcome = await decide(
                [check], subject: subject, contextSource: request.contextSource, organization: organization)
            return AuthorizeResponse(decision: outcome.decisions[0], principal: outcome.principal)
        }
        try registry.registerAnonymous(Methods.DecisionService.authorizeBatch) { request, context in
            guard !request.checks.isEmpty else { throw RPCError.invalidField("checks", "must not be empty") }
            guard request.checks.count <= Self.maxDecisionChecks else {
                throw RPCError.invalidField("checks", "at most \(Self.maxDecisionChecks) per call")
            }
            let checks = try request.checks.enumerated().map { try decisionCheck($1, field: "checks[\($0)]") }
            let (subject, organization) = try await decisionSubject(request.credential, context)
            let outcome = await decide(
                checks, subject: subject, contextSource: request.contextSource, organization: organization)
            return AuthorizeBatchResponse(decisions: outcome.decisions, principal: outcome.principal)
        }
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
    /// second value: the organization a subject must belong to).
    func decisionSubject(_ asked: DecisionCredential?, _ context: CallContext) async throws -> (
        PresentedCredentials, organization: String?
    ) {
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
            let asker = try await authenticator.caller(for: context)
            if case .apiKey(_, .decisions) = asker.credential { return (subject, asker.organizationID) }
            if subject.matches(own) { return (own, nil) }
        }
        throw RPCError(
            .permissionDenied,
            "only a decision client (a socket peer in --decision-allowed-uid, or a DECISIONS API key) may ask about a credential other than its own"
        )
    }

    /// Every check judged for one credential: resolved in the scope asked about (account-wide operations in the
    /// API scope, as the operations themselves are), then the operation's policy and the collection rule.
    func decide(
        _ checks: [ResolvedCheck], subject: PresentedCredentials, contextSource: String, organization: String? = nil
    ) async -> (decisions: [Decision], principal: DecisionPrincipal?) {
        let source = contextSource.isEmpty ? nil : contextSource
        var resolved: [Scope?: Result<Caller, RPCError>] = [:]
        func resolve(_ scope: Scope?) async -> Result<Caller, RPCError> {
            if let known = resolved[scope] { return known }
            let result: Result<Caller, RPCError>
            do {
                let caller = try await authenticator.caller(
                    presenting: subject, contextSource: source, method: Methods.DecisionService.authorize.descriptor,
                    scope: scope)
                // A DECISIONS key is no lookup into other organizations: their credentials stand for nobody here.
                if let organization, caller.organizationID != organization {
                    throw RPCError(
                        .permissionDenied, "this DECISIONS key decides for its own organization's credentials only")
                }
                result = .success(caller)
            } catch let error as RPCError {
                result = .failure(error)
            } catch {
                result = .failure(RPCError(.unauthenticated, "the credential could not be resolved"))
            }
            resolved[scope] = result
            return result
        }
        var decisions: [Decision] = []
        for check in checks {
            switch await resolve(check.policy.isAccountWide ? .api : nil) {
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
        guard case .success(let caller) = await resolve(nil) else { return (decisions, nil) }
        return (decisions, Self.principal(caller))
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
