/// A role a request asks for in one scope, by name as sent (resolved inside the writing transaction, so a
/// custom role deleted concurrently cannot be granted), with the request field it came from.
public struct RoleRequest: Sendable, Hashable {
    public var scope: Scope
    public var name: String
    public var field: String

    public init(scope: Scope, name: String, field: String) {
        self.scope = scope
        self.name = name.uppercased()
        self.field = field
    }

    /// The role in this account: a built-in or one of its custom roles; INVALID_ARGUMENT naming the field
    /// otherwise.
    public func resolve(in facts: AccountFacts) throws -> EffectiveRole {
        guard !name.isEmpty else { throw RPCError.invalidField(field, "is required") }
        if let builtin = BuiltinRole(rawValue: name) { return EffectiveRole(name: name, base: builtin) }
        guard let custom = facts.customRoles[name] else {
            throw RPCError.invalidField(field, "\(name) is not a built-in role or a custom role of this account")
        }
        return EffectiveRole(custom)
    }
}
