import AccessCore
import Foundation
import Logging
import NIOCore
import PostgresNIO
import ServiceLifecycle

/// The scale-out store: the same protocols as `SQLiteAccountStore`, on PostgreSQL, so several `akto-access`
/// processes share one database. Every mutation is one transaction (READ COMMITTED) that writes its audit row;
/// rules spanning rows take the row lock of their account or user first (`FOR NO KEY UPDATE`), so they hold
/// across processes; serialization failures, deadlocks and lost unique-insert races are retried a bounded
/// number of times, then ABORTED. Nothing is cached in the process.
public final class PostgresAccountStore: Service, Sendable {
    let executor: PostgresExecutor
    private let client: PostgresClient
    /// The pool's task when the store was opened with `connect` (tools, tests) rather than run as a service.
    private let ownRunner = Locked<Task<Void, Never>?>(nil)
    private let logger: Logger
    public let configuration: PostgresConfiguration

    /// The store over a connection pool that is not running yet: `serve` puts the store in its `ServiceGroup`
    /// (`run` is the pool), then calls `migrate` before any other service starts. Tools use `connect`.
    public init(configuration: PostgresConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        let postgres = PostgresClient(configuration: configuration.clientConfiguration(), backgroundLogger: logger)
        self.client = postgres
        executor = PostgresExecutor(
            client: postgres, logger: logger, maxAttempts: configuration.maxTransactionAttempts,
            acquireTimeout: configuration.connectTimeoutDuration, lockTimeout: configuration.lockTimeout)
    }

    /// Runs the connection pool until the task is cancelled or the group shuts down gracefully (after the
    /// services that depend on it have drained: it comes first in the group).
    public func run() async {
        await client.run()
    }

    /// Runs the pending migrations; needs `run` running. UNAVAILABLE when the database cannot be reached within
    /// the connect timeout.
    public func migrate() async throws {
        do {
            // Reaching the database is bounded by the executor's wait for a connection (the pool would otherwise
            // keep retrying); the migrations are not: on a large database they may take longer than a connect.
            let ran = try await executor.read { db in try await PostgresMigrations.migrate(db) }
            if !ran.isEmpty {
                logger.notice("database migrated", metadata: ["applied": "\(ran.joined(separator: ","))"])
            }
        } catch {
            throw RPCError(
                .unavailable, "cannot open the database \(configuration.redacted)",
                cause: String(reflecting: (error as? RPCError)?.cause ?? "\(error)"))
        }
    }

    /// For one-shot tools and tests: a store whose pool runs in a task of its own, migrated; `shutdown()` ends
    /// it. `serve` runs the pool in its service group instead.
    public static func connect(configuration: PostgresConfiguration, logger: Logger) async throws
        -> PostgresAccountStore
    {
        let store = PostgresAccountStore(configuration: configuration, logger: logger)
        store.ownRunner.withLock { $0 = Task { await store.run() } }
        do {
            try await store.migrate()
        } catch {
            await store.shutdown()
            throw error
        }
        return store
    }

    /// A store nobody holds any more closes its pool.
    deinit { ownRunner.withLock { $0?.cancel() } }

    /// Ends the pool `connect` started and waits until its connections are closed.
    public func shutdown() async {
        let runner = ownRunner.withLock { runner in
            defer { runner = nil }
            return runner
        }
        runner?.cancel()
        await runner?.value
    }

    @discardableResult
    func write<T: Sendable>(_ body: @escaping @Sendable (PostgresDatabase) async throws -> T) async throws -> T {
        try await executor.write(body)
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (PostgresDatabase) async throws -> T) async throws -> T {
        try await executor.read(body)
    }

    func snapshot<T: Sendable>(_ body: @escaping @Sendable (PostgresDatabase) async throws -> T) async throws -> T {
        try await executor.snapshot(body)
    }
}

extension PostgresAccountStore: AccountStore {
    // MARK: Users and sessions

    public func hasUsers() async throws -> Bool {
        try await read { db in try await db.value("SELECT EXISTS (SELECT 1 FROM users)", as: Bool.self) ?? false }
    }

