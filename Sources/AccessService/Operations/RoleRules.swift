import AccessCore

extension AccessService {
    /// A request's scope -> role mapping as role requests: keys must be scopes (INVALID_ARGUMENT naming the key
    /// otherwise); the names are resolved, and every authority rule checked, inside the store's transaction.
    func roleRequests(_ raw: [String: String], field: String) throws -> [RoleRequest] {
        guard raw.count <= Scope.allCases.count else {
            throw RPCError.invalidField(field, "names at most \(Scope.allCases.count) scopes")
        }
        return try raw.sorted(by: { $0.key < $1.key }).map { key, value in
            guard let scope = Scope(rawValue: key.uppercased()) else {
                throw RPCError.invalidField("\(field).\(key)", "is not a scope (API, AGENTIC, ENDPOINT, DAST)")
            }
            let name = value.trimmed
            guard !name.isEmpty, name.count <= 64 else {
                throw RPCError.invalidField("\(field).\(key)", "must be a role name (1-64 characters)")
            }
            return RoleRequest(scope: scope, name: name, field: "\(field).\(key)")
        }
    }

    static func wire(_ roles: [Scope: String]) -> [String: String] {
        Dictionary(uniqueKeysWithValues: roles.map { ($0.key.rawValue, $0.value) })
    }
}
