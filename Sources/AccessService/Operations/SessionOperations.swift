import AccessCore
import AccessRPC

extension AccessService {
    func registerSessionOperations(into registry: inout MethodRegistry) throws {
        try registry.registerAnonymous(Methods.SessionService.signup) { request, context in
            var response = try await signup(request, context)
            if request.dashboard {
                response.dashboardTokens = try await issueDashboardTokens(sessionToken: response.sessionToken)
                response.sessionToken = ""
            }
            return response
        }
        try registry.registerAnonymous(Methods.SessionService.login) { request, context in
            var response = try await login(request, context)
            if request.dashboard {
                // The browser gets the short-lived pair; the session's own token is never shown.
                response.dashboardTokens = try await issueDashboardTokens(sessionToken: response.sessionToken)
                response.sessionToken = ""
            }
            return response
        }
        try registry.register(
            Methods.SessionService.logout, policy: OperationPolicy(.userActions, .readWrite, sessionOnly: true),
            service: self
        ) { request, caller, context in
            try await logout(request, caller, context)
        }
        try registry.register(
            Methods.SessionService.me, policy: OperationPolicy(.userActions, .read), service: self,
            now: { _, caller, _ in try meNow(caller) }
        ) { _, caller, _ in
            try await me(caller)
        }
    }

    /// Signup: the first user of an empty install creates the organization, account 1000000 and becomes ADMIN.
    /// Later sign-ups need an invitation's code.
    func signup(_ request: SignupRequest, _ context: CallContext) async throws -> SignupResponse {
        try anonymousLimiter.admit(context.peer, operation: "Signup")
        let email = try Validate.email(request.email)
        // Checked before anything is looked up, so the answer never depends on whether the address has a user.
        let password = try Validate.password(request.password, email: email)
        let name = try Validate.username(
            request.name.trimmed.isEmpty ? String(email.prefix { $0 != "@" }.prefix(24)) : request.name, field: "name")
        guard try await !store.hasUsers() else {
            if request.inviteCode.trimmed.isEmpty {
                throw RPCError.invalidField(
                    "inviteCode", "is required: this install has users; ask an admin for an invitation")
            }
            return try await signupInvitee(request, email: email, name: name, password: password, context)
        }
        let organization = try Validate.organization(
            request.organization.trimmed.isEmpty ? "My organization" : request.organization)
        let token = Secrets.token()
        let expiresAt = now + configuration.sessionLifetime.components.seconds
        // <doc:Hardening>: over HTTP an empty install goes only to the holder of its one-time setup token (written 0600
        // under the data dir); the socket and `admin bootstrap` are local and need none.
        var setupDigest: [UInt8]?
        if context.transport == .http {
            let setupToken = request.setupToken.trimmed
            guard !setupToken.isEmpty, setupToken.utf8.count <= 128 else { throw AccountRules.setupTokenRequired }
            setupDigest = Secrets.digest(setupToken)
        }
        let created = try await store.createFirstUser(
            email: email, name: name, passwordHash: try await hasher.hash(password, for: hashCaller(context)),
            organizationName: organization, sessionDigest: Secrets.digest(token), setupTokenDigest: setupDigest,
            now: now, sessionExpiresAt: expiresAt,
            audit: audit(nil, context, "Signup", target: "user:\(email)"))
        context.logger.notice("first user signed up", metadata: ["user-id": "\(created.user.id)"])
        return SignupResponse(
            user: userInfo(created.user), activeAccountId: created.account.id, sessionToken: token, expiresAt: expiresAt
        )
    }

    /// Creates the first user without a session (`akto-access admin bootstrap`).
    public func bootstrap(
        email rawEmail: String, name rawName: String, organization rawOrganization: String, password rawPassword: String
    )
        async throws -> (email: String, userID: Int32, accountID: Int32)
    {
        let email = try Validate.email(rawEmail)
        let password = try Validate.password(rawPassword, email: email)
        let name = try Validate.username(
            rawName.trimmed.isEmpty ? String(email.prefix { $0 != "@" }.prefix(24)) : rawName, field: "name")
        let organization = try Validate.organization(rawOrganization)
        let entry = AuditEntry(
            actorUserID: nil, actorEmail: email, accountID: nil, operation: "Bootstrap", target: "user:\(email)",
            timestamp: now, transport: "cli", peer: "local")
        let created = try await store.createFirstUser(
            email: email, name: name, passwordHash: try await hasher.hash(password, for: .local),
            organizationName: organization, sessionDigest: nil, setupTokenDigest: nil, now: now, sessionExpiresAt: 0,
            audit: entry)
        return (created.user.email, created.user.id, created.account.id)
    }

