/// Accounts, organizations, sessions and API tokens: the caps and the owner's rights, decided over facts read
/// in the writing transaction.
public enum AccountRules {
    public static let installHasUsers = RPCError(
        .failedPrecondition, "this install already has users; sign up with an invite code")
    public static let userHasNoAccount = RPCError(.failedPrecondition, "the user belongs to no account")
    public static let ownerOnly = RPCError(
        .permissionDenied, "only the organization's owner can change the organization")

    public static func accountNotFound(_ id: Int32) -> RPCError { RPCError(.notFound, "account \(id) not found") }

    /// The first user: only on an install without users.
    /// The first user over HTTP without the install's setup token (or with a wrong or used one).
    public static let setupTokenRequired = RPCError(
        .permissionDenied,
        "the first user signs up over HTTP only with the install's setup token (the file setup-token in the server's data directory; serve prints its path), or use akto-access admin bootstrap"
    )

    public static func createFirstUser(hasUsers: Bool) throws {
        guard !hasUsers else { throw installHasUsers }
    }

    /// A session needs an account the user belongs to.
    public static func sessionAccount(_ chosen: Int32?) throws -> Int32 {
        guard let chosen else { throw userHasNoAccount }
        return chosen
    }

    /// A new account: the user belongs to fewer than `max` accounts.
    public static func createAccount(memberships: Int, max: Int) throws {
        guard memberships < max else {
            throw RPCError(.failedPrecondition, "limit of \(max) accounts per user reached")
        }
    }

    /// A new API token: fewer than `max` live in the account for this user.
    public static func createApiToken(live: Int, max: Int) throws {
        guard live < max else {
            throw RPCError(
                .failedPrecondition, "limit of \(max) API tokens per user in this account reached; delete one first")
        }
    }

    /// Renaming the organization: a no-op when the name is absent or unchanged (false), otherwise only its owner.
    public static func renameOrganization(actor: Int32, ownerUserID: Int32?, current: String, requested: String?) throws
        -> Bool
    {
        guard let requested, requested != current else { return false }
        guard ownerUserID == actor else { throw ownerOnly }
        return true
    }

    /// Handing the organization to another user: the actor owns it and the new owner is a member of one of its
    /// accounts (NOT_FOUND alike for unknown users).
    public static func transferOwnership(actor: Int32, ownerUserID: Int32?, newOwner: Int32?, newOwnerIsMember: Bool)
        throws
    {
        guard ownerUserID == actor else {
            throw RPCError(.permissionDenied, "only the organization's owner can hand ownership on")
        }
        guard let newOwner, newOwnerIsMember else {
            throw RPCError(.notFound, "no member of this organization's accounts has that e-mail")
        }
        guard newOwner != actor else { throw RPCError(.failedPrecondition, "you already own this organization") }
    }
}
