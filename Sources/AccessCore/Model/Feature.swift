/// The feature groups permissions are granted on (SPEC.md, feature access table).
public enum Feature: String, Sendable, Hashable, CaseIterable {
    case inventory = "INVENTORY"
    case inviteMembers = "INVITE_MEMBERS"
    case billing = "BILLING"
    case apiTokens = "API_TOKENS"
    case adminActions = "ADMIN_ACTIONS"
    case userActions = "USER_ACTIONS"
}

/// How much of a feature a role may use.
public enum AccessLevel: Int, Sendable, Comparable {
    case none = 0
    case read = 1
    case readWrite = 2

    public static func < (lhs: AccessLevel, rhs: AccessLevel) -> Bool { lhs.rawValue < rhs.rawValue }
}

extension BuiltinRole {
    /// The access this role has to a feature: SPEC.md's table, enforced on every call (never skipped).
    public func access(to feature: Feature) -> AccessLevel {
        switch (self, feature) {
        case (_, .userActions): return .readWrite
        case (.noAccess, _): return .none
        case (.admin, _): return .readWrite
        case (.member, .inventory), (.member, .inviteMembers), (.member, .apiTokens): return .readWrite
        case (.member, _): return .read
        case (.threatEngineer, .inventory), (.threatEngineer, .inviteMembers), (.threatEngineer, .apiTokens):
            return .readWrite
        case (.threatEngineer, _): return .read
        case (.threatViewer, .inventory), (.threatViewer, .inviteMembers), (.threatViewer, .apiTokens):
            return .readWrite
        case (.threatViewer, _): return .read
        case (.developer, .billing), (.developer, .apiTokens): return .readWrite
        case (.developer, _): return .read
        case (.guest, _): return .read
        }
    }
}
