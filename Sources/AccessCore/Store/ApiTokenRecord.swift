/// An API token's metadata; the key itself is never stored, only its SHA-256 digest.
public struct ApiTokenRecord: Sendable, Hashable {
    public var id: Int32
    public var accountID: Int32
    public var userID: Int32
    public var utility: TokenUtility
    public var name: String
    public var createdAt: Int64
    public var lastUsedAt: Int64

    public init(
        id: Int32, accountID: Int32, userID: Int32, utility: TokenUtility, name: String, createdAt: Int64,
        lastUsedAt: Int64
    ) {
        self.id = id
        self.accountID = accountID
        self.userID = userID
        self.utility = utility
        self.name = name
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt
    }
}
