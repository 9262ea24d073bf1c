import AccessCore
import AccessRPC
import AccessWire
import Crypto
import GRDB
import Testing

@testable import AccessService
@testable import AccessSQLite

/// Every operation of the identity and team issues, called by every kind of caller through the real
/// dispatcher. The expected outcome comes from SPEC.md's feature table, written out again here on purpose:
/// the test must not reuse the code it checks.
@Suite struct PermissionMatrixTests {
    enum Level: Int { case none = 0, read = 1, write = 2 }

    /// SPEC.md, "Feature access": INVENTORY+INVITE_MEMBERS, BILLING, API_TOKENS, ADMIN_ACTIONS, USER_ACTIONS.
    static let table: [String: [String: Level]] = [
        "ADMIN": ["INVITE": .write, "BILLING": .write, "TOKENS": .write, "ADMIN": .write, "USER": .write],
        "MEMBER": ["INVITE": .write, "BILLING": .read, "TOKENS": .write, "ADMIN": .read, "USER": .write],
        "THREAT_ENGINEER": ["INVITE": .write, "BILLING": .read, "TOKENS": .write, "ADMIN": .read, "USER": .write],
        "THREAT_VIEWER": ["INVITE": .write, "BILLING": .read, "TOKENS": .write, "ADMIN": .read, "USER": .write],
        "DEVELOPER": ["INVITE": .read, "BILLING": .write, "TOKENS": .write, "ADMIN": .read, "USER": .write],
        "GUEST": ["INVITE": .read, "BILLING": .read, "TOKENS": .read, "ADMIN": .read, "USER": .write],
        "NO_ACCESS": ["USER": .write],
    ]

    enum CallerKind: CustomTestStringConvertible, Sendable {
        case role(String)
        case customRole  // base MEMBER
        case externalKey  // an EXTERNAL_API key of an ADMIN
        case anonymous

        var testDescription: String {
            switch self {
            case .role(let name): name
            case .customRole: "custom role (base MEMBER)"
            case .externalKey: "EXTERNAL_API key"
            case .anonymous: "anonymous"
            }
        }
    }

    struct Operation: Sendable {
        let name: String
        let feature: String
        let level: Level
        var sessionOnly = false
        var invite = false
        /// An anonymous operation: every caller gets this code (nil: the feature table decides).
        var anyone: StatusCode? = nil
        let call: @Sendable (Harness, [MetadataEntry], Int) async throws -> StatusCode
    }

    static let p256dh = Base64.encode(Array(P256.KeyAgreement.PrivateKey().publicKey.x963Representation), url: true)

