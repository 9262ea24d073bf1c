import AccessCore
import AccessRPC

extension AccessService {
    func registerPasswordOperations(into registry: inout MethodRegistry) throws {
        try registry.register(
            Methods.TeamService.resetUserPassword, policy: OperationPolicy(.adminActions, .readWrite), service: self
        ) { request, caller, context in
            try await resetUserPassword(request, caller, context)
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
        // Unknown e-mail and non-member answer alike.
        guard let target = try await store.user(email: email),
            try await store.membership(userID: target.id, accountID: caller.accountID) != nil
        else { throw RPCError(.notFound, "no member of this account has that e-mail") }
        guard target.id != caller.userID else {
            throw RPCError(.failedPrecondition, "you cannot reset your own password here; use the login page")
        }
        let token = Secrets.token()
        let lifetime = configuration.resetTokenLifetime.components.seconds
        try await store.issuePasswordResetToken(
            userID: target.id, issuedBy: caller.userID, digest: Secrets.digest(token), now: now,
            expiresAt: now + lifetime, minimumInterval: lifetime,
            audit: audit(caller, context, "ResetUserPassword", target: "user:\(target.id)"))
        return ResetUserPasswordResponse(
            passwordResetToken: token,
            passwordResetUrl: configuration.publicBaseURL.trimmingTrailingSlash + "/login?token=" + token)
    }

    /// ResetPassword: consumes a reset token (once), sets the new password and signs the user out everywhere.
    func resetPassword(_ request: ResetPasswordRequest, _ context: CallContext) async throws -> ResetPasswordResponse {
        let password = try Validate.password(request.newPassword, field: "newPassword")
        let token = request.token.trimmed
        guard token.utf8.count == 43 else { throw RPCError(.permissionDenied, "the reset token is invalid, used or expired") }
        let entry = audit(nil, context, "ResetPassword")
        guard
            try await store.consumePasswordResetToken(
                digest: Secrets.digest(token), passwordHash: try await hasher.hash(password), now: now, audit: entry) != nil
        else { throw RPCError(.permissionDenied, "the reset token is invalid, used or expired") }
        return ResetPasswordResponse(passwordReset: true)
    }
}
