/// The built-in roles and the roles each may assign or manage (SPEC.md, Model).
public enum BuiltinRole: String, Sendable, Hashable, CaseIterable, Codable {
    case admin = "ADMIN"
    case member = "MEMBER"
    case developer = "DEVELOPER"
    case guest = "GUEST"
    case threatEngineer = "THREAT_ENGINEER"
    case threatViewer = "THREAT_VIEWER"
    case noAccess = "NO_ACCESS"

    /// The roles this role may assign or manage, itself included. Only ADMIN may assign NO_ACCESS.
    public var hierarchy: Set<BuiltinRole> {
        switch self {
        case .admin: [.admin, .member, .developer, .guest, .threatEngineer, .threatViewer, .noAccess]
        case .member: [.member, .developer, .guest]
        case .developer: [.developer, .guest]
        case .guest: [.guest]
        case .threatEngineer: [.threatEngineer, .threatViewer, .developer, .member, .guest]
        case .threatViewer: [.threatViewer, .developer, .member, .guest]
        case .noAccess: []
        }
    }

    /// True for a name that is a built-in role in any letter case (custom roles may not take such names).
    public static func isBuiltinName(_ name: String) -> Bool {
        BuiltinRole(rawValue: name.uppercased()) != nil
    }
}
