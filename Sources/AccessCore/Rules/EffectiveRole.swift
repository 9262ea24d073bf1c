/// A stored role name resolved in one account: the rights of its base role, limited to `collections` when the
/// role is a custom role with a collection list.
public struct EffectiveRole: Sendable, Hashable {
    /// The stored name: a built-in or a custom role's name.
    public let name: String
    public let base: BuiltinRole
    /// The collections the role is limited to; nil when it may use every collection.
    public let collections: Set<Int32>?

    public init(name: String, base: BuiltinRole, collections: Set<Int32>? = nil) {
        self.name = name
        self.base = base
        self.collections = collections
    }

    public static let noAccess = EffectiveRole(name: BuiltinRole.noAccess.rawValue, base: .noAccess)

    /// The role a stored name stands for in an account with these custom roles (by upper-case name). An unknown
    /// name counts as NO_ACCESS: fail closed.
    public static func stored(_ name: String?, customRoles: [String: CustomRoleRecord]) -> EffectiveRole {
        guard let name else { return .noAccess }
        if let builtin = BuiltinRole(rawValue: name) { return EffectiveRole(name: name, base: builtin) }
        guard let custom = customRoles[name.uppercased()] else { return .noAccess }
        return EffectiveRole(custom)
    }

    /// A custom role's rights.
    public init(_ custom: CustomRoleRecord) {
        self.init(
            name: custom.name, base: custom.baseRole,
            collections: custom.apiCollectionIDs.isEmpty ? nil : Set(custom.apiCollectionIDs))
    }

    public var isNoAccess: Bool { base == .noAccess }

    /// ADMIN over every collection.
    public var isUnrestrictedAdmin: Bool { base == .admin && collections == nil }

    /// True when the role grants `level` on `feature` (SPEC.md's feature table).
    public func allows(_ feature: Feature, _ level: AccessLevel) -> Bool { base.access(to: feature) >= level }
}
