import AccessCore
import AccessRPC
import AccessWire
import Testing

@testable import AccessService

/// <doc:Hardening>: brute-force detection of sign-in, on SQLite and PostgreSQL, through the dispatcher with
/// peers told apart as the gateway (client IPs) and the socket (uids) name them.
@Suite(.serialized) struct LoginThrottleTests {
    static let password = "Secret123-horse"
    /// Peers of this test only (the hashing queue is shared by the tests running at once).
    let attacker = Peer.address("127.0.\(Int.random(in: 1...254)).\(Int.random(in: 1...127))")
    let clean = Peer.address("127.0.\(Int.random(in: 1...254)).\(Int.random(in: 128...254))")

    func login(_ h: Harness, _ password: String, email: String = "admin@example.com", peer: Peer) async throws
        -> StatusCode
    {
        try await h.code(Methods.SessionService.login, LoginRequest(email: email, password: password), peer: peer)
    }

    @Test(arguments: TestBackend.all)
    func fiveFailuresLockThatPeerOutAnsweredAsAWrongPassword(backend: TestBackend) async throws {
        let h = try await Harness.make(backend)
        _ = try await h.signupAdmin()
        for _ in 0..<5 { #expect(try await login(h, "Wrong-password-1", peer: attacker) == .unauthenticated) }
        // The right password from the locked-out peer: refused exactly as a wrong one.
        let refused = await h.dispatcher.dispatch(
            DispatchRequest(
                method: Methods.SessionService.login.path,
                payload: try MessageCodec.encode(LoginRequest(email: "admin@example.com", password: Self.password)),
                peer: attacker))
        #expect(refused.status.code == .unauthenticated)
        #expect(refused.status.message == "wrong e-mail or password")
        // Another peer signs in; the lock is per (address, peer).
        #expect(try await login(h, Self.password, peer: clean) == .ok)
        // The lockout ends after 60 s, then doubles with the next failure.
        h.clock.advance(61)
        #expect(try await login(h, "Wrong-password-1", peer: attacker) == .unauthenticated)
        h.clock.advance(61)
        #expect(try await login(h, Self.password, peer: attacker) == .unauthenticated)
        h.clock.advance(60)
        #expect(try await login(h, Self.password, peer: attacker) == .ok)
        // Lockouts are audited, failures below the threshold are not.
        #expect(try await h.auditCount("LoginLockout") == 2)
    }

    @Test(arguments: TestBackend.all)
    func concurrentAttemptsCannotOutrunTheLockout(backend: TestBackend) async throws {
        let h = try await Harness.make(backend) { $0.hashAdmission = HashAdmissionLimits(perPeer: 200, total: 400) }
        _ = try await h.signupAdmin()
        let codes = try await withThrowingTaskGroup(of: StatusCode.self) { group in
            for index in 0..<40 {
                group.addTask {
                    try await login(h, index == 39 ? Self.password : "Wrong-password-\(index)", peer: attacker)
                }
            }
            return try await group.reduce(into: [StatusCode]()) { $0.append($1) }
        }
        #expect(codes.filter { $0 == .ok }.count <= 1)
        // However they interleaved, at most 5 passwords were judged: the right one is refused now.
        #expect(try await login(h, Self.password, peer: attacker) == .unauthenticated)
    }

    @Test(arguments: TestBackend.all)
    func unknownAddressesGetTheSameCountersAndAnswers(backend: TestBackend) async throws {
        let h = try await Harness.make(backend)
        _ = try await h.signupAdmin()
        for _ in 0..<6 {
            #expect(
                try await login(h, "Wrong-password-1", email: "nobody@example.com", peer: attacker) == .unauthenticated)
        }
        // The fifth failure locked the peer out (the sixth attempt was refused unjudged): one audit row, with
        // no account, for an address nobody has.
        #expect(try await h.auditCount("LoginLockout") == 1)
        let rows = try await h.services.beginLoginAttempt(
            email: "nobody@example.com", peer: attacker.throttleKey, now: Int64(h.clock.now()),
            policy: LoginThrottlePolicy())
        #expect(rows.allowed == false)
    }