    /// Login: e-mail + password -> a new session. Unknown e-mail and wrong password answer alike, in about the
    /// same time (a decoy hash is verified when the user does not exist).
    func login(_ request: LoginRequest, _ context: CallContext) async throws -> LoginResponse {
        try anonymousLimiter.admit(context.peer, operation: "Login")
        let email = request.email.trimmed.lowercased()
        guard !email.isEmpty else { throw RPCError.invalidField("email", "is required") }
        guard !request.password.isEmpty, request.password.count <= 1024 else {
            throw RPCError.invalidField("password", "is required (at most 1024 characters)")
        }
        let user = try await judgeSignIn(email: email, password: request.password, context)
        let token = Secrets.token()
        let expiresAt = now + configuration.sessionLifetime.components.seconds
        var entry = audit(nil, context, "Login", target: "user:\(user.id)")
        entry.actorUserID = user.id
        entry.actorEmail = user.email
        let session = try await store.createSession(
            userID: user.id, accountID: nil, digest: Secrets.digest(token), now: now, expiresAt: expiresAt, audit: entry
        )
        return LoginResponse(
            user: userInfo(user), activeAccountId: session.accountID, sessionToken: token, expiresAt: expiresAt)
    }

    /// The brute-force rules of every sign-in path (<doc:Hardening>): the attempt is counted before the password is
    /// judged; a peer locked out of the address, an unknown address and a wrong password all answer the same
    /// UNAUTHENTICATED after a hash of the same cost; an address under attack from many peers makes every
    /// attempt wait `slowDelay` first. Returns the user whose password matched.
    func judgeSignIn(email: String, password: String, _ context: CallContext) async throws -> UserRecord {
        let policy = configuration.loginThrottle
        let peer = context.peer.throttleKey
        let attempt = try await store.beginLoginAttempt(email: email, peer: peer, now: now, policy: policy)
        if attempt.slowed {
            // A delay, not a refusal: the right password from a clean peer still signs in.
            try await Task.sleep(until: min(.now + policy.slowDelay, context.deadline), clock: .continuous)
        }
        let wrong = RPCError(.unauthenticated, "wrong e-mail or password")
        let caller = hashCaller(context)
        guard attempt.allowed else {
            try await hasher.verifyDecoy(password, for: caller)
            throw wrong
        }
        let user = try await store.user(email: email)
        let matched: Bool
        if let user {
            matched = try await hasher.verify(password, against: user.passwordHash, for: caller)
        } else {
            try await hasher.verifyDecoy(password, for: caller)
            matched = false
        }
        var lockout = audit(nil, context, "LoginLockout", target: "email:\(email)")
        lockout.actorEmail = email
        let lockedOut = try await store.finishLoginAttempt(
            email: email, peer: peer, succeeded: matched, policy: policy, lockoutAudit: lockout)
        if lockedOut {
            context.logger.notice("sign-in lockout", metadata: ["email": "\(email)", "peer": "\(peer)"])
        }
        guard matched, let user else { throw wrong }
        if hasher.needsRehash(user.passwordHash) {
            // <doc:Hardening>: a hash made at another cost than the configured one is replaced now, so that the user's
            // sign-in costs (and takes) what an unknown address's does. Best effort: the sign-in stands.
            do {
                let fresh = try await hasher.hash(password, for: caller)
                _ = try await store.replacePasswordHash(userID: user.id, old: user.passwordHash, new: fresh)
            } catch {
                context.logger.warning("could not rehash a password", metadata: ["user-id": "\(user.id)"])
            }
        }
        return user
    }

