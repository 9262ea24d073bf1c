import AccessCore
import AccessRPC
import AccessWire
import Testing

@testable import AccessService

/// The dashboard's credentials (<doc:DashboardSessions>): the access token and the rotating refresh token, through the real
/// dispatcher on both stores, with the harness's clock.
@Suite struct DashboardSessionTests {
    static let password = "Secret123-horse"

    func dashboardLogin(_ h: Harness, email: String = "admin@example.com") async throws -> DashboardTokens {
        let login = try await h.call(
            Methods.SessionService.login, LoginRequest(email: email, password: Self.password, dashboard: true))
        #expect(login.sessionToken.isEmpty, "the session's own token never reaches the browser")
        return try #require(login.dashboardTokens)
    }

    func access(_ token: String) -> [MetadataEntry] { [MetadataEntry("access-token", token)] }

    func refresh(_ h: Harness, _ token: String) async throws -> DashboardTokens {
        try #require(
            try await h.call(Methods.SessionService.refreshAccessToken, RefreshAccessTokenRequest(refreshToken: token))
                .dashboardTokens)
    }

    @Test(arguments: TestBackend.all)
    func theAccessTokenAuthenticatesUntilItExpires(backend: TestBackend) async throws {
        let h = try await Harness.make(backend)
        _ = try await h.signupAdmin()
        let tokens = try await dashboardLogin(h)
        #expect(
            tokens.accessToken.count == 43 && tokens.refreshToken.count == 43
                && tokens.accessToken != tokens.refreshToken)
        #expect(tokens.accessTokenExpiresAt == Int64(h.clock.now()) + 15 * 60)
        let me = try await h.call(Methods.SessionService.me, MeRequest(), access(tokens.accessToken))
        #expect(me.user?.login == "admin@example.com" && me.currentRole == "ADMIN")
        // Opaque and checked server-side: a token that is not one is refused without being a session token.
        #expect(
            try await h.code(Methods.SessionService.me, MeRequest(), h.bearer(tokens.accessToken)) == .unauthenticated)
        // One character changed.
        let altered = (tokens.accessToken.first == "x" ? "y" : "x") + tokens.accessToken.dropFirst()
        #expect(try await h.code(Methods.SessionService.me, MeRequest(), access(altered)) == .unauthenticated)
        // The refresh token stands for the session only where the page renderer uses it.
        #expect(
            try await h.code(
                Methods.SessionService.me, MeRequest(), [MetadataEntry("refresh-token", tokens.refreshToken)]) == .ok)
        #expect(
            try await h.code(
                Methods.TokenService.fetchApiTokens, FetchApiTokensRequest(),
                [MetadataEntry("refresh-token", tokens.refreshToken)])
                == .unauthenticated)
        #expect(
            try await h.code(
                Methods.SessionService.me, MeRequest(),
                access(tokens.accessToken) + [MetadataEntry("x-api-key", "akto_x")])
                == .unauthenticated)
        h.clock.advance(15 * 60 + 1)
        #expect(
            try await h.code(Methods.SessionService.me, MeRequest(), access(tokens.accessToken)) == .unauthenticated)
        let renewed = try await refresh(h, tokens.refreshToken)
        #expect(try await h.code(Methods.SessionService.me, MeRequest(), access(renewed.accessToken)) == .ok)
    }

    @Test(arguments: TestBackend.all)
    func refreshRotatesAGraceReplayGetsTheSamePairAndReuseEndsTheSession(backend: TestBackend) async throws {
        let h = try await Harness.make(backend)
        _ = try await h.signupAdmin()
        let first = try await dashboardLogin(h)
        let second = try await refresh(h, first.refreshToken)
        #expect(second.refreshToken != first.refreshToken && second.accessToken != first.accessToken)
        // The first access token keeps working until its own expiry (another tab may hold it).
        #expect(try await h.code(Methods.SessionService.me, MeRequest(), access(first.accessToken)) == .ok)
        // Two tabs: the just-spent token within the grace window answers the very same pair.
        h.clock.advance(10)
        #expect(try await refresh(h, first.refreshToken) == second)
        // The current one rotates on; the spent first one, replayed within grace, walks to the newest pair.
        let third = try await refresh(h, second.refreshToken)
        #expect(try await refresh(h, first.refreshToken) == third)
        // After the grace window a spent token is reuse: the session ends, every one of its tokens with it.
        h.clock.advance(31)
        #expect(
            try await h.code(
                Methods.SessionService.refreshAccessToken, RefreshAccessTokenRequest(refreshToken: first.refreshToken))
                == .unauthenticated)
        #expect(try await h.auditCount("RefreshTokenReuse") == 1)
        #expect(try await h.code(Methods.SessionService.me, MeRequest(), access(third.accessToken)) == .unauthenticated)
        #expect(
            try await h.code(
                Methods.SessionService.refreshAccessToken, RefreshAccessTokenRequest(refreshToken: third.refreshToken))
                == .unauthenticated)
        // Garbage is refused without a lookup or a change.
        #expect(
            try await h.code(
                Methods.SessionService.refreshAccessToken, RefreshAccessTokenRequest(refreshToken: "short"))
                == .unauthenticated)
    }

    @Test(arguments: TestBackend.all)
    func everyRevocationOfTheSessionEndsItsDashboardTokens(backend: TestBackend) async throws {
        let h = try await Harness.make(backend)
        let admin = h.bearer(try await h.signupAdmin().sessionToken)
        // Logout through the access token.
        let tokens = try await dashboardLogin(h)
        _ = try await h.call(Methods.SessionService.logout, LogoutRequest(), access(tokens.accessToken))
        #expect(
            try await h.code(Methods.SessionService.me, MeRequest(), access(tokens.accessToken)) == .unauthenticated)
        #expect(
            try await h.code(
                Methods.SessionService.refreshAccessToken, RefreshAccessTokenRequest(refreshToken: tokens.refreshToken))
                == .unauthenticated)
        // A removed member's dashboard session stands for nobody.
        _ = try await h.addMember(email: "member@example.com", role: "MEMBER")
        let member = try await dashboardLogin(h, email: "member@example.com")
        _ = try await h.call(Methods.TeamService.removeUser, RemoveUserRequest(email: "member@example.com"), admin)
        #expect(
            try await h.code(Methods.SessionService.me, MeRequest(), access(member.accessToken)) == .unauthenticated)
        #expect(
            try await h.code(
                Methods.SessionService.refreshAccessToken, RefreshAccessTokenRequest(refreshToken: member.refreshToken))
                == .unauthenticated)
        // Logout of all sessions from elsewhere ends this one too.
        let other = try await dashboardLogin(h)
        _ = try await h.call(Methods.SessionService.logout, LogoutRequest(allSessions: true), admin)
        #expect(try await h.code(Methods.SessionService.me, MeRequest(), access(other.accessToken)) == .unauthenticated)
    }

    @Test(arguments: TestBackend.all)
    func refreshFloodsKeepTheTokenRowsBounded(backend: TestBackend) async throws {
        let h = try await Harness.make(backend) {
            $0.anonymousRate = 10_000; $0.anonymousBurst = 10_000
        }
        _ = try await h.signupAdmin()
        var tokens = try await dashboardLogin(h)
        for _ in 0..<40 { tokens = try await refresh(h, tokens.refreshToken) }
        // 16 access tokens at most; spent refresh tokens stay (they detect reuse) until the session ends.
        #expect(try await h.rowCount("session_tokens") <= RefreshRotation.maxAccessTokensPerSession + 41)
        #expect(try await h.code(Methods.SessionService.me, MeRequest(), access(tokens.accessToken)) == .ok)
    }

    @Test func sendPasswordResetLinkAnswersAlikeAndLeavesTheResetAllowance() async throws {
        let h = try Harness()
        let admin = h.bearer(try await h.signupAdmin().sessionToken)
        _ = try await h.addMember(email: "member@example.com", role: "MEMBER")
        let known = try await h.call(
            Methods.SessionService.sendPasswordResetLink, SendPasswordResetLinkRequest(email: "member@example.com"))
        let unknown = try await h.call(
            Methods.SessionService.sendPasswordResetLink, SendPasswordResetLinkRequest(email: "ghost@example.com"))
        #expect(known == unknown && known.message.contains("sends no e-mail"))
        #expect(
            try await h.code(Methods.SessionService.sendPasswordResetLink, SendPasswordResetLinkRequest(email: "nope"))
                == .invalidArgument)
        // The admin-issued reset still has its allowance.
        #expect(
            try await h.code(
                Methods.TeamService.resetUserPassword, ResetUserPasswordRequest(userEmail: "member@example.com"), admin)
                == .ok)
    }

    @Test func stiggCustomerTokenIsSignedWhenAKeyIsConfigured() async throws {
        let h = try Harness { $0.stiggSigningKey = Array("signing-key".utf8) }
        let admin = h.bearer(try await h.signupAdmin().sessionToken)
        let me = try await h.call(Methods.SessionService.me, MeRequest(), admin)
        let organization = try #require(me.organization?.id)
        let details = try await h.call(
            Methods.BillingService.getCustomerStiggDetails, GetCustomerStiggDetailsRequest(customerId: organization),
            admin)
        #expect(details.customerId == organization)
        #expect(
            details.customerToken.hasPrefix("HMAC-SHA256 \(organization):")
                && details.customerToken.count == 12 + organization.count + 1 + 64)
        #expect(
            try await h.code(
                Methods.BillingService.getCustomerStiggDetails, GetCustomerStiggDetailsRequest(customerId: "other"),
                admin)
                == .permissionDenied)
    }

    @Test func inviteLinksAreAcceptedWhereverACodeIs() {
        let link = InviteLink.link(base: "https://app.example.com/", code: "abc-_DEF", email: "a+b@example.com")
        #expect(
            link == "https://app.example.com/signup?signupInvitationCode=abc-_DEF&signupEmailId=a%2Bb%40example.com")
        #expect(InviteLink.code(from: link) == "abc-_DEF")
        #expect(InviteLink.code(from: "  abc-_DEF ") == "abc-_DEF")
    }
}
