/// Creating, updating and deleting custom roles, over facts read in the writing transaction.
public enum CustomRoleRules {
    public static func exists(_ name: String) -> RPCError {
        RPCError(.alreadyExists, "a custom role named \(name) exists")
    }
    public static func notFound(_ name: String) -> RPCError { RPCError(.notFound, "no custom role named \(name)") }

    public static func inUse(_ name: String) -> RPCError {
        RPCError(.failedPrecondition, "\(name) is assigned to a member or a pending invitation; reassign them first")
    }

    public static func defaultTaken(by other: String) -> RPCError {
        RPCError(.failedPrecondition, "\(other) is already the default invite role; unset it first")
    }

    public static func unknownCollections(_ ids: [Int32]) -> RPCError {
        RPCError.invalidField(
            "apiCollectionIds", "unknown collection ids: \(ids.map(String.init).joined(separator: ", "))")
    }

    /// A new role: the actor (in `scope`) may write admin actions, is not limited to collections and may grant
    /// its base; the name is free; at most one default invite role; every collection is the account's.
    public static func create(
        _ role: CustomRoleRecord, actor: Int32, scope: Scope, facts: AccountFacts, collections: Set<Int32>
    ) throws {
        try requireActor(actor, scope: scope, base: role.baseRole, facts: facts)
        guard facts.customRoles[role.name] == nil else { throw exists(role.name) }
        try check(role, facts: facts, collections: collections)
    }

    /// An update of an existing role (the stored role with the request's fields applied): the same checks, and
    /// the account keeps an API-scope ADMIN if the role was the one that made someone ADMIN.
    public static func update(
        _ role: CustomRoleRecord, actor: Int32, scope: Scope, facts: AccountFacts, collections: Set<Int32>
    ) throws {
        guard let current = facts.customRoles[role.name] else { throw notFound(role.name) }
        try requireActor(actor, scope: scope, base: current.baseRole, facts: facts)
        try requireActor(actor, scope: scope, base: role.baseRole, facts: facts)
        try check(role, facts: facts, collections: collections)
        var after = facts
        after.customRoles[role.name] = role
        try MembershipRules.requireAnAdmin(apiRoles: after.apiRoles, facts: after)
    }

    /// A deletion: the role exists and no member or pending invitation of the account holds it.
    public static func delete(name: String, actor: Int32, scope: Scope, facts: AccountFacts, isInUse: Bool) throws {
        guard let current = facts.customRoles[name] else { throw notFound(name) }
        try requireActor(actor, scope: scope, base: current.baseRole, facts: facts)
        guard !isInUse else { throw inUse(name) }
    }

    /// The actor's current role in `scope` writes admin actions, is not limited to collections and may manage
    /// roles based on `base`.
    static func requireActor(_ actor: Int32, scope: Scope, base: BuiltinRole, facts: AccountFacts) throws {
        let role = facts.role(of: actor, in: scope)
        try Authority.require(role, .adminActions, .readWrite, in: scope)
        try Authority.requireUnrestricted(role, "custom-role changes")
        try Authority.requireGrant(
            role, EffectiveRole(name: base.rawValue, base: base), in: scope, "roles based on \(base.rawValue)")
    }

    static func check(_ role: CustomRoleRecord, facts: AccountFacts, collections: Set<Int32>) throws {
        if role.isDefaultInviteRole,
            let other = facts.customRoles.values.filter({ $0.isDefaultInviteRole && $0.name != role.name })
                .map(\.name).min()
        {
            throw defaultTaken(by: other)
        }
        let unknown = Set(role.apiCollectionIDs).subtracting(collections).sorted()
        guard unknown.isEmpty else { throw unknownCollections(unknown) }
    }
}
