import AccessCore
import AccessRPC

extension AccessService {
    func registerTokenOperations(into registry: inout MethodRegistry) throws {
        try registry.register(
            Methods.TokenService.addApiToken, policy: OperationPolicy(.apiTokens, .readWrite, sessionOnly: true),
            service: self
        ) { request, caller, context in
            try await addApiToken(request, caller, context)
        }
        try registry.register(
            Methods.TokenService.deleteApiToken, policy: OperationPolicy(.apiTokens, .readWrite, sessionOnly: true),
            service: self
        ) { request, caller, context in
            let deleted = try await store.deleteApiToken(
                id: request.apiTokenId, userID: caller.userID, accountID: caller.accountID,
                audit: audit(caller, context, "DeleteApiToken", target: "api-token:\(request.apiTokenId)"))
            return DeleteApiTokenResponse(apiTokenDeleted: deleted)
        }
        try registry.register(
            Methods.TokenService.fetchApiTokens, policy: OperationPolicy(.apiTokens, .read), service: self
        ) { _, caller, _ in
            let tokens = try await store.apiTokens(userID: caller.userID, accountID: caller.accountID)
            let rows = tokens.map { apiToken($0, key: "", username: caller.email) }
            return FetchApiTokensResponse(apiTokens: rows, apiTokenList: rows)
        }
    }

    /// AddApiToken (14): a new key, returned once and stored only as its digest.
    func addApiToken(_ request: AddApiTokenRequest, _ caller: Caller, _ context: CallContext) async throws
        -> AddApiTokenResponse
    {
        guard let utility = TokenUtility(rawValue: request.tokenUtility.trimmed.uppercased()) else {
            let names = TokenUtility.allCases.map(\.rawValue).joined(separator: ", ")
            throw RPCError.invalidField("tokenUtility", "must be one of \(names)")
        }
        // A DECISIONS key resolves any credential it is shown to its principal: only an API-scope admin mints it.
        if utility == .decisions {
            guard caller.scope == .api, caller.baseRole.access(to: .adminActions) == .readWrite else {
                throw RPCError(
                    .permissionDenied, "a DECISIONS key needs ADMIN_ACTIONS write access in the API scope")
            }
        }
        let key = Secrets.apiKey()
        let record = try await store.createApiToken(
            accountID: caller.accountID, userID: caller.userID, utility: utility,
            name: "\(utility.rawValue.lowercased())_key", digest: Secrets.digest(key), now: now,
            maxLive: configuration.maxApiTokensPerUser, audit: audit(caller, context, "AddApiToken"))
        return AddApiTokenResponse(apiTokenList: [apiToken(record, key: key, username: caller.email)])
    }

    func apiToken(_ record: ApiTokenRecord, key: String, username: String) -> ApiToken {
        ApiToken(
            id: record.id, accountId: record.accountID, name: record.name, key: key, timestamp: record.createdAt,
            username: username, utility: record.utility.rawValue, lastUsedAt: record.lastUsedAt)
    }
}
