/// A user as stored. `passwordHash` is an encoded scrypt hash, never a password.
public struct UserRecord: Sendable, Hashable {
    public var id: Int32
    public var email: String
    public var name: String
    public var passwordHash: String
    public var createdAt: Int64

    public init(id: Int32, email: String, name: String, passwordHash: String, createdAt: Int64) {
        self.id = id
        self.email = email
        self.name = name
        self.passwordHash = passwordHash
        self.createdAt = createdAt
    }
}

/// A session; the token itself is never stored, only its SHA-256 digest.
public struct SessionRecord: Sendable, Hashable {
    public var id: Int64
    public var userID: Int32
    public var accountID: Int32
    public var createdAt: Int64
    public var expiresAt: Int64
    public var isRevoked: Bool

    public init(id: Int64, userID: Int32, accountID: Int32, createdAt: Int64, expiresAt: Int64, isRevoked: Bool) {
        self.id = id
        self.userID = userID
        self.accountID = accountID
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.isRevoked = isRevoked
    }
}

// The hash never appears in a description or a dump.
extension UserRecord: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String { "UserRecord(id: \(id), email: \(email), passwordHash: <redacted>)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror {
        Mirror(
            self, children: ["id": id, "email": email, "name": name, "passwordHash": "<redacted>"],
            displayStyle: .struct)
    }
}