    /// Requests chosen so that an authorised caller passes every check but auth (OK, NOT_FOUND or similar).
    static let operations: [Operation] = [
        Operation(name: "Me", feature: "USER", level: .read) { h, m, _ in
            try await h.code(Methods.SessionService.me, MeRequest(), m)
        },
        Operation(name: "GetRoleHierarchy", feature: "USER", level: .read) { h, m, _ in
            try await h.code(Methods.RoleService.getRoleHierarchy, GetRoleHierarchyRequest(), m)
        },
        Operation(name: "UpdateUsernameAndOrganization", feature: "USER", level: .write) { h, m, _ in
            try await h.code(
                Methods.AccountService.updateUsernameAndOrganization,
                UpdateUsernameAndOrganizationRequest(username: "Renamed"), m)
        },
        Operation(name: "GoToAccount", feature: "USER", level: .write, sessionOnly: true) { h, m, _ in
            try await h.code(Methods.AccountService.goToAccount, GoToAccountRequest(newAccountId: 1_000_000), m)
        },
        Operation(name: "SaveSubscription", feature: "USER", level: .write, sessionOnly: true) { h, m, i in
            try await h.code(
                Methods.NotificationService.saveSubscription,
                SaveSubscriptionRequest(
                    subscription: PushSubscription(
                        endpoint: "https://push.example.com/\(i)",
                        keys: PushSubscriptionKeys(
                            p256dh: p256dh, auth: Base64.encode(Array(repeating: 1, count: 16), url: true)))),
                m)
        },
        Operation(name: "FetchApiTokens", feature: "TOKENS", level: .read) { h, m, _ in
            try await h.code(Methods.TokenService.fetchApiTokens, FetchApiTokensRequest(), m)
        },
        Operation(name: "AddApiToken", feature: "TOKENS", level: .write, sessionOnly: true) { h, m, _ in
            try await h.code(Methods.TokenService.addApiToken, AddApiTokenRequest(tokenUtility: "BURP"), m)
        },
        Operation(name: "DeleteApiToken", feature: "TOKENS", level: .write, sessionOnly: true) { h, m, _ in
            try await h.code(Methods.TokenService.deleteApiToken, DeleteApiTokenRequest(apiTokenId: 999), m)
        },
        Operation(name: "GetTeamData", feature: "INVITE", level: .read) { h, m, _ in
            try await h.code(Methods.TeamService.getTeamData, GetTeamDataRequest(), m)
        },
        Operation(name: "InviteUsers", feature: "INVITE", level: .write, invite: true) { h, m, i in
            try await h.code(
                Methods.TeamService.inviteUsers,
                InviteUsersRequest(inviteeEmail: "new\(i)@example.com", inviteeRole: "GUEST"), m)
        },
        Operation(name: "RemoveInvitation", feature: "INVITE", level: .write, invite: true) { h, m, _ in
            try await h.code(
                Methods.TeamService.removeInvitation, RemoveInvitationRequest(email: "none@example.com"), m)
        },
        Operation(name: "GetCustomRoles", feature: "ADMIN", level: .read) { h, m, _ in
            try await h.code(Methods.RoleService.getCustomRoles, GetCustomRolesRequest(), m)
        },
        Operation(name: "CreateNewAccount", feature: "ADMIN", level: .write) { h, m, i in
            try await h.code(
                Methods.AccountService.createNewAccount, CreateNewAccountRequest(newAccountName: "N\(i)"), m)
        },
        Operation(name: "FetchAuditLogs", feature: "ADMIN", level: .write) { h, m, _ in
            try await h.code(Methods.AccountService.fetchAuditLogs, FetchAuditLogsRequest(), m)
        },
        Operation(name: "ResetUserPassword", feature: "ADMIN", level: .write) { h, m, _ in
            try await h.code(
                Methods.TeamService.resetUserPassword, ResetUserPasswordRequest(userEmail: "none@example.com"), m)
        },
        Operation(name: "ClearLoginLockout", feature: "ADMIN", level: .write) { h, m, _ in
            try await h.code(
                Methods.TeamService.clearLoginLockout, ClearLoginLockoutRequest(userEmail: "none@example.com"), m)
        },
        Operation(name: "RemoveUser", feature: "ADMIN", level: .write) { h, m, _ in
            try await h.code(Methods.TeamService.removeUser, RemoveUserRequest(email: "none@example.com"), m)
        },
        Operation(name: "MakeAdmin", feature: "ADMIN", level: .write) { h, m, _ in
            try await h.code(
                Methods.TeamService.makeAdmin, MakeAdminRequest(email: "none@example.com", userRole: "GUEST"), m)
        },
        Operation(name: "UpdateUserScopeRoleMapping", feature: "ADMIN", level: .write) { h, m, _ in
            try await h.code(
                Methods.TeamService.updateUserScopeRoleMapping,
                UpdateUserScopeRoleMappingRequest(email: "none@example.com"), m)
        },
        Operation(name: "CreateCustomRole", feature: "ADMIN", level: .write) { h, m, i in
            try await h.code(
                Methods.RoleService.createCustomRole, CreateCustomRoleRequest(roleName: "R\(i)", baseRole: "GUEST"), m)
        },
        Operation(name: "UpdateCustomRole", feature: "ADMIN", level: .write) { h, m, _ in
            try await h.code(
                Methods.RoleService.updateCustomRole, UpdateCustomRoleRequest(roleName: "NONE", baseRole: "GUEST"), m)
        },
        Operation(name: "DeleteCustomRole", feature: "ADMIN", level: .write) { h, m, _ in
            try await h.code(Methods.RoleService.deleteCustomRole, DeleteCustomRoleRequest(roleName: "NONE"), m)
        },
        // <doc:DashboardSessions>: the reads the dashboard's pages wait for, and its anonymous calls.
        Operation(name: "GetAllUsersCollections", feature: "INVITE", level: .read) { h, m, _ in
            try await h.code(Methods.TeamService.getAllUsersCollections, GetAllUsersCollectionsRequest(), m)
        },
        Operation(name: "FetchUserLastLoginTs", feature: "USER", level: .read) { h, m, _ in
            try await h.code(Methods.TeamService.fetchUserLastLoginTs, FetchUserLastLoginTsRequest(), m)
        },
        Operation(name: "GetCustomerStiggDetails", feature: "BILLING", level: .read) { h, m, _ in
            try await h.code(Methods.BillingService.getCustomerStiggDetails, GetCustomerStiggDetailsRequest(), m)
        },
        // Anonymous: the same answer whoever calls (a refresh token that is not one; an address).
        Operation(name: "RefreshAccessToken", feature: "USER", level: .read, anyone: .unauthenticated) { h, m, _ in
            try await h.code(
                Methods.SessionService.refreshAccessToken,
                RefreshAccessTokenRequest(refreshToken: String(repeating: "a", count: 43)), m)
        },
        Operation(name: "SendPasswordResetLink", feature: "USER", level: .read, anyone: .ok) { h, m, _ in
            try await h.code(
                Methods.SessionService.sendPasswordResetLink, SendPasswordResetLinkRequest(email: "caller@example.com"),
                m)
        },
        // Last: it ends the caller's session.
        Operation(name: "Logout", feature: "USER", level: .write, sessionOnly: true) { h, m, _ in
            try await h.code(Methods.SessionService.logout, LogoutRequest(), m)
        },
    ]

