/// A number every write that can change what a credential stands for moves forward before it is acknowledged:
/// revoking or signing out a session or token, changing a member's roles, removing a member, changing or deleting
/// a custom role, renaming a user or an account, deleting any of them. A cache of principals tags each entry with
/// the version read *before* the entry's data, and trusts an entry only while the version is still that number —
/// so an acknowledged revocation is seen by the very next call, in this process or another (<doc:Storage>).
///
/// Two numbers: changes to custom roles' definitions move only `customRoles`, everything else `principals`, so a
/// custom role edited in one account does not invalidate the many principals that hold built-in roles.
public protocol AuthorityVersion: Sendable {
    /// The version now when it can be read without waiting (a load from shared memory), else nil.
    func currentNow() -> AuthorityStamp?
    /// The version now, with a round trip when the store needs one (PostgreSQL: one single-statement read).
    func current() async throws -> AuthorityStamp
}

extension AuthorityVersion {
    public func currentNow() -> AuthorityStamp? { nil }
}

/// The authority version at one moment.
public struct AuthorityStamp: Sendable, Hashable {
    /// Moved by changes to users, accounts, organizations, memberships, member roles, sessions, dashboard tokens
    /// and API keys.
    public var principals: UInt64
    /// Moved by changes to custom roles (their base role, collections, threat flag; creation and deletion).
    public var customRoles: UInt64

    public init(principals: UInt64, customRoles: UInt64) {
        self.principals = principals
        self.customRoles = customRoles
    }

    /// Whether data read at `self` still holds at `now`: the same `principals`, and — for data that involves a
    /// custom role — the same `customRoles`.
    public func holds(at now: AuthorityStamp, involvingCustomRoles: Bool) -> Bool {
        principals == now.principals && (!involvingCustomRoles || customRoles == now.customRoles)
    }
}

extension PrincipalRecord {
    /// Whether what this principal stands for can change with a custom role's definition: one of its roles is
    /// not built in (whether or not that custom role exists now — creating it changes the principal).
    public var involvesCustomRoles: Bool {
        membership?.roles.values.contains { BuiltinRole(rawValue: $0) == nil } ?? false
    }
}
