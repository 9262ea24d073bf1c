import AccessCore
import Testing

/// The behaviour every `AccountStore` must have, run against each backend in `StoreBackend.all`.
@Suite struct StoreContractTests {
    @Test(arguments: StoreBackend.all)
    func theFirstUserGetsOrganizationAccountAdminAndSession(backend: StoreBackend) async throws {
        let (store, user, session) = try await seeded(backend)
        #expect(try await store.hasUsers())
        #expect(user.id > 0 && session.userID == user.id && session.accountID == 1_000_000)
        let account = try #require(try await store.account(id: 1_000_000))
        #expect(try await store.organization(id: account.organizationID)?.adminEmail == "a@example.com")
        let membership = try #require(try await store.membership(userID: user.id, accountID: 1_000_000))
        #expect(membership.roles == Dictionary(uniqueKeysWithValues: Scope.allCases.map { ($0, "ADMIN") }))
        #expect(try await store.session(digest: digest("s1")) == session)
        #expect(try await store.user(email: "a@example.com")?.id == user.id)
        #expect(
            try await store.auditLog(accountID: 1_000_000, beforeID: 0, limit: 10).map(\.entry.operation) == ["Signup"])
    }

    @Test(arguments: StoreBackend.all)
    func principalReadsUserAccountMembershipAndTheScopesCustomRole(backend: StoreBackend) async throws {
        let (store, user, _) = try await seeded(backend)
        let role = CustomRoleRecord(
            accountID: 1_000_000, name: "AUDITOR", baseRole: .guest, apiCollectionIDs: [], isDefaultInviteRole: false,
            allowedFeatures: [], lastModifiedAt: 1)
        try await store.createCustomRole(role, actorID: user.id, scope: .api, audit: entry("CreateCustomRole"))
        let member = try await invitedMember(
            store, inviter: user.id, email: "b@example.com", roles: [.api: "ADMIN", .dast: "AUDITOR"], session: "s2")
        let api = try #require(try await store.principal(userID: member.id, accountID: 1_000_000, scope: .api))
        #expect(api.user.email == "b@example.com" && api.account.id == 1_000_000)
        #expect(api.membership?.roles[.api] == "ADMIN" && api.customRole == nil)
        let dast = try #require(try await store.principal(userID: member.id, accountID: 1_000_000, scope: .dast))
        #expect(dast.customRole == role)
        #expect(try await store.principal(userID: 9_999, accountID: 1_000_000, scope: .api) == nil)
        #expect(try await store.principal(userID: member.id, accountID: 4_242, scope: .api) == nil)
        // The credential lookups return the same principal in the same read.
        let (session, viaSession) = try #require(try await store.sessionPrincipal(digest: digest("s2"), scope: .dast))
        #expect(session.userID == member.id && viaSession == dast)
        #expect(try await store.sessionPrincipal(digest: digest("nope"), scope: .api) == nil)
        let token = try await store.createApiToken(
            accountID: 1_000_000, userID: member.id, utility: .externalAPI, name: "k", digest: digest("k1"), now: 1,
            maxLive: 5, audit: entry("AddApiToken"))
        let (found, viaKey) = try #require(try await store.apiKeyPrincipal(digest: digest("k1"), scope: .api))
        #expect(found == token && viaKey == api)
        #expect(try await store.apiKeyPrincipal(digest: digest("k2"), scope: .api) == nil)
    }

    @Test(arguments: StoreBackend.all)
    func onlyOneFirstUserEvenUnderARace(backend: StoreBackend) async throws {
        let store = try await backend.make()
        let successes = await withTaskGroup(of: Bool.self) { group in
            for i in 0..<10 {
                group.addTask {
                    (try? await store.createFirstUser(
                        email: "u\(i)@example.com", name: "U", passwordHash: "h", organizationName: "O",
                        sessionDigest: nil, setupTokenDigest: nil, now: 1, sessionExpiresAt: 2,
                        audit: entry("Signup", actor: nil, account: nil))) != nil
                }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(successes == 1)
    }

    @Test(arguments: StoreBackend.all)
    func sessionsAreRevokedOneOrAll(backend: StoreBackend) async throws {
        let (store, user, first) = try await seeded(backend)
        let second = try await store.createSession(
            userID: user.id, accountID: nil, digest: digest("s2"), now: 1_800_000_100, expiresAt: 1_800_086_400,
            audit: entry("Login"))
        #expect(second.accountID == 1_000_000)
        try await store.revokeSessions(sessionID: first.id, allOfUser: false, audit: entry("Logout"))
        #expect(try await store.session(digest: digest("s1"))?.isRevoked == true)
        #expect(try await store.session(digest: digest("s2"))?.isRevoked == false)
        try await store.revokeSessions(sessionID: second.id, allOfUser: true, audit: entry("Logout"))
        #expect(try await store.session(digest: digest("s2"))?.isRevoked == true)
        await #expect(throws: RPCError.self) {
            _ = try await store.createSession(
                userID: user.id, accountID: 4_242, digest: digest("s3"), now: 1, expiresAt: 2, audit: entry("Login"))
        }
    }

    @Test(arguments: StoreBackend.all)
    func accountIdsAreSequentialAndTheCapHoldsUnderARace(backend: StoreBackend) async throws {
        let (store, user, session) = try await seeded(backend)
        let organization = try #require(try await store.account(id: 1_000_000)).organizationID
        let created = await withTaskGroup(of: Int32?.self) { group in
            for i in 0..<20 {
                group.addTask {
                    try? await store.createAccount(
                        userID: user.id, organizationID: organization, name: "A\(i)", maxAccountsPerUser: 10,
                        sessionID: nil, now: 2, audit: entry("CreateNewAccount")
                    ).id
                }
            }
            return await group.reduce(into: [Int32]()) { if let id = $1 { $0.append(id) } }
        }
        #expect(created.count == 9)  // the user already had one account
        #expect(Set(created) == Set((1_000_001...1_000_009).map { Int32($0) }))
        #expect(try await store.memberships(userID: user.id).count == 10)
        let switched = try await store.switchSession(
            sessionID: session.id, accountID: 1_000_005, audit: entry("GoToAccount"))
        #expect(switched)
        #expect(try await store.session(digest: digest("s1"))?.accountID == 1_000_005)
        #expect(
            try await !store.switchSession(sessionID: session.id, accountID: 9_999_999, audit: entry("GoToAccount")))
    }

    @Test(arguments: StoreBackend.all)
    func apiTokensAreCappedUnderARaceAndScopedToOwnerAndAccount(backend: StoreBackend) async throws {
        let (store, user, _) = try await seeded(backend)
        let organization = try #require(try await store.account(id: 1_000_000)).organizationID
        let other = try await store.createAccount(
            userID: user.id, organizationID: organization, name: "B", maxAccountsPerUser: 10, sessionID: nil, now: 2,
            audit: entry("CreateNewAccount"))
        let made = await withTaskGroup(of: ApiTokenRecord?.self) { group in
            for i in 0..<10 {
                group.addTask {
                    try? await store.createApiToken(
                        accountID: 1_000_000, userID: user.id, utility: .externalAPI, name: "k",
                        digest: digest("k\(i)"),
                        now: 3, maxLive: 5, audit: entry("AddApiToken"))
                }
            }
            return await group.reduce(into: [ApiTokenRecord]()) { if let t = $1 { $0.append(t) } }
        }
        #expect(made.count == 5)
        let token = try #require(made.first)
        #expect(try await store.apiTokens(userID: user.id, accountID: other.id).isEmpty)
        #expect(
            try await !store.deleteApiToken(
                id: token.id, userID: user.id, accountID: other.id, audit: entry("DeleteApiToken")))
        #expect(
            try await !store.deleteApiToken(
                id: token.id, userID: user.id + 1, accountID: 1_000_000, audit: entry("DeleteApiToken")))
        #expect(
            try await store.deleteApiToken(
                id: token.id, userID: user.id, accountID: 1_000_000, audit: entry("DeleteApiToken")))
        #expect(try await store.apiTokens(userID: user.id, accountID: 1_000_000).count == 4)
    }

    @Test(arguments: StoreBackend.all)
    func resetTokensAreRateLimitedAndSingleUseUnderARace(backend: StoreBackend) async throws {
        let (store, user, _) = try await seeded(backend)
        // The owner, an unrestricted ADMIN of every account the member is in, issues the tokens.
        let admin = user.id
        let member = try await invitedMember(
            store, inviter: user.id, email: "b@example.com", roles: [.api: "MEMBER"], session: "s2")
        _ = try await store.issuePasswordResetToken(
            accountID: 1_000_000, actorID: admin, email: "b@example.com", digest: digest("r1"), now: 100,
            expiresAt: 7300, minimumInterval: 7200, audit: entry("ResetUserPassword"))
        await #expect(throws: RPCError.self) {
            _ = try await store.issuePasswordResetToken(
                accountID: 1_000_000, actorID: admin, email: "b@example.com", digest: digest("r2"), now: 200,
                expiresAt: 7400, minimumInterval: 7200, audit: entry("ResetUserPassword"))
        }
        await #expect(throws: RPCError.self) {
            _ = try await store.consumePasswordResetToken(
                digest: digest("r1"), passwordHash: "h2", now: 7400, audit: entry("ResetPassword"))
        }
        _ = try await store.issuePasswordResetToken(
            accountID: 1_000_000, actorID: admin, email: "b@example.com", digest: digest("r3"), now: 7400,
            expiresAt: 14_600, minimumInterval: 7200, audit: entry("ResetUserPassword"))
        let winners = await withTaskGroup(of: Int32?.self) { group in
            for _ in 0..<20 {
                group.addTask {
                    try? await store.consumePasswordResetToken(
                        digest: digest("r3"), passwordHash: "new", now: 7500, audit: entry("ResetPassword"))
                }
            }
            return await group.reduce(into: [Int32]()) { if let id = $1 { $0.append(id) } }
        }
        #expect(winners == [member.id])
        #expect(try await store.user(id: member.id)?.passwordHash == "new")
        #expect(try await store.session(digest: digest("s2"))?.isRevoked == true)
    }

    @Test(arguments: StoreBackend.all)
    func aRefusedMutationWritesNoAuditRow(backend: StoreBackend) async throws {
        let (store, user, _) = try await seeded(backend)
        for i in 0..<2 {
            _ = try? await store.createApiToken(
                accountID: 1_000_000, userID: user.id, utility: .burp, name: "k", digest: digest("t\(i)"), now: 1,
                maxLive: 1, audit: entry("AddApiToken"))
        }
        let operations = try await store.auditLog(accountID: 1_000_000, beforeID: 0, limit: 100).map(\.entry.operation)
        #expect(operations.filter { $0 == "AddApiToken" }.count == 1)
    }

    @Test(arguments: StoreBackend.all)
    func auditLogsPageNewestFirstAndStayInTheirAccount(backend: StoreBackend) async throws {
        let (store, user, _) = try await seeded(backend)
        for i in 0..<5 {
            _ = try await store.rename(
                userID: user.id, name: "N\(i)", organizationID: "none", organization: nil, audit: entry("Rename\(i)"))
        }
        _ = try await store.rename(
            userID: user.id, name: "X", organizationID: "none", organization: nil, audit: entry("Elsewhere", account: 7)
        )
        let page = try await store.auditLog(accountID: 1_000_000, beforeID: 0, limit: 3)
        #expect(page.map(\.entry.operation) == ["Rename4", "Rename3", "Rename2"])
        let next = try await store.auditLog(accountID: 1_000_000, beforeID: try #require(page.last).id, limit: 10)
        #expect(next.map(\.entry.operation) == ["Rename1", "Rename0", "Signup"])
    }

    @Test(arguments: StoreBackend.all)
    func renamingTheOrganizationIsAtomicWithTheUser(backend: StoreBackend) async throws {
        let (store, user, _) = try await seeded(backend)
        let organization = try #require(try await store.account(id: 1_000_000)).organizationID
        _ = try await store.rename(
            userID: user.id, name: "New", organizationID: organization, organization: "Acme", audit: entry("Rename"))
        #expect(try await store.user(id: user.id)?.name == "New")
        #expect(try await store.organization(id: organization)?.name == "Acme")
    }

    @Test(arguments: StoreBackend.all)
    func pushSubscriptionsUpsertAndKeepTheNewest(backend: StoreBackend) async throws {
        let (store, user, _) = try await seeded(backend)
        for i in 0..<4 {
            try await store.saveSubscription(
                userID: user.id, endpoint: "https://p/\(i % 3)", p256dh: [4], auth: [1], expirationTime: nil,
                now: Int64(i), maxPerUser: 2, audit: entry("SaveSubscription"))
        }
        // Endpoints 0 (updated at 3) and 2 (at 2) are the two newest; 1 was dropped.
        #expect(try await store.pushSubscriptionEndpoints(userID: user.id) == ["https://p/0", "https://p/2"])
        let operations = try await store.auditLog(accountID: 1_000_000, beforeID: 0, limit: 100).map(\.entry.operation)
        #expect(operations.filter { $0 == "SaveSubscription" }.count == 4)
    }
}

