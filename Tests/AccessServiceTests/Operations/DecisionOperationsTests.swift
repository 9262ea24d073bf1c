import AccessCore
import AccessRPC
import AccessWire
import Testing

@testable import AccessService

/// DecisionService through the real dispatcher, on both stores: who may ask, what a decision says, and that it
/// is never stale.
@Suite struct DecisionOperationsTests {
    static func check(_ feature: String, _ access: String, collection: Int32? = nil) -> DecisionCheck {
        DecisionCheck(feature: feature, access: access, collectionId: collection)
    }

    static func credential(session token: String) -> DecisionCredential { DecisionCredential(sessionToken: token) }

    @Test(arguments: TestBackend.all)
    func aCredentialIsJudgedByTheFeatureTableInItsScope(backend: TestBackend) async throws {
        let h = try await Harness.make(backend)
        _ = try await h.signupAdmin()
        let guest = try await h.addMember(email: "guest@example.com", role: "GUEST")
        let answer = try await h.call(
            Methods.DecisionService.authorizeBatch,
            AuthorizeBatchRequest(
                contextSource: "API",
                checks: [
                    Self.check("INVENTORY", "READ"), Self.check("INVENTORY", "READ_WRITE"),
                    Self.check("USER_ACTIONS", "READ_WRITE"), DecisionCheck(operation: "CreateCustomRole"),
                ]), guest)
        #expect(answer.decisions.map(\.allowed) == [true, false, true, false])
        #expect(answer.decisions[1].code == "PERMISSION_DENIED" && answer.decisions[1].reason.contains("GUEST"))
        let principal = try #require(answer.principal)
        #expect(principal.login == "guest@example.com" && principal.role == "GUEST" && principal.accountId == 1_000_000)
        #expect(principal.scope == "API" && principal.credential == "SESSION" && !principal.collectionLimited)
        // Another scope, another role: MCP is no scope, so NO_ACCESS (USER_ACTIONS stays).
        let mcp = try await h.call(
            Methods.DecisionService.authorize,
            AuthorizeRequest(contextSource: "MCP", check: Self.check("INVENTORY", "READ")), guest)
        #expect(mcp.decision?.allowed == false && mcp.principal?.baseRole == "NO_ACCESS")
    }

    @Test(arguments: TestBackend.all)
    func apiKeyUtilitiesAndCollectionsLimitDecisions(backend: TestBackend) async throws {
        let h = try await Harness.make(backend)
        let admin = h.bearer(try await h.signupAdmin().sessionToken)
        let burp = try #require(
            try await h.call(Methods.TokenService.addApiToken, AddApiTokenRequest(tokenUtility: "BURP"), admin)
                .apiTokenList.first
        ).key
        let answer = try await h.call(
            Methods.DecisionService.authorizeBatch,
            AuthorizeBatchRequest(
                checks: [
                    Self.check("INGEST", "READ_WRITE"), Self.check("INVENTORY", "READ_WRITE"),
                    Self.check("INVENTORY", "READ"),
                ]), h.apiKey(burp))
        #expect(answer.decisions.map(\.allowed) == [true, false, true])
        #expect(answer.principal?.credential == "API_KEY" && answer.principal?.tokenUtility == "BURP")

        var ids: [Int32] = []
        for name in ["seen", "unseen"] {
            let created = try await h.call(
                Methods.InventoryService.createCollection, CreateCollectionRequest(collectionName: name), admin)
            ids.append(try #require(created.apiCollection).id)
        }
        _ = try await h.call(
            Methods.RoleService.createCustomRole,
            CreateCustomRoleRequest(roleName: "LIMITED", baseRole: "MEMBER", apiCollectionIds: [ids[0]]), admin)
        let limited = try await h.addMember(email: "limited@example.com", role: "LIMITED")
        let collections = try await h.call(
            Methods.DecisionService.authorizeBatch,
            AuthorizeBatchRequest(
                checks: [
                    Self.check("INVENTORY", "READ", collection: ids[0]),
                    Self.check("INVENTORY", "READ", collection: ids[1]),
                ]), limited)
        #expect(collections.decisions.map(\.allowed) == [true, false])
        #expect(collections.principal?.collectionLimited == true && collections.principal?.collectionIds == [ids[0]])
    }

