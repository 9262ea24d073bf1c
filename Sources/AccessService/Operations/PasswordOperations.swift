import AccessCore
import AccessRPC

extension AccessService {
    func registerPasswordOperations(into registry: inout MethodRegistry) throws {
        try registry.register(
            Methods.TeamService.resetUserPassword, policy: OperationPolicy(.adminActions, .readWrite), service: self
        ) { request, caller, context in
            try await resetUserPassword(request, caller, context)
        }
        try registry.register(
            Methods.TeamService.clearLoginLockout, policy: OperationPolicy(.adminActions, .readWrite), service: self
        ) { request, caller, context in
            try await clearLoginLockout(request, caller, context)
        }
        try registry.registerAnonymous(Methods.SessionService.resetPassword) { request, context in
            try await resetPassword(request, context)
        }
    }

    /// ResetUserPassword (6): a single-use token for a member of the active account (not the caller), at most one
    /// per target per token lifetime, stored only as a digest.
    func resetUserPassword(_ request: ResetUserPasswordRequest, _ caller: Caller, _ context: CallContext) async throws
        -> ResetUserPasswordResponse
    {
        let email = try Validate.email(request.userEmail, field: "userEmail")
        let token = Secrets.token()
        let lifetime = configuration.resetTokenLifetime.components.seconds
        // Every rule (membership, self, identity-wide authority, the 2-hour interval) is decided in the store's
        // transaction by ResetTokenRules.issue.
        _ = try await store.issuePasswordResetToken(
            accountID: caller.accountID, actorID: caller.userID, email: email, digest: Secrets.digest(token), now: now,
            expiresAt: now + lifetime, minimumInterval: lifetime, audit: audit(caller, context, "ResetUserPassword"))
        return ResetUserPasswordResponse(
            passwordResetToken: token,
            passwordResetUrl: configuration.publicBaseURL.trimmingTrailingSlash + "/login?token=" + token)
    }

    /// ClearLoginLockout: deletes every sign-in counter of a member of the active account (their lockout and
    /// the slow-down across peers), under identity-wide authority over them (decided in the store's transaction).
    func clearLoginLockout(_ request: ClearLoginLockoutRequest, _ caller: Caller, _ context: CallContext) async throws
        -> ClearLoginLockoutResponse
    {
        let email = try Validate.email(request.userEmail, field: "userEmail")
        let cleared = try await store.clearLoginLockout(
            accountID: caller.accountID, actorID: caller.userID, email: email,
            audit: audit(caller, context, "ClearLoginLockout"))
        return ClearLoginLockoutResponse(clearedCounters: Int32(clamping: cleared))
    }

    /// ResetPassword: consumes a reset token (once), sets the new password and signs the user out everywhere.
    func resetPassword(_ request: ResetPasswordRequest, _ context: CallContext) async throws -> ResetPasswordResponse {
        try anonymousLimiter.admit(context.peer, operation: "ResetPassword")
        let token = request.token.trimmed
        guard token.utf8.count == 43 else { throw ResetTokenRules.unusable }
        // The rule needs the e-mail; an unknown token is refused (once more, in the transaction) either way.
        let email = try await store.resetTokenEmail(digest: Secrets.digest(token)) ?? ""
        let password = try Validate.password(request.newPassword, email: email, field: "newPassword")
        _ = try await store.consumePasswordResetToken(
            digest: Secrets.digest(token), passwordHash: try await hasher.hash(password, for: hashCaller(context)),
            now: now,
            audit: audit(nil, context, "ResetPassword"))
        return ResetPasswordResponse(passwordReset: true)
    }
}
