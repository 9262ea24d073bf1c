import AccessCore
import AccessRPC
import AccessWire
import Testing

@testable import AccessService

@Suite struct SessionOperationsTests {
    @Test func theFirstSignupCreatesOrganizationAccountAndAdmin() async throws {
        let h = try Harness()
        let signup = try await h.signupAdmin(email: "  Admin@Example.COM ")
        #expect(signup.activeAccountId == 1_000_000)
        #expect(signup.user?.login == "admin@example.com")
        #expect(signup.sessionToken.count == 43)
        let me = try await h.call(Methods.SessionService.me, MeRequest(), h.bearer(signup.sessionToken))
        #expect(me.currentRole == "ADMIN" && me.currentScope == "API")
        #expect(me.scopeRoleMapping == ["API": "ADMIN", "AGENTIC": "ADMIN", "ENDPOINT": "ADMIN", "DAST": "ADMIN"])
        #expect(me.organization?.adminEmail == "admin@example.com")
        #expect(try await h.auditCount("Signup") == 1)
    }

    @Test func laterSignupsNeedAValidInviteCode() async throws {
        let h = try Harness()
        _ = try await h.signupAdmin()
        let missing = try await #require(throws: RPCError.self) {
            try await h.call(
                Methods.SessionService.signup, SignupRequest(email: "b@example.com", password: "Secret123-horse"))
        }
        #expect(missing.violations.first?.field == "inviteCode")
        let wrong = try await h.code(
            Methods.SessionService.signup,
            SignupRequest(email: "b@example.com", password: "Secret123-horse", inviteCode: "nope"))
        #expect(wrong == .permissionDenied)
    }

    @Test(arguments: [
        (SignupRequest(email: "not-an-email", password: "Secret123-horse"), "email"),
        (SignupRequest(email: "a@example.com", password: "short1"), "password"),
        (SignupRequest(email: "a@example.com", password: "lettersonly"), "password"),
        // SPEC.md's password rule: 12-128 characters, not a common password, not the e-mail's name.
        (SignupRequest(email: "a@example.com", password: "elevenchars"), "password"),
        (SignupRequest(email: "a@example.com", password: String(repeating: "x", count: 129)), "password"),
        (SignupRequest(email: "a@example.com", password: "QWERTY123456"), "password"),
        (SignupRequest(email: "jonathan@example.com", password: "my-Jonathan-secret"), "password"),
        (SignupRequest(email: "a@example.com", password: "Secret123-horse", name: "bad<name>"), "name"),
        (SignupRequest(email: "a@example.com", password: "Secret123-horse", organization: "a/b"), "organization"),
    ])
    func signupValidatesEveryField(request: SignupRequest, field: String) async throws {
        let h = try Harness()
        let error = try await #require(throws: RPCError.self) {
            try await h.call(Methods.SessionService.signup, request)
        }
        #expect(error.code == .invalidArgument)
        #expect(error.violations.first?.field == field)
        #expect(try await !h.store.hasUsers())  // nothing saved
    }

    @Test func loginAnswersAlikeForUnknownEmailAndWrongPassword() async throws {
        let h = try Harness()
        _ = try await h.signupAdmin()
        let unknown = try await #require(throws: RPCError.self) {
            try await h.call(
                Methods.SessionService.login, LoginRequest(email: "who@example.com", password: "Secret123-horse"))
        }
        let wrong = try await #require(throws: RPCError.self) {
            try await h.call(
                Methods.SessionService.login, LoginRequest(email: "admin@example.com", password: "Wrong1234"))
        }
        #expect(unknown == wrong)
        #expect(unknown.code == .unauthenticated)
        let ok = try await h.call(
            Methods.SessionService.login, LoginRequest(email: "ADMIN@example.com", password: "Secret123-horse"))
        #expect(ok.activeAccountId == 1_000_000)
    }

    @Test func sessionsExpire() async throws {
        let h = try Harness { $0.sessionLifetime = .seconds(3600) }
        let token = try await h.signupAdmin().sessionToken
        #expect(try await h.code(Methods.SessionService.me, MeRequest(), h.bearer(token)) == .ok)
        h.clock.advance(3601)
        #expect(try await h.code(Methods.SessionService.me, MeRequest(), h.bearer(token)) == .unauthenticated)
    }

    @Test(arguments: [
        [], [MetadataEntry("authorization", "Basic abc")], [MetadataEntry("authorization", "Bearer short")],
        [MetadataEntry("authorization", "Bearer " + String(repeating: "A", count: 43))],
        [MetadataEntry("x-api-key", "akto_nope")],
    ])
    func missingOrBadCredentialsAreUnauthenticated(metadata: [MetadataEntry]) async throws {
        let h = try Harness()
        _ = try await h.signupAdmin()
        #expect(try await h.code(Methods.SessionService.me, MeRequest(), metadata) == .unauthenticated)
    }

    @Test func otherContextSourcesAreNoScopeAndGarbageIsInvalid() async throws {
        let h = try Harness()
        let token = try await h.signupAdmin().sessionToken
        let garbage = h.bearer(token) + [MetadataEntry("x-context-source", "MARS ROVER")]
        #expect(try await h.code(Methods.SessionService.me, MeRequest(), garbage) == .invalidArgument)
        // Akto's MCP context is accepted and resolves to NO_ACCESS, even for an ADMIN of every scope.
        let mcp = h.bearer(token) + [MetadataEntry("x-context-source", "MCP")]
        let me = try await h.call(Methods.SessionService.me, MeRequest(), mcp)
        #expect(me.currentScope == "MCP" && me.currentRole == "NO_ACCESS")
        #expect(try await h.code(Methods.RoleService.getCustomRoles, GetCustomRolesRequest(), mcp) == .permissionDenied)
        let agentic = h.bearer(token) + [MetadataEntry("x-context-source", "agentic")]
        #expect(try await h.call(Methods.SessionService.me, MeRequest(), agentic).currentScope == "AGENTIC")
    }

    @Test func logoutRevokesThisSessionOrAll() async throws {
        let h = try Harness()
        let first = try await h.signupAdmin().sessionToken
        let second = try await h.call(
            Methods.SessionService.login, LoginRequest(email: "admin@example.com", password: "Secret123-horse")
        ).sessionToken
        let answer = try await h.call(Methods.SessionService.logout, LogoutRequest(), h.bearer(first))
        #expect(answer.logoutUrl == "https://app.example.com/login")
        #expect(try await h.code(Methods.SessionService.me, MeRequest(), h.bearer(first)) == .unauthenticated)
        #expect(try await h.code(Methods.SessionService.me, MeRequest(), h.bearer(second)) == .ok)
        let third = try await h.call(
            Methods.SessionService.login, LoginRequest(email: "admin@example.com", password: "Secret123-horse")
        ).sessionToken
        _ = try await h.call(Methods.SessionService.logout, LogoutRequest(allSessions: true), h.bearer(third))
        #expect(try await h.code(Methods.SessionService.me, MeRequest(), h.bearer(second)) == .unauthenticated)
        #expect(try await h.auditCount("Logout") == 2)
    }

    @Test(arguments: [
        "//evil.com", "/\\evil.com", "javascript:alert(1)", "https://evil.com/x", "https://user@docs.example.com/",
        "https://docs.example.com.evil.com/", "http://docs.example.com/", "data:text/html,hi", "/ok\\x",
    ])
    func logoutRefusesOpenRedirects(url: String) async throws {
        let h = try Harness()
        let token = try await h.signupAdmin().sessionToken
        let error = try await #require(throws: RPCError.self) {
            try await h.call(Methods.SessionService.logout, LogoutRequest(redirectUrl: url), h.bearer(token))
        }
        #expect(error.violations.first?.field == "redirectUrl")
        #expect(try await h.code(Methods.SessionService.me, MeRequest(), h.bearer(token)) == .ok)  // still signed in
    }

    @Test func logoutSendsBrowsersThroughTheSSOLogoutWithAnAllowedReturn() async throws {
        let h = try Harness { $0.logoutURL = "https://sso.example.com/v2/logout?client_id=abc" }
        let token = try await h.signupAdmin().sessionToken
        let answer = try await h.call(
            Methods.SessionService.logout, LogoutRequest(redirectUrl: "https://docs.example.com/bye?x=1"),
            h.bearer(token))
        #expect(
            answer.logoutUrl
                == "https://sso.example.com/v2/logout?client_id=abc&returnTo=https%3A%2F%2Fdocs.example.com%2Fbye%3Fx%3D1"
        )
    }
}