    /// Logout (1): revokes this session (or all of the user's) and answers where the browser goes next.
    func logout(_ request: LogoutRequest, _ caller: Caller, _ context: CallContext) async throws -> LogoutResponse {
        let returnTo = try RedirectPolicy(
            publicBaseURL: configuration.publicBaseURL, allowList: configuration.redirectAllowList
        ).validated(request.redirectUrl, field: "redirectUrl")
        guard case .session(let sessionID) = caller.credential else {
            throw RPCError(.permissionDenied, "Logout needs a signed-in session")
        }
        try await store.revokeSessions(
            sessionID: sessionID, allOfUser: request.allSessions,
            audit: audit(
                caller, context, "Logout", target: request.allSessions ? "all-sessions" : "session:\(sessionID)"))
        let loginPage = configuration.publicBaseURL.trimmingTrailingSlash + "/login"
        guard !configuration.logoutURL.isEmpty else { return LogoutResponse(logoutUrl: returnTo ?? loginPage) }
        let separator = configuration.logoutURL.contains("?") ? "&" : "?"
        return LogoutResponse(
            logoutUrl: configuration.logoutURL + separator + "returnTo="
                + RedirectPolicy.percentEncode(returnTo ?? loginPage))
    }

    /// Me: the caller, their accounts and roles, and the organization of the active account.
    typealias Memberships = [(account: AccountRecord, membership: MembershipRecord)]

    /// Me from the store — through the principal cache, whose entries are tagged with the authority version read
    /// once here before any of them.
    func me(_ caller: Caller) async throws -> MeResponse {
        let cache = authenticator.cache
        let stamp = try await cache.stamp()
        let user = try await cache.value(.user(id: caller.userID), at: stamp) {
            try await store.user(id: caller.userID)
        }
        guard let user else { throw RPCError(.notFound, "user not found") }
        let memberships = try await cache.value(.memberships(userID: caller.userID), at: stamp) {
            try await store.memberships(userID: caller.userID)
        }
        let organization = try await cache.value(.organization(id: caller.organizationID), at: stamp) {
            try await store.organization(id: caller.organizationID)
        }
        return me(caller, user: user, memberships: memberships, organization: organization)
    }

    /// Me from memory when everything it shows is cached and current, else nil.
    func meNow(_ caller: Caller) throws -> MeResponse? {
        let cache = authenticator.cache
        guard let stamp = cache.version.currentNow() else { return nil }
        let answer = PrincipalCache.Key.me(
            userID: caller.userID, accountID: caller.accountID, organizationID: caller.organizationID,
            context: caller.contextSource, role: caller.roleName)
        if let known = cache.peek(answer, as: MeResponse.self, at: stamp) { return known }
        guard let user = cache.peek(.user(id: caller.userID), as: UserRecord?.self, at: stamp),
            let memberships = cache.peek(.memberships(userID: caller.userID), as: Memberships.self, at: stamp),
            let organization = cache.peek(
                .organization(id: caller.organizationID), as: OrganizationRecord?.self, at: stamp)
        else { return nil }
        guard let user else { throw RPCError(.notFound, "user not found") }
        let response = me(caller, user: user, memberships: memberships, organization: organization)
        // Kept under the version its parts were read at: any change to them moves it.
        cache.store(answer, response, at: stamp, involvesCustomRoles: false)
        return response
    }

    private func me(
        _ caller: Caller, user: UserRecord, memberships: Memberships, organization: OrganizationRecord?
    ) -> MeResponse {
        let accounts = memberships.map { entry in
            AccountSummary(
                accountId: entry.account.id, name: entry.account.name, organizationId: entry.account.organizationID,
                scopeRoleMapping: Dictionary(
                    uniqueKeysWithValues: entry.membership.roles.map { ($0.key.rawValue, $0.value) }),
                createdAt: entry.account.createdAt)
        }
        let active = accounts.first { $0.accountId == caller.accountID }
        return MeResponse(
            user: userInfo(user), accounts: accounts, activeAccountId: caller.accountID,
            scopeRoleMapping: active?.scopeRoleMapping ?? [:], currentScope: caller.contextSource,
            currentRole: caller.roleName,
            organization: organization.map { OrganizationInfo(id: $0.id, name: $0.name, adminEmail: $0.adminEmail) })
    }

    func userInfo(_ user: UserRecord) -> UserInfo {
        UserInfo(id: user.id, login: user.email, name: user.name, createdAt: user.createdAt)
    }
}

extension String {
    var trimmingTrailingSlash: String { hasSuffix("/") ? String(dropLast()) : self }
}
