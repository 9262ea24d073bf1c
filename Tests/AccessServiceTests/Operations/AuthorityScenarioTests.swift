import AccessCore
import AccessRPC
import AccessWire
import Testing

@testable import AccessService

/// The eight ways outside passes exceeded their authority (<doc:AuthorityRules>), each replayed through the real dispatcher
/// on both stores: every one must be refused with nothing written (no business row, no audit row), or, for the
/// enumeration, answered without revealing anything. The same scenarios run over both transports in
/// Tests/EndToEnd/test_authority.py.
@Suite struct AuthorityScenarioTests {
    static let password = "Secret123-horse"

    /// `call` must end with `code` and leave every table exactly as it was.
    func expectRefused(
        _ h: Harness, _ code: StatusCode, _ what: Comment, sourceLocation: SourceLocation = #_sourceLocation,
        _ call: () async throws -> StatusCode
    ) async throws {
        let before = try await h.tableSnapshot()
        let got = try await call()
        #expect(got == code, "\(what): got \(got)", sourceLocation: sourceLocation)
        #expect(try await h.tableSnapshot() == before, "\(what) changed the database", sourceLocation: sourceLocation)
    }

    func context(_ scope: String, _ metadata: [MetadataEntry]) -> [MetadataEntry] {
        metadata + [MetadataEntry("x-context-source", scope)]
    }

    /// Signs up through an invitation and returns the new member's session.
    func join(_ h: Harness, _ code: String, _ email: String) async throws -> [MetadataEntry] {
        let joined = try await h.call(
            Methods.SessionService.signup, SignupRequest(email: email, password: Self.password, inviteCode: code))
        return h.bearer(joined.sessionToken)
    }

    /// The owner's session and that of an ADMIN of a second workspace "B" the owner created and invited them to.
    func ownerAndWorkspaceAdmin(_ h: Harness, _ email: String) async throws -> ([MetadataEntry], [MetadataEntry]) {
        let owner = h.bearer(try await h.signupAdmin().sessionToken)
        _ = try await h.call(
            Methods.AccountService.createNewAccount, CreateNewAccountRequest(newAccountName: "B"), owner)
        let code = try await h.call(
            Methods.TeamService.inviteUsers, InviteUsersRequest(inviteeEmail: email, inviteeRole: "ADMIN"), owner
        ).finalInviteCode
        return (owner, try await join(h, code, email))
    }

    @Test(arguments: TestBackend.all)
    func aWorkspaceAdminCannotTakeOverTheOwner(backend: TestBackend) async throws {
        let h = try await Harness.make(backend)
        let (_, v) = try await ownerAndWorkspaceAdmin(h, "v@example.com")
        try await expectRefused(h, .permissionDenied, "ResetUserPassword of the owner") {
            try await h.code(
                Methods.TeamService.resetUserPassword, ResetUserPasswordRequest(userEmail: "admin@example.com"), v)
        }
        // V cannot demote or remove the owner in B either.
        try await expectRefused(h, .permissionDenied, "MakeAdmin on the owner") {
            try await h.code(
                Methods.TeamService.makeAdmin, MakeAdminRequest(email: "admin@example.com", userRole: "GUEST"), v)
        }
        try await expectRefused(h, .permissionDenied, "RemoveUser of the owner") {
            try await h.code(Methods.TeamService.removeUser, RemoveUserRequest(email: "admin@example.com"), v)
        }
    }

