import AccessCore
import AccessRPC

/// Resolves the caller of a call from its metadata, failing closed: missing, malformed, unknown, expired or
/// revoked credentials are UNAUTHENTICATED; a role that cannot be resolved counts as NO_ACCESS.
public struct Authenticator: Sendable {
    let store: any AccountStore
    let clock: any WallClock
    /// What credentials stood for, while the store's authority version says it still holds.
    let cache: PrincipalCache

    public init(store: any AccountStore, clock: any WallClock, cacheCapacity: Int = 0, cacheMaxAge: Double = 30) {
        self.store = store
        self.clock = clock
        let version = store.authorityVersion
        self.cache = PrincipalCache(
            version: version ?? NoAuthorityVersion(), capacity: version == nil ? 0 : cacheCapacity,
            maxAge: cacheMaxAge, clock: clock)
    }

    /// The caller, with the role of `scope` when given (account-wide operations), else of `x-context-source`.
    public func caller(for context: CallContext, scope override: Scope? = nil) async throws -> Caller {
        try await caller(
            presenting: PresentedCredentials(context), contextSource: context.metadata("x-context-source"),
            method: context.method, scope: override)
    }

    /// The same caller when it can be resolved without waiting — malformed credentials refused, or the
    /// credential found in the principal cache — else nil (the call then takes `caller(for:)`).
    public func callerNow(for context: CallContext, scope override: Scope? = nil) throws -> Caller? {
        try callerNow(
            presenting: PresentedCredentials(context), contextSource: context.metadata("x-context-source"),
            method: context.method, scope: override)
    }

    /// The caller a set of presented credentials stands for (at most one of them), in the scope `contextSource`
    /// names — or `scope` when given. `method` is the call's (a refresh token answers only Me).
    public func caller(
        presenting presented: PresentedCredentials, contextSource: String?, method: MethodDescriptor?,
        scope override: Scope? = nil
    ) async throws -> Caller {
        let request = try Lookup(presented, contextSource: contextSource, method: method, scope: override)
        let scope = request.storeScope
        switch request.credential {
        case .session(let digest):
            let found = try await cache.value(
                .session(digest: .init(digest), scope: scope), involvesCustomRoles: Self.involvesCustomRoles
            ) { try await store.sessionPrincipal(digest: digest, scope: scope) }
            return try sessionCaller(found, request)
        case .accessToken(let digest):
            let found = try await cache.value(
                .accessToken(digest: .init(digest), scope: scope), involvesCustomRoles: Self.involvesCustomRoles
            ) { try await store.accessTokenPrincipal(digest: digest, scope: scope) }
            return try accessTokenCaller(found, request)
        case .refreshToken(let digest):
            return try await refreshTokenCaller(digest, request)
        case .apiKey(let digest):
            let key = PrincipalCache.Key.apiKey(digest: .init(digest), scope: scope)
            guard
                let found = try await cache.value(
                    key, involvesCustomRoles: Self.involvesCustomRoles,
                    load: { try await store.apiKeyPrincipal(digest: digest, scope: scope) })
            else {
                throw RPCError(.unauthenticated, "invalid API key")
            }
            let now = Int64(clock.now())
            // Last use is kept to the minute, so most calls need no write transaction.
            if now - found.token.lastUsedAt >= 60 {
                try await store.touchApiToken(id: found.token.id, now: now)
                cache.refresh(key, as: ApiKeyFound.self) { found in
                    var token = found.token
                    token.lastUsedAt = now
                    return (token, found.principal)
                }
            }
            return try apiKeyCaller(found, request)
        }
    }

    /// `caller(presenting:…)` when it can be answered without waiting, else nil.
    public func callerNow(
        presenting presented: PresentedCredentials, contextSource: String?, method: MethodDescriptor?,
        scope override: Scope? = nil
    ) throws -> Caller? {
        // The key's shape (its checksum) is checked only when memory cannot answer: a key found in the cache by
        // its digest was well formed when it was stored.
        let request = try Lookup(
            presented, contextSource: contextSource, method: method, scope: override, checkingKeyShape: false)
        let scope = request.storeScope
        switch request.credential {
        case .session(let digest):
            guard let found = cache.peekNow(.session(digest: .init(digest), scope: scope), as: SessionFound.self) else {
                return nil
            }
            return try sessionCaller(found, request)
        case .accessToken(let digest):
            guard
                let found = cache.peekNow(.accessToken(digest: .init(digest), scope: scope), as: AccessTokenFound.self)
            else { return nil }
            return try accessTokenCaller(found, request)
        case .refreshToken:
            return nil
        case .apiKey(let digest):
            guard let found = cache.peekNow(.apiKey(digest: .init(digest), scope: scope), as: ApiKeyFound.self),
                Int64(clock.now()) - found.token.lastUsedAt < 60
            else {
                // Not answered from memory: a malformed key is refused here, without a lookup.
                if let key = presented.apiKey, !ApiKeyFormat.isWellFormed(key) {
                    throw RPCError(.unauthenticated, "invalid API key")
                }
                return nil
            }
            return try apiKeyCaller(found, request)
        }
    }

    static func involvesCustomRoles(_ found: SessionFound) -> Bool { found.principal?.involvesCustomRoles ?? false }
    static func involvesCustomRoles(_ found: AccessTokenFound) -> Bool {
        found.principal?.involvesCustomRoles ?? false
    }
    static func involvesCustomRoles(_ found: ApiKeyFound) -> Bool { found.principal?.involvesCustomRoles ?? false }

    typealias SessionFound = (session: SessionRecord, principal: PrincipalRecord?)
    typealias AccessTokenFound = (token: SessionTokenRecord, session: SessionRecord, principal: PrincipalRecord?)
    typealias ApiKeyFound = (token: ApiTokenRecord, principal: PrincipalRecord?)