    public func createFirstUser(
        email: String, name: String, passwordHash: String, organizationName: String, sessionDigest: [UInt8]?,
        setupTokenDigest: [UInt8]?, now: Int64, sessionExpiresAt: Int64, audit: AuditEntry
    ) async throws -> (user: UserRecord, account: AccountRecord, session: SessionRecord?) {
        try await write { db in
            // Two processes' first sign-ups must not both create an organization.
            try await db.execute("SELECT pg_advisory_xact_lock(\(Self.firstUserLock))")
            try AccountRules.createFirstUser(
                hasUsers: try await db.value("SELECT EXISTS (SELECT 1 FROM users)", as: Bool.self) ?? true)
            if let setupTokenDigest {
                let consumed = try await db.execute(
                    "DELETE FROM setup_token WHERE token_digest = \(Data(setupTokenDigest)) RETURNING 1")
                guard consumed == 1 else { throw AccountRules.setupTokenRequired }
            }
            try await db.execute("DELETE FROM setup_token RETURNING 1")
            guard
                let userID = try await db.value(
                    """
                    INSERT INTO users (email, name, password_hash, created_at, last_login_at)
                    VALUES (\(email), \(name), \(passwordHash), \(now), \(now)) RETURNING id
                    """, as: Int32.self)
            else { throw RPCError(.internal, "the new user has no id") }
            let organizationID = UUID().uuidString.lowercased()
            try await db.execute(
                """
                INSERT INTO organizations (id, name, admin_email, owner_user_id, created_at)
                VALUES (\(organizationID), \(organizationName), \(email), \(userID), \(now))
                """)
            let account = try await Self.insertAccount(db, organizationID: organizationID, name: "My account", now: now)
            try await Self.insertMember(
                db, userID: userID, accountID: account.id, role: BuiltinRole.admin.rawValue, now: now)
            var session: SessionRecord?
            if let sessionDigest {
                session = try await Self.insertSession(
                    db, userID: userID, accountID: account.id, digest: sessionDigest, now: now,
                    expiresAt: sessionExpiresAt)
            }
            var entry = audit
            entry.actorUserID = userID
            entry.accountID = account.id
            try await Self.insertAudit(db, entry)
            let user = UserRecord(id: userID, email: email, name: name, passwordHash: passwordHash, createdAt: now)
            return (user, account, session)
        }
    }

    static let firstUserLock: Int64 = 0x616B_746F_6669_7273  // "aktofirs"

    public func installSetupToken(digest: [UInt8], now: Int64) async throws -> SetupTokenState {
        try await write { db in
            try await db.execute("SELECT pg_advisory_xact_lock(\(Self.firstUserLock))")
            if try await db.value("SELECT EXISTS (SELECT 1 FROM users)", as: Bool.self) == true {
                try await db.execute("DELETE FROM setup_token RETURNING 1")
                return .notNeeded
            }
            if let createdAt = try await db.value("SELECT created_at FROM setup_token WHERE id = 1", as: Int64.self) {
                return .exists(createdAt: createdAt)
            }
            try await db.execute(
                "INSERT INTO setup_token (id, token_digest, created_at) VALUES (1, \(Data(digest)), \(now)) RETURNING 1"
            )
            return .created
        }
    }

    public func user(email: String) async throws -> UserRecord? {
        try await read { db in try await db.row("SELECT * FROM users WHERE email = \(email)").map(Self.user) }
    }

    public func user(id: Int32) async throws -> UserRecord? {
        try await read { db in try await db.row("SELECT * FROM users WHERE id = \(id)").map(Self.user) }
    }

    public func createSession(
        userID: Int32, accountID: Int32?, digest: [UInt8], now: Int64, expiresAt: Int64, audit: AuditEntry
    ) async throws -> SessionRecord {
        try await write { db in
            var chosen: Int32?
            if let accountID {
                chosen = try await db.value(
                    "SELECT account_id FROM members WHERE user_id = \(userID) AND account_id = \(accountID)",
                    as: Int32.self)
            } else {
                // The account of the user's latest session, else the one they joined first.
                chosen = try await db.value(
                    """
                    SELECT s.account_id FROM sessions s JOIN members m
                      ON m.user_id = s.user_id AND m.account_id = s.account_id
                    WHERE s.user_id = \(userID) ORDER BY s.id DESC LIMIT 1
                    """, as: Int32.self)
                if chosen == nil {
                    chosen = try await db.value(
                        "SELECT account_id FROM members WHERE user_id = \(userID) ORDER BY joined_at, account_id LIMIT 1",
                        as: Int32.self)
                }
            }
            let account = try AccountRules.sessionAccount(chosen)
            let session = try await Self.insertSession(
                db, userID: userID, accountID: account, digest: digest, now: now, expiresAt: expiresAt)
            try await db.execute("UPDATE users SET last_login_at = \(now) WHERE id = \(userID)")
            var entry = audit
            entry.accountID = account
            try await Self.insertAudit(db, entry)
            return session
        }
    }

