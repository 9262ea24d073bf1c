/// Password-reset tokens (ResetUserPassword, ResetPassword): identity-wide authority when issued and again,
/// against the issuer's current authority, when used.
public enum ResetTokenRules {
    public static let unusable = RPCError(.permissionDenied, "the reset token is invalid, used or expired")
    public static let notYourself = RPCError(
        .failedPrecondition, "you cannot reset your own password here; use the login page")

    /// A reset token as stored, for the rule that decides whether it may still be used.
    public struct Token: Sendable, Hashable {
        public var userID: Int32
        public var issuedBy: Int32
        /// The account it was issued in (nil for tokens issued before accounts were recorded: unusable).
        public var accountID: Int32?
        public var expiresAt: Int64
        public var isUsed: Bool
        public var isRevoked: Bool

        public init(userID: Int32, issuedBy: Int32, accountID: Int32?, expiresAt: Int64, isUsed: Bool, isRevoked: Bool)
        {
            self.userID = userID
            self.issuedBy = issuedBy
            self.accountID = accountID
            self.expiresAt = expiresAt
            self.isUsed = isUsed
            self.isRevoked = isRevoked
        }
    }

    public static func tooSoon(elapsed: Int64, interval: Int64) -> RPCError {
        let minutes = (interval - elapsed + 59) / 60
        return RPCError(
            .resourceExhausted,
            "a reset token was issued for this user recently; try again in \(minutes) minute\(minutes == 1 ? "" : "s")")
    }

    /// Issuing: the target is a member of the active account (NOT_FOUND alike for unknown users), not the
    /// actor, under the actor's identity-wide authority (`accounts`: every account the target belongs to), and
    /// no token was issued for them within `interval` seconds (revoked ones count).
    public static func issue(
        actor: Int32, target: Int32?, activeAccount: AccountFacts, accounts: [AccountFacts], lastIssuedAt: Int64?,
        now: Int64, interval: Int64
    ) throws {
        guard let target, activeAccount.isMember(target) else { throw MembershipRules.noSuchMember }
        guard target != actor else { throw notYourself }
        try Authority.requireIdentityWide(actor: actor, over: target, accounts: accounts)
        if let lastIssuedAt, now - lastIssuedAt < interval {
            throw tooSoon(elapsed: now - lastIssuedAt, interval: interval)
        }
    }

    /// Using: the token is unused, unrevoked and unexpired, its user is still a member of the account it was
    /// issued in, and its issuer could still issue it now. One answer for every refusal.
    public static func consume(_ token: Token?, now: Int64, accounts: [AccountFacts]) throws {
        guard let token, !token.isUsed, !token.isRevoked, token.expiresAt > now, let accountID = token.accountID,
            let active = accounts.first(where: { $0.accountID == accountID })
        else { throw unusable }
        do {
            try issue(
                actor: token.issuedBy, target: token.userID, activeAccount: active, accounts: accounts,
                lastIssuedAt: nil,
                now: now, interval: 0)
        } catch {
            throw unusable
        }
    }
}
