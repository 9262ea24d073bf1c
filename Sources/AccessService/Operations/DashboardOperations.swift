import AccessCore
import AccessRPC
import Crypto
import Foundation

// <doc:DashboardSessions>: what Akto's own dashboard needs around the 18 operations — its token pair, the self-service
// password-reset answer and the reads its pages wait for.
extension AccessService {
    func registerDashboardOperations(into registry: inout MethodRegistry) throws {
        try registry.registerAnonymous(Methods.SessionService.refreshAccessToken) { request, context in
            try await refreshAccessToken(request, context)
        }
        try registry.registerAnonymous(Methods.SessionService.sendPasswordResetLink) { request, context in
            try anonymousLimiter.admit(context.peer, operation: "SendPasswordResetLink")
            _ = try Validate.email(request.email)
            // The same answer for every address, and nothing stored or sent: there is no mail transport, and the
            // admin-issued reset (ResetUserPassword) keeps its 2-hour allowance untouched.
            context.logger.info("self-service password reset asked for; this server sends no e-mail")
            return SendPasswordResetLinkResponse(
                message:
                    "If this address has an account, ask an admin of your workspace for a password-reset link: this server sends no e-mail."
            )
        }
        try registry.register(
            Methods.TeamService.getAllUsersCollections, policy: OperationPolicy(.inviteMembers, .read), service: self
        ) { _, caller, _ in
            let limited = try await store.collectionLimitedMembers(
                accountID: caller.accountID, scope: caller.scope ?? .api)
            return GetAllUsersCollectionsResponse(
                usersCollectionList: Dictionary(
                    uniqueKeysWithValues: limited.map { (String($0.key), CollectionIdList(values: $0.value)) }))
        }
        try registry.register(
            Methods.TeamService.fetchUserLastLoginTs, policy: OperationPolicy(.userActions, .read), service: self
        ) { _, caller, _ in
            let me = try await store.teamMembers(accountID: caller.accountID).first { $0.user.id == caller.userID }
            return FetchUserLastLoginTsResponse(lastLoginTs: me?.lastLoginAt ?? 0)
        }
        try registry.register(
            Methods.BillingService.getCustomerStiggDetails, policy: OperationPolicy(.billing, .read), service: self
        ) { request, caller, _ in
            let customer = request.customerId.trimmed
            guard customer.isEmpty || customer == caller.organizationID else {
                throw RPCError(.permissionDenied, "customerId must be your organization's id")
            }
            return GetCustomerStiggDetailsResponse(
                customerId: caller.organizationID, customerToken: stiggCustomerToken(caller.organizationID))
        }
    }

    /// Stigg's hardened-mode customer token, `HMAC-SHA256 <customerId>:<hex HMAC of the id under the signing key>`,
    /// when a signing key is configured (`--stigg-signing-key-file`); empty otherwise (the page then shows no
    /// usage portal).
    func stiggCustomerToken(_ customerID: String) -> String {
        guard let key = configuration.stiggSigningKey, !key.isEmpty else { return "" }
        let mac = HMAC<SHA256>.authenticationCode(for: Array(customerID.utf8), using: SymmetricKey(data: key))
        return "HMAC-SHA256 \(customerID):" + mac.map { String(format: "%02x", $0) }.joined()
    }

