import AccessCore
import AccessRPC

extension AccessService {
    func registerAccountOperations(into registry: inout MethodRegistry) throws {
        try registry.register(
            Methods.AccountService.createNewAccount,
            policy: OperationPolicy(.adminActions, .readWrite, isAccountWide: true), service: self
        ) { request, caller, context in
            try Authority.requireUnrestricted(caller.role, "CreateNewAccount")
            return try await createNewAccount(request, caller, context)
        }
        try registry.register(
            Methods.AccountService.goToAccount, policy: OperationPolicy(.userActions, .readWrite, sessionOnly: true),
            service: self
        ) { request, caller, context in
            guard case .session(let sessionID) = caller.credential,
                try await store.switchSession(
                    sessionID: sessionID, accountID: request.newAccountId,
                    audit: audit(caller, context, "GoToAccount", target: "account:\(request.newAccountId)"))
            else {
                // The same answer whether or not the account exists.
                throw RPCError(.permissionDenied, "you are not a member of account \(request.newAccountId)")
            }
            return GoToAccountResponse(newAccountId: request.newAccountId)
        }
        try registry.register(
            Methods.AccountService.updateUsernameAndOrganization, policy: OperationPolicy(.userActions, .readWrite),
            service: self
        ) { request, caller, context in
            try await updateUsernameAndOrganization(request, caller, context)
        }
        try registry.register(
            Methods.AccountService.transferOrganizationOwnership, policy: OperationPolicy(.userActions, .readWrite),
            service: self
        ) { request, caller, context in
            try await transferOrganizationOwnership(request, caller, context)
        }
        try registry.register(
            Methods.AccountService.fetchAuditLogs,
            policy: OperationPolicy(.adminActions, .readWrite, isAccountWide: true), service: self
        ) { request, caller, _ in
            try Authority.requireUnrestricted(caller.role, "FetchAuditLogs")
            guard request.beforeId >= 0 else { throw RPCError.invalidField("beforeId", "must not be negative") }
            guard (0...500).contains(request.limit) else { throw RPCError.invalidField("limit", "must be 0-500") }
            let rows = try await store.auditLog(
                accountID: caller.accountID, beforeID: request.beforeId,
                limit: request.limit == 0 ? 100 : Int(request.limit))
            return FetchAuditLogsResponse(
                auditLogs: rows.map { row in
                    AuditLogEntry(
                        id: row.id, actorUserId: row.entry.actorUserID ?? 0, actorEmail: row.entry.actorEmail,
                        accountId: row.entry.accountID ?? 0, operation: row.entry.operation, target: row.entry.target,
                        timestamp: row.entry.timestamp, transport: row.entry.transport, peer: row.entry.peer)
                },
                nextBeforeId: rows.last?.id ?? 0)
        }
    }

    /// CreateNewAccount (2): a new account in the caller's organization, the caller its ADMIN, the session
    /// switched to it; at most `maxAccountsPerUser` accounts per user. Answers the real new id.
    func createNewAccount(_ request: CreateNewAccountRequest, _ caller: Caller, _ context: CallContext) async throws
        -> CreateNewAccountResponse
    {
        let name = request.newAccountName.trimmed
        guard (1...50).contains(name.count) else {
            throw RPCError.invalidField("newAccountName", "must be 1-50 characters")
        }
        guard !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw RPCError.invalidField("newAccountName", "must not contain control characters")
        }
        var sessionID: Int64?
        if case .session(let id) = caller.credential { sessionID = id }
        let account = try await store.createAccount(
            userID: caller.userID, organizationID: caller.organizationID, name: name,
            maxAccountsPerUser: configuration.maxAccountsPerUser, sessionID: sessionID, now: now,
            audit: audit(caller, context, "CreateNewAccount"))
        return CreateNewAccountResponse(newAccountId: account.id, newAccountName: account.name)
    }

    /// TransferOrganizationOwnership: the owner hands the organization to a member of one of its accounts.
    func transferOrganizationOwnership(
        _ request: TransferOrganizationOwnershipRequest, _ caller: Caller, _ context: CallContext
    ) async throws -> TransferOrganizationOwnershipResponse {
        let email = try Validate.email(request.email)
        let owner = try await store.transferOwnership(
            organizationID: caller.organizationID, actorID: caller.userID, email: email,
            audit: audit(caller, context, "TransferOrganizationOwnership"))
        return TransferOrganizationOwnershipResponse(ownerEmail: owner.email)
    }

    /// UpdateUsernameAndOrganization (4): renames the caller and, when `organization` is given and differs, the
    /// organization (its owner only); nothing is saved unless every field is valid and allowed.
    func updateUsernameAndOrganization(
        _ request: UpdateUsernameAndOrganizationRequest, _ caller: Caller, _ context: CallContext
    ) async throws -> UpdateUsernameAndOrganizationResponse {
        let mask = try UpdateMask(
            request.updateMask, known: ["username", "organization"], message: "UpdateUsernameAndOrganizationRequest")
        let username =
            try mask.carries("username", isSet: !request.username.trimmed.isEmpty)
            ? Validate.username(request.username) : nil
        let organization =
            try mask.carries("organization", isSet: request.organization != nil)
            ? Validate.organization(request.organization ?? "") : nil
        guard username != nil || organization != nil else {
            // Nothing carried: nothing to write (and no audit row for a change that did not happen).
            let name = try await store.user(id: caller.userID)?.name ?? ""
            let current = try await store.organization(id: caller.organizationID)?.name ?? ""
            return UpdateUsernameAndOrganizationResponse(username: name, organization: current)
        }
        let organizationName = try await store.rename(
            userID: caller.userID, name: username, organizationID: caller.organizationID, organization: organization,
            audit: audit(caller, context, "UpdateUsernameAndOrganization", target: "user:\(caller.userID)"))
        var name = username ?? ""
        if username == nil { name = try await store.user(id: caller.userID)?.name ?? "" }
        return UpdateUsernameAndOrganizationResponse(username: name, organization: organizationName)
    }
}