    public func session(digest: [UInt8]) async throws -> SessionRecord? {
        try await read { db in
            try await db.row("SELECT * FROM sessions WHERE token_digest = \(Data(digest))").map(Self.session)
        }
    }

    public func revokeSessions(sessionID: Int64, allOfUser: Bool, audit: AuditEntry) async throws {
        try await write { db in
            if allOfUser {
                try await db.execute(
                    "UPDATE sessions SET revoked = true WHERE user_id = (SELECT user_id FROM sessions WHERE id = \(sessionID))"
                )
            } else {
                try await db.execute("UPDATE sessions SET revoked = true WHERE id = \(sessionID)")
            }
            try await Self.insertAudit(db, audit)
        }
    }

    // MARK: Accounts and memberships

    public func account(id: Int32) async throws -> AccountRecord? {
        try await read { db in try await db.row("SELECT * FROM accounts WHERE id = \(id)").map(Self.account) }
    }

    public func organization(id: String) async throws -> OrganizationRecord? {
        try await read { db in
            try await db.row("SELECT * FROM organizations WHERE id = \(id)").map { row in
                OrganizationRecord(
                    id: try row["id"], name: try row["name"], adminEmail: try row["admin_email"],
                    ownerUserID: try row["owner_user_id"])
            }
        }
    }

    public func membership(userID: Int32, accountID: Int32) async throws -> MembershipRecord? {
        try await read { db in try await Self.membership(db, userID: userID, accountID: accountID) }
    }

    public func memberships(userID: Int32) async throws -> [(account: AccountRecord, membership: MembershipRecord)] {
        let rows = try await snapshot { db in
            let accounts = try await db.rows(
                "SELECT a.* FROM accounts a JOIN members m ON m.account_id = a.id WHERE m.user_id = \(userID) ORDER BY a.id"
            ).map(Self.account)
            var result: [(AccountRecord, MembershipRecord)] = []
            for account in accounts {
                result.append(
                    (
                        account,
                        try await Self.membership(db, userID: userID, accountID: account.id)
                            ?? MembershipRecord(userID: userID, accountID: account.id, roles: [:])
                    ))
            }
            return result.map { Pair(first: $0.0, second: $0.1) }
        }
        return rows.map { (account: $0.first, membership: $0.second) }
    }

    public func customRole(accountID: Int32, name: String) async throws -> CustomRoleRecord? {
        try await read { db in
            try await db.row(
                "SELECT * FROM custom_roles WHERE account_id = \(accountID) AND name = \(name.uppercased())"
            ).map(Self.customRole)
        }
    }

    public func principal(userID: Int32, accountID: Int32, scope: Scope) async throws -> PrincipalRecord? {
        try await read { db in
            try await db.row(
                Self.principalQuery(
                    select: "", from: "users u JOIN accounts a ON a.id = $2", where: "u.id = $1", scope: scope,
                    binds: {
                        $0.append(userID); $0.append(accountID)
                    })
            ).flatMap { try Self.principal($0, scope: scope) }
        }
    }

    public func apiKeyPrincipal(digest: [UInt8], scope: Scope) async throws
        -> (token: ApiTokenRecord, principal: PrincipalRecord?)?
    {
        let found = try await read { db -> Pair<ApiTokenRecord, PrincipalRecord?>? in
            guard
                let row = try await db.row(
                    Self.principalQuery(
                        select: "t.*,",
                        from:
                            "api_tokens t LEFT JOIN users u ON u.id = t.user_id LEFT JOIN accounts a ON a.id = t.account_id",
                        where: "t.key_digest = $1", scope: scope, binds: { try $0.append(Data(digest)) }))
            else { return nil }
            return Pair(first: try Self.apiToken(row), second: try Self.principal(row, scope: scope))
        }
        return found.map { ($0.first, $0.second) }
    }

    public func sessionPrincipal(digest: [UInt8], scope: Scope) async throws
        -> (session: SessionRecord, principal: PrincipalRecord?)?
    {
        let found = try await read { db -> Pair<SessionRecord, PrincipalRecord?>? in
            guard
                let row = try await db.row(
                    Self.principalQuery(
                        select: "s.*,",
                        from:
                            "sessions s LEFT JOIN users u ON u.id = s.user_id LEFT JOIN accounts a ON a.id = s.account_id",
                        where: "s.token_digest = $1", scope: scope, binds: { try $0.append(Data(digest)) }))
            else { return nil }
            return Pair(first: try Self.session(row), second: try Self.principal(row, scope: scope))
        }
        return found.map { ($0.first, $0.second) }
    }

