import AccessCore
import Testing

/// The refresh-token rotation decisions (issue 17), as tables.
@Suite struct RefreshRotationTests {
    static let session = SessionRecord(id: 7, userID: 1, accountID: 1_000_000, createdAt: 0, expiresAt: 1_000, isRevoked: false)

    static func token(rotatedAt: Int64? = nil, kind: SessionTokenRecord.Kind = .refresh, sessionID: Int64 = 7, expiresAt: Int64 = 1_000)
        -> SessionTokenRecord
    {
        SessionTokenRecord(digest: [1], sessionID: sessionID, kind: kind, issuedAt: 0, expiresAt: expiresAt, rotatedAt: rotatedAt, rotationKey: [2])
    }

    @Test(arguments: [
        (token(), session, Int64(100), 0, RefreshRotation.Decision.rotate),
        (token(rotatedAt: 90), session, 100, 0, .follow),  // within 30 s of its rotation
        (token(rotatedAt: 90), session, 120, 0, .follow),  // exactly at the edge
        (token(rotatedAt: 90), session, 121, 0, .reuse),
        (token(rotatedAt: 99), session, 100, RefreshRotation.maxHops, .reuse),  // a chain too long to walk
        (token(kind: .access), session, 100, 0, .invalid),  // an access token is no refresh token
        (token(sessionID: 8), session, 100, 0, .invalid),
        (token(), SessionRecord(id: 7, userID: 1, accountID: 1_000_000, createdAt: 0, expiresAt: 1_000, isRevoked: true), 100, 0, .invalid),
        (token(), session, 1_000, 0, .invalid),  // the session expired
        (token(expiresAt: 50), session, 100, 0, .invalid),
    ])
    func decisions(token: SessionTokenRecord, session: SessionRecord, now: Int64, hops: Int, expected: RefreshRotation.Decision) {
        #expect(RefreshRotation.decide(token: token, session: session, now: now, grace: 30, hops: hops) == expected)
    }

    @Test func anUnknownTokenIsInvalid() {
        #expect(RefreshRotation.decide(token: nil, session: nil, now: 0, grace: 30, hops: 0) == .invalid)
    }
}
