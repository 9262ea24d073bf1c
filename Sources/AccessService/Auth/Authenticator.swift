import AccessCore
import AccessRPC

/// Resolves the caller of a call from its metadata, failing closed: missing, malformed, unknown, expired or
/// revoked credentials are UNAUTHENTICATED; a role that cannot be resolved counts as NO_ACCESS.
public struct Authenticator: Sendable {
    let store: any AccountStore
    let clock: any WallClock

    public init(store: any AccountStore, clock: any WallClock) {
        self.store = store
        self.clock = clock
    }

    /// The caller, with the role of `scope` when given (account-wide operations), else of `x-context-source`.
    public func caller(for context: CallContext, scope override: Scope? = nil) async throws -> Caller {
        try await caller(
            presenting: PresentedCredentials(context), contextSource: context.metadata("x-context-source"),
            method: context.method, scope: override)
    }

    /// The caller a set of presented credentials stands for (at most one of them), in the scope `contextSource`
    /// names — or `scope` when given. `method` is the call's (a refresh token answers only Me).
    public func caller(
        presenting presented: PresentedCredentials, contextSource: String?, method: MethodDescriptor?,
        scope override: Scope? = nil
    ) async throws -> Caller {
        let source = try Scope.fromContextSource(contextSource)
        let chosen = (name: override?.rawValue ?? source.name, scope: override ?? source.scope)
        let authorization = presented.authorization
        let apiKey = presented.apiKey
        // <doc:DashboardSessions>: the dashboard's credentials. The access token works like a session token; the
        // refresh token is accepted only by Me (the page renderer reads who is signed in with the cookie a page
        // load carries).
        let dashboard = [presented.accessToken, presented.refreshToken].compactMap { $0 }
        if !dashboard.isEmpty {
            guard authorization == nil, apiKey == nil, dashboard.count == 1 else {
                throw RPCError(.unauthenticated, "send one credential: an access token, a session token or an API key")
            }
            if let accessToken = presented.accessToken {
                return try await accessTokenCaller(accessToken, context: chosen)
            }
            guard method == Methods.SessionService.me.descriptor, let refresh = presented.refreshToken else {
                throw RPCError(.unauthenticated, "a refresh token only trades for an access token (RefreshAccessToken)")
            }
            return try await refreshTokenCaller(refresh, context: chosen)
        }
        switch (authorization, apiKey) {
        case (nil, nil):
            throw RPCError(.unauthenticated, "sign in: send 'authorization: Bearer <session token>' or 'x-api-key'")
        case (.some, .some):
            throw RPCError(.unauthenticated, "send either an authorization header or an x-api-key, not both")
        case (let authorization?, nil):
            return try await sessionCaller(authorization, context: chosen)
        case (nil, let key?):
            return try await apiKeyCaller(key, context: chosen)
        }
    }