    /// One statement (one round trip, one snapshot) reading what authenticating a call needs: `select`'s
    /// columns, the user `u` and account `a` that `from` joins, the membership, its roles, and the custom role
    /// named by the membership's role in `scope`. The scope is bound after `binds`.
    static func principalQuery(
        select: String, from: String, where condition: String, scope: Scope,
        binds: (inout PostgresBindings) throws -> Void
    ) throws -> PostgresQuery {
        var bindings = PostgresBindings()
        try binds(&bindings)
        bindings.append(scope.rawValue)
        let scopeBind = "$\(bindings.count)"
        return PostgresQuery(
            unsafeSQL: """
                SELECT \(select)
                  u.id AS u_id, u.email AS u_email, u.name AS u_name, u.password_hash AS u_password_hash,
                  u.created_at AS u_created_at,
                  a.id AS a_id, a.name AS a_name, a.organization_id AS a_organization_id, a.created_at AS a_created_at,
                  m.user_id IS NOT NULL AS is_member,
                  COALESCE((SELECT json_object_agg(r.scope, r.role)::text FROM member_roles r
                            WHERE r.user_id = u.id AND r.account_id = a.id), '{}') AS member_roles,
                  c.name AS c_name, c.base_role AS c_base_role, c.api_collection_ids AS c_api_collection_ids,
                  c.default_invite_role AS c_default_invite_role, c.allowed_features AS c_allowed_features,
                  c.last_modified_at AS c_last_modified_at
                FROM \(from)
                  LEFT JOIN members m ON m.user_id = u.id AND m.account_id = a.id
                  LEFT JOIN member_roles sr ON sr.user_id = u.id AND sr.account_id = a.id AND sr.scope = \(scopeBind)
                  LEFT JOIN custom_roles c ON c.account_id = a.id AND c.name = upper(sr.role)
                WHERE \(condition)
                """, binds: bindings)
    }

    /// The principal of a `principalQuery` row; nil when its user or account no longer exists. The custom role
    /// is kept only when the membership's role in `scope` is not a built-in one.
    static func principal(_ row: PostgresRecord, scope: Scope) throws -> PrincipalRecord? {
        guard let userID = try row["u_id"] as Int32?, let accountID = try row["a_id"] as Int32? else { return nil }
        let user = UserRecord(
            id: userID, email: try row["u_email"], name: try row["u_name"], passwordHash: try row["u_password_hash"],
            createdAt: try row["u_created_at"])
        let account = AccountRecord(
            id: accountID, name: try row["a_name"], organizationID: try row["a_organization_id"],
            createdAt: try row["a_created_at"])
        var membership: MembershipRecord?
        if try row["is_member"] as Bool {
            membership = MembershipRecord(
                userID: userID, accountID: accountID,
                roles: Self.roles(try row.json("member_roles", as: [String: String].self)))
        }
        var custom: CustomRoleRecord?
        if let held = membership?.roles[scope], BuiltinRole(rawValue: held) == nil,
            let name = try row["c_name"] as String?
        {
            custom = CustomRoleRecord(
                accountID: accountID, name: name, baseRole: BuiltinRole(rawValue: try row["c_base_role"]) ?? .noAccess,
                apiCollectionIDs: try row.json("c_api_collection_ids", as: [Int32].self) ?? [],
                isDefaultInviteRole: try row["c_default_invite_role"],
                allowedFeatures: try row.json("c_allowed_features", as: [String].self) ?? [],
                lastModifiedAt: try row["c_last_modified_at"])
        }
        return PrincipalRecord(user: user, account: account, membership: membership, customRole: custom)
    }

    public func apiToken(digest: [UInt8]) async throws -> ApiTokenRecord? {
        try await read { db in
            try await db.row("SELECT * FROM api_tokens WHERE key_digest = \(Data(digest))").map(Self.apiToken)
        }
    }

    public func touchApiToken(id: Int32, now: Int64) async throws {
        try await write { db in
            try await db.execute(
                "UPDATE api_tokens SET last_used_at = \(now) WHERE id = \(id) AND last_used_at < \(now - 60)")
        }
    }