    private func sessionCaller(_ found: SessionFound?, _ request: Lookup) throws -> Caller {
        guard let (session, principal) = found else { throw RPCError(.unauthenticated, "invalid session token") }
        guard !session.isRevoked, Double(session.expiresAt) > clock.now() else {
            throw RPCError(.unauthenticated, "the session has expired or was signed out; sign in again")
        }
        return try caller(
            principal, userID: session.userID, accountID: session.accountID, context: request.context,
            credential: .session(id: session.id))
    }

    private func accessTokenCaller(_ found: AccessTokenFound?, _ request: Lookup) throws -> Caller {
        guard let (record, session, principal) = found else {
            throw RPCError(.unauthenticated, "invalid access token")
        }
        guard !session.isRevoked, Double(session.expiresAt) > clock.now() else {
            throw RPCError(.unauthenticated, "the session has expired or was signed out; sign in again")
        }
        guard Double(record.expiresAt) > clock.now() else {
            throw RPCError(.unauthenticated, "the access token has expired; refresh it")
        }
        return try caller(
            principal, userID: session.userID, accountID: session.accountID, context: request.context,
            credential: .session(id: session.id))
    }

    /// A refresh token is never cached: it is spent (rotated) by its one legitimate use.
    private func refreshTokenCaller(_ digest: [UInt8], _ request: Lookup) async throws -> Caller {
        let now = Int64(clock.now())
        guard let (record, session) = try await store.refreshTokenSession(digest: digest),
            RefreshRotation.decide(token: record, session: session, now: now, grace: Int64.max, hops: 0) != .invalid,
            record.rotatedAt == nil
        else {
            throw RPCError(.unauthenticated, "invalid refresh token")
        }
        let principal = try await store.principal(
            userID: session.userID, accountID: session.accountID, scope: request.storeScope)
        return try caller(
            principal, userID: session.userID, accountID: session.accountID, context: request.context,
            credential: .session(id: session.id))
    }

    private func apiKeyCaller(_ found: ApiKeyFound, _ request: Lookup) throws -> Caller {
        try caller(
            found.principal, userID: found.token.userID, accountID: found.token.accountID, context: request.context,
            credential: .apiKey(id: found.token.id, utility: found.token.utility))
    }

    /// 43 base64url characters (32 random bytes): anything else is rejected without a lookup.
    static func isTokenShaped(_ token: String) -> Bool {
        token.utf8.count == 43 && token.utf8.allSatisfy(isBase64URL)
    }

    /// The one credential a call presents, checked for shape (malformed ones are refused without a lookup) and
    /// digested, with the scope it is judged in.
    struct Lookup {
        enum Credential {
            case session([UInt8])
            case accessToken([UInt8])
            case refreshToken([UInt8])
            case apiKey([UInt8])
        }
        let credential: Credential
        let context: (name: String, scope: Scope?)
        /// The scope whose role the store reads (the API scope for a context that is none).
        var storeScope: Scope { context.scope ?? .api }

        init(
            _ presented: PresentedCredentials, contextSource: String?, method: MethodDescriptor?,
            scope override: Scope?,
            checkingKeyShape: Bool = true
        ) throws {
            let source = try Scope.fromContextSource(contextSource)
            context = (name: override?.rawValue ?? source.name, scope: override ?? source.scope)
            let authorization = presented.authorization
            let apiKey = presented.apiKey
            // <doc:DashboardSessions>: the dashboard's credentials. The access token works like a session token;
            // the refresh token is accepted only by Me (the page renderer reads who is signed in with the cookie a
            // page load carries).
            let dashboard = [presented.accessToken, presented.refreshToken].compactMap { $0 }
            if !dashboard.isEmpty {
                guard authorization == nil, apiKey == nil, dashboard.count == 1 else {
                    throw RPCError(
                        .unauthenticated, "send one credential: an access token, a session token or an API key")
                }
                if let accessToken = presented.accessToken {
                    guard Authenticator.isTokenShaped(accessToken) else {
                        throw RPCError(.unauthenticated, "invalid access token")
                    }
                    credential = .accessToken(Secrets.digest(accessToken))
                    return
                }
                guard method == Methods.SessionService.me.descriptor, let refresh = presented.refreshToken else {
                    throw RPCError(
                        .unauthenticated, "a refresh token only trades for an access token (RefreshAccessToken)")
                }
                guard Authenticator.isTokenShaped(refresh) else {
                    throw RPCError(.unauthenticated, "invalid refresh token")
                }
                credential = .refreshToken(Secrets.digest(refresh))
                return
            }
            switch (authorization, apiKey) {
            case (nil, nil):
                throw RPCError(
                    .unauthenticated, "sign in: send 'authorization: Bearer <session token>' or 'x-api-key'")
            case (.some, .some):
                throw RPCError(.unauthenticated, "send either an authorization header or an x-api-key, not both")
            case (let header?, nil):
                let parts = header.split(separator: " ", maxSplits: 1)
                guard parts.count == 2, parts[0].lowercased() == "bearer" else {
                    throw RPCError(.unauthenticated, "the authorization header must be 'Bearer <session token>'")
                }
                // Tokens are 43 base64url characters; anything else is rejected without a lookup.
                guard Authenticator.isTokenShaped(String(parts[1])) else {
                    throw RPCError(.unauthenticated, "invalid session token")
                }
                credential = .session(Secrets.digest(String(parts[1])))
            case (nil, let key?):
                guard key.utf8.count == ApiKeyFormat.length, !checkingKeyShape || ApiKeyFormat.isWellFormed(key) else {
                    throw RPCError(.unauthenticated, "invalid API key")
                }
                credential = .apiKey(Secrets.digest(key))
            }
        }
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
