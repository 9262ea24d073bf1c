/// SPEC.md's Authority rules: who may grant, change or take what. Pure functions over facts read inside the
/// writing transaction; every store and every operation calls these, none decides on its own.
public enum Authority {
    /// PERMISSION_DENIED unless `role` (the actor's, in `scope`) grants `level` on `feature`.
    public static func require(_ role: EffectiveRole, _ feature: Feature, _ level: AccessLevel, in scope: Scope) throws
    {
        guard role.allows(feature, level) else {
            throw RPCError(
                .permissionDenied,
                "role \(role.name) in scope \(scope.rawValue) lacks \(level == .readWrite ? "write" : "read") access to \(feature.rawValue)"
            )
        }
    }

    /// True when an actor holding `actor` may grant `role`, or manage a member who holds it: the role's base is
    /// in the actor's hierarchy and, for an actor limited to collections C, the role is NO_ACCESS or a custom role
    /// limited to a subset of C (a built-in role is unrestricted, so never theirs to give).
    public static func mayGrant(_ actor: EffectiveRole, _ role: EffectiveRole) -> Bool {
        guard actor.base.hierarchy.contains(role.base) else { return false }
        guard let limit = actor.collections, !role.isNoAccess else { return true }
        guard let granted = role.collections else { return false }
        return granted.isSubset(of: limit)
    }

    /// PERMISSION_DENIED unless `actor` may grant or manage `role` in `scope`; `what` names it in the message.
    public static func requireGrant(_ actor: EffectiveRole, _ role: EffectiveRole, in scope: Scope, _ what: String)
        throws
    {
        guard mayGrant(actor, role) else {
            throw RPCError(
                .permissionDenied, "your role \(actor.name) in scope \(scope.rawValue) cannot assign or manage \(what)")
        }
    }

    /// PERMISSION_DENIED for an actor limited to some collections: account-wide objects (custom roles,
    /// recomputations) are not theirs to change.
    public static func requireUnrestricted(_ actor: EffectiveRole, _ operation: String) throws {
        guard actor.collections == nil else {
            throw RPCError(
                .permissionDenied, "role \(actor.name) is limited to some collections and cannot run \(operation)")
        }
    }

    /// The organization's owner can be removed or demoted by nobody but themselves (and has no "self" path
    /// here either: they hand ownership on first).
    public static func requireNotOwner(_ target: Int32, actor: Int32, in facts: AccountFacts) throws {
        guard !facts.isOwner(target) || target == actor else {
            throw RPCError(.permissionDenied, "the organization's owner can only be changed by the owner")
        }
    }

    /// Identity-wide authority (ResetUserPassword and anything that acts on a person): the actor is ADMIN, in
    /// every scope and without a collection limit, in every account the target belongs to, and the target owns
    /// no organization (taking over an owner would hand over more than the actor holds). Otherwise
    /// PERMISSION_DENIED.
    public static func requireIdentityWide(
        actor: Int32, over target: Int32, accounts: [AccountFacts], action: String = "resetting a password"
    ) throws {
        for facts in accounts where facts.isMember(target) {
            guard !facts.isOwner(target) || target == actor else {
                throw RPCError(.permissionDenied, "only the organization's owner can act on the owner (\(action))")
            }
            for scope in Scope.allCases where !facts.role(of: actor, in: scope).isUnrestrictedAdmin {
                throw RPCError(
                    .permissionDenied, "\(action) needs ADMIN in every scope of every account the user belongs to")
            }
        }
    }
}