    public func createApiToken(
        accountID: Int32, userID: Int32, utility: TokenUtility, name: String, digest: [UInt8], now: Int64, maxLive: Int,
        audit: AuditEntry
    ) async throws -> ApiTokenRecord {
        try await write { db in
            try await db.lockUser(userID)
            let live =
                try await db.value(
                    "SELECT COUNT(*) FROM api_tokens WHERE account_id = \(accountID) AND user_id = \(userID)",
                    as: Int64.self) ?? 0
            try AccountRules.createApiToken(live: Int(live), max: maxLive)
            guard
                let id = try await db.value(
                    """
                    INSERT INTO api_tokens (account_id, user_id, utility, name, key_digest, created_at)
                    VALUES (\(accountID), \(userID), \(utility.rawValue), \(name), \(Data(digest)), \(now)) RETURNING id
                    """, as: Int32.self)
            else { throw RPCError(.internal, "the new token has no id") }
            var entry = audit
            entry.target = "api-token:\(id)"
            try await Self.insertAudit(db, entry)
            return ApiTokenRecord(
                id: id, accountID: accountID, userID: userID, utility: utility, name: name, createdAt: now,
                lastUsedAt: 0)
        }
    }

    public func deleteApiToken(id: Int32, userID: Int32, accountID: Int32, audit: AuditEntry) async throws -> Bool {
        try await write { db in
            guard
                try await db.execute(
                    "DELETE FROM api_tokens WHERE id = \(id) AND user_id = \(userID) AND account_id = \(accountID) RETURNING id"
                ) > 0
            else { return false }
            try await Self.insertAudit(db, audit)
            return true
        }
    }

    public func apiTokens(userID: Int32, accountID: Int32) async throws -> [ApiTokenRecord] {
        try await read { db in
            try await db.rows(
                "SELECT * FROM api_tokens WHERE user_id = \(userID) AND account_id = \(accountID) ORDER BY id"
            ).map(Self.apiToken)
        }
    }

    // MARK: Account operations

    public func createAccount(
        userID: Int32, organizationID: String, name: String, maxAccountsPerUser: Int, sessionID: Int64?, now: Int64,
        audit: AuditEntry
    ) async throws -> AccountRecord {
        try await write { db in
            try await db.lockUser(userID)
            let count =
                try await db.value("SELECT COUNT(*) FROM members WHERE user_id = \(userID)", as: Int64.self) ?? 0
            try AccountRules.createAccount(memberships: Int(count), max: maxAccountsPerUser)
            let account = try await Self.insertAccount(db, organizationID: organizationID, name: name, now: now)
            try await Self.insertMember(
                db, userID: userID, accountID: account.id, role: BuiltinRole.admin.rawValue, now: now)
            if let sessionID {
                try await db.execute("UPDATE sessions SET account_id = \(account.id) WHERE id = \(sessionID)")
            }
            var entry = audit
            entry.target = "account:\(account.id)"
            try await Self.insertAudit(db, entry)
            return account
        }
    }

    public func switchSession(sessionID: Int64, accountID: Int32, audit: AuditEntry) async throws -> Bool {
        try await write { db in
            guard
                try await db.execute(
                    """
                    UPDATE sessions SET account_id = \(accountID) WHERE id = \(sessionID) AND NOT revoked
                      AND EXISTS (SELECT 1 FROM members WHERE members.user_id = sessions.user_id
                                  AND members.account_id = \(accountID))
                    RETURNING id
                    """) == 1
            else { return false }
            var entry = audit
            entry.accountID = accountID
            try await Self.insertAudit(db, entry)
            return true
        }
    }

    public func rename(userID: Int32, name: String?, organizationID: String, organization: String?, audit: AuditEntry)
        async throws -> String
    {
        try await write { db in
            let row = try await db.row(
                "SELECT name, owner_user_id FROM organizations WHERE id = \(organizationID) FOR NO KEY UPDATE")
            let current: String = try row?["name"] ?? ""
            let owner: Int32? = try row?["owner_user_id"] ?? nil
            let renames = try AccountRules.renameOrganization(
                actor: userID, ownerUserID: owner, current: current, requested: organization)
            if let name { try await db.execute("UPDATE users SET name = \(name) WHERE id = \(userID)") }
            if renames, let organization {
                try await db.execute("UPDATE organizations SET name = \(organization) WHERE id = \(organizationID)")
            }
            try await Self.insertAudit(db, audit)
            return renames ? organization ?? current : current
        }
    }

