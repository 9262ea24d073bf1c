/// A pending invitation; the invite code itself is never stored, only its digest.
public struct InvitationRecord: Sendable, Hashable {
    public var id: Int64
    public var accountID: Int32
    public var email: String
    public var inviterUserID: Int32
    public var inviterEmail: String
    public var roles: [Scope: String]
    public var createdAt: Int64
    public var expiresAt: Int64

    public init(
        id: Int64, accountID: Int32, email: String, inviterUserID: Int32, inviterEmail: String, roles: [Scope: String],
        createdAt: Int64, expiresAt: Int64
    ) {
        self.id = id
        self.accountID = accountID
        self.email = email
        self.inviterUserID = inviterUserID
        self.inviterEmail = inviterEmail
        self.roles = roles
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }
}

/// Who joins an account through an invitation: a new user, or one who already exists (signed in, or who proved
/// their own password).
public enum Joiner: Sendable, Hashable {
    case newUser(email: String, name: String, passwordHash: String)
    case existingUser(id: Int32, email: String)

    public var email: String {
        switch self {
        case .newUser(let email, _, _), .existingUser(_, let email): email
        }
    }
}