    @Test(arguments: TestBackend.all)
    func manyPeersSlowTheAddressDownButTheRightPasswordStillSignsIn(backend: TestBackend) async throws {
        let h = try await Harness.make(backend) {
            $0.loginThrottle = LoginThrottlePolicy(accountSlowFailures: 20, slowDelay: .milliseconds(400))
        }
        _ = try await h.signupAdmin()
        for index in 0..<20 {
            #expect(
                try await login(h, "Wrong-password-1", peer: .address("10.0.0.\(index / 4 + 1)")) == .unauthenticated)
        }
        let start = ContinuousClock.now
        #expect(try await login(h, Self.password, peer: clean) == .ok)
        #expect(ContinuousClock.now - start >= .milliseconds(400))
    }

    @Test(arguments: TestBackend.all)
    func quietCountersExpireAndTheirNumberIsBounded(backend: TestBackend) async throws {
        // The per-peer rate of anonymous calls is not under test: 81 quick sign-ins from one peer would meet it
        // whenever they run faster than its refill (they did on an idle machine).
        let h = try await Harness.make(backend) {
            $0.loginThrottle = LoginThrottlePolicy(maxCounters: 100)
            $0.anonymousRate = 10_000
            $0.anonymousBurst = 10_000
        }
        _ = try await h.signupAdmin()
        for index in 0..<80 {
            _ = try await login(h, "Wrong-password-1", email: "u\(index)@example.com", peer: attacker)
        }
        #expect(try await h.rowCount("login_counters") <= 101)
        h.clock.advance(901)
        _ = try await login(h, "Wrong-password-1", email: "last@example.com", peer: attacker)
        #expect(try await h.rowCount("login_counters") == 2)
    }

    @Test(arguments: TestBackend.all)
    func clearingALockoutNeedsIdentityWideAuthority(backend: TestBackend) async throws {
        let h = try await Harness.make(backend)
        let admin = h.bearer(try await h.signupAdmin().sessionToken)
        let member = try await h.addMember(email: "member@example.com", role: "MEMBER")
        for _ in 0..<5 {
            #expect(
                try await login(h, "Wrong-password-1", email: "member@example.com", peer: attacker) == .unauthenticated)
        }
        #expect(try await login(h, Self.password, email: "member@example.com", peer: attacker) == .unauthenticated)
        #expect(
            try await h.code(
                Methods.TeamService.clearLoginLockout, ClearLoginLockoutRequest(userEmail: "member@example.com"), member
            )
                == .permissionDenied)
        let cleared = try await h.call(
            Methods.TeamService.clearLoginLockout, ClearLoginLockoutRequest(userEmail: "member@example.com"), admin)
        #expect(cleared.clearedCounters == 2)
        #expect(try await login(h, Self.password, email: "member@example.com", peer: attacker) == .ok)
        #expect(try await h.auditCount("ClearLoginLockout") == 1)
        // Not a member of this account: NOT_FOUND, as every team operation.
        #expect(
            try await h.code(
                Methods.TeamService.clearLoginLockout, ClearLoginLockoutRequest(userEmail: "stranger@example.com"),
                admin)
                == .notFound)
    }

    /// Item 4: a hash made at another cost is replaced at the next successful sign-in.
    @Test(arguments: TestBackend.all)
    func hashesAtAnotherCostAreRehashedAtSignIn(backend: TestBackend) async throws {
        let h = try await Harness.make(backend)
        _ = try await h.signupAdmin()
        let old = try PasswordHasher(parameters: ScryptParameters(logRounds: 11))
        let stale = try await old.hash(Self.password, for: .local)
        let user = try #require(try await h.services.user(email: "admin@example.com"))
        #expect(try await h.services.replacePasswordHash(userID: user.id, old: user.passwordHash, new: stale))
        #expect(try await login(h, Self.password, peer: clean) == .ok)
        let rehashed = try #require(try await h.services.user(email: "admin@example.com")).passwordHash
        #expect(rehashed.hasPrefix("scrypt$10$") && rehashed != stale)
        #expect(try await login(h, Self.password, peer: clean) == .ok)
    }

    /// Item 2: anonymous calls are rate-limited per peer; in-process callers are not.
    @Test func anonymousCallsAreRateLimitedPerPeer() async throws {
        let h = try Harness {
            $0.anonymousRate = 0.01; $0.anonymousBurst = 3
        }
        _ = try await h.signupAdmin()
        for _ in 0..<3 {
            #expect(try await login(h, "Wrong-password-1", email: "x@example.com", peer: attacker) == .unauthenticated)
        }
        #expect(try await login(h, Self.password, peer: attacker) == .resourceExhausted)
        #expect(try await login(h, Self.password, peer: clean) == .ok)
        #expect(try await login(h, Self.password, peer: .local) == .ok)
    }
}