    public func transferOwnership(organizationID: String, actorID: Int32, email: String, audit: AuditEntry) async throws
        -> UserRecord
    {
        try await write { db in
            let owner = try await db.value(
                "SELECT owner_user_id FROM organizations WHERE id = \(organizationID) FOR NO KEY UPDATE", as: Int32.self
            )
            let newOwner = try await Self.userID(db, email: email)
            let isMember =
                try await db.value(
                    """
                    SELECT EXISTS (SELECT 1 FROM members m JOIN accounts a ON a.id = m.account_id
                                   WHERE m.user_id = \(newOwner) AND a.organization_id = \(organizationID))
                    """, as: Bool.self) ?? false
            try AccountRules.transferOwnership(
                actor: actorID, ownerUserID: owner, newOwner: newOwner, newOwnerIsMember: isMember)
            guard let newOwner, let user = try await Self.user(db, id: newOwner) else {
                throw MembershipRules.noSuchMember
            }
            try await db.execute(
                "UPDATE organizations SET owner_user_id = \(newOwner), admin_email = \(user.email) WHERE id = \(organizationID)"
            )
            var entry = audit
            entry.target = "user:\(newOwner)"
            try await Self.insertAudit(db, entry)
            return user
        }
    }

    public func issuePasswordResetToken(
        accountID: Int32, actorID: Int32, email: String, digest: [UInt8], now: Int64, expiresAt: Int64,
        minimumInterval: Int64, audit: AuditEntry
    ) async throws -> UserRecord {
        try await write { db in
            let (target, active, accounts) = try await Self.identityWideFacts(
                db, accountID: accountID, actorID: actorID, email: email)
            // The user's row lock makes the interval rule hold across processes.
            if let target { try await db.lockUser(target) }
            let last = try await db.value(
                "SELECT MAX(created_at) FROM password_reset_tokens WHERE user_id = \(target)", as: Int64.self)
            try ResetTokenRules.issue(
                actor: actorID, target: target, activeAccount: active, accounts: accounts, lastIssuedAt: last, now: now,
                interval: minimumInterval)
            guard let target, let user = try await Self.user(db, id: target) else { throw MembershipRules.noSuchMember }
            try await db.execute(
                """
                INSERT INTO password_reset_tokens (user_id, token_digest, issued_by, account_id, created_at, expires_at)
                VALUES (\(target), \(Data(digest)), \(actorID), \(accountID), \(now), \(expiresAt))
                """)
            var entry = audit
            entry.target = "user:\(target)"
            try await Self.insertAudit(db, entry)
            return user
        }
    }

    public func resetTokenEmail(digest: [UInt8]) async throws -> String? {
        try await read { db in
            try await db.value(
                """
                SELECT u.email FROM password_reset_tokens t JOIN users u ON u.id = t.user_id
                WHERE t.token_digest = \(Data(digest))
                """, as: String.self)
        }
    }

    public func consumePasswordResetToken(digest: [UInt8], passwordHash: String, now: Int64, audit: AuditEntry)
        async throws -> Int32
    {
        try await write { db in
            let row = try await db.row("SELECT * FROM password_reset_tokens WHERE token_digest = \(Data(digest))")
            var token: ResetTokenRules.Token?
            if let row {
                let used: Int64? = try row["used_at"]
                let revoked: Int64? = try row["revoked_at"]
                token = ResetTokenRules.Token(
                    userID: try row["user_id"], issuedBy: try row["issued_by"], accountID: try row["account_id"],
                    expiresAt: try row["expires_at"], isUsed: used != nil, isRevoked: revoked != nil)
            }
            var accounts: [AccountFacts] = []
            if let token {
                accounts = try await Self.lockedAccountsFacts(
                    db, of: token.userID, also: token.accountID.map { [$0] } ?? [],
                    users: [token.userID, token.issuedBy])
            }
            try ResetTokenRules.consume(token, now: now, accounts: accounts)
            guard let token,
                try await db.execute(
                    """
                    UPDATE password_reset_tokens SET used_at = \(now)
                    WHERE token_digest = \(Data(digest)) AND used_at IS NULL AND revoked_at IS NULL RETURNING id
                    """) == 1
            else { throw ResetTokenRules.unusable }
            let userID = token.userID
            try await db.execute("UPDATE users SET password_hash = \(passwordHash) WHERE id = \(userID)")
            try await db.execute("UPDATE sessions SET revoked = true WHERE user_id = \(userID)")
            try await db.execute("DELETE FROM api_tokens WHERE user_id = \(userID)")
            var entry = audit
            entry.actorUserID = userID
            entry.accountID = token.accountID
            entry.target = "user:\(userID) sessions and API tokens revoked"
            try await Self.insertAudit(db, entry)
            return userID
        }
    }

