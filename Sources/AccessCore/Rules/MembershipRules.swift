/// Changing and removing memberships (MakeAdmin, UpdateUserScopeRoleMapping, RemoveUser): SPEC.md's per-scope
/// authority, the owner's protection and the last-ADMIN rule, over facts read in the writing transaction.
public enum MembershipRules {
    public static let noSuchMember = RPCError(.notFound, "no member of this account has that e-mail")
    public static let notYourself = RPCError(
        .failedPrecondition, "you cannot change your own membership; ask another admin")
    public static let lastAdmin = RPCError(
        .failedPrecondition, "the account must keep at least one ADMIN in the API scope")

    /// A patch of the target's roles: the scopes requested are set, the others left as they are (an empty
    /// patch changes nothing). Needs, in each scope it sets, ADMIN_ACTIONS write and both the target's current
    /// role and the new one inside the actor's authority there; one refused scope refuses the whole change.
    /// Returns the stored names to write.
    public static func changeRoles(
        actor: Int32, target: Int32?, requests: [RoleRequest], facts: AccountFacts
    ) throws -> [Scope: String] {
        var granted: [Scope: EffectiveRole] = [:]
        for request in requests { granted[request.scope] = try request.resolve(in: facts) }
        let target = try manageable(actor: actor, target: target, facts: facts)
        for scope in Scope.allCases {
            guard let role = granted[scope] else { continue }
            let actorRole = facts.role(of: actor, in: scope)
            try Authority.require(actorRole, .adminActions, .readWrite, in: scope)
            let current = facts.role(of: target, in: scope)
            try Authority.requireGrant(
                actorRole, current, in: scope, "a member whose \(scope.rawValue) role is \(current.name)")
            try Authority.requireGrant(actorRole, role, in: scope, role.name)
        }
        var apiRoles = facts.apiRoles
        if let api = granted[.api] { apiRoles[target] = api.name }
        try requireAnAdmin(apiRoles: apiRoles, facts: facts)
        return granted.mapValues(\.name)
    }

    /// Removing a member: authority in every scope where the target holds a role, never the owner, never the
    /// last API-scope ADMIN.
    public static func remove(actor: Int32, target: Int32?, facts: AccountFacts) throws {
        let target = try manageable(actor: actor, target: target, facts: facts)
        for scope in Scope.allCases {
            let current = facts.role(of: target, in: scope)
            guard !current.isNoAccess else { continue }
            let actorRole = facts.role(of: actor, in: scope)
            try Authority.require(actorRole, .adminActions, .readWrite, in: scope)
            try Authority.requireGrant(
                actorRole, current, in: scope, "a member whose \(scope.rawValue) role is \(current.name)")
        }
        var apiRoles = facts.apiRoles
        apiRoles[target] = nil
        try requireAnAdmin(apiRoles: apiRoles, facts: facts)
    }

    /// FAILED_PRECONDITION when no member would be ADMIN in the API scope (directly or through a custom role
    /// based on ADMIN).
    public static func requireAnAdmin(apiRoles: [Int32: String], facts: AccountFacts) throws {
        guard apiRoles.values.contains(where: { facts.role(named: $0).base == .admin }) else { throw lastAdmin }
    }

    /// The target as a member the actor may act on: a member (NOT_FOUND alike for unknown users and
    /// non-members), not the actor (FAILED_PRECONDITION), not the organization's owner (PERMISSION_DENIED).
    static func manageable(actor: Int32, target: Int32?, facts: AccountFacts) throws -> Int32 {
        guard let target, facts.isMember(target) else { throw noSuchMember }
        guard target != actor else { throw notYourself }
        try Authority.requireNotOwner(target, actor: actor, in: facts)
        return target
    }
}
