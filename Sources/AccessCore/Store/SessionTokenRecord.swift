/// A credential of a dashboard session (<doc:DashboardSessions>): a short-lived access token or a refresh token, stored as the
/// SHA-256 digest of its text and bound to one session, so that every revocation of the session ends it too.
public struct SessionTokenRecord: Sendable, Hashable {
    public enum Kind: String, Sendable {
        case access
        case refresh
    }

    public var digest: [UInt8]
    public var sessionID: Int64
    public var kind: Kind
    public var issuedAt: Int64
    public var expiresAt: Int64
    /// A refresh token: when it was traded for its successor (nil while it is the session's current one).
    public var rotatedAt: Int64?
    /// A refresh token: the random key its successor pair is derived with (`RefreshRotation.derive`); empty
    /// for access tokens.
    public var rotationKey: [UInt8]

    public init(
        digest: [UInt8], sessionID: Int64, kind: Kind, issuedAt: Int64, expiresAt: Int64, rotatedAt: Int64? = nil,
        rotationKey: [UInt8] = []
    ) {
        self.digest = digest
        self.sessionID = sessionID
        self.kind = kind
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
        self.rotatedAt = rotatedAt
        self.rotationKey = rotationKey
    }
}