    public func saveSubscription(
        userID: Int32, endpoint: String, p256dh: [UInt8], auth: [UInt8], expirationTime: Int64?, now: Int64,
        maxPerUser: Int, audit: AuditEntry
    ) async throws {
        try await write { db in
            try await db.lockUser(userID)
            try await db.execute(
                """
                INSERT INTO push_subscriptions (user_id, endpoint, p256dh, auth, expiration_time, created_at, updated_at)
                VALUES (\(userID), \(endpoint), \(Data(p256dh)), \(Data(auth)), \(expirationTime), \(now), \(now))
                ON CONFLICT (user_id, endpoint) DO UPDATE SET
                  p256dh = excluded.p256dh, auth = excluded.auth, expiration_time = excluded.expiration_time,
                  updated_at = excluded.updated_at
                """)
            try await db.execute(
                """
                DELETE FROM push_subscriptions WHERE user_id = \(userID) AND id NOT IN (
                  SELECT id FROM push_subscriptions WHERE user_id = \(userID)
                  ORDER BY updated_at DESC, id DESC LIMIT \(Int64(maxPerUser)))
                """)
            try await Self.insertAudit(db, audit)
        }
    }

    public func pushSubscriptionEndpoints(userID: Int32) async throws -> [String] {
        try await read { db in
            try await db.values(
                "SELECT endpoint FROM push_subscriptions WHERE user_id = \(userID) ORDER BY updated_at DESC, id DESC",
                as: String.self)
        }
    }

    // MARK: Audit

    public func appendAudit(_ entry: AuditEntry) async throws {
        try await write { db in try await Self.insertAudit(db, entry) }
    }

    public func auditLog(accountID: Int32, beforeID: Int64, limit: Int) async throws -> [(id: Int64, entry: AuditEntry)]
    {
        let rows = try await read { db in
            try await db.rows(
                """
                SELECT * FROM audit_log WHERE account_id = \(accountID) AND (\(beforeID) = 0 OR id < \(beforeID))
                ORDER BY id DESC LIMIT \(Int64(limit))
                """
            ).map { row in
                Pair(
                    first: try row["id"] as Int64,
                    second: AuditEntry(
                        actorUserID: try row["actor_user_id"], actorEmail: try row["actor_email"],
                        accountID: try row["account_id"], operation: try row["operation"], target: try row["target"],
                        timestamp: try row["timestamp"], transport: try row["transport"], peer: try row["peer"]))
            }
        }
        return rows.map { (id: $0.first, entry: $0.second) }
    }

    // MARK: Row helpers (inside transactions)

    static func insertAccount(_ db: PostgresDatabase, organizationID: String, name: String, now: Int64) async throws
        -> AccountRecord
    {
        // Account ids are allocated MAX + 1 (Akto's ids start at 1000000); the advisory lock serializes the
        // allocation across processes, and a lost race would surface as a unique violation and be retried.
        try await db.execute("SELECT pg_advisory_xact_lock(\(accountIDLock))")
        guard let id = try await db.value("SELECT COALESCE(MAX(id), 999999) + 1 FROM accounts", as: Int32.self) else {
            throw RPCError(.internal, "cannot allocate an account id")
        }
        try await db.execute(
            "INSERT INTO accounts (id, organization_id, name, created_at) VALUES (\(id), \(organizationID), \(name), \(now))"
        )
        for (collection, context) in AccountDefaults.collections {
            try await db.execute(
                "INSERT INTO api_collections (account_id, name, context_source, created_at) VALUES (\(id), \(collection), \(context), \(now))"
            )
        }
        return AccountRecord(id: id, name: name, organizationID: organizationID, createdAt: now)
    }

    static let accountIDLock: Int64 = 0x616B_746F_6163_6374  // "aktoacct"

    static func insertMember(_ db: PostgresDatabase, userID: Int32, accountID: Int32, role: String, now: Int64)
        async throws
    {
        try await db.execute(
            "INSERT INTO members (user_id, account_id, joined_at) VALUES (\(userID), \(accountID), \(now))")
        for scope in Scope.allCases {
            try await db.execute(
                "INSERT INTO member_roles (user_id, account_id, scope, role) VALUES (\(userID), \(accountID), \(scope.rawValue), \(role))"
            )
        }
    }