    static let callers: [CallerKind] =
        ["ADMIN", "MEMBER", "DEVELOPER", "GUEST", "THREAT_ENGINEER", "THREAT_VIEWER", "NO_ACCESS"].map {
            CallerKind.role($0)
        }
        + [.customRole, .externalKey, .anonymous]

    /// The outcome SPEC.md prescribes: nil = allowed, else the status of the refusal.
    static func expected(_ caller: CallerKind, _ operation: Operation) -> StatusCode? {
        if let anyone = operation.anyone { return anyone == .ok ? nil : anyone }
        let role: String
        switch caller {
        case .anonymous: return .unauthenticated
        case .externalKey:
            if operation.sessionOnly || operation.invite { return .permissionDenied }
            role = "ADMIN"
        case .customRole: role = "MEMBER"
        case .role(let name): role = name
        }
        let granted = table[role]?[operation.feature] ?? .none
        return granted.rawValue >= operation.level.rawValue ? nil : .permissionDenied
    }

    @Test(arguments: TestBackend.all, callers)
    func everyOperationForEveryCaller(backend: TestBackend, caller: CallerKind) async throws {
        let h = try await Harness.make(backend)
        let admin = h.bearer(try await h.signupAdmin().sessionToken)
        let metadata: [MetadataEntry]
        switch caller {
        case .role("ADMIN"): metadata = admin
        case .role(let name): metadata = try await h.addMember(email: "caller@example.com", role: name)
        case .customRole:
            _ = try await h.call(
                Methods.RoleService.createCustomRole, CreateCustomRoleRequest(roleName: "ANALYST", baseRole: "MEMBER"),
                admin)
            metadata = try await h.addMember(email: "caller@example.com", role: "ANALYST")
        case .externalKey:
            let key = try await h.call(
                Methods.TokenService.addApiToken, AddApiTokenRequest(tokenUtility: "EXTERNAL_API"), admin)
            metadata = h.apiKey(try #require(key.apiTokenList.first).key)
        case .anonymous: metadata = []
        }
        #expect(try await h.tableSnapshot().contains { $0.hasPrefix("users: ") }, "the snapshot must see the tables")
        for (index, operation) in Self.operations.enumerated() {
            // DecisionService's answer for this cell, asked with the caller's own credential just before the call:
            // allowed exactly when the operation is not refused for lack of the feature, access or credential.
            let decision: Decision? =
                operation.anyone == nil
                ? try await h.call(
                    Methods.DecisionService.authorize,
                    AuthorizeRequest(check: DecisionCheck(operation: operation.name)), metadata
                ).decision : nil
            let before = try await h.tableSnapshot()
            let code = try await operation.call(h, metadata, index)
            let expectation = Self.expected(caller, operation)
            if let decision {
                #expect(
                    decision.allowed == (expectation == nil),
                    "\(caller.testDescription) -> \(operation.name): Authorize said \(decision.allowed) (\(decision.reason))"
                )
                #expect(
                    expectation == nil || decision.code == expectation?.grpcName,
                    "\(caller.testDescription) -> \(operation.name): Authorize's code \(decision.code)")
            }
            if let anyone = operation.anyone {
                #expect(code == anyone, "\(caller.testDescription) -> \(operation.name): \(code)")
                #expect(
                    try await h.tableSnapshot() == before,
                    "\(caller.testDescription) -> \(operation.name) changed the database")
            } else if let refusal = expectation {
                #expect(code == refusal, "\(caller.testDescription) -> \(operation.name): \(code)")
                #expect(
                    try await h.tableSnapshot() == before,
                    "\(caller.testDescription) -> \(operation.name) changed the database")
            } else {
                #expect(
                    code != .permissionDenied && code != .unauthenticated,
                    "\(caller.testDescription) -> \(operation.name) should be allowed, got \(code)")
            }
        }
    }
}
