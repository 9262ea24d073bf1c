/// An organization: the owner of accounts and of billing entitlements.
public struct OrganizationRecord: Sendable, Hashable {
    public var id: String
    public var name: String
    public var adminEmail: String
    /// The user who owns it (SPEC.md, Authority): its creator until they hand it on.
    public var ownerUserID: Int32?

    public init(id: String, name: String, adminEmail: String, ownerUserID: Int32? = nil) {
        self.id = id
        self.name = name
        self.adminEmail = adminEmail
        self.ownerUserID = ownerUserID
    }
}

/// An account (workspace).
public struct AccountRecord: Sendable, Hashable {
    public var id: Int32
    public var name: String
    public var organizationID: String
    public var createdAt: Int64

    public init(id: Int32, name: String, organizationID: String, createdAt: Int64) {
        self.id = id
        self.name = name
        self.organizationID = organizationID
        self.createdAt = createdAt
    }
}
