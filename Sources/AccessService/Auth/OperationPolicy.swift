import AccessCore

/// Who may call an operation: the feature and access level it needs, and which credentials may be used.
public struct OperationPolicy: Sendable {
    public var feature: Feature
    public var level: AccessLevel
    /// Only a signed-in session may call it (never an API key): token management, logout.
    public var sessionOnly: Bool
    /// An invitation operation: EXTERNAL_API keys may not call it.
    public var isInvite: Bool
    /// A traffic-ingest operation: BURP and CICD keys may call it although it writes.
    public var isIngest: Bool
    /// Account-wide (audit log, account settings, new workspaces): judged by the caller's role in the API
    /// scope, the account's owning scope, whatever `x-context-source` says (SPEC.md, Authority).
    public var isAccountWide: Bool

    public init(
        _ feature: Feature, _ level: AccessLevel, sessionOnly: Bool = false, isInvite: Bool = false,
        isIngest: Bool = false, isAccountWide: Bool = false
    ) {
        self.isAccountWide = isAccountWide
        self.feature = feature
        self.level = level
        self.sessionOnly = sessionOnly
        self.isInvite = isInvite
        self.isIngest = isIngest
    }

    /// SPEC.md's utility limits: EXTERNAL_API may call everything but token management, logout and invites;
    /// BURP and CICD only ingest and read-only operations; DECISIONS none (it asks DecisionService only).
    public func allows(_ utility: TokenUtility) -> Bool {
        if sessionOnly { return false }
        switch utility {
        case .externalAPI: return !isInvite
        case .burp, .cicd: return isIngest || level == .read
        case .decisions: return false
        }
    }

    /// Throws PERMISSION_DENIED unless `caller` may call the operation. Fails closed: anything unknown denies.
    public func check(_ caller: Caller, operation: String) throws {
        if case .apiKey(_, let utility) = caller.credential, !allows(utility) {
            if sessionOnly {
                throw RPCError(.permissionDenied, "\(operation) needs a signed-in session; API keys cannot call it")
            }
            throw RPCError(.permissionDenied, "a \(utility.rawValue) API key cannot call \(operation)")
        }
        try caller.require(feature, level)
    }
}
