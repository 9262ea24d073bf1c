/// A product scope; a member's role is set per scope (SPEC.md, Model).
public enum Scope: String, Sendable, Hashable, CaseIterable, Codable {
    case api = "API"
    case agentic = "AGENTIC"
    case endpoint = "ENDPOINT"
    case dast = "DAST"

    /// The caller's context from the `x-context-source` metadata: API when absent; one of the four scopes, or
    /// another well-formed context (Akto's MCP, GEN_AI: 1-32 of `[A-Za-z0-9_-]`), which is no scope and so
    /// resolves to NO_ACCESS (`scope` nil); INVALID_ARGUMENT otherwise.
    public static func fromContextSource(_ value: String?) throws -> (name: String, scope: Scope?) {
        guard let value, !value.isEmpty else { return (Scope.api.rawValue, .api) }
        let name = value.uppercased()
        guard name.utf8.count <= 32,
            name.utf8.allSatisfy({ (65...90).contains($0) || (48...57).contains($0) || $0 == 95 || $0 == 45 })
        else {
            throw RPCError.invalidField(
                "x-context-source", "must be a context name such as API, AGENTIC, ENDPOINT or DAST")
        }
        return (name, Scope(rawValue: name))
    }
}