    @Test(arguments: TestBackend.all)
    func oneScopesAdminCannotReachTheAPIScope(backend: TestBackend) async throws {
        let h = try await Harness.make(backend)
        let owner = h.bearer(try await h.signupAdmin().sessionToken)
        let x = context("DAST", try await h.addMember(email: "x@example.com", role: "GUEST"))
        _ = try await h.call(
            Methods.TeamService.updateUserScopeRoleMapping,
            UpdateUserScopeRoleMappingRequest(email: "x@example.com", scopeRoleMapping: ["DAST": "ADMIN"]), owner)
        _ = try await h.addMember(email: "accomplice@example.com", role: "MEMBER")
        _ = try await h.addMember(email: "api-admin@example.com", role: "ADMIN")
        try await expectRefused(h, .permissionDenied, "UpdateUserScopeRoleMapping {API: ADMIN}") {
            try await h.code(
                Methods.TeamService.updateUserScopeRoleMapping,
                UpdateUserScopeRoleMappingRequest(email: "accomplice@example.com", scopeRoleMapping: ["API": "ADMIN"]),
                x)
        }
        // One refused scope refuses the whole patch.
        try await expectRefused(h, .permissionDenied, "a patch with one foreign scope") {
            try await h.code(
                Methods.TeamService.updateUserScopeRoleMapping,
                UpdateUserScopeRoleMappingRequest(
                    email: "accomplice@example.com", scopeRoleMapping: ["DAST": "GUEST", "API": "ADMIN"]), x)
        }
        try await expectRefused(h, .permissionDenied, "InviteUsers {API: ADMIN}") {
            try await h.code(
                Methods.TeamService.inviteUsers,
                InviteUsersRequest(inviteeEmail: "puppet@example.com", scopeRoleMapping: ["API": "ADMIN"]), x)
        }
        try await expectRefused(h, .permissionDenied, "ResetUserPassword of the API admin") {
            try await h.code(
                Methods.TeamService.resetUserPassword, ResetUserPasswordRequest(userEmail: "api-admin@example.com"), x)
        }
        try await expectRefused(h, .permissionDenied, "RemoveUser of the API admin") {
            try await h.code(Methods.TeamService.removeUser, RemoveUserRequest(email: "api-admin@example.com"), x)
        }
        try await expectRefused(h, .permissionDenied, "FetchAuditLogs from the DAST scope") {
            try await h.code(Methods.AccountService.fetchAuditLogs, FetchAuditLogsRequest(), x)
        }
        // What is X's to do in DAST still works.
        let changed = try await h.call(
            Methods.TeamService.updateUserScopeRoleMapping,
            UpdateUserScopeRoleMappingRequest(email: "accomplice@example.com", scopeRoleMapping: ["DAST": "GUEST"]), x)
        #expect(changed.scopeRoleMapping == ["DAST": "GUEST"])
    }

