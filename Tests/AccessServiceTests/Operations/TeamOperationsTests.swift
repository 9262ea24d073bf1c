import AccessCore
import AccessRPC
import AccessWire
import Testing

@testable import AccessService

@Suite struct TeamOperationsTests {
    @Test func inviteSignupTeamDataAndRemovingInvitations() async throws {
        let h = try Harness()
        let admin = h.bearer(try await h.signupAdmin().sessionToken)
        let first = try await h.call(
            Methods.TeamService.inviteUsers,
            InviteUsersRequest(
                inviteeEmail: "Dev@Example.com", scopeRoleMapping: ["API": "DEVELOPER", "dast": "GUEST"]),
            admin)
        #expect(first.inviteCode.count == 43)
        // Akto's invite link on the configured public URL, carrying the code and the (lower-cased) e-mail.
        #expect(
            first.finalInviteCode
                == "https://app.example.com/signup?signupInvitationCode=\(first.inviteCode)&signupEmailId=dev%40example.com"
        )
        #expect(first.expiresAt == Int64(h.clock.now()) + 7 * 24 * 3600)
        _ = try await h.call(
            Methods.TeamService.inviteUsers, InviteUsersRequest(inviteeEmail: "two@example.com"), admin)
        #expect(!(try h.databaseBytes()).contains(first.inviteCode))