    static func insertSession(
        _ db: PostgresDatabase, userID: Int32, accountID: Int32, digest: [UInt8], now: Int64, expiresAt: Int64
    ) async throws -> SessionRecord {
        guard
            let id = try await db.value(
                """
                INSERT INTO sessions (token_digest, user_id, account_id, created_at, expires_at)
                VALUES (\(Data(digest)), \(userID), \(accountID), \(now), \(expiresAt)) RETURNING id
                """, as: Int64.self)
        else { throw RPCError(.internal, "the new session has no id") }
        return SessionRecord(
            id: id, userID: userID, accountID: accountID, createdAt: now, expiresAt: expiresAt, isRevoked: false)
    }

    static func insertAudit(_ db: PostgresDatabase, _ entry: AuditEntry) async throws {
        try await db.execute(
            """
            INSERT INTO audit_log (actor_user_id, actor_email, account_id, operation, target, timestamp, transport, peer)
            VALUES (\(entry.actorUserID), \(entry.actorEmail), \(entry.accountID), \(entry.operation), \(entry.target),
                    \(entry.timestamp), \(entry.transport), \(entry.peer))
            """)
    }

    static func membership(_ db: PostgresDatabase, userID: Int32, accountID: Int32) async throws -> MembershipRecord? {
        guard
            let row = try await db.row(
                """
                SELECT COALESCE((SELECT json_object_agg(r.scope, r.role)::text FROM member_roles r
                                 WHERE r.user_id = m.user_id AND r.account_id = m.account_id), '{}') AS roles
                FROM members m WHERE m.user_id = \(userID) AND m.account_id = \(accountID)
                """)
        else { return nil }
        return MembershipRecord(
            userID: userID, accountID: accountID, roles: roles(try row.json("roles", as: [String: String].self)))
    }

    static func roles(_ raw: [String: String]?) -> [Scope: String] {
        var roles: [Scope: String] = [:]
        for (scope, role) in raw ?? [:] {
            if let scope = Scope(rawValue: scope) { roles[scope] = role }
        }
        return roles
    }

    static func user(_ row: PostgresRecord) throws -> UserRecord {
        UserRecord(
            id: try row["id"], email: try row["email"], name: try row["name"], passwordHash: try row["password_hash"],
            createdAt: try row["created_at"])
    }

    static func account(_ row: PostgresRecord) throws -> AccountRecord {
        AccountRecord(
            id: try row["id"], name: try row["name"], organizationID: try row["organization_id"],
            createdAt: try row["created_at"])
    }

    static func session(_ row: PostgresRecord) throws -> SessionRecord {
        SessionRecord(
            id: try row["id"], userID: try row["user_id"], accountID: try row["account_id"],
            createdAt: try row["created_at"], expiresAt: try row["expires_at"], isRevoked: try row["revoked"])
    }

    static func apiToken(_ row: PostgresRecord) throws -> ApiTokenRecord {
        ApiTokenRecord(
            id: try row["id"], accountID: try row["account_id"], userID: try row["user_id"],
            utility: TokenUtility(rawValue: try row["utility"]) ?? .burp, name: try row["name"],
            createdAt: try row["created_at"], lastUsedAt: try row["last_used_at"])
    }

    static func json<T: Encodable>(_ value: T) -> String {
        (try? String(decoding: JSONEncoder().encode(value), as: UTF8.self)) ?? "[]"
    }
}

/// Two values carried out of a `@Sendable` closure (tuples with labels do not cross it as `sending`).
struct Pair<First: Sendable, Second: Sendable>: Sendable {
    let first: First
    let second: Second
}

extension PostgresAccountStore {
    /// The sum of the authority counters the triggers of migration v5 move (`PostgresMigrations.v5`): one
    /// single-statement read per authenticated call, so a cached principal is used only while no change to any
    /// principal has committed — in this process or any other, a paused one included (<doc:Storage>).
    public var authorityVersion: (any AuthorityVersion)? { PostgresAuthorityVersion(store: self) }
}

struct PostgresAuthorityVersion: AuthorityVersion {
    let store: PostgresAccountStore

    func current() async throws -> AuthorityStamp {
        let sums = try await store.read { db -> Pair<Int64, Int64> in
            guard
                let row = try await db.row(
                    """
                    SELECT COALESCE(sum(version) FILTER (WHERE slot < 64), 0)::BIGINT AS p,
                           COALESCE(sum(version) FILTER (WHERE slot >= 64), 0)::BIGINT AS c
                    FROM authority_versions
                    """)
            else { throw RPCError(.internal, "authority_versions is empty") }
            return Pair(first: try row["p"], second: try row["c"])
        }
        return AuthorityStamp(principals: UInt64(max(sums.first, 0)), customRoles: UInt64(max(sums.second, 0)))
    }
}