    @Test(arguments: TestBackend.all)
    func aCollectionLimitedRoleCannotLiftItsLimit(backend: TestBackend) async throws {
        let h = try await Harness.make(backend)
        let owner = h.bearer(try await h.signupAdmin().sessionToken)
        let c1 = try #require(
            try await h.call(
                Methods.InventoryService.createCollection, CreateCollectionRequest(collectionName: "c1"), owner
            )
            .apiCollection
        ).id
        _ = try await h.call(
            Methods.RoleService.createCustomRole,
            CreateCustomRoleRequest(roleName: "C1-ADMIN", baseRole: "ADMIN", apiCollectionIds: [c1]), owner)
        _ = try await h.call(
            Methods.RoleService.createCustomRole,
            CreateCustomRoleRequest(roleName: "C1-MEMBER", baseRole: "MEMBER", apiCollectionIds: [c1]), owner)
        let holder = try await h.addMember(email: "holder@example.com", role: "C1-ADMIN")
        try await expectRefused(h, .permissionDenied, "UpdateCustomRole clearing its own collections") {
            try await h.code(
                Methods.RoleService.updateCustomRole,
                UpdateCustomRoleRequest(roleName: "C1-ADMIN", apiCollectionIds: [], updateMask: ["api_collection_ids"]),
                holder)
        }
        try await expectRefused(h, .permissionDenied, "CreateCustomRole by a limited admin") {
            try await h.code(
                Methods.RoleService.createCustomRole, CreateCustomRoleRequest(roleName: "FREE", baseRole: "ADMIN"),
                holder)
        }
        try await expectRefused(h, .permissionDenied, "a limited admin granting unrestricted MEMBER") {
            try await h.code(
                Methods.TeamService.inviteUsers,
                InviteUsersRequest(inviteeEmail: "p1@example.com", scopeRoleMapping: ["API": "MEMBER"]), holder)
        }
        let limitedMember = try await h.addMember(email: "lm@example.com", role: "C1-MEMBER")
        try await expectRefused(h, .permissionDenied, "a limited member inviting a plain MEMBER") {
            try await h.code(
                Methods.TeamService.inviteUsers,
                InviteUsersRequest(inviteeEmail: "puppet@example.com", scopeRoleMapping: ["API": "MEMBER"]),
                limitedMember)
        }
        // A role limited to the same collections is theirs to give.
        #expect(
            try await h.code(
                Methods.TeamService.inviteUsers,
                InviteUsersRequest(inviteeEmail: "ok@example.com", scopeRoleMapping: ["API": "C1-MEMBER"]),
                limitedMember) == .ok)
    }

    @Test(arguments: TestBackend.all)
    func grantsDieWithTheirIssuer(backend: TestBackend) async throws {
        let h = try await Harness.make(backend)
        let owner = h.bearer(try await h.signupAdmin().sessionToken)
        let issuer = try await h.addMember(email: "issuer@example.com", role: "ADMIN")
        _ = try await h.addMember(email: "target@example.com", role: "MEMBER")
        let code = try await h.call(
            Methods.TeamService.inviteUsers,
            InviteUsersRequest(inviteeEmail: "puppet@example.com", inviteeRole: "ADMIN"), issuer
        ).finalInviteCode
        let reset = try await h.call(
            Methods.TeamService.resetUserPassword, ResetUserPasswordRequest(userEmail: "target@example.com"), issuer
        ).passwordResetToken
        _ = try await h.call(Methods.TeamService.removeUser, RemoveUserRequest(email: "issuer@example.com"), owner)
        try await expectRefused(h, .permissionDenied, "the removed issuer's invitation") {
            try await h.code(
                Methods.SessionService.signup,
                SignupRequest(email: "puppet@example.com", password: Self.password, inviteCode: code))
        }
        try await expectRefused(h, .permissionDenied, "the removed issuer's reset token") {
            try await h.code(
                Methods.SessionService.resetPassword, ResetPasswordRequest(token: reset, newPassword: "Taken0ver-pass"))
        }
        // A grant is also judged by its issuer's current authority: demoted, the invitation is unusable.
        let demoted = try await h.addMember(email: "demoted@example.com", role: "ADMIN")
        let later = try await h.call(
            Methods.TeamService.inviteUsers, InviteUsersRequest(inviteeEmail: "p2@example.com", inviteeRole: "ADMIN"),
            demoted
        ).finalInviteCode
        _ = try await h.call(
            Methods.TeamService.updateUserScopeRoleMapping,
            UpdateUserScopeRoleMappingRequest(email: "demoted@example.com", scopeRoleMapping: ["API": "MEMBER"]), owner)
        try await expectRefused(h, .permissionDenied, "a demoted issuer's invitation") {
            try await h.code(
                Methods.SessionService.signup,
                SignupRequest(email: "p2@example.com", password: Self.password, inviteCode: later))
        }
    }

    @Test(arguments: TestBackend.all)
    func aRemovedMembersSessionAndKeysStopAtOnce(backend: TestBackend) async throws {
        let h = try await Harness.make(backend)
        let owner = h.bearer(try await h.signupAdmin().sessionToken)
        let member = try await h.addMember(email: "m@example.com", role: "MEMBER")
        let job = try await h.call(Methods.InventoryService.applyAccessType, ApplyAccessTypeRequest(), owner).jobId
        #expect(try await h.code(Methods.SessionService.me, MeRequest(), member) == .ok)
        _ = try await h.call(Methods.TeamService.removeUser, RemoveUserRequest(email: "m@example.com"), owner)
        #expect(try await h.code(Methods.SessionService.me, MeRequest(), member) == .unauthenticated)
        #expect(try await h.code(Methods.JobService.getJob, GetJobRequest(jobId: job), member) == .unauthenticated)
    }

    @Test(arguments: TestBackend.all)
    func oneWorkspaceReachesNeitherTheOrganizationNorKeysAfterAReset(backend: TestBackend) async throws {
        let h = try await Harness.make(backend)
        let (owner, bAdmin) = try await ownerAndWorkspaceAdmin(h, "b-admin@example.com")
        try await expectRefused(h, .permissionDenied, "renaming the organization from workspace B") {
            try await h.code(
                Methods.AccountService.updateUsernameAndOrganization,
                UpdateUsernameAndOrganizationRequest(username: "B Admin", organization: "Renamed"), bAdmin)
        }
        // ResetPassword revokes the user's sessions and API tokens.
        let key = try #require(
            try await h.call(Methods.TokenService.addApiToken, AddApiTokenRequest(tokenUtility: "EXTERNAL_API"), bAdmin)
                .apiTokenList.first
        ).key
        #expect(try await h.code(Methods.SessionService.me, MeRequest(), h.apiKey(key)) == .ok)
        let reset = try await h.call(
            Methods.TeamService.resetUserPassword, ResetUserPasswordRequest(userEmail: "b-admin@example.com"), owner
        ).passwordResetToken
        _ = try await h.call(
            Methods.SessionService.resetPassword, ResetPasswordRequest(token: reset, newPassword: "Another-pass-42"))
        #expect(try await h.code(Methods.SessionService.me, MeRequest(), h.apiKey(key)) == .unauthenticated)
        #expect(try await h.code(Methods.SessionService.me, MeRequest(), bAdmin) == .unauthenticated)
        #expect(try await h.auditCount("ResetPassword") == 1)
    }

    @Test(arguments: TestBackend.all)
    func invitationsRevealNothingAndExistingUsersJoin(backend: TestBackend) async throws {
        let h = try await Harness.make(backend)
        _ = try await h.signupAdmin()
        let (other, _) = try await h.addOtherOrganization()
        let code = try await h.call(
            Methods.TeamService.inviteUsers,
            InviteUsersRequest(inviteeEmail: "admin@example.com", inviteeRole: "GUEST"), other
        ).finalInviteCode
        let badCode = try await #require(throws: RPCError.self) {
            try await h.call(
                Methods.SessionService.signup,
                SignupRequest(
                    email: "nobody@example.com", password: Self.password, inviteCode: String(repeating: "x", count: 43))
            )
        }
        let wrongPassword = try await #require(throws: RPCError.self) {
            try await h.call(
                Methods.SessionService.signup,
                SignupRequest(email: "admin@example.com", password: "Not-the-password-1", inviteCode: code))
        }
        // The same answer as any unusable code: nothing says the address has an account elsewhere.
        #expect(wrongPassword.code == badCode.code && wrongPassword.message == badCode.message)
        #expect(wrongPassword.code == .permissionDenied)
        // With their own password, the existing user joins the second workspace.
        let joined = try await h.call(
            Methods.SessionService.signup,
            SignupRequest(email: "admin@example.com", password: Self.password, inviteCode: code))
        let me = try await h.call(Methods.SessionService.me, MeRequest(), h.bearer(joined.sessionToken))
        #expect(me.accounts.count == 2 && me.user?.name == "Admin")
        // Signed in, AcceptInvitation does the same for an invitation to the caller's own e-mail only.
        let second = try await h.call(
            Methods.TeamService.inviteUsers, InviteUsersRequest(inviteeEmail: "m@example.com", inviteeRole: "GUEST"),
            other
        ).finalInviteCode
        let admin = h.bearer(joined.sessionToken)
        try await expectRefused(h, .permissionDenied, "AcceptInvitation of someone else's invitation") {
            try await h.code(Methods.TeamService.acceptInvitation, AcceptInvitationRequest(inviteCode: second), admin)
        }
        let member = try await h.addMember(email: "m@example.com", role: "MEMBER")
        let accepted = try await h.call(
            Methods.TeamService.acceptInvitation, AcceptInvitationRequest(inviteCode: second), member)
        #expect(accepted.scopeRoleMapping["API"] == "GUEST")
        #expect(
            try await h.code(Methods.TeamService.acceptInvitation, AcceptInvitationRequest(inviteCode: second), member)
                == .permissionDenied)
    }

    @Test(arguments: TestBackend.all)
    func aRoleDeletedWhileItIsGrantedLeavesNoHolder(backend: TestBackend) async throws {
        let h = try await Harness.make(backend)
        let owner = h.bearer(try await h.signupAdmin().sessionToken)
        for i in 0..<4 { _ = try await h.addMember(email: "m\(i)@example.com", role: "GUEST") }
        for round in 0..<5 {
            let name = "RACY\(round)"
            _ = try await h.call(
                Methods.RoleService.createCustomRole, CreateCustomRoleRequest(roleName: name, baseRole: "GUEST"), owner)
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    _ = try? await h.code(
                        Methods.RoleService.deleteCustomRole, DeleteCustomRoleRequest(roleName: name), owner)
                }
                for i in 0..<4 {
                    group.addTask {
                        _ = try? await h.code(
                            Methods.TeamService.makeAdmin, MakeAdminRequest(email: "m\(i)@example.com", userRole: name),
                            owner)
                    }
                }
                group.addTask {
                    _ = try? await h.code(
                        Methods.TeamService.inviteUsers,
                        InviteUsersRequest(inviteeEmail: "inv\(round)@example.com", inviteeRole: name), owner)
                }
            }
            let roles = try await h.call(Methods.RoleService.getCustomRoles, GetCustomRolesRequest(), owner).roles.map(
                \.name)
            let team = try await h.call(Methods.TeamService.getTeamData, GetTeamDataRequest(), owner)
            let holders =
                team.users.filter { $0.scopeRoleMapping.values.contains(name) }.count
                + team.pendingInvitations.filter { $0.scopeRoleMapping.values.contains(name) }.count
            // One side wins cleanly: the role is gone and nobody holds it, or it stayed because someone does.
            #expect(roles.contains(name) || holders == 0, "round \(round): \(holders) hold a deleted role")
            for i in 0..<4 {
                _ = try await h.call(
                    Methods.TeamService.makeAdmin, MakeAdminRequest(email: "m\(i)@example.com", userRole: "GUEST"),
                    owner)
            }
        }
    }
}