    private func sessionCaller(_ header: String, context: (name: String, scope: Scope?)) async throws -> Caller {
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw RPCError(.unauthenticated, "the authorization header must be 'Bearer <session token>'")
        }
        let token = String(parts[1])
        // Tokens are 43 base64url characters; anything else is rejected without a lookup.
        guard token.utf8.count == 43, token.utf8.allSatisfy(Self.isBase64URL) else {
            throw RPCError(.unauthenticated, "invalid session token")
        }
        guard
            let (session, principal) = try await store.sessionPrincipal(
                digest: Secrets.digest(token), scope: context.scope ?? .api)
        else {
            throw RPCError(.unauthenticated, "invalid session token")
        }
        guard !session.isRevoked, Double(session.expiresAt) > clock.now() else {
            throw RPCError(.unauthenticated, "the session has expired or was signed out; sign in again")
        }
        return try caller(
            principal, userID: session.userID, accountID: session.accountID, context: context,
            credential: .session(id: session.id))
    }

    private func accessTokenCaller(_ token: String, context: (name: String, scope: Scope?)) async throws -> Caller {
        guard Self.isTokenShaped(token),
            let (record, session, principal) = try await store.accessTokenPrincipal(
                digest: Secrets.digest(token), scope: context.scope ?? .api)
        else {
            throw RPCError(.unauthenticated, "invalid access token")
        }
        guard !session.isRevoked, Double(session.expiresAt) > clock.now() else {
            throw RPCError(.unauthenticated, "the session has expired or was signed out; sign in again")
        }
        guard Double(record.expiresAt) > clock.now() else {
            throw RPCError(.unauthenticated, "the access token has expired; refresh it")
        }
        return try caller(
            principal, userID: session.userID, accountID: session.accountID, context: context,
            credential: .session(id: session.id))
    }

    private func refreshTokenCaller(_ token: String, context: (name: String, scope: Scope?)) async throws -> Caller {
        let now = Int64(clock.now())
        guard Self.isTokenShaped(token),
            let (record, session) = try await store.refreshTokenSession(digest: Secrets.digest(token)),
            RefreshRotation.decide(token: record, session: session, now: now, grace: Int64.max, hops: 0) != .invalid,
            record.rotatedAt == nil
        else {
            throw RPCError(.unauthenticated, "invalid refresh token")
        }
        let principal = try await store.principal(
            userID: session.userID, accountID: session.accountID, scope: context.scope ?? .api)
        return try caller(
            principal, userID: session.userID, accountID: session.accountID, context: context,
            credential: .session(id: session.id))
    }

    /// 43 base64url characters (32 random bytes): anything else is rejected without a lookup.
    static func isTokenShaped(_ token: String) -> Bool {
        token.utf8.count == 43 && token.utf8.allSatisfy(isBase64URL)
    }

    private func apiKeyCaller(_ key: String, context: (name: String, scope: Scope?)) async throws -> Caller {
        guard ApiKeyFormat.isWellFormed(key) else { throw RPCError(.unauthenticated, "invalid API key") }
        guard
            let (token, principal) = try await store.apiKeyPrincipal(
                digest: Secrets.digest(key), scope: context.scope ?? .api)
        else {
            throw RPCError(.unauthenticated, "invalid API key")
        }
        let now = Int64(clock.now())
        // Last use is kept to the minute, so most calls need no write transaction.
        if now - token.lastUsedAt >= 60 { try await store.touchApiToken(id: token.id, now: now) }
        return try caller(
            principal, userID: token.userID, accountID: token.accountID, context: context,
            credential: .apiKey(id: token.id, utility: token.utility))
    }

    /// The caller a credential stands for, from the records read with it (one round trip to the store).
    private func caller(
        _ principal: PrincipalRecord?, userID: Int32, accountID: Int32, context: (name: String, scope: Scope?),
        credential: Caller.Credential
    ) throws -> Caller {
        guard let principal else {
            throw RPCError(.unauthenticated, "the credential's user or account no longer exists")
        }
        // A credential whose user was removed from its account stands for nobody there (SPEC.md, Authority).
        guard let membership = principal.membership else {
            throw RPCError(
                .unauthenticated, "the credential's user is no longer a member of its account; sign in again")
        }
        let roleName = context.scope.flatMap { membership.roles[$0] } ?? BuiltinRole.noAccess.rawValue
        let baseRole: BuiltinRole
        var collections: Set<Int32>?
        if let builtin = BuiltinRole(rawValue: roleName) {
            baseRole = builtin
        } else if let custom = principal.customRole {
            baseRole = custom.baseRole
            if !custom.apiCollectionIDs.isEmpty { collections = Set(custom.apiCollectionIDs) }
        } else {
            baseRole = .noAccess
        }
        return Caller(
            userID: userID, email: principal.user.email, accountID: accountID,
            organizationID: principal.account.organizationID, scope: context.scope,
            roleName: roleName, baseRole: baseRole, credential: credential, collectionIDs: collections,
            contextSource: context.name)
    }

    private static func isBase64URL(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "-")
            || byte == UInt8(ascii: "_")
    }
}

/// The credentials a call presents (its metadata), or a decision asks about.
public struct PresentedCredentials: Sendable, Equatable {
    /// `authorization: Bearer <session token>`.
    public var authorization: String?
    public var apiKey: String?
    public var accessToken: String?
    public var refreshToken: String?

    public init(
        authorization: String? = nil, apiKey: String? = nil, accessToken: String? = nil, refreshToken: String? = nil
    ) {
        self.authorization = authorization
        self.apiKey = apiKey
        self.accessToken = accessToken
        self.refreshToken = refreshToken
    }

    /// What the call's metadata carries.
    public init(_ context: CallContext) {
        self.init(
            authorization: context.metadata("authorization"), apiKey: context.metadata("x-api-key"),
            accessToken: context.metadata("access-token"), refreshToken: context.metadata("refresh-token"))
    }

    public var isEmpty: Bool { authorization == nil && apiKey == nil && accessToken == nil && refreshToken == nil }

    /// Equality in time that depends on the lengths only (the values are secrets).
    public func matches(_ other: PresentedCredentials) -> Bool {
        func same(_ a: String?, _ b: String?) -> Bool {
            guard let a, let b else { return a == nil && b == nil }
            return ConstantTime.equals(Array(a.utf8), Array(b.utf8))
        }
        // Every field compared, whatever the first says.
        let results = [
            same(authorization, other.authorization), same(apiKey, other.apiKey),
            same(accessToken, other.accessToken), same(refreshToken, other.refreshToken),
        ]
        return !results.contains(false)
    }
}
