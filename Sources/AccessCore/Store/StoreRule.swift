/// The answers every store gives when one of its rules refuses a change, in one place so that the SQLite and
/// PostgreSQL backends cannot drift apart.
public enum StoreRule {
    public static let installHasUsers = RPCError(
        .failedPrecondition, "this install already has users; sign up with an invite code")
    public static let userHasNoAccount = RPCError(.failedPrecondition, "the user belongs to no account")
    public static let lastAdmin = RPCError(
        .failedPrecondition, "the account must keep at least one ADMIN in the API scope")
    public static let badInviteCode = RPCError(.permissionDenied, "the invite code is invalid or has expired")
    public static let emailTaken = RPCError(.alreadyExists, "a user with this e-mail exists; sign in instead")
    public static let noSuchMember = RPCError(.notFound, "no member of this account has that e-mail")
    public static let invitationGone = RPCError(.notFound, "the invitation no longer exists")

    public static func tooManyTokens(_ max: Int) -> RPCError {
        RPCError(.resourceExhausted, "you already have \(max) API tokens in this account; delete one first")
    }

    public static func tooManyAccounts(_ max: Int) -> RPCError {
        RPCError(.failedPrecondition, "a user may belong to at most \(max) accounts")
    }

    /// A reset token was issued `elapsed` seconds ago; another is allowed after `interval`.
    public static func resetTooSoon(elapsed: Int64, interval: Int64) -> RPCError {
        let minutes = (interval - elapsed + 59) / 60
        return RPCError(
            .resourceExhausted,
            "a reset token was issued for this user recently; try again in \(minutes) minute\(minutes == 1 ? "" : "s")")
    }

    public static func alreadyMember(_ email: String) -> RPCError {
        RPCError(.alreadyExists, "\(email) is already a member of this account")
    }

    public static func roleExists(_ name: String) -> RPCError { RPCError(.alreadyExists, "a custom role named \(name) exists") }
    public static func noSuchRole(_ name: String) -> RPCError { RPCError(.notFound, "no custom role named \(name)") }

    public static func roleInUse(_ name: String) -> RPCError {
        RPCError(.failedPrecondition, "\(name) is assigned to a member or a pending invitation; reassign them first")
    }

    public static func defaultInviteRoleTaken(by other: String) -> RPCError {
        RPCError(.failedPrecondition, "\(other) is already the default invite role; unset it first")
    }

    public static func unknownCollections(_ ids: [Int32]) -> RPCError {
        RPCError.invalidField("apiCollectionIds", "unknown collection ids: \(ids.map(String.init).joined(separator: ", "))")
    }

    public static func collectionExists(_ name: String) -> RPCError {
        RPCError(.alreadyExists, "a collection named \(name) exists")
    }

    public static func foreignCollection(at index: Int) -> RPCError {
        RPCError.invalidField("samples[\(index)].apiCollectionId", "is not a collection of this account")
    }

    public static func accountNotFound(_ id: Int32) -> RPCError { RPCError(.notFound, "account \(id) not found") }
}
