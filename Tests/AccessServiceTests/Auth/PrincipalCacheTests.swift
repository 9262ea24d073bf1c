import AccessCore
import AccessRPC
import AccessWire
import Testing

@testable import AccessService
@testable import AccessSQLite

/// The principal cache (<doc:Storage>): authenticated calls answered from memory — where they arrive, on
/// SQLite — and never stale, on this process or another, on both stores.
@Suite struct PrincipalCacheTests {
    func apiKey(_ h: Harness, _ admin: [MetadataEntry], utility: String = "EXTERNAL_API") async throws -> ApiToken {
        try #require(
            try await h.call(Methods.TokenService.addApiToken, AddApiTokenRequest(tokenUtility: utility), admin)
                .apiTokenList.first)
    }

    @Test(arguments: TestBackend.all)
    func anAuthenticatedReadIsAnsweredFromMemoryAfterTheFirst(backend: TestBackend) async throws {
        let h = try await Harness.make(backend)
        let admin = h.bearer(try await h.signupAdmin().sessionToken)
        let key = h.apiKey(try await apiKey(h, admin).key)
        // Cold: nothing can be answered without the store.
        #expect(try h.callNow(Methods.SessionService.me, MeRequest(), key) == nil)
        let first = try await h.call(Methods.SessionService.me, MeRequest(), key)
        let before = h.service.authenticator.cache.statistics
        let second = try await h.call(Methods.SessionService.me, MeRequest(), key)
        #expect(second == first)
        #expect(h.service.authenticator.cache.statistics.hits > before.hits)
        switch backend {
        case .sqlite:
            // The version is a load from shared memory: the call is answered where it arrived, same answer.
            let now = try #require(try h.callNow(Methods.SessionService.me, MeRequest(), key))
            #expect(try now.get() == first)
            // A refusal from memory too: an EXTERNAL_API key may not sign out (session-only operation).
            let refused = try #require(try h.callNow(Methods.SessionService.logout, LogoutRequest(), key))
            #expect(throws: RPCError.self) { try refused.get() }
        case .postgres:
            // Checking the version is a round trip: never answered without waiting.
            #expect(try h.callNow(Methods.SessionService.me, MeRequest(), key) == nil)
        }
    }

    @Test(arguments: TestBackend.all)
    func aRevocationAcknowledgedByAnotherProcessIsSeenByTheNextCall(backend: TestBackend) async throws {
        let a = try await Harness.make(backend)
        let b = try await a.otherProcess()
        let admin = a.bearer(try await a.signupAdmin().sessionToken)
        // An API key, warm in B's cache, deleted through A.
        let token = try await apiKey(a, admin)
        for _ in 0..<3 { _ = try await b.call(Methods.SessionService.me, MeRequest(), b.apiKey(token.key)) }
        _ = try await a.call(Methods.TokenService.deleteApiToken, DeleteApiTokenRequest(apiTokenId: token.id), admin)
        #expect(try await b.code(Methods.SessionService.me, MeRequest(), b.apiKey(token.key)) == .unauthenticated)

        // A session signed out through A.
        let login = try await b.call(
            Methods.SessionService.login, LoginRequest(email: "admin@example.com", password: "Secret123-horse"))
        for _ in 0..<3 { _ = try await b.call(Methods.SessionService.me, MeRequest(), b.bearer(login.sessionToken)) }
        _ = try await a.call(Methods.SessionService.logout, LogoutRequest(), a.bearer(login.sessionToken))
        #expect(
            try await b.code(Methods.SessionService.me, MeRequest(), b.bearer(login.sessionToken)) == .unauthenticated)

        // An ADMIN demoted through A loses an admin operation on B at once; removed, the credential stands for
        // nobody.
        let member = try await a.addMember(email: "member@example.com", role: "ADMIN")
        let adminWrite = AuthorizeRequest(check: DecisionCheck(feature: "ADMIN_ACTIONS", access: "READ_WRITE"))
        for _ in 0..<3 {
            #expect(try await b.call(Methods.DecisionService.authorize, adminWrite, member).decision?.allowed == true)
        }
        _ = try await a.call(
            Methods.TeamService.makeAdmin, MakeAdminRequest(email: "member@example.com", userRole: "GUEST"), admin)
        let demoted = try await b.call(Methods.DecisionService.authorize, adminWrite, member).decision
        #expect(demoted?.allowed == false && demoted?.code == "PERMISSION_DENIED")
        _ = try await a.call(Methods.TeamService.removeUser, RemoveUserRequest(email: "member@example.com"), admin)
        #expect(try await b.code(Methods.SessionService.me, MeRequest(), member) == .unauthenticated)
        if backend == .sqlite, let now = try b.callNow(Methods.SessionService.me, MeRequest(), member) {
            #expect(throws: RPCError.self) { try now.get() }
        }
    }

    @Test func writesThatChangeNoPrincipalLeaveTheVersionAlone() async throws {
        let h = try Harness()
        let admin = h.bearer(try await h.signupAdmin().sessionToken)
        let token = try await apiKey(h, admin)
        let version = h.store.version
        var seen = try #require(version.currentNow())
        // A sign-in (a new session), a new API key and a key's last-use time change no existing principal.
        _ = try await h.call(
            Methods.SessionService.login, LoginRequest(email: "admin@example.com", password: "Secret123-horse"))
        _ = try await apiKey(h, admin)
        try await h.store.touchApiToken(id: token.id, now: Int64(h.clock.now()) + 3600)
        #expect(version.currentNow() == seen)
        // A role change does, before it is acknowledged.
        _ = try await h.addMember(email: "member@example.com", role: "MEMBER")
        #expect(try #require(version.currentNow()).principals > seen.principals)
        seen = try #require(version.currentNow())
        _ = try await h.call(
            Methods.TeamService.makeAdmin, MakeAdminRequest(email: "member@example.com", userRole: "GUEST"), admin)
        #expect(try #require(version.currentNow()).principals > seen.principals)
        seen = try #require(version.currentNow())
        _ = try await h.call(Methods.TokenService.deleteApiToken, DeleteApiTokenRequest(apiTokenId: token.id), admin)
        #expect(try #require(version.currentNow()).principals > seen.principals)
        // A custom role's edit moves the custom-role half only.
        seen = try #require(version.currentNow())
        _ = try await h.call(
            Methods.RoleService.createCustomRole, CreateCustomRoleRequest(roleName: "AUDITOR", baseRole: "GUEST"), admin
        )
        let after = try #require(version.currentNow())
        #expect(after.principals == seen.principals && after.customRoles > seen.customRoles)
    }

    @Test(arguments: TestBackend.all)
    func aCustomRoleEditReachesItsHoldersAtOnceAndNobodyElse(backend: TestBackend) async throws {
        let a = try await Harness.make(backend)
        let b = try await a.otherProcess()
        let admin = a.bearer(try await a.signupAdmin().sessionToken)
        _ = try await a.call(
            Methods.RoleService.createCustomRole, CreateCustomRoleRequest(roleName: "AUDITOR", baseRole: "GUEST"), admin
        )
        let holder = try await a.addMember(email: "auditor@example.com", role: "AUDITOR")
        let key = b.apiKey(try await apiKey(a, admin).key)
        let write = AuthorizeRequest(check: DecisionCheck(feature: "INVENTORY", access: "READ_WRITE"))
        for _ in 0..<3 {
            #expect(try await b.call(Methods.DecisionService.authorize, write, holder).decision?.allowed == false)
            _ = try await b.call(Methods.SessionService.me, MeRequest(), key)
        }
        // Through A: AUDITOR now rests on MEMBER. B's next decision for its holder sees it...
        _ = try await a.call(
            Methods.RoleService.updateCustomRole, UpdateCustomRoleRequest(roleName: "AUDITOR", baseRole: "MEMBER"),
            admin)
        #expect(try await b.call(Methods.DecisionService.authorize, write, holder).decision?.allowed == true)
        // ...and back.
        _ = try await a.call(
            Methods.RoleService.updateCustomRole, UpdateCustomRoleRequest(roleName: "AUDITOR", baseRole: "GUEST"), admin
        )
        #expect(try await b.call(Methods.DecisionService.authorize, write, holder).decision?.allowed == false)
        // The ADMIN's API key holds no custom role: still answered from memory on SQLite after the edits.
        if backend == .sqlite {
            #expect(try b.callNow(Methods.SessionService.me, MeRequest(), key) != nil)
        }
    }

    /// Me's whole answer is kept once it is answered from memory; a change another process makes to what it
    /// shows (the user's name, the organization's) reaches the very next call.
    @Test(arguments: TestBackend.all)
    func aCachedMeAnswerFollowsAChangeMadeElsewhere(backend: TestBackend) async throws {
        let a = try await Harness.make(backend)
        let b = try await a.otherProcess()
        let admin = a.bearer(try await a.signupAdmin().sessionToken)
        let key = b.apiKey(try await apiKey(a, admin).key)
        for _ in 0..<3 { _ = try await b.call(Methods.SessionService.me, MeRequest(), key) }
        if backend == .sqlite {
            #expect(try b.callNow(Methods.SessionService.me, MeRequest(), key) != nil)
        }
        _ = try await a.call(
            Methods.AccountService.updateUsernameAndOrganization,
            UpdateUsernameAndOrganizationRequest(username: "Renamed Admin", organization: "Renamed Org"), admin)
        if backend == .sqlite, let now = try b.callNow(Methods.SessionService.me, MeRequest(), key) {
            #expect(try now.get().user?.name == "Renamed Admin")
        }
        let after = try await b.call(Methods.SessionService.me, MeRequest(), key)
        #expect(after.user?.name == "Renamed Admin")
        #expect(after.organization?.name == "Renamed Org")
    }

    @Test func entriesDieAfterTheirMaximumAgeAndTheCacheIsBounded() async throws {
        // One Me keeps four entries (the key, the user, their memberships, the organization), and a fifth, its
        // whole answer, once it is answered from memory.
        let h = try Harness { $0.principalCacheEntries = 8 }
        let admin = h.bearer(try await h.signupAdmin().sessionToken)
        let key = h.apiKey(try await apiKey(h, admin).key)
        _ = try await h.call(Methods.SessionService.me, MeRequest(), key)
        #expect(try h.callNow(Methods.SessionService.me, MeRequest(), key) != nil)
        h.clock.advance(h.service.configuration.principalCacheSeconds + 1)
        #expect(try h.callNow(Methods.SessionService.me, MeRequest(), key) == nil)
        // Many credentials: never more entries than the bound.
        for _ in 0..<10 {
            let other = h.apiKey(try await apiKey(h, admin).key)
            _ = try await h.call(Methods.SessionService.me, MeRequest(), other)
            #expect(h.service.authenticator.cache.statistics.entries <= 8)
        }
    }

    @Test func anUnknownCredentialIsNeverCached() async throws {
        let h = try Harness()
        _ = try await h.signupAdmin()
        var random = SystemRandomNumberGenerator()
        let made = h.apiKey(ApiKeyFormat.generate(using: &random))
        for _ in 0..<3 {
            let code = try await h.code(Methods.SessionService.me, MeRequest(), made)
            #expect(code == .unauthenticated)
        }
        #expect(h.service.authenticator.cache.statistics.entries == 0)
    }

    @Test func withTheCacheOffEveryCallReadsTheStore() async throws {
        let h = try Harness { $0.principalCacheEntries = 0 }
        let admin = h.bearer(try await h.signupAdmin().sessionToken)
        let key = h.apiKey(try await apiKey(h, admin).key)
        for _ in 0..<3 { _ = try await h.call(Methods.SessionService.me, MeRequest(), key) }
        #expect(try h.callNow(Methods.SessionService.me, MeRequest(), key) == nil)
        #expect(h.service.authenticator.cache.statistics.entries == 0)
    }
}