/// <doc:Hardening>: the one-time setup token of an empty install, shared by every process on the database.
@Suite struct SetupTokenContractTests {
    @Test(arguments: StoreBackend.all)
    func theSetupTokenIsCreatedOnceAndConsumedByTheFirstUser(backend: StoreBackend) async throws {
        let store = try await backend.make()
        #expect(try await store.installSetupToken(digest: digest("t1"), now: 10) == .created)
        #expect(try await store.installSetupToken(digest: digest("t2"), now: 11) == .exists(createdAt: 10))
        for wrong in [digest("t2"), digest("")] {
            let error = await #expect(throws: RPCError.self) {
                try await store.createFirstUser(
                    email: "a@example.com", name: "A", passwordHash: "h", organizationName: "O", sessionDigest: nil,
                    setupTokenDigest: wrong, now: 12, sessionExpiresAt: 0,
                    audit: entry("Signup", actor: nil, account: nil))
            }
            #expect(error?.code == .permissionDenied)
        }
        #expect(try await store.hasUsers() == false)
        _ = try await store.createFirstUser(
            email: "a@example.com", name: "A", passwordHash: "h", organizationName: "O", sessionDigest: nil,
            setupTokenDigest: digest("t1"), now: 13, sessionExpiresAt: 0,
            audit: entry("Signup", actor: nil, account: nil))
        #expect(try await store.installSetupToken(digest: digest("t3"), now: 14) == .notNeeded)
    }
}