    @Test(arguments: TestBackend.all)
    func onlyDecisionClientsAskAboutAnotherCredential(backend: TestBackend) async throws {
        let h = try await Harness.make(backend) { $0.decisionAllowedUIDs = [4242] }
        let adminSession = try await h.signupAdmin().sessionToken
        let admin = h.bearer(adminSession)
        let member = try await h.addMember(email: "member@example.com", role: "MEMBER")
        let ask = AuthorizeRequest(
            credential: Self.credential(session: adminSession), check: Self.check("BILLING", "READ_WRITE"))
        // A member (or anyone without a credential) cannot look the admin's session up.
        #expect(
            await #expect(throws: RPCError.self) { try await h.call(Methods.DecisionService.authorize, ask, member) }?
                .code == .permissionDenied)
        #expect(
            await #expect(throws: RPCError.self) { try await h.call(Methods.DecisionService.authorize, ask) }?.code
                == .permissionDenied)
        // A socket peer outside the allow-list neither; one inside may, without a credential of its own.
        let stranger = Peer.unix(PeerCredentials(pid: 1, uid: 1000, gid: 1000))
        #expect(
            await #expect(throws: RPCError.self) {
                try await h.call(Methods.DecisionService.authorize, ask, peer: stranger)
            }?.code == .permissionDenied)
        let trusted = Peer.unix(PeerCredentials(pid: 1, uid: 4242, gid: 4242))
        let looked = try await h.call(Methods.DecisionService.authorize, ask, peer: trusted)
        #expect(looked.decision?.allowed == true && looked.principal?.login == "admin@example.com")
        // The same credential in the body as in the metadata is one's own.
        let own = try await h.call(Methods.DecisionService.authorize, ask, admin)
        #expect(own.decision?.allowed == true)

        // A DECISIONS key: minted by an API-scope admin only, asks about anyone, and can call nothing else.
        #expect(
            await #expect(throws: RPCError.self) {
                try await h.call(
                    Methods.TokenService.addApiToken, AddApiTokenRequest(tokenUtility: "DECISIONS"), member)
            }?.code == .permissionDenied)
        let decisions = try #require(
            try await h.call(Methods.TokenService.addApiToken, AddApiTokenRequest(tokenUtility: "DECISIONS"), admin)
                .apiTokenList.first
        ).key
        let viaKey = try await h.call(Methods.DecisionService.authorize, ask, h.apiKey(decisions))
        #expect(viaKey.decision?.allowed == true && viaKey.principal?.userId == looked.principal?.userId)
        // ... but only about its own organization's credentials; the operator's trusted peer about any.
        let other = try await h.addOtherOrganization()
        let otherToken = String(try #require(other.session.first).value.dropFirst("Bearer ".count))
        let aboutOther = AuthorizeRequest(
            credential: Self.credential(session: otherToken), check: Self.check("INVENTORY", "READ"))
        let refused = try await h.call(Methods.DecisionService.authorize, aboutOther, h.apiKey(decisions))
        #expect(refused.decision?.allowed == false && refused.decision?.code == "PERMISSION_DENIED")
        #expect(refused.principal == nil, "nothing about another organization's user")
        let byOperator = try await h.call(Methods.DecisionService.authorize, aboutOther, peer: trusted)
        #expect(byOperator.decision?.allowed == true && byOperator.principal?.login == "other-admin@example.com")
        #expect(try await h.code(Methods.SessionService.me, MeRequest(), h.apiKey(decisions)) == .permissionDenied)
        #expect(
            try await h.code(Methods.InventoryService.getCollections, GetCollectionsRequest(), h.apiKey(decisions))
                == .permissionDenied)
    }

    @Test(arguments: TestBackend.all)
    func aDecisionIsNeverStale(backend: TestBackend) async throws {
        let h = try await Harness.make(backend) { $0.decisionAllowedUIDs = [4242] }
        let trusted = Peer.unix(PeerCredentials(pid: 1, uid: 4242, gid: 4242))
        let admin = h.bearer(try await h.signupAdmin().sessionToken)
        let memberLogin = try await h.call(
            Methods.SessionService.login, LoginRequest(email: "admin@example.com", password: "Secret123-horse"))
        func allowed(_ credential: DecisionCredential, _ check: DecisionCheck) async throws -> Decision {
            try #require(
                try await h.call(
                    Methods.DecisionService.authorize, AuthorizeRequest(credential: credential, check: check),
                    peer: trusted
                ).decision)
        }
        // Logout: the very next decision denies.
        let session = Self.credential(session: memberLogin.sessionToken)
        #expect(try await allowed(session, Self.check("USER_ACTIONS", "READ")).allowed)
        _ = try await h.call(Methods.SessionService.logout, LogoutRequest(), h.bearer(memberLogin.sessionToken))
        let loggedOut = try await allowed(session, Self.check("USER_ACTIONS", "READ"))
        #expect(!loggedOut.allowed && loggedOut.code == "UNAUTHENTICATED")

        // A deleted key.
        let token = try #require(
            try await h.call(Methods.TokenService.addApiToken, AddApiTokenRequest(tokenUtility: "EXTERNAL_API"), admin)
                .apiTokenList.first)
        let key = DecisionCredential(apiKey: token.key)
        #expect(try await allowed(key, Self.check("INVENTORY", "READ")).allowed)
        _ = try await h.call(Methods.TokenService.deleteApiToken, DeleteApiTokenRequest(apiTokenId: token.id), admin)
        #expect(try await allowed(key, Self.check("INVENTORY", "READ")).code == "UNAUTHENTICATED")

        // A demotion, then a removal.
        let member = try await h.addMember(email: "member@example.com", role: "ADMIN")
        let memberToken = String(try #require(member.first).value.dropFirst("Bearer ".count))
        let memberCredential = Self.credential(session: memberToken)
        #expect(try await allowed(memberCredential, Self.check("ADMIN_ACTIONS", "READ_WRITE")).allowed)
        _ = try await h.call(
            Methods.TeamService.makeAdmin, MakeAdminRequest(email: "member@example.com", userRole: "GUEST"), admin)
        let demoted = try await allowed(memberCredential, Self.check("ADMIN_ACTIONS", "READ_WRITE"))
        #expect(!demoted.allowed && demoted.code == "PERMISSION_DENIED")
        _ = try await h.call(Methods.TeamService.removeUser, RemoveUserRequest(email: "member@example.com"), admin)
        #expect(try await allowed(memberCredential, Self.check("USER_ACTIONS", "READ")).code == "UNAUTHENTICATED")
    }

    @Test func malformedChecksAndBatchLimits() async throws {
        let h = try Harness()
        let admin = h.bearer(try await h.signupAdmin().sessionToken)
        for bad in [
            Self.check("NOPE", "READ"), Self.check("INVENTORY", "SOMETIMES"),
            DecisionCheck(feature: "INVENTORY", access: "READ", operation: "Me"), DecisionCheck(operation: "Nope"),
            DecisionCheck(operation: "Login"),
        ] {
            #expect(
                try await h.code(Methods.DecisionService.authorize, AuthorizeRequest(check: bad), admin)
                    == .invalidArgument, "\(bad)")
        }
        #expect(
            try await h.code(Methods.DecisionService.authorizeBatch, AuthorizeBatchRequest(), admin) == .invalidArgument
        )
        let many = AuthorizeBatchRequest(checks: Array(repeating: Self.check("INVENTORY", "READ"), count: 101))
        #expect(try await h.code(Methods.DecisionService.authorizeBatch, many, admin) == .invalidArgument)
        let hundred = AuthorizeBatchRequest(checks: Array(repeating: Self.check("INVENTORY", "READ"), count: 100))
        #expect(try await h.call(Methods.DecisionService.authorizeBatch, hundred, admin).decisions.count == 100)
        // No credential at all: a decision, not an error — denied, nobody.
        let nobody = try await h.call(
            Methods.DecisionService.authorize, AuthorizeRequest(check: Self.check("USER_ACTIONS", "READ")))
        #expect(nobody.decision?.code == "UNAUTHENTICATED" && nobody.principal == nil)
    }
}