/// The cache itself at a production size: split over shards, still bounded in total, still finding what it kept.
@Suite struct PrincipalCacheShardTests {
    struct FixedVersion: AuthorityVersion {
        func currentNow() -> AuthorityStamp? { AuthorityStamp(principals: 1, customRoles: 1) }
        func current() async throws -> AuthorityStamp { AuthorityStamp(principals: 1, customRoles: 1) }
    }

    @Test func aLargeCacheIsShardedAndStaysWithinItsBound() {
        let cache = PrincipalCache(version: FixedVersion(), capacity: 4096, maxAge: 30, clock: SystemWallClock())
        let stamp = AuthorityStamp(principals: 1, customRoles: 1)
        for id in 0..<20_000 {
            cache.store(.user(id: Int32(id)), id, at: stamp, involvesCustomRoles: false)
            #expect(cache.peek(.user(id: Int32(id)), as: Int.self, at: stamp) == id)
            #expect(cache.statistics.entries <= 4096)
        }
        #expect(cache.statistics.entries > 16)
        // A moved version invalidates entries in every shard.
        let later = AuthorityStamp(principals: 2, customRoles: 1)
        #expect((19_000..<20_000).allSatisfy { cache.peek(.user(id: Int32($0)), as: Int.self, at: later) == nil })
    }
}
