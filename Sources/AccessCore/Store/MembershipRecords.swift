/// A membership: the user's role in each scope of one account (a scope absent means NO_ACCESS there).
public struct MembershipRecord: Sendable, Hashable {
    public var userID: Int32
    public var accountID: Int32
    public var roles: [Scope: String]

    public init(userID: Int32, accountID: Int32, roles: [Scope: String]) {
        self.userID = userID
        self.accountID = accountID
        self.roles = roles
    }
}

/// The records behind an authenticated caller (see `AccountStore.principal`).
public struct PrincipalRecord: Sendable, Hashable {
    public var user: UserRecord
    public var account: AccountRecord
    public var membership: MembershipRecord?
    public var customRole: CustomRoleRecord?

    public init(user: UserRecord, account: AccountRecord, membership: MembershipRecord?, customRole: CustomRoleRecord?)
    {
        self.user = user
        self.account = account
        self.membership = membership
        self.customRole = customRole
    }
}

/// A member of an account as the team page shows it.
public struct TeamMemberRecord: Sendable, Hashable {
    public var user: UserRecord
    public var roles: [Scope: String]
    public var lastLoginAt: Int64

    public init(user: UserRecord, roles: [Scope: String], lastLoginAt: Int64) {
        self.user = user
        self.roles = roles
        self.lastLoginAt = lastLoginAt
    }
}
