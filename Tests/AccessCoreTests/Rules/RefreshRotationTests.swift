import AccessCore
import Testing

/// The refresh-token rotation decisions (issue 17), as tables.
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

    @Test func aGraceReplayWalksToTheCurrentTokenAndAnswersItsPair() {
        let derive: RefreshRotation.Derive = { key, token in ("r(\(key[0]),\(token))", "a(\(key[0]),\(token))") }
        let digest: @Sendable (String) -> [UInt8] = { Array($0.utf8) }
        var walk = RefreshWalk(presented: "R0", now: 100, grace: 30, derive: derive, digest: digest)
        guard case .fetch(let first) = walk.step else { Issue.record("no first read"); return }
        #expect(first == Array("R0".utf8))
        walk.observe(token: Self.token(rotatedAt: 95), session: Self.session)  // R0 spent 5 s ago (key 2)
        guard case .fetch(let second) = walk.step else { Issue.record("no second read"); return }
        #expect(second == Array("r(2,R0)".utf8))
        walk.observe(token: Self.token(), session: Self.session)  // its successor is current
        guard case .done(.replay(_, _, let refresh, let access, let accessDigest)) = walk.step else {
            Issue.record("expected the replay of the pair R0's rotation issued, got \(walk.step)")
            return
        }
        #expect(refresh == "r(2,R0)" && access == "a(2,R0)" && accessDigest == Array("a(2,R0)".utf8))
        // The current one presented itself rotates with its own key.
        var current = RefreshWalk(presented: "R1", now: 100, grace: 30, derive: derive, digest: digest)
        current.observe(token: Self.token(), session: Self.session)
        guard case .done(.rotate(_, _, let next, _)) = current.step else { Issue.record("expected a rotation"); return }
        #expect(next == "r(2,R1)")
        // Spent long ago: reuse of that session.
        var stale = RefreshWalk(presented: "R0", now: 200, grace: 30, derive: derive, digest: digest)
        stale.observe(token: Self.token(rotatedAt: 95), session: Self.session)
        guard case .done(.reuse(let session)) = stale.step else { Issue.record("expected reuse"); return }
        #expect(session.id == 7)
    }

    @Test func anUnknownTokenIsInvalid() {
        #expect(RefreshRotation.decide(token: nil, session: nil, now: 0, grace: 30, hops: 0) == .invalid)
    }
}
