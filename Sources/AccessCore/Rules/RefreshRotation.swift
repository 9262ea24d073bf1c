/// Refresh-token rotation with reuse detection (OAuth 2.0 Security BCP, RFC 9700 §4.14.2), as pure decisions over
/// the rows a store reads in its writing transaction.
///
/// Each refresh token is spent by its first use, which issues a new pair. The pair is *derived* — HMAC of the
/// presented token under the random key stored with it — so that presenting the just-spent token again within
/// `grace` (two tabs refreshing at once) recomputes and returns the very same pair without any plaintext being
/// stored. Presenting a spent token after the grace window is reuse: someone else holds a copy, and the whole
/// session is revoked.
public enum RefreshRotation {
    /// What the store does with the row found for a presented token.
    public enum Decision: Equatable, Sendable {
        /// The token is the session's current one: spend it and issue the derived pair.
        case rotate
        /// The token was spent within the grace window: its derived successor is the one to look at next.
        case follow
        /// A token spent longer ago than the grace window (or a chain longer than `maxHops`): revoke the session.
        case reuse
        /// No such refresh token, or its session has ended: UNAUTHENTICATED, nothing changes.
        case invalid
    }

    /// How many spent tokens a grace-window replay may walk through to reach the current one.
    public static let maxHops = 8

    public static func decide(
        token: SessionTokenRecord?, session: SessionRecord?, now: Int64, grace: Int64, hops: Int
    ) -> Decision {
        guard let token, token.kind == .refresh, let session, token.sessionID == session.id else { return .invalid }
        guard !session.isRevoked, session.expiresAt > now, token.expiresAt > now else { return .invalid }
        guard let rotatedAt = token.rotatedAt else { return .rotate }
        guard now - rotatedAt <= grace, hops < maxHops else { return .reuse }
        return .follow
    }

    /// What a rotation produced: the pair's texts (shown once) and expiries.
    public struct Issued: Sendable, Equatable {
        public var session: SessionRecord
        public var accessToken: String
        public var accessExpiresAt: Int64
        public var refreshToken: String
        public var refreshExpiresAt: Int64

        public init(
            session: SessionRecord, accessToken: String, accessExpiresAt: Int64, refreshToken: String,
            refreshExpiresAt: Int64
        ) {
            self.session = session
            self.accessToken = accessToken
            self.accessExpiresAt = accessExpiresAt
            self.refreshToken = refreshToken
            self.refreshExpiresAt = refreshExpiresAt
        }
    }

    public enum Outcome: Sendable, Equatable {
        case issued(Issued)
        /// Reuse detected: the session was revoked in the same transaction.
        case reused(sessionID: Int64)
        case invalid
    }

    /// The pair derived from a refresh token and its row's key: (refresh, access) texts.
    public typealias Derive = @Sendable (_ key: [UInt8], _ token: String) -> (refresh: String, access: String)

    /// Access tokens a session keeps at most (older ones are deleted when a new one is issued): tabs refreshing
    /// one after another each keep a working token, and a refresh flood cannot grow the table.
    public static let maxAccessTokensPerSession = 16
}
