/// The authenticated caller of one call, resolved from its credentials before any handler runs.
public struct Caller: Sendable, Hashable {
    /// How the caller proved who they are.
    public enum Credential: Sendable, Hashable {
        case session(id: Int64)
        case apiKey(id: Int32, utility: TokenUtility)
    }

    public let userID: Int32
    public let email: String
    public let accountID: Int32
    public let organizationID: String
    /// The scope whose role applies; nil for a context that is no scope (MCP, GEN_AI), where the caller has
    /// NO_ACCESS.
    public let scope: Scope?
    /// The `x-context-source` the call named (upper-case), scope or not.
    public let contextSource: String
    /// The role assigned in `scope`: a built-in name or a custom role's name.
    public let roleName: String
    /// The built-in role whose rights apply (a custom role's base role).
    public let baseRole: BuiltinRole
    public let credential: Credential
    /// The collections a custom role is limited to; nil when the caller may use every collection.
    public let collectionIDs: Set<Int32>?

    public init(
        userID: Int32, email: String, accountID: Int32, organizationID: String, scope: Scope?, roleName: String,
        baseRole: BuiltinRole, credential: Credential, collectionIDs: Set<Int32>? = nil, contextSource: String? = nil
    ) {
        self.contextSource = contextSource ?? scope?.rawValue ?? Scope.api.rawValue
        self.collectionIDs = collectionIDs
        self.userID = userID
        self.email = email
        self.accountID = accountID
        self.organizationID = organizationID
        self.scope = scope
        self.roleName = roleName
        self.baseRole = baseRole
        self.credential = credential
    }

    /// True when the caller may use this collection.
    public func mayUse(collection id: Int32) -> Bool { collectionIDs?.contains(id) ?? true }

    /// PERMISSION_DENIED for callers limited to some collections (account-wide work is not theirs to start).
    public func requireAllCollections(_ operation: String) throws {
        guard collectionIDs == nil else {
            throw RPCError(
                .permissionDenied, "role \(roleName) is limited to some collections and cannot run \(operation)")
        }
    }

    /// The caller's effective role in its scope.
    public var role: EffectiveRole { EffectiveRole(name: roleName, base: baseRole, collections: collectionIDs) }

    /// The scope a role write of this call goes to; PERMISSION_DENIED in a context that is no scope.
    public func requireScope() throws -> Scope {
        guard let scope else {
            throw RPCError(.permissionDenied, "\(contextSource) is not a scope roles can be set in")
        }
        return scope
    }

    /// True when the caller signed in with a session (not an API key).
    public var isSession: Bool {
        if case .session = credential { return true }
        return false
    }

    /// PERMISSION_DENIED unless the caller's role grants `level` on `feature`.
    /// The words every refusal of a NO_ACCESS caller's message contains (the gateway's `X-No-Access-Error`).
    public static let noAccessMarker = "role NO_ACCESS in scope"

    public func require(_ feature: Feature, _ level: AccessLevel) throws {
        guard baseRole.access(to: feature) >= level else {
            throw RPCError(
                .permissionDenied,
                "role \(roleName) in scope \(contextSource) lacks \(level == .readWrite ? "write" : "read") access to \(feature.rawValue)"
            )
        }
    }
}