    /// RefreshAccessToken: spends the refresh token and answers the derived pair (SPEC.md, Dashboard sessions).
    func refreshAccessToken(_ request: RefreshAccessTokenRequest, _ context: CallContext) async throws
        -> RefreshAccessTokenResponse
    {
        try anonymousLimiter.admit(context.peer, operation: "RefreshAccessToken")
        let presented = request.refreshToken
        let invalid = RPCError(.unauthenticated, "the refresh token is not valid; sign in again")
        guard Authenticator.isTokenShaped(presented) else { throw invalid }
        // A session whose user left its account mints nothing: its access tokens could not authenticate, and the
        // dashboard would refresh again and again (request.js retries every bare 403 after a refresh).
        if let (_, session) = try await store.refreshTokenSession(digest: Secrets.digest(presented)),
            try await store.principal(userID: session.userID, accountID: session.accountID, scope: .api)?.membership
                == nil
        {
            throw invalid
        }
        let key = Self.rotationKey()
        let outcome = try await store.rotateRefreshToken(
            presented,
            RefreshWalk.Inputs(
                now: now, grace: configuration.refreshGrace.components.seconds,
                accessLifetime: configuration.accessTokenLifetime.components.seconds, newKey: key,
                reuseAudit: audit(nil, context, "RefreshTokenReuse"), derive: Self.deriveDashboardPair,
                digest: { Secrets.digest($0) }))
        switch outcome {
        case .issued(let issued):
            return RefreshAccessTokenResponse(
                dashboardTokens: DashboardTokens(
                    accessToken: issued.accessToken, accessTokenExpiresAt: issued.accessExpiresAt,
                    refreshToken: issued.refreshToken, refreshTokenExpiresAt: issued.refreshExpiresAt))
        case .reused(let sessionID):
            context.logger.notice("refresh token reused: session revoked", metadata: ["session-id": "\(sessionID)"])
            throw RPCError(
                .unauthenticated, "this refresh token was already used; the session was ended, sign in again")
        case .invalid:
            throw invalid
        }
    }

    /// The successor pair of a refresh token: HMAC-SHA256 under its row's key of a label and the token, base64url
    /// (43 characters, like every other token). Deterministic, so a grace-window replay answers the same pair.
    @Sendable static func deriveDashboardPair(key: [UInt8], token: String) -> (refresh: String, access: String) {
        let symmetric = SymmetricKey(data: key)
        func derive(_ label: String) -> String {
            Base64.encode(
                Array(HMAC<SHA256>.authenticationCode(for: Array((label + token).utf8), using: symmetric)), url: true)
        }
        return (derive("akto-access refresh\u{0}"), derive("akto-access access\u{0}"))
    }

    /// 32 random bytes: the key a refresh token's successor pair is derived with.
    static func rotationKey() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    /// The first pair of a session the dashboard signed into (Login or Signup with `dashboard`).
    func issueDashboardTokens(sessionToken: String) async throws -> DashboardTokens {
        guard let session = try await store.session(digest: Secrets.digest(sessionToken)) else {
            throw RPCError(.internal, "the new session could not be read back")
        }
        let (refresh, access) = (Secrets.token(), Secrets.token())
        let key = Self.rotationKey()
        let rows = RefreshRotation.successorRows(
            session: session, refresh: refresh, access: access, now: now,
            accessLifetime: configuration.accessTokenLifetime.components.seconds, newKey: key,
            digest: { Secrets.digest($0) })
        try await store.addSessionTokens(rows)
        return DashboardTokens(
            accessToken: access, accessTokenExpiresAt: rows[1].expiresAt, refreshToken: refresh,
            refreshTokenExpiresAt: session.expiresAt)
    }
}

/// Akto's invite link, `<public base>/signup?signupInvitationCode=<code>&signupEmailId=<e-mail>`, and the code
/// inside one (every place that takes an invite code accepts the bare code or the link).
enum InviteLink {
    static func link(base: String, code: String, email: String) -> String {
        base.trimmingTrailingSlash + "/signup?signupInvitationCode=" + RedirectPolicy.percentEncode(code)
            + "&signupEmailId=" + RedirectPolicy.percentEncode(email)
    }

    static func code(from text: String) -> String {
        let trimmed = text.trimmed
        guard let range = trimmed.range(of: "signupInvitationCode=") else { return trimmed }
        let value = trimmed[range.upperBound...].prefix { $0 != "&" && $0 != "#" }
        return String(value).removingPercentEncoding ?? String(value)
    }
}
