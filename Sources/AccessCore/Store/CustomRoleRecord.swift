/// A custom role of one account.
public struct CustomRoleRecord: Sendable, Hashable {
    public var accountID: Int32
    public var name: String
    public var baseRole: BuiltinRole
    public var apiCollectionIDs: [Int32]
    public var isDefaultInviteRole: Bool
    public var allowedFeatures: [String]
    public var lastModifiedAt: Int64
    /// Akto's `threatProtectionEnabled` flag of the Roles page (stored and shown; it grants nothing here).
    public var threatProtectionEnabled: Bool

    public init(
        accountID: Int32, name: String, baseRole: BuiltinRole, apiCollectionIDs: [Int32], isDefaultInviteRole: Bool,
        allowedFeatures: [String], lastModifiedAt: Int64, threatProtectionEnabled: Bool = false
    ) {
        self.threatProtectionEnabled = threatProtectionEnabled
        self.accountID = accountID
        self.name = name
        self.baseRole = baseRole
        self.apiCollectionIDs = apiCollectionIDs
        self.isDefaultInviteRole = isDefaultInviteRole
        self.allowedFeatures = allowedFeatures
        self.lastModifiedAt = lastModifiedAt
    }
}

/// The fields of an UpdateCustomRole request that it carries (nil: keep the stored value), as AIP-134's update
/// mask.
public struct CustomRolePatch: Sendable, Hashable {
    public var accountID: Int32
    public var name: String
    public var baseRole: BuiltinRole?
    public var apiCollectionIDs: [Int32]?
    public var isDefaultInviteRole: Bool?
    public var allowedFeatures: [String]?
    public var lastModifiedAt: Int64
    public var threatProtectionEnabled: Bool?

    public init(
        accountID: Int32, name: String, baseRole: BuiltinRole? = nil, apiCollectionIDs: [Int32]? = nil,
        isDefaultInviteRole: Bool? = nil, allowedFeatures: [String]? = nil, lastModifiedAt: Int64,
        threatProtectionEnabled: Bool? = nil
    ) {
        self.threatProtectionEnabled = threatProtectionEnabled
        self.accountID = accountID
        self.name = name
        self.baseRole = baseRole
        self.apiCollectionIDs = apiCollectionIDs
        self.isDefaultInviteRole = isDefaultInviteRole
        self.allowedFeatures = allowedFeatures
        self.lastModifiedAt = lastModifiedAt
    }

    /// The stored role with the carried fields replaced.
    public func applied(to role: CustomRoleRecord) -> CustomRoleRecord {
        var updated = role
        if let baseRole { updated.baseRole = baseRole }
        if let apiCollectionIDs { updated.apiCollectionIDs = apiCollectionIDs }
        if let isDefaultInviteRole { updated.isDefaultInviteRole = isDefaultInviteRole }
        if let allowedFeatures { updated.allowedFeatures = allowedFeatures }
        if let threatProtectionEnabled { updated.threatProtectionEnabled = threatProtectionEnabled }
        updated.lastModifiedAt = lastModifiedAt
        return updated
    }
}
