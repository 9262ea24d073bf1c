import AccessCore
import AccessRPC
import AccessWire
import Testing

@testable import AccessService

/// An ADMIN of account B (another organization) tries every identity operation against account A: nothing of A
/// is readable or changeable.
@Suite struct CrossAccountTests {
    @Test(arguments: TestBackend.all)
    func anAdminOfAnotherAccountSeesAndChangesNothingOfA(backend: TestBackend) async throws {
        let h = try await Harness.make(backend)
        let a = h.bearer(try await h.signupAdmin().sessionToken)
        let aKey = try #require(
            try await h.call(Methods.TokenService.addApiToken, AddApiTokenRequest(tokenUtility: "EXTERNAL_API"), a)
                .apiTokenList.first)
        let (b, bAccount) = try await h.addOtherOrganization()

        // Read: B's views contain only B.
        let me = try await h.call(Methods.SessionService.me, MeRequest(), b)
        #expect(me.accounts.map(\.accountId) == [bAccount])
        #expect(me.organization?.id == "org-b")
        #expect(try await h.call(Methods.TokenService.fetchApiTokens, FetchApiTokensRequest(), b).apiTokens.isEmpty)
        let audit = try await h.call(Methods.AccountService.fetchAuditLogs, FetchAuditLogsRequest(), b).auditLogs
        #expect(audit.allSatisfy { $0.accountId == bAccount })

        // Change: every attempt on A is refused and leaves A as it was.
        #expect(
            try await !h.call(Methods.TokenService.deleteApiToken, DeleteApiTokenRequest(apiTokenId: aKey.id), b)
                .apiTokenDeleted)
        #expect(try await h.code(Methods.SessionService.me, MeRequest(), h.apiKey(aKey.key)) == .ok)
        #expect(
            try await h.code(Methods.AccountService.goToAccount, GoToAccountRequest(newAccountId: 1_000_000), b)
                == .permissionDenied)
        #expect(
            try await h.code(
                Methods.TeamService.resetUserPassword, ResetUserPasswordRequest(userEmail: "admin@example.com"), b)
                == .notFound)
        _ = try await h.call(
            Methods.AccountService.updateUsernameAndOrganization,
            UpdateUsernameAndOrganizationRequest(username: "B Admin", organization: "Renamed B"), b)
        let aMe = try await h.call(Methods.SessionService.me, MeRequest(), a)
        #expect(aMe.organization?.name == "My organization")
        #expect(aMe.user?.name == "Admin")
        let created = try await h.call(
            Methods.AccountService.createNewAccount, CreateNewAccountRequest(newAccountName: "B2"), b)
        let bAccounts = try await h.call(Methods.SessionService.me, MeRequest(), b).accounts
        #expect(bAccounts.first { $0.accountId == created.newAccountId }?.organizationId == "org-b")
        _ = try await h.call(Methods.SessionService.logout, LogoutRequest(allSessions: true), b)
        #expect(try await h.code(Methods.SessionService.me, MeRequest(), a) == .ok)  // A's session survives

        // A's audit log holds none of B's actions.
        let aAudit = try await h.call(Methods.AccountService.fetchAuditLogs, FetchAuditLogsRequest(), a).auditLogs
        #expect(aAudit.allSatisfy { $0.accountId == 1_000_000 })
        #expect(!aAudit.contains { $0.actorEmail == "other-admin@example.com" })
    }

    @Test(arguments: TestBackend.all)
    func aKeyOfAnotherAccountActsOnlyInItsOwn(backend: TestBackend) async throws {
        let h = try await Harness.make(backend)
        let a = h.bearer(try await h.signupAdmin().sessionToken)
        let (b, bAccount) = try await h.addOtherOrganization()
        let bKey = try #require(
            try await h.call(Methods.TokenService.addApiToken, AddApiTokenRequest(tokenUtility: "EXTERNAL_API"), b)
                .apiTokenList.first)
        // The key's account is fixed: a context header cannot move it to A.
        let me = try await h.call(Methods.SessionService.me, MeRequest(), h.apiKey(bKey.key))
        #expect(me.activeAccountId == bAccount)
        _ = try await h.call(Methods.TokenService.addApiToken, AddApiTokenRequest(tokenUtility: "BURP"), a)
        #expect(
            try await h.call(Methods.TokenService.fetchApiTokens, FetchApiTokensRequest(), h.apiKey(bKey.key)).apiTokens
                .count == 1)
    }

    @Test(arguments: TestBackend.all)
    func teamAndRoleOperationsNeverReachAnotherAccount(backend: TestBackend) async throws {
        let h = try await Harness.make(backend)
        let a = h.bearer(try await h.signupAdmin().sessionToken)
        _ = try await h.call(
            Methods.RoleService.createCustomRole, CreateCustomRoleRequest(roleName: "A-ROLE", baseRole: "GUEST"), a)
        _ = try await h.call(
            Methods.TeamService.inviteUsers, InviteUsersRequest(inviteeEmail: "invited@example.com"), a)
        _ = try await h.addMember(email: "a-member@example.com", role: "MEMBER")
        let (b, _) = try await h.addOtherOrganization()

        let team = try await h.call(Methods.TeamService.getTeamData, GetTeamDataRequest(), b)
        #expect(team.users.map(\.login) == ["other-admin@example.com"])
        #expect(team.pendingInvitations.isEmpty)
        #expect(try await h.call(Methods.RoleService.getCustomRoles, GetCustomRolesRequest(), b).roles.isEmpty)
        #expect(
            !(try await h.call(Methods.RoleService.getRoleHierarchy, GetRoleHierarchyRequest(), b).roleHierarchy
                .contains("A-ROLE")))

        #expect(
            try await h.code(
                Methods.TeamService.makeAdmin, MakeAdminRequest(email: "a-member@example.com", userRole: "ADMIN"), b)
                == .notFound)
        #expect(
            try await h.code(
                Methods.TeamService.makeAdmin, MakeAdminRequest(email: "a-member@example.com", userRole: "A-ROLE"), b)
                == .invalidArgument)
        #expect(
            try await h.code(
                Methods.TeamService.updateUserScopeRoleMapping,
                UpdateUserScopeRoleMappingRequest(email: "admin@example.com"), b) == .notFound)
        #expect(
            try await h.code(Methods.TeamService.removeUser, RemoveUserRequest(email: "a-member@example.com"), b)
                == .notFound)
        #expect(
            try await h.code(
                Methods.TeamService.removeInvitation, RemoveInvitationRequest(email: "invited@example.com"), b)
                == .notFound)
        #expect(
            try await h.code(Methods.RoleService.deleteCustomRole, DeleteCustomRoleRequest(roleName: "A-ROLE"), b)
                == .notFound)
        #expect(
            try await h.code(
                Methods.RoleService.updateCustomRole, UpdateCustomRoleRequest(roleName: "A-ROLE", baseRole: "ADMIN"), b)
                == .notFound)
        // B may create a role of the same name in its own account without touching A's.
        _ = try await h.call(
            Methods.RoleService.createCustomRole, CreateCustomRoleRequest(roleName: "A-ROLE", baseRole: "ADMIN"), b)
        #expect(
            try await h.call(Methods.RoleService.getCustomRoles, GetCustomRolesRequest(), a).roles.map(\.baseRole) == [
                "GUEST"
            ])
        let aTeam = try await h.call(Methods.TeamService.getTeamData, GetTeamDataRequest(), a)
        #expect(aTeam.users.count == 2 && aTeam.pendingInvitations.count == 1)
    }
}
