/// A product scope; a member's role is set per scope (SPEC.md, Model).
public enum Scope: String, Sendable, Hashable, CaseIterable, Codable {
    case api = "API"
    case agentic = "AGENTIC"
    case endpoint = "ENDPOINT"
    case dast = "DAST"

    /// The caller's scope from the `x-context-source` metadata: API when absent, INVALID_ARGUMENT when unknown.
    public static func fromContextSource(_ value: String?) throws -> Scope {
        guard let value, !value.isEmpty else { return .api }
        guard let scope = Scope(rawValue: value.uppercased()) else {
            let names = allCases.map(\.rawValue).joined(separator: ", ")
            throw RPCError.invalidField("x-context-source", "must be one of \(names)")
        }
        return scope
    }
}
