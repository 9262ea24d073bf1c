import AccessCore
import AccessRPC
import AccessWire
import Testing

@testable import AccessService

@Suite struct AccountOperationsTests {
    @Test func createNewAccountAnswersTheRealIdAndSwitchesTheSession() async throws {
        let h = try Harness()
        let session = h.bearer(try await h.signupAdmin().sessionToken)
        let created = try await h.call(
            Methods.AccountService.createNewAccount, CreateNewAccountRequest(newAccountName: "  Staging  "), session)
        #expect(created.newAccountId == 1_000_001 && created.newAccountName == "Staging")
        let me = try await h.call(Methods.SessionService.me, MeRequest(), session)
        #expect(me.activeAccountId == 1_000_001)
        #expect(me.currentRole == "ADMIN")
        #expect(me.accounts.map(\.accountId) == [1_000_000, 1_000_001])
        #expect(me.accounts.map(\.organizationId) == Array(repeating: me.organization?.id ?? "", count: 2))
    }

    @Test func aUserMayBelongToAtMostTenAccounts() async throws {
        let h = try Harness()
        let session = h.bearer(try await h.signupAdmin().sessionToken)
        for i in 2...10 {
            _ = try await h.call(
                Methods.AccountService.createNewAccount, CreateNewAccountRequest(newAccountName: "A\(i)"), session)
        }
        let eleventh = try await h.code(
            Methods.AccountService.createNewAccount, CreateNewAccountRequest(newAccountName: "A11"), session)
        #expect(eleventh == .failedPrecondition)
        #expect(try await h.call(Methods.SessionService.me, MeRequest(), session).accounts.count == 10)
    }

