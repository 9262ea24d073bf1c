import AccessCore
import AccessRPC

extension AccessService {
    /// Features a custom role may grant beyond its base role.
    static let grantableFeatures: Set<String> = ["THREAT_DETECTION", "AI_AGENTS"]

    func registerRoleOperations(into registry: inout MethodRegistry) throws {
        try registry.register(
            Methods.RoleService.createCustomRole, policy: OperationPolicy(.adminActions, .readWrite), service: self
        ) { request, caller, context in
            var role = try customRole(
                name: request.roleName, base: request.baseRole, collections: request.apiCollectionIds,
                isDefault: request.defaultInviteRole, features: request.allowedFeaturesForUser, caller: caller)
            role.threatProtectionEnabled = request.threatProtectionEnabled
            try await store.createCustomRole(
                role, actorID: caller.userID, scope: try caller.requireScope(),
                audit: audit(caller, context, "CreateCustomRole", target: "role:\(role.name)"))
            return CreateCustomRoleResponse(role: wire(role))
        }
        try registry.register(
            Methods.RoleService.updateCustomRole, policy: OperationPolicy(.adminActions, .readWrite), service: self
        ) { request, caller, context in
            let patch = try customRolePatch(request, caller: caller)
            let role = try await store.updateCustomRole(
                patch, actorID: caller.userID, scope: try caller.requireScope(),
                audit: audit(caller, context, "UpdateCustomRole", target: "role:\(patch.name)"))
            return UpdateCustomRoleResponse(role: wire(role))
        }
        try registry.register(
            Methods.RoleService.deleteCustomRole, policy: OperationPolicy(.adminActions, .readWrite), service: self
        ) { request, caller, context in
            let name = request.roleName.trimmed.uppercased()
            guard !name.isEmpty else { throw RPCError.invalidField("roleName", "is required") }
            try await store.deleteCustomRole(
                accountID: caller.accountID, name: name, actorID: caller.userID, scope: try caller.requireScope(),
                audit: audit(caller, context, "DeleteCustomRole", target: "role:\(name)"))
            return DeleteCustomRoleResponse()
        }
        try registry.register(
            Methods.RoleService.getCustomRoles, policy: OperationPolicy(.adminActions, .read), service: self
        ) { _, caller, _ in
            GetCustomRolesResponse(roles: try await store.customRoles(accountID: caller.accountID).map(wire))
        }
        try registry.register(
            Methods.RoleService.getRoleHierarchy, policy: OperationPolicy(.userActions, .read), service: self
        ) { _, caller, _ in
            // What the caller may grant (SPEC.md, Authority: a collection-limited caller only narrower roles).
            let builtins = BuiltinRole.allCases.filter {
                Authority.mayGrant(caller.role, EffectiveRole(name: $0.rawValue, base: $0))
            }.map(\.rawValue)
            let customs = try await store.customRoles(accountID: caller.accountID)
                .filter { Authority.mayGrant(caller.role, EffectiveRole($0)) }.map(\.name)
            return GetRoleHierarchyResponse(roleHierarchy: builtins + customs)
        }
    }

    /// A validated custom role: name 1-50 of [A-Za-z0-9_-], stored upper-case, never a built-in name; base role a
    /// built-in other than NO_ACCESS, stored as given, within the caller's hierarchy; known features only.
    func customRole(
        name rawName: String, base rawBase: String, collections: [Int32], isDefault: Bool, features: [String],
        caller: Caller
    ) throws -> CustomRoleRecord {
        let name = rawName.trimmed.uppercased()
        guard (1...50).contains(name.count),
            name.utf8.allSatisfy({ (65...90).contains($0) || (48...57).contains($0) || $0 == 95 || $0 == 45 })
        else { throw RPCError.invalidField("roleName", "must be 1-50 characters of letters, digits, _ and -") }
        guard !BuiltinRole.isBuiltinName(name) else {
            throw RPCError.invalidField("roleName", "\(name) is a built-in role name")
        }
        guard let base = BuiltinRole(rawValue: rawBase.trimmed.uppercased()), base != .noAccess else {
            throw RPCError.invalidField(
                "baseRole", "must be ADMIN, MEMBER, DEVELOPER, GUEST, THREAT_ENGINEER or THREAT_VIEWER")
        }
        let normalizedFeatures = Array(Set(features.map { $0.trimmed.uppercased() })).sorted()
        if let unknown = normalizedFeatures.first(where: { !Self.grantableFeatures.contains($0) }) {
            throw RPCError.invalidField(
                "allowedFeaturesForUser", "\(unknown) is not one of AI_AGENTS, THREAT_DETECTION")
        }
        guard collections.count <= 10_000 else { throw RPCError.invalidField("apiCollectionIds", "at most 10000 ids") }
        return CustomRoleRecord(
            accountID: caller.accountID, name: name, baseRole: base, apiCollectionIDs: Array(Set(collections)).sorted(),
            isDefaultInviteRole: isDefault, allowedFeatures: normalizedFeatures, lastModifiedAt: now)
    }

    /// UpdateCustomRole's fields as a patch (AIP-134): with an update mask exactly the fields it names, without
    /// one the fields that are set. Each carried field is validated as CreateCustomRole validates it.
    func customRolePatch(_ request: UpdateCustomRoleRequest, caller: Caller) throws -> CustomRolePatch {
        let mask = try UpdateMask(
            request.updateMask,
            known: [
                "base_role", "api_collection_ids", "default_invite_role", "allowed_features_for_user", "role_name",
                "threat_protection_enabled",
            ], message: "UpdateCustomRoleRequest")
        let carries = { (field: String, isSet: Bool) in mask.carries(field, isSet: isSet) }
        // Validates the name, base and features exactly as a new role would be.
        let full = try customRole(
            name: request.roleName, base: request.baseRole.trimmed.isEmpty ? "MEMBER" : request.baseRole,
            collections: request.apiCollectionIds, isDefault: request.defaultInviteRole ?? false,
            features: request.allowedFeaturesForUser, caller: caller)
        return CustomRolePatch(
            accountID: caller.accountID, name: full.name,
            baseRole: carries("base_role", !request.baseRole.trimmed.isEmpty) ? full.baseRole : nil,
            apiCollectionIDs: carries("api_collection_ids", !request.apiCollectionIds.isEmpty)
                ? full.apiCollectionIDs : nil,
            isDefaultInviteRole: carries("default_invite_role", request.defaultInviteRole != nil)
                ? request.defaultInviteRole ?? false : nil,
            allowedFeatures: carries("allowed_features_for_user", !request.allowedFeaturesForUser.isEmpty)
                ? full.allowedFeatures : nil,
            lastModifiedAt: now,
            threatProtectionEnabled: carries("threat_protection_enabled", request.threatProtectionEnabled != nil)
                ? request.threatProtectionEnabled ?? false : nil)
    }

    func wire(_ role: CustomRoleRecord) -> CustomRole {
        CustomRole(
            name: role.name, baseRole: role.baseRole.rawValue, apiCollectionIds: role.apiCollectionIDs,
            defaultInviteRole: role.isDefaultInviteRole, allowedFeaturesForUser: role.allowedFeatures,
            lastModifiedAt: role.lastModifiedAt, apiCollectionsId: role.apiCollectionIDs,
            threatProtectionEnabled: role.threatProtectionEnabled)
    }
}
