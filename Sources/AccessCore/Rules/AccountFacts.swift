/// What the authority rules of one account read inside the writing transaction: the organization's owner, the
/// account's custom roles, the roles of the members a rule is about and every member's API-scope role.
public struct AccountFacts: Sendable, Hashable {
    public var accountID: Int32
    public var organizationID: String
    /// The organization's owner (nil for an organization created before owners were recorded and not backfilled).
    public var ownerUserID: Int32?
    /// The account's custom roles by (upper-case) name.
    public var customRoles: [String: CustomRoleRecord]
    /// The roles, per scope, of the members the rule is about (actor, target, issuer); a user absent here is not
    /// a member of the account.
    public var members: [Int32: [Scope: String]]
    /// Every member's API-scope role, by user id (the last-ADMIN rule).
    public var apiRoles: [Int32: String]

    public init(
        accountID: Int32, organizationID: String, ownerUserID: Int32?, customRoles: [String: CustomRoleRecord],
        members: [Int32: [Scope: String]], apiRoles: [Int32: String]
    ) {
        self.accountID = accountID
        self.organizationID = organizationID
        self.ownerUserID = ownerUserID
        self.customRoles = customRoles
        self.members = members
        self.apiRoles = apiRoles
    }

    public func isMember(_ userID: Int32) -> Bool { members[userID] != nil }

    /// The user's effective role in `scope`: NO_ACCESS for non-members and unassigned scopes.
    public func role(of userID: Int32, in scope: Scope) -> EffectiveRole {
        EffectiveRole.stored(members[userID]?[scope], customRoles: customRoles)
    }

    /// A stored role name's rights in this account.
    public func role(named name: String?) -> EffectiveRole { EffectiveRole.stored(name, customRoles: customRoles) }

    /// True when `userID` is the organization's owner.
    public func isOwner(_ userID: Int32) -> Bool { ownerUserID == userID }
}
