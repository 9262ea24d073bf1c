/// A user as stored. `passwordHash` is an encoded scrypt hash, never a password.
public struct UserRecord: Sendable, Hashable {
    public var id: Int32
    public var email: String
    public var name: String
    public var passwordHash: String
    public var createdAt: Int64

    public init(id: Int32, email: String, name: String, passwordHash: String, createdAt: Int64) {
        self.id = id
        self.email = email
        self.name = name
        self.passwordHash = passwordHash
        self.createdAt = createdAt
    }
}

/// An organization: the owner of accounts and of billing entitlements.
public struct OrganizationRecord: Sendable, Hashable {
    public var id: String
    public var name: String
    public var adminEmail: String

    public init(id: String, name: String, adminEmail: String) {
        self.id = id
        self.name = name
        self.adminEmail = adminEmail
    }
}

/// An account (workspace).
public struct AccountRecord: Sendable, Hashable {
    public var id: Int32
    public var name: String
    public var organizationID: String
    public var createdAt: Int64

    public init(id: Int32, name: String, organizationID: String, createdAt: Int64) {
        self.id = id
        self.name = name
        self.organizationID = organizationID
        self.createdAt = createdAt
    }
}

/// A session; the token itself is never stored, only its SHA-256 digest.
public struct SessionRecord: Sendable, Hashable {
    public var id: Int64
    public var userID: Int32
    public var accountID: Int32
    public var createdAt: Int64
    public var expiresAt: Int64
    public var isRevoked: Bool

    public init(id: Int64, userID: Int32, accountID: Int32, createdAt: Int64, expiresAt: Int64, isRevoked: Bool) {
        self.id = id
        self.userID = userID
        self.accountID = accountID
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.isRevoked = isRevoked
    }
}

/// An API token's metadata; the key itself is never stored, only its SHA-256 digest.
public struct ApiTokenRecord: Sendable, Hashable {
    public var id: Int32
    public var accountID: Int32
    public var userID: Int32
    public var utility: TokenUtility
    public var name: String
    public var createdAt: Int64
    public var lastUsedAt: Int64

    public init(
        id: Int32, accountID: Int32, userID: Int32, utility: TokenUtility, name: String, createdAt: Int64,
        lastUsedAt: Int64
    ) {
        self.id = id
        self.accountID = accountID
        self.userID = userID
        self.utility = utility
        self.name = name
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt
    }
}

/// A custom role of one account.
public struct CustomRoleRecord: Sendable, Hashable {
    public var accountID: Int32
    public var name: String
    public var baseRole: BuiltinRole
    public var apiCollectionIDs: [Int32]
    public var isDefaultInviteRole: Bool
    public var allowedFeatures: [String]
    public var lastModifiedAt: Int64

    public init(
        accountID: Int32, name: String, baseRole: BuiltinRole, apiCollectionIDs: [Int32], isDefaultInviteRole: Bool,
        allowedFeatures: [String], lastModifiedAt: Int64
    ) {
        self.accountID = accountID
        self.name = name
        self.baseRole = baseRole
        self.apiCollectionIDs = apiCollectionIDs
        self.isDefaultInviteRole = isDefaultInviteRole
        self.allowedFeatures = allowedFeatures
        self.lastModifiedAt = lastModifiedAt
    }
}

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

/// The records behind an authenticated caller (see `AccessStore.principal`).
public struct PrincipalRecord: Sendable, Hashable {
    public var user: UserRecord
    public var account: AccountRecord
    public var membership: MembershipRecord?
    public var customRole: CustomRoleRecord?

    public init(user: UserRecord, account: AccountRecord, membership: MembershipRecord?, customRole: CustomRoleRecord?) {
        self.user = user
        self.account = account
        self.membership = membership
        self.customRole = customRole
    }
}

/// One audit row: who did what to what, when, and from where. Never holds a secret.
public struct AuditEntry: Sendable, Hashable {
    public var actorUserID: Int32?
    public var actorEmail: String
    public var accountID: Int32?
    public var operation: String
    public var target: String
    public var timestamp: Int64
    public var transport: String
    public var peer: String

    public init(
        actorUserID: Int32?, actorEmail: String, accountID: Int32?, operation: String, target: String,
        timestamp: Int64, transport: String, peer: String
    ) {
        self.actorUserID = actorUserID
        self.actorEmail = actorEmail
        self.accountID = accountID
        self.operation = operation
        self.target = target
        self.timestamp = timestamp
        self.transport = transport
        self.peer = peer
    }
}

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