        // The invitee signs up with the code and joins with the invited roles.
        let joined = try await h.call(
            Methods.SessionService.signup,
            SignupRequest(email: "dev@example.com", password: "Secret123-horse", inviteCode: first.finalInviteCode))
        #expect(joined.activeAccountId == 1_000_000)
        let team = try await h.call(Methods.TeamService.getTeamData, GetTeamDataRequest(), admin)
        let dev = try #require(team.users.first { $0.login == "dev@example.com" })
        #expect(dev.role == "DEVELOPER")
        #expect(
            dev.scopeRoleMapping == [
                "API": "DEVELOPER", "DAST": "GUEST", "AGENTIC": "NO_ACCESS", "ENDPOINT": "NO_ACCESS",
            ])
        #expect(team.pendingInvitations.map(\.inviteeEmail) == ["two@example.com"])
        #expect(team.pendingInvitations.first?.scopeRoleMapping["API"] == "MEMBER")  // the default role
        // The code works once.
        #expect(
            try await h.code(
                Methods.SessionService.signup,
                SignupRequest(email: "dev@example.com", password: "Secret123-horse", inviteCode: first.finalInviteCode))
                != .ok)

        // A MEMBER cannot remove an invitation someone else issued; the issuer can.
        let member = try await h.addMember(email: "m@example.com", role: "MEMBER")
        #expect(
            try await h.code(
                Methods.TeamService.removeInvitation, RemoveInvitationRequest(email: "two@example.com"), member)
                == .permissionDenied)
        _ = try await h.call(
            Methods.TeamService.removeInvitation, RemoveInvitationRequest(email: "two@example.com"), admin)
        #expect(
            try await h.call(Methods.TeamService.getTeamData, GetTeamDataRequest(), admin).pendingInvitations.isEmpty)
        #expect(
            try await h.code(
                Methods.TeamService.removeInvitation, RemoveInvitationRequest(email: "two@example.com"), admin)
                == .notFound)
    }

    @Test func inviteCodesAreBoundToTheirEmailAndExpire() async throws {
        let h = try Harness()
        let admin = h.bearer(try await h.signupAdmin().sessionToken)
        let code = try await h.call(
            Methods.TeamService.inviteUsers, InviteUsersRequest(inviteeEmail: "x@example.com"), admin
        )
        .finalInviteCode
        #expect(
            try await h.code(
                Methods.SessionService.signup,
                SignupRequest(email: "y@example.com", password: "Secret123-horse", inviteCode: code))
                == .permissionDenied)
        h.clock.advance(7 * 24 * 3600 + 1)
        #expect(
            try await h.code(
                Methods.SessionService.signup,
                SignupRequest(email: "x@example.com", password: "Secret123-horse", inviteCode: code))
                == .permissionDenied)
    }

    @Test func membersInviteOnlyWithinTheirHierarchyAndNeverInviteMembers() async throws {
        let h = try Harness()
        _ = try await h.signupAdmin()
        let member = try await h.addMember(email: "m@example.com", role: "MEMBER")
        #expect(
            try await h.code(
                Methods.TeamService.inviteUsers,
                InviteUsersRequest(inviteeEmail: "a@example.com", inviteeRole: "ADMIN"), member) == .permissionDenied)
        #expect(
            try await h.code(
                Methods.TeamService.inviteUsers,
                // Scopes left out grant nothing (NO_ACCESS).
                InviteUsersRequest(inviteeEmail: "a@example.com", scopeRoleMapping: ["API": "GUEST"]), member) == .ok)
        #expect(
            try await h.code(
                Methods.TeamService.inviteUsers,
                InviteUsersRequest(inviteeEmail: "a@example.com", inviteeRole: "guest"), member) == .ok)
        #expect(
            try await h.code(
                Methods.TeamService.inviteUsers, InviteUsersRequest(inviteeEmail: "admin@example.com"), member)
                == .alreadyExists)
        #expect(
            try await h.code(
                Methods.TeamService.inviteUsers,
                InviteUsersRequest(inviteeEmail: "b@example.com", scopeRoleMapping: ["MARS": "GUEST"]), member)
                == .invalidArgument)
    }

    @Test func aCustomRoleGovernsItsHoldersNextCallAndCannotBeDeletedWhileUsed() async throws {
        let h = try Harness()
        let admin = h.bearer(try await h.signupAdmin().sessionToken)
        let created = try await h.call(
            Methods.RoleService.createCustomRole,
            CreateCustomRoleRequest(
                roleName: "sec-analyst", baseRole: "MEMBER", apiCollectionIds: [1, 2], defaultInviteRole: true,
                allowedFeaturesForUser: ["threat_detection"]), admin)
        #expect(created.role?.name == "SEC-ANALYST" && created.role?.apiCollectionIds == [1, 2])
        let member = try await h.addMember(email: "m@example.com", role: "GUEST")
        #expect(
            try await h.code(
                Methods.TeamService.inviteUsers,
                InviteUsersRequest(inviteeEmail: "q@example.com", inviteeRole: "GUEST"), member) == .permissionDenied)
        _ = try await h.call(
            Methods.TeamService.makeAdmin, MakeAdminRequest(email: "m@example.com", userRole: "sec-analyst"), admin)
        // The member's very next call runs with MEMBER rights through the custom role.
        #expect(try await h.call(Methods.SessionService.me, MeRequest(), member).currentRole == "SEC-ANALYST")
        // Limited to collections 1 and 2, it grants only roles limited to those: not GUEST (unrestricted), but itself.
        // (MakeAdmin set it in the API scope only, so that is the only scope the member may grant in.)
        #expect(
            try await h.code(
                Methods.TeamService.inviteUsers,
                InviteUsersRequest(inviteeEmail: "q@example.com", scopeRoleMapping: ["API": "GUEST"]), member)
                == .permissionDenied)
        #expect(
            try await h.code(
                Methods.TeamService.inviteUsers,
                InviteUsersRequest(inviteeEmail: "q@example.com", inviteeRole: "sec-analyst"), member)
                == .permissionDenied)
        #expect(
            try await h.code(
                Methods.TeamService.inviteUsers,
                InviteUsersRequest(inviteeEmail: "q@example.com", scopeRoleMapping: ["API": "sec-analyst"]), member)
                == .ok)
        // Updating the role takes effect at once too.
        _ = try await h.call(
            Methods.RoleService.updateCustomRole,
            UpdateCustomRoleRequest(roleName: "SEC-ANALYST", baseRole: "GUEST", defaultInviteRole: true), admin)
        #expect(
            try await h.code(
                Methods.TeamService.inviteUsers,
                InviteUsersRequest(inviteeEmail: "r@example.com", scopeRoleMapping: ["API": "sec-analyst"]), member)
                == .permissionDenied)

        // An invitation that uses it (the default invite role) in any scope blocks deletion too.
        _ = try await h.call(Methods.TeamService.inviteUsers, InviteUsersRequest(inviteeEmail: "s@example.com"), admin)
        #expect(
            try await h.code(
                Methods.RoleService.deleteCustomRole, DeleteCustomRoleRequest(roleName: "sec-analyst"), admin)
                == .failedPrecondition)
        _ = try await h.call(
            Methods.TeamService.makeAdmin, MakeAdminRequest(email: "m@example.com", userRole: "MEMBER"), admin)
        #expect(
            try await h.code(
                Methods.RoleService.deleteCustomRole, DeleteCustomRoleRequest(roleName: "sec-analyst"), admin)
                == .failedPrecondition)
        for email in ["q@example.com", "s@example.com"] {
            _ = try await h.call(Methods.TeamService.removeInvitation, RemoveInvitationRequest(email: email), admin)
        }
        _ = try await h.call(
            Methods.RoleService.deleteCustomRole, DeleteCustomRoleRequest(roleName: "sec-analyst"), admin)
        #expect(try await h.call(Methods.RoleService.getCustomRoles, GetCustomRolesRequest(), admin).roles.isEmpty)
        #expect(
            try await h.code(
                Methods.RoleService.deleteCustomRole, DeleteCustomRoleRequest(roleName: "sec-analyst"), admin)
                == .notFound)
    }

    @Test(arguments: [
        (CreateCustomRoleRequest(roleName: "", baseRole: "MEMBER"), "roleName"),
        (CreateCustomRoleRequest(roleName: "has space", baseRole: "MEMBER"), "roleName"),
        (CreateCustomRoleRequest(roleName: String(repeating: "a", count: 51), baseRole: "MEMBER"), "roleName"),
        (CreateCustomRoleRequest(roleName: "admin", baseRole: "MEMBER"), "roleName"),
        (CreateCustomRoleRequest(roleName: "Threat_Viewer", baseRole: "MEMBER"), "roleName"),
        (CreateCustomRoleRequest(roleName: "x", baseRole: "NO_ACCESS"), "baseRole"),
        (CreateCustomRoleRequest(roleName: "x", baseRole: "ROOT"), "baseRole"),
        (CreateCustomRoleRequest(roleName: "x", baseRole: "MEMBER", apiCollectionIds: [424242]), "apiCollectionIds"),
        (
            CreateCustomRoleRequest(roleName: "x", baseRole: "MEMBER", allowedFeaturesForUser: ["BILLING"]),
            "allowedFeaturesForUser"
        ),
    ])
    func customRolesAreValidated(request: CreateCustomRoleRequest, field: String) async throws {
        let h = try Harness()
        let admin = h.bearer(try await h.signupAdmin().sessionToken)
        let error = try await #require(throws: RPCError.self) {
            try await h.call(Methods.RoleService.createCustomRole, request, admin)
        }
        #expect(error.code == .invalidArgument)
        #expect(error.violations.first?.field == field)
    }

    @Test func customRoleNamesAreUniqueAndOneRoleIsTheDefault() async throws {
        let h = try Harness()
        let admin = h.bearer(try await h.signupAdmin().sessionToken)
        _ = try await h.call(
            Methods.RoleService.createCustomRole,
            CreateCustomRoleRequest(roleName: "Ops", baseRole: "GUEST", defaultInviteRole: true), admin)
        #expect(
            try await h.code(
                Methods.RoleService.createCustomRole, CreateCustomRoleRequest(roleName: "OPS", baseRole: "GUEST"), admin
            ) == .alreadyExists)
        #expect(
            try await h.code(
                Methods.RoleService.createCustomRole,
                CreateCustomRoleRequest(roleName: "Other", baseRole: "GUEST", defaultInviteRole: true), admin)
                == .failedPrecondition)
        #expect(
            try await h.code(
                Methods.RoleService.updateCustomRole, UpdateCustomRoleRequest(roleName: "missing", baseRole: "GUEST"),
                admin) == .notFound)
        let hierarchy = try await h.call(Methods.RoleService.getRoleHierarchy, GetRoleHierarchyRequest(), admin)
            .roleHierarchy
        #expect(
            hierarchy == [
                "ADMIN", "MEMBER", "DEVELOPER", "GUEST", "THREAT_ENGINEER", "THREAT_VIEWER", "NO_ACCESS", "OPS",
            ])
        let guest = try await h.addMember(email: "g@example.com", role: "GUEST")
        #expect(
            try await h.call(Methods.RoleService.getRoleHierarchy, GetRoleHierarchyRequest(), guest).roleHierarchy == [
                "GUEST", "OPS",
            ])
    }

    @Test func aMemberCannotMakeThemselvesAdmin() async throws {
        let h = try Harness()
        let admin = h.bearer(try await h.signupAdmin().sessionToken)
        let member = try await h.addMember(email: "m@example.com", role: "MEMBER")
        let denied = try await h.code(
            Methods.TeamService.updateUserScopeRoleMapping,
            UpdateUserScopeRoleMappingRequest(email: "m@example.com", scopeRoleMapping: ["API": "ADMIN"]), member)
        #expect(denied == .permissionDenied)
        let team = try await h.call(Methods.TeamService.getTeamData, GetTeamDataRequest(), admin)
        #expect(team.users.first { $0.login == "m@example.com" }?.scopeRoleMapping["API"] == "MEMBER")
    }

    @Test func roleChangesFollowTheTargetSelfAndLastAdminRules() async throws {
        let h = try Harness()
        let admin = h.bearer(try await h.signupAdmin().sessionToken)
        _ = try await h.addMember(email: "m@example.com", role: "MEMBER")
        #expect(
            try await h.code(
                Methods.TeamService.makeAdmin, MakeAdminRequest(email: "m@example.com", userRole: "KING"), admin)
                == .invalidArgument)
        #expect(
            try await h.code(
                Methods.TeamService.makeAdmin, MakeAdminRequest(email: "ghost@example.com", userRole: "ADMIN"), admin)
                == .notFound)
        #expect(
            try await h.code(
                Methods.TeamService.makeAdmin, MakeAdminRequest(email: "admin@example.com", userRole: "MEMBER"), admin)
                == .failedPrecondition)
        // Promote, then demote the original admin through the other one; the last admin stays.
        _ = try await h.call(
            Methods.TeamService.makeAdmin, MakeAdminRequest(email: "m@example.com", userRole: "admin"), admin)
        // ADMIN only in the API scope: removing someone who holds roles in other scopes needs those scopes too.
        let apiOnly = try await h.call(
            Methods.SessionService.login, LoginRequest(email: "m@example.com", password: "Secret123-horse"))
        _ = try await h.addMember(email: "t@example.com", role: "MEMBER")
        #expect(
            try await h.code(
                Methods.TeamService.removeUser, RemoveUserRequest(email: "t@example.com"),
                h.bearer(apiOnly.sessionToken)) == .permissionDenied)
        _ = try await h.call(
            Methods.TeamService.updateUserScopeRoleMapping,
            UpdateUserScopeRoleMappingRequest(
                email: "m@example.com",
                scopeRoleMapping: ["API": "ADMIN", "AGENTIC": "ADMIN", "ENDPOINT": "ADMIN", "DAST": "ADMIN"]),
            admin)
        let second = try await h.call(
            Methods.SessionService.login, LoginRequest(email: "m@example.com", password: "Secret123-horse"))
        // The organization's owner is changed by nobody but the owner, until they hand ownership on.
        #expect(
            try await h.code(
                Methods.TeamService.updateUserScopeRoleMapping,
                UpdateUserScopeRoleMappingRequest(email: "admin@example.com", scopeRoleMapping: ["API": "GUEST"]),
                h.bearer(second.sessionToken)) == .permissionDenied)
        _ = try await h.call(
            Methods.AccountService.transferOrganizationOwnership,
            TransferOrganizationOwnershipRequest(email: "m@example.com"), admin)
        #expect(
            try await h.code(
                Methods.AccountService.transferOrganizationOwnership,
                TransferOrganizationOwnershipRequest(email: "m@example.com"), admin)
                == .permissionDenied)
        _ = try await h.call(
            Methods.TeamService.updateUserScopeRoleMapping,
            UpdateUserScopeRoleMappingRequest(email: "admin@example.com", scopeRoleMapping: ["API": "GUEST"]),
            h.bearer(second.sessionToken))
        // A patch: the scopes it does not name keep their roles.
        #expect(
            try await h.call(Methods.SessionService.me, MeRequest(), admin).scopeRoleMapping == [
                "API": "GUEST", "AGENTIC": "ADMIN", "ENDPOINT": "ADMIN", "DAST": "ADMIN",
            ])
        #expect(
            try await h.code(
                Methods.TeamService.removeUser, RemoveUserRequest(email: "admin@example.com"),
                h.bearer(second.sessionToken)) == .ok)
        // The remaining admin cannot be removed or demoted by anyone (and not by themselves).
        #expect(
            try await h.code(
                Methods.TeamService.makeAdmin, MakeAdminRequest(email: "m@example.com", userRole: "MEMBER"),
                h.bearer(second.sessionToken)) == .failedPrecondition)
    }

    @Test func anEmptyMappingChangesNothing() async throws {
        let h = try Harness()
        let admin = h.bearer(try await h.signupAdmin().sessionToken)
        _ = try await h.addMember(email: "m@example.com", role: "GUEST")
        let answer = try await h.call(
            Methods.TeamService.updateUserScopeRoleMapping, UpdateUserScopeRoleMappingRequest(email: "m@example.com"),
            admin)
        #expect(answer.scopeRoleMapping.isEmpty)
        let team = try await h.call(Methods.TeamService.getTeamData, GetTeamDataRequest(), admin)
        #expect(
            team.users.first { $0.login == "m@example.com" }?.scopeRoleMapping == [
                "API": "GUEST", "AGENTIC": "GUEST", "ENDPOINT": "GUEST", "DAST": "GUEST",
            ])
    }

    @Test func theLastAdminSurvivesFiftyRacingDemotionsHundredTimes() async throws {
        for _ in 0..<100 {
            let h = try Harness()
            let a = h.bearer(try await h.signupAdmin().sessionToken)
            let b = try await h.addMember(email: "b@example.com", role: "ADMIN")
            await withTaskGroup(of: Void.self) { group in
                for i in 0..<50 {
                    group.addTask {
                        if i % 2 == 0 {
                            _ = try? await h.code(
                                Methods.TeamService.makeAdmin,
                                MakeAdminRequest(email: "b@example.com", userRole: "MEMBER"), a)
                        } else {
                            _ = try? await h.code(
                                Methods.TeamService.updateUserScopeRoleMapping,
                                UpdateUserScopeRoleMappingRequest(
                                    email: "admin@example.com", scopeRoleMapping: ["API": "GUEST"]), b)
                        }
                    }
                }
            }
            let admins = try await h.store.teamMembers(accountID: 1_000_000).filter { $0.roles[.api] == "ADMIN" }
            #expect(admins.count >= 1)
            if admins.isEmpty { return }
        }
    }
}
