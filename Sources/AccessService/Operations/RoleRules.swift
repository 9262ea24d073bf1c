import AccessCore

/// A role name resolved in one account: a built-in, or a custom role with its base.
struct ResolvedRole: Sendable, Equatable {
    let name: String
    let base: BuiltinRole
}

extension AccessService {
    /// Resolves `raw` (any case) to a built-in or a custom role of `accountID`; INVALID_ARGUMENT naming `field`
    /// otherwise.
    func resolveRole(_ raw: String, accountID: Int32, field: String) async throws -> ResolvedRole {
        let name = raw.trimmed.uppercased()
        guard !name.isEmpty else { throw RPCError.invalidField(field, "is required") }
        if let builtin = BuiltinRole(rawValue: name) { return ResolvedRole(name: name, base: builtin) }
        guard let custom = try await store.customRole(accountID: accountID, name: name) else {
            throw RPCError.invalidField(field, "\(name) is not a built-in role or a custom role of this account")
        }
        return ResolvedRole(name: custom.name, base: custom.baseRole)
    }

    /// The base role a stored role name stands for (an unknown name counts as NO_ACCESS: fail closed).
    func baseRole(of name: String?, accountID: Int32) async throws -> BuiltinRole {
        guard let name else { return .noAccess }
        if let builtin = BuiltinRole(rawValue: name) { return builtin }
        return try await store.customRole(accountID: accountID, name: name)?.baseRole ?? .noAccess
    }

    /// PERMISSION_DENIED unless `caller` may assign or manage a role based on `base`.
    func requireInHierarchy(_ caller: Caller, _ base: BuiltinRole, _ what: String) throws {
        guard caller.baseRole.hierarchy.contains(base) else {
            throw RPCError(.permissionDenied, "your role \(caller.roleName) cannot assign or manage \(what)")
        }
    }

    /// The role new members get when none is given: the account's default invite role, else MEMBER.
    func defaultRole(accountID: Int32) async throws -> ResolvedRole {
        if let role = try await store.customRoles(accountID: accountID).first(where: \.isDefaultInviteRole) {
            return ResolvedRole(name: role.name, base: role.baseRole)
        }
        return ResolvedRole(name: BuiltinRole.member.rawValue, base: .member)
    }

    /// A full scope -> role mapping from a request's mapping (keys must be scopes; a scope left out is NO_ACCESS),
    /// or the default role in every scope when the mapping is empty. Every role is checked against the caller's
    /// hierarchy.
    func roleMapping(_ raw: [String: String], fallback: String, caller: Caller, field: String) async throws
        -> [Scope: String]
    {
        if raw.isEmpty {
            let role = fallback.trimmed.isEmpty
                ? try await defaultRole(accountID: caller.accountID)
                : try await resolveRole(fallback, accountID: caller.accountID, field: "inviteeRole")
            try requireInHierarchy(caller, role.base, role.name)
            return Dictionary(uniqueKeysWithValues: Scope.allCases.map { ($0, role.name) })
        }
        var mapping = Dictionary(uniqueKeysWithValues: Scope.allCases.map { ($0, BuiltinRole.noAccess.rawValue) })
        for (key, value) in raw.sorted(by: { $0.key < $1.key }) {
            guard let scope = Scope(rawValue: key.uppercased()) else {
                throw RPCError.invalidField("\(field).\(key)", "is not a scope (API, AGENTIC, ENDPOINT, DAST)")
            }
            let role = try await resolveRole(value, accountID: caller.accountID, field: "\(field).\(key)")
            try requireInHierarchy(caller, role.base, role.name)
            mapping[scope] = role.name
        }
        if mapping.values.contains(BuiltinRole.noAccess.rawValue) {
            try requireInHierarchy(caller, .noAccess, BuiltinRole.noAccess.rawValue)
        }
        return mapping
    }

    /// The member with this e-mail in the caller's account (NOT_FOUND alike for unknown and non-members), not
    /// the caller (FAILED_PRECONDITION), whose current roles the caller may manage (PERMISSION_DENIED).
    func manageableMember(_ rawEmail: String, caller: Caller, scopes: [Scope]) async throws -> (UserRecord, MembershipRecord) {
        let email = try Validate.email(rawEmail)
        guard let user = try await store.user(email: email),
            let membership = try await store.membership(userID: user.id, accountID: caller.accountID)
        else { throw RPCError(.notFound, "no member of this account has that e-mail") }
        guard user.id != caller.userID else {
            throw RPCError(.failedPrecondition, "you cannot change your own membership; ask another admin")
        }
        for scope in scopes {
            let current = membership.roles[scope]
            try requireInHierarchy(caller, try await baseRole(of: current, accountID: caller.accountID),
                "a member whose \(scope.rawValue) role is \(current ?? "NO_ACCESS")")
        }
        return (user, membership)
    }
}