    @Test(arguments: ["", "   ", String(repeating: "x", count: 51), "tab\there"])
    func accountNamesAreValidated(name: String) async throws {
        let h = try Harness()
        let session = h.bearer(try await h.signupAdmin().sessionToken)
        let error = try await #require(throws: RPCError.self) {
            try await h.call(
                Methods.AccountService.createNewAccount, CreateNewAccountRequest(newAccountName: name), session)
        }
        #expect(error.violations.first?.field == "newAccountName")
    }

    @Test func onlyAdminsCreateAccounts() async throws {
        let h = try Harness()
        _ = try await h.signupAdmin()
        let member = try await h.addMember(email: "m@example.com", role: "MEMBER")
        #expect(
            try await h.code(
                Methods.AccountService.createNewAccount, CreateNewAccountRequest(newAccountName: "x"), member)
                == .permissionDenied)
    }

    @Test func goToAccountNeedsMembershipAndAnswersAlikeForMissingAccounts() async throws {
        let h = try Harness()
        let admin = h.bearer(try await h.signupAdmin().sessionToken)
        let other = try await h.call(
            Methods.AccountService.createNewAccount, CreateNewAccountRequest(newAccountName: "Other"), admin)
        let member = try await h.addMember(email: "m@example.com", role: "MEMBER")
        let notMember = try await #require(throws: RPCError.self) {
            try await h.call(
                Methods.AccountService.goToAccount, GoToAccountRequest(newAccountId: other.newAccountId), member)
        }
        let missing = try await #require(throws: RPCError.self) {
            try await h.call(Methods.AccountService.goToAccount, GoToAccountRequest(newAccountId: 4_242_424), member)
        }
        #expect(notMember.code == .permissionDenied && missing.code == .permissionDenied)
        #expect(
            notMember.message.replacingOccurrences(of: "\(other.newAccountId)", with: "N")
                == missing.message.replacingOccurrences(of: "4242424", with: "N"))
        let back = try await h.call(
            Methods.AccountService.goToAccount, GoToAccountRequest(newAccountId: 1_000_000), admin)
        #expect(back.newAccountId == 1_000_000)
        #expect(try await h.call(Methods.SessionService.me, MeRequest(), admin).activeAccountId == 1_000_000)
    }

    @Test func theOwnerRenamesThemselvesAndTheOrganizationAllOrNothing() async throws {
        let h = try Harness()
        let admin = h.bearer(try await h.signupAdmin().sessionToken)
        // `organization` is optional (SPEC.md, Authority): absent renames only the user.
        let userOnly = try await h.call(
            Methods.AccountService.updateUsernameAndOrganization,
            UpdateUsernameAndOrganizationRequest(username: "Temp"), admin)
        #expect(userOnly.username == "Temp" && userOnly.organization == "My organization")
        _ = try await h.call(
            Methods.AccountService.updateUsernameAndOrganization,
            UpdateUsernameAndOrganizationRequest(username: "Admin"), admin)
        let badOrganization = try await #require(throws: RPCError.self) {
            try await h.call(
                Methods.AccountService.updateUsernameAndOrganization,
                UpdateUsernameAndOrganizationRequest(username: "New Name", organization: "Bad/Org"), admin)
        }
        #expect(badOrganization.violations.first?.field == "organization")
        var me = try await h.call(Methods.SessionService.me, MeRequest(), admin)
        #expect(me.user?.name == "Admin")  // nothing was saved
        _ = try await h.call(
            Methods.AccountService.updateUsernameAndOrganization,
            UpdateUsernameAndOrganizationRequest(username: " New Name ", organization: "Acme & Co."), admin)
        me = try await h.call(Methods.SessionService.me, MeRequest(), admin)
        #expect(me.user?.name == "New Name" && me.organization?.name == "Acme & Co.")
    }

    @Test func othersRenameOnlyThemselvesAndNeverTheOrganization() async throws {
        let h = try Harness()
        _ = try await h.signupAdmin()
        for (email, role) in [("m@example.com", "MEMBER"), ("a2@example.com", "ADMIN")] {
            let other = try await h.addMember(email: email, role: role)
            let refused = try await #require(throws: RPCError.self) {
                try await h.call(
                    Methods.AccountService.updateUsernameAndOrganization,
                    UpdateUsernameAndOrganizationRequest(username: "Changed", organization: "Hijacked"), other)
            }
            #expect(refused.code == .permissionDenied)
            // An unchanged organization name is a no-op, so anyone may send it back as the UI does.
            _ = try await h.call(
                Methods.AccountService.updateUsernameAndOrganization,
                UpdateUsernameAndOrganizationRequest(username: "Same Org", organization: "My organization"), other)
        }
        let member = try await h.addMember(email: "m3@example.com", role: "MEMBER")
        let answer = try await h.call(
            Methods.AccountService.updateUsernameAndOrganization,
            UpdateUsernameAndOrganizationRequest(username: "Mem-ber 2"), member)
        #expect(answer.organization == "My organization")
        #expect(try await h.call(Methods.SessionService.me, MeRequest(), member).user?.name == "Mem-ber 2")
    }

    @Test func usernamesAreValidated() async throws {
        let h = try Harness()
        _ = try await h.signupAdmin()
        let member = try await h.addMember(email: "m@example.com", role: "GUEST")
        for bad in ["", String(repeating: "a", count: 25), "semi;colon"] {
            let error = try await #require(throws: RPCError.self) {
                try await h.call(
                    Methods.AccountService.updateUsernameAndOrganization,
                    UpdateUsernameAndOrganizationRequest(username: bad, updateMask: ["username"]), member)
            }
            #expect(error.violations.first?.field == "username")
        }
        // Only carried fields change (AIP-134): no mask and no name keeps the name; an unknown path is refused.
        let kept = try await h.call(
            Methods.AccountService.updateUsernameAndOrganization, UpdateUsernameAndOrganizationRequest(), member)
        #expect(kept.username == "Member")
        #expect(try await h.auditCount("UpdateUsernameAndOrganization") == 0, "nothing changed, nothing audited")
        #expect(
            try await h.code(
                Methods.AccountService.updateUsernameAndOrganization,
                UpdateUsernameAndOrganizationRequest(updateMask: ["email"]),
                member) == .invalidArgument)
    }

    @Test func auditLogPagingIsBounded() async throws {
        let h = try Harness()
        let admin = h.bearer(try await h.signupAdmin().sessionToken)
        #expect(
            try await h.code(Methods.AccountService.fetchAuditLogs, FetchAuditLogsRequest(limit: 501), admin)
                == .invalidArgument)
        #expect(
            try await h.code(Methods.AccountService.fetchAuditLogs, FetchAuditLogsRequest(limit: -1), admin)
                == .invalidArgument)
        #expect(
            try await h.code(Methods.AccountService.fetchAuditLogs, FetchAuditLogsRequest(beforeId: -5), admin)
                == .invalidArgument)
        let page = try await h.call(Methods.AccountService.fetchAuditLogs, FetchAuditLogsRequest(limit: 1), admin)
        #expect(page.auditLogs.map(\.operation) == ["Signup"] && page.nextBeforeId == page.auditLogs.first?.id)
    }
}
