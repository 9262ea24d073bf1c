import AccessCore
import AccessRPC
import AccessWire
import Testing

@testable import AccessService

@Suite struct TokenOperationsTests {
    private func addKey(_ h: Harness, _ session: [MetadataEntry], _ utility: String = "EXTERNAL_API") async throws
        -> ApiToken
    {
        let answer = try await h.call(
            Methods.TokenService.addApiToken, AddApiTokenRequest(tokenUtility: utility), session)
        return try #require(answer.apiTokenList.first)
    }

    @Test func aNewKeyIsWellFormedShownOnceAndWorksAtOnce() async throws {
        let h = try Harness()
        let session = h.bearer(try await h.signupAdmin().sessionToken)
        let token = try await addKey(h, session)
        #expect(ApiKeyFormat.isWellFormed(token.key))
        #expect(
            token.username == "admin@example.com" && token.accountId == 1_000_000 && token.utility == "EXTERNAL_API")
        let listed = try await h.call(Methods.TokenService.fetchApiTokens, FetchApiTokensRequest(), h.apiKey(token.key))
        #expect(listed.apiTokens.map(\.id) == [token.id])
        #expect(listed.apiTokens.allSatisfy { $0.key.isEmpty })  // never shown again
        #expect(listed.apiTokens.first?.lastUsedAt ?? 0 > 0)
    }

    @Test func aDeletedKeyStopsAuthenticatingImmediately() async throws {
        let h = try Harness()
        let session = h.bearer(try await h.signupAdmin().sessionToken)
        let token = try await addKey(h, session)
        let deleted = try await h.call(
            Methods.TokenService.deleteApiToken, DeleteApiTokenRequest(apiTokenId: token.id), session)
        #expect(deleted.apiTokenDeleted)
        #expect(try await h.code(Methods.SessionService.me, MeRequest(), h.apiKey(token.key)) == .unauthenticated)
        let again = try await h.call(
            Methods.TokenService.deleteApiToken, DeleteApiTokenRequest(apiTokenId: token.id), session)
        #expect(!again.apiTokenDeleted)
        #expect(try await h.auditCount("DeleteApiToken") == 1)
    }

    @Test func onlyTheOwnerCanDeleteAKey() async throws {
        let h = try Harness()
        let admin = h.bearer(try await h.signupAdmin().sessionToken)
        let member = try await h.addMember(email: "m@example.com", role: "MEMBER")
        let adminKey = try await addKey(h, admin)
        let answer = try await h.call(
            Methods.TokenService.deleteApiToken, DeleteApiTokenRequest(apiTokenId: adminKey.id), member)
        #expect(!answer.apiTokenDeleted)
        #expect(try await h.code(Methods.SessionService.me, MeRequest(), h.apiKey(adminKey.key)) == .ok)
    }

    @Test(arguments: ["EXTERNAL_API", "BURP", "CICD"])
    func apiKeysCannotMintOrDeleteKeysOrLogOut(utility: String) async throws {
        let h = try Harness()
        let session = h.bearer(try await h.signupAdmin().sessionToken)
        let key = h.apiKey(try await addKey(h, session, utility).key)
        #expect(
            try await h.code(Methods.TokenService.addApiToken, AddApiTokenRequest(tokenUtility: "BURP"), key)
                == .permissionDenied)
        #expect(
            try await h.code(Methods.TokenService.deleteApiToken, DeleteApiTokenRequest(apiTokenId: 1), key)
                == .permissionDenied)
        #expect(try await h.code(Methods.SessionService.logout, LogoutRequest(), key) == .permissionDenied)
    }

    @Test func burpAndCicdKeysMayOnlyRead() async throws {
        let h = try Harness()
        let session = h.bearer(try await h.signupAdmin().sessionToken)
        let burp = h.apiKey(try await addKey(h, session, "BURP").key)
        #expect(try await h.code(Methods.TokenService.fetchApiTokens, FetchApiTokensRequest(), burp) == .ok)
        // FetchAuditLogs needs ADMIN_ACTIONS write: refused for BURP, allowed for EXTERNAL_API.
        #expect(
            try await h.code(Methods.AccountService.fetchAuditLogs, FetchAuditLogsRequest(), burp) == .permissionDenied)
        let external = h.apiKey(try await addKey(h, session, "EXTERNAL_API").key)
        #expect(try await h.code(Methods.AccountService.fetchAuditLogs, FetchAuditLogsRequest(), external) == .ok)
    }

    @Test func aKeyWithABadChecksumIsRejectedWithoutALookup() async throws {
        let h = try Harness()
        let session = h.bearer(try await h.signupAdmin().sessionToken)
        let key = try await addKey(h, session).key
        // Change one checksum character: the shape check alone refuses it.
        var tampered = Array(key)
        tampered[tampered.count - 1] = tampered.last == "A" ? "B" : "A"
        #expect(!ApiKeyFormat.isWellFormed(String(tampered)))
        #expect(
            try await h.code(Methods.SessionService.me, MeRequest(), h.apiKey(String(tampered))) == .unauthenticated)
        // A well-formed key that was never issued is looked up and refused.
        var generator = SystemRandomNumberGenerator()
        let forged = ApiKeyFormat.generate(using: &generator)
        #expect(try await h.code(Methods.SessionService.me, MeRequest(), h.apiKey(forged)) == .unauthenticated)
    }

    @Test func unknownUtilitiesAreInvalid() async throws {
        let h = try Harness()
        let session = h.bearer(try await h.signupAdmin().sessionToken)
        let error = try await #require(throws: RPCError.self) {
            try await h.call(Methods.TokenService.addApiToken, AddApiTokenRequest(tokenUtility: "ROOT"), session)
        }
        #expect(error.violations.first?.field == "tokenUtility")
        #expect(try await addKey(h, session, " cicd ").utility == "CICD")
    }

    @Test func liveKeysPerUserAreCapped() async throws {
        let h = try Harness { $0.maxApiTokensPerUser = 3 }
        let session = h.bearer(try await h.signupAdmin().sessionToken)
        for _ in 0..<3 { _ = try await addKey(h, session) }
        #expect(
            try await h.code(Methods.TokenService.addApiToken, AddApiTokenRequest(tokenUtility: "BURP"), session)
                == .failedPrecondition)
    }

    @Test func aGuestMayListButNotMintKeys() async throws {
        let h = try Harness()
        _ = try await h.signupAdmin()
        let guest = try await h.addMember(email: "g@example.com", role: "GUEST")
        #expect(try await h.code(Methods.TokenService.fetchApiTokens, FetchApiTokensRequest(), guest) == .ok)
        #expect(
            try await h.code(Methods.TokenService.addApiToken, AddApiTokenRequest(tokenUtility: "BURP"), guest)
                == .permissionDenied)
        let noAccess = try await h.addMember(email: "n@example.com", role: "NO_ACCESS")
        #expect(
            try await h.code(Methods.TokenService.fetchApiTokens, FetchApiTokensRequest(), noAccess)
                == .permissionDenied)
        #expect(try await h.code(Methods.SessionService.me, MeRequest(), noAccess) == .ok)  // USER_ACTIONS stays
    }

    @Test func noSecretIsStoredInTheClear() async throws {
        let h = try Harness()
        let signup = try await h.signupAdmin(password: "Plaintext42-horse")
        let session = h.bearer(signup.sessionToken)
        let key = try await addKey(h, session).key
        let login = try await h.call(
            Methods.SessionService.login, LoginRequest(email: "admin@example.com", password: "Plaintext42-horse"))
        let bytes = try h.databaseBytes()
        #expect(!bytes.isEmpty)
        #expect(!bytes.contains(signup.sessionToken))
        #expect(!bytes.contains(login.sessionToken))
        #expect(!bytes.contains(key))
        #expect(!bytes.contains(String(key.dropFirst(5).prefix(20))))
        #expect(!bytes.contains("Plaintext42-horse"))
        #expect(bytes.contains("admin@example.com"))  // the check does see the data
    }
}
