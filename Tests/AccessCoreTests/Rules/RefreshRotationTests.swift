import AccessCore
import Testing

/// The refresh-token rotation decisions (<doc:DashboardSessions>), as tables.
@Suite struct RefreshRotationTests {
    static let session = SessionRecord(
        id: 7, userID: 1, accountID: 1_000_000, createdAt: 0, expiresAt: 1_000, isRevoked: false)

    static func token(
        rotatedAt: Int64? = nil, kind: SessionTokenRecord.Kind = .refresh, sessionID: Int64 = 7,
        expiresAt: Int64 = 1_000
    )
        -> SessionTokenRecord
    {
        SessionTokenRecord(
            digest: [1], sessionID: sessionID, kind: kind, issuedAt: 0, expiresAt: expiresAt, rotatedAt: rotatedAt,
            rotationKey: [2])
    }

    @Test(arguments: [
        (token(), session, Int64(100), 0, RefreshRotation.Decision.rotate),
        (token(rotatedAt: 90), session, 100, 0, .follow),  // within 30 s of its rotation
        (token(rotatedAt: 90), session, 120, 0, .follow),  // exactly at the edge
        (token(rotatedAt: 90), session, 121, 0, .reuse),
        (token(rotatedAt: 99), session, 100, RefreshRotation.maxHops, .reuse),  // a chain too long to walk
        (token(kind: .access), session, 100, 0, .invalid),  // an access token is no refresh token
        (token(sessionID: 8), session, 100, 0, .invalid),
        (
            token(),
            SessionRecord(id: 7, userID: 1, accountID: 1_000_000, createdAt: 0, expiresAt: 1_000, isRevoked: true), 100,
            0, .invalid
        ),
        (token(), session, 1_000, 0, .invalid),  // the session expired
        (token(expiresAt: 50), session, 100, 0, .invalid),
    ])
    func decisions(
        token: SessionTokenRecord, session: SessionRecord, now: Int64, hops: Int, expected: RefreshRotation.Decision
    ) {
        #expect(RefreshRotation.decide(token: token, session: session, now: now, grace: 30, hops: hops) == expected)
    }

    static func inputs(now: Int64) -> RefreshWalk.Inputs {
        RefreshWalk.Inputs(
            now: now, grace: 30, accessLifetime: 900, newKey: [9],
            reuseAudit: AuditEntry(
                actorUserID: nil, actorEmail: "", accountID: nil, operation: "RefreshTokenReuse", target: "",
                timestamp: now,
                transport: "http", peer: "p"),
            derive: { key, token in ("r(\(key[0]),\(token))", "a(\(key[0]),\(token))") }, digest: { Array($0.utf8) })
    }

    @Test func aGraceReplayWalksToTheCurrentTokenAndAnswersItsPair() {
        var walk = RefreshWalk(presented: "R0", Self.inputs(now: 100))
        guard case .fetch(let first) = walk.step else { Issue.record("no first read"); return }
        #expect(first == Array("R0".utf8))
        walk.observe(token: Self.token(rotatedAt: 95), session: Self.session)  // R0 spent 5 s ago (key 2)
        guard case .fetch(let second) = walk.step else { Issue.record("no second read"); return }
        #expect(second == Array("r(2,R0)".utf8))
        walk.observe(token: Self.token(), session: Self.session)  // its successor is current
        guard case .fetch(let accessRow) = walk.step else { Issue.record("no read of the replayed access row"); return }
        #expect(accessRow == Array("a(2,R0)".utf8))
        walk.observe(token: Self.token(kind: .access, expiresAt: 400), session: Self.session)
        guard case .done(.answer(let issued)) = walk.step else {
            Issue.record("expected the replay of the pair R0's rotation issued, got \(walk.step)")
            return
        }
        #expect(issued.refreshToken == "r(2,R0)" && issued.accessToken == "a(2,R0)" && issued.accessExpiresAt == 400)
        // The replayed access token expired meanwhile: nothing to answer.
        var late = RefreshWalk(presented: "R0", Self.inputs(now: 100))
        late.observe(token: Self.token(rotatedAt: 95), session: Self.session)
        late.observe(token: Self.token(), session: Self.session)
        late.observe(token: Self.token(kind: .access, expiresAt: 100), session: Self.session)
        guard case .done(.invalid) = late.step else { Issue.record("expected invalid"); return }
        // The current one presented itself rotates with its own key; the successor gets the new key.
        var current = RefreshWalk(presented: "R1", Self.inputs(now: 100))
        current.observe(token: Self.token(), session: Self.session)
        guard case .done(.rotate(_, let insert, let answer)) = current.step else {
            Issue.record("expected a rotation"); return
        }
        #expect(answer.refreshToken == "r(2,R1)" && answer.accessExpiresAt == 1_000)  // never past the session
        #expect(insert.map(\.kind) == [.refresh, .access] && insert[0].rotationKey == [9])
        // Spent long ago: reuse of that session, audited on its user and account.
        var stale = RefreshWalk(presented: "R0", Self.inputs(now: 200))
        stale.observe(token: Self.token(rotatedAt: 95), session: Self.session)
        guard case .done(.reuse(let session, let audit)) = stale.step else { Issue.record("expected reuse"); return }
        #expect(
            session.id == 7 && audit.actorUserID == 1 && audit.accountID == 1_000_000 && audit.target == "session:7")
    }

    @Test func anUnknownTokenIsInvalid() {
        #expect(RefreshRotation.decide(token: nil, session: nil, now: 0, grace: 30, hops: 0) == .invalid)
    }
}
