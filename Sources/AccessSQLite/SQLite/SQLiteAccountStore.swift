import AccessCore
import Foundation
import GRDB

/// Settings of the embedded SQLite store.
public struct SQLiteConfiguration: Sendable {
    /// `FULL` (default) makes every acknowledged commit survive power loss; `NORMAL` only process crashes.
    public enum Synchronous: String, Sendable {
        case full = "FULL"
        case normal = "NORMAL"
    }

    public var path: String
    public var synchronous: Synchronous
    /// How long a writer waits for another process's write lock before failing.
    public var busyTimeout: Double
    /// Group commit: at most this many concurrent write calls share one transaction (one fsync). 1 turns
    /// group commit off (one transaction per call).
    public var maxWritesPerCommit: Int

    public static let defaultMaxWritesPerCommit = 256

    public init(
        path: String, synchronous: Synchronous = .full, busyTimeout: Double = 5,
        maxWritesPerCommit: Int = SQLiteConfiguration.defaultMaxWritesPerCommit
    ) {
        self.path = path
        self.synchronous = synchronous
        self.busyTimeout = busyTimeout
        self.maxWritesPerCommit = maxWritesPerCommit
    }
}

/// The embedded default store: one SQLite file in WAL mode (GRDB `DatabasePool`), foreign keys on,
/// `synchronous=FULL`, write transactions started IMMEDIATE. Concurrent writes share transactions (group
/// commit, see `GroupCommitter`); a call returns only after the transaction holding its change has committed.
public final class SQLiteAccountStore: AccountStore {
    let pool: DatabasePool
    private let committer: GroupCommitter
    /// Moved by every authority-changing commit before it is acknowledged, in every process on this file.
    let version: SQLiteAuthorityVersion
    public var authorityVersion: (any AuthorityVersion)? { version }

    /// Opens (creating if needed) the database and runs pending migrations.
    public init(configuration: SQLiteConfiguration) throws {
        var config = Configuration()
        config.busyMode = .timeout(configuration.busyTimeout)
        let synchronous = configuration.synchronous.rawValue
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA foreign_keys = ON; PRAGMA synchronous = \(synchronous)")
        }
        do {
            try Self.restrictFileModes(configuration.path, createIfMissing: true)
            pool = try DatabasePool(path: configuration.path, configuration: config)
            // DatabasePool switches its writer to synchronous=NORMAL when it enables WAL, after
            // `prepareDatabase` ran; the writer is one long-lived connection, so setting it here sticks.
            try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = \(synchronous)") }
            try Migrations.migrator.migrate(pool)
            committer = GroupCommitter(pool: pool, maxBatch: configuration.maxWritesPerCommit)
            version = try SQLiteAuthorityVersion(databasePath: configuration.path)
            pool.add(transactionObserver: version, extent: .observerLifetime)
            try Self.restrictFileModes(configuration.path, createIfMissing: false)
        } catch let error as RPCError {
            throw error
        } catch {
            throw RPCError(.unavailable, "cannot open the database \(configuration.path)", cause: "\(error)")
        }
    }

    /// The database file and its `-wal` and `-shm` companions are readable by the owner only (0600), whatever
    /// the process's umask or the folder's mode: they hold password hashes, key digests and every account's
    /// data. The main file is created 0600 before SQLite opens it (SQLite gives the companions the main file's
    /// mode); files an older version left wider are narrowed. In-memory databases are left alone.
    static func restrictFileModes(_ path: String, createIfMissing: Bool) throws {
        guard !path.isEmpty, path != ":memory:", !path.hasPrefix("file:") else { return }
        if createIfMissing {
            let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
            guard descriptor >= 0 else {
                throw RPCError(.unavailable, "cannot create the database \(path): \(String(cString: strerror(errno)))")
            }
            close(descriptor)
        }
        for file in [path, path + "-wal", path + "-shm", path + "-authority"] {
            if chmod(file, 0o600) != 0 && errno != ENOENT {
                throw RPCError(.unavailable, "cannot restrict the mode of \(file): \(String(cString: strerror(errno)))")
            }
        }
    }

    /// Runs `body` in an IMMEDIATE write transaction (shared with concurrent writes, each in its own
    /// savepoint); database failures become UNAVAILABLE, rule violations thrown as `RPCError` pass through
    /// (and roll back this call's changes only).
    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await committer.write(body)
    }

    /// A database failure as callers see it: UNAVAILABLE, with the cause kept for the log only.
    static func unavailable(_ error: any Error) -> RPCError {
        if let error = error as? RPCError { return error }
        return RPCError(.unavailable, "the database is unavailable", cause: "\(error)")
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await pool.read(body)
        } catch {
            throw Self.unavailable(error)
        }
    }

    // MARK: Users and sessions

    public func hasUsers() async throws -> Bool {
        try await read { db in
            try Bool.fetchOne(try db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM users)")) ?? false
        }
    }

    public func createFirstUser(
        email: String, name: String, passwordHash: String, organizationName: String, sessionDigest: [UInt8]?,
        setupTokenDigest: [UInt8]?, now: Int64, sessionExpiresAt: Int64, audit: AuditEntry
    ) async throws -> (user: UserRecord, account: AccountRecord, session: SessionRecord?) {
        try await write { db in
            try AccountRules.createFirstUser(
                hasUsers: try Bool.fetchOne(try db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM users)")) ?? true)
            if let setupTokenDigest {
                try db.cachedStatement(sql: "DELETE FROM setup_token WHERE token_digest = ?")
                    .execute(arguments: [Data(setupTokenDigest)])
                guard db.changesCount == 1 else { throw AccountRules.setupTokenRequired }
            }
            try db.execute(sql: "DELETE FROM setup_token")
            try db.cachedStatement(
                sql: "INSERT INTO users (email, name, password_hash, created_at, last_login_at) VALUES (?, ?, ?, ?, ?)"
            ).execute(
                arguments: [email, name, passwordHash, now, now])
            let userID = Int32(db.lastInsertedRowID)
            let organizationID = UUID().uuidString.lowercased()
            try db.cachedStatement(
                sql:
                    "INSERT INTO organizations (id, name, admin_email, owner_user_id, created_at) VALUES (?, ?, ?, ?, ?)"
            ).execute(
                arguments: [organizationID, organizationName, email, userID, now])
            let account = try Self.insertAccount(db, organizationID: organizationID, name: "My account", now: now)
            try Self.insertMember(db, userID: userID, accountID: account.id, role: BuiltinRole.admin.rawValue, now: now)
            let session = try sessionDigest.map { digest in
                try Self.insertSession(
                    db, userID: userID, accountID: account.id, digest: digest, now: now, expiresAt: sessionExpiresAt)
            }
            var entry = audit
            entry.actorUserID = userID
            entry.accountID = account.id
            try Self.insertAudit(db, entry)
            let user = UserRecord(id: userID, email: email, name: name, passwordHash: passwordHash, createdAt: now)
            return (user, account, session)
        }
    }

    public func user(email: String) async throws -> UserRecord? {
        try await read { db in
            try Row.fetchOne(try db.cachedStatement(sql: "SELECT * FROM users WHERE email = ?"), arguments: [email])
                .map(Self.user)
        }
    }

    public func user(id: Int32) async throws -> UserRecord? {
        try await read { db in
            try Row.fetchOne(try db.cachedStatement(sql: "SELECT * FROM users WHERE id = ?"), arguments: [id]).map(
                Self.user)
        }
    }

    public func createSession(
        userID: Int32, accountID: Int32?, digest: [UInt8], now: Int64, expiresAt: Int64, audit: AuditEntry
    ) async throws -> SessionRecord {
        try await write { db in
            let chosen: Int32?
            if let accountID {
                chosen = try Int32.fetchOne(
                    try db.cachedStatement(sql: "SELECT account_id FROM members WHERE user_id = ? AND account_id = ?"),
                    arguments: [userID, accountID])
            } else {
                // The account of the user's latest session, else the one they joined first.
                chosen =
                    try Int32.fetchOne(
                        try db.cachedStatement(
                            sql: """
                                SELECT s.account_id FROM sessions s JOIN members m
                                  ON m.user_id = s.user_id AND m.account_id = s.account_id
                                WHERE s.user_id = ? ORDER BY s.id DESC LIMIT 1
                                """), arguments: [userID])
                    ?? Int32.fetchOne(
                        try db.cachedStatement(
                            sql:
                                "SELECT account_id FROM members WHERE user_id = ? ORDER BY joined_at, account_id LIMIT 1"
                        ),
                        arguments: [userID])
            }
            let account = try AccountRules.sessionAccount(chosen)
            let session = try Self.insertSession(
                db, userID: userID, accountID: account, digest: digest, now: now, expiresAt: expiresAt)
            try db.cachedStatement(sql: "UPDATE users SET last_login_at = ? WHERE id = ?").execute(arguments: [
                now, userID,
            ])
            var entry = audit
            entry.accountID = account
            try Self.insertAudit(db, entry)
            return session
        }
    }

    public func session(digest: [UInt8]) async throws -> SessionRecord? {
        try await read { db in
            try Row.fetchOne(
                try db.cachedStatement(sql: "SELECT * FROM sessions WHERE token_digest = ?"), arguments: [Data(digest)]
            )
            .map(Self.session)
        }
    }

    public func revokeSessions(sessionID: Int64, allOfUser: Bool, audit: AuditEntry) async throws {
        try await write { db in
            if allOfUser {
                try db.cachedStatement(
                    sql: "UPDATE sessions SET revoked = 1 WHERE user_id = (SELECT user_id FROM sessions WHERE id = ?)"
                ).execute(
                    arguments: [sessionID])
            } else {
                try db.cachedStatement(sql: "UPDATE sessions SET revoked = 1 WHERE id = ?").execute(arguments: [
                    sessionID
                ])
            }
            try Self.insertAudit(db, audit)
        }
    }

    // MARK: Accounts and memberships

    public func account(id: Int32) async throws -> AccountRecord? {
        try await read { db in
            try Row.fetchOne(try db.cachedStatement(sql: "SELECT * FROM accounts WHERE id = ?"), arguments: [id]).map(
                Self.account)
        }
    }

    public func organization(id: String) async throws -> OrganizationRecord? {
        try await read { db in
            try Row.fetchOne(try db.cachedStatement(sql: "SELECT * FROM organizations WHERE id = ?"), arguments: [id])
                .map { row in
                    OrganizationRecord(
                        id: row["id"], name: row["name"], adminEmail: row["admin_email"],
                        ownerUserID: row["owner_user_id"])
                }
        }
    }

    public func membership(userID: Int32, accountID: Int32) async throws -> MembershipRecord? {
        try await read { db in try Self.membership(db, userID: userID, accountID: accountID) }
    }

    public func memberships(userID: Int32) async throws -> [(account: AccountRecord, membership: MembershipRecord)] {
        try await read { db in
            let accounts = try Row.fetchAll(
                try db.cachedStatement(
                    sql:
                        "SELECT a.* FROM accounts a JOIN members m ON m.account_id = a.id WHERE m.user_id = ? ORDER BY a.id"
                ),
                arguments: [userID]
            ).map(Self.account)
            return try accounts.map { account in
                (
                    account,
                    try Self.membership(db, userID: userID, accountID: account.id)
                        ?? MembershipRecord(userID: userID, accountID: account.id, roles: [:])
                )
            }
        }
    }

    public func customRole(accountID: Int32, name: String) async throws -> CustomRoleRecord? {
        try await read { db in
            try Row.fetchOne(
                try db.cachedStatement(
                    sql: "SELECT \(Self.customRoleColumns) FROM custom_roles WHERE account_id = ? AND name = ?"),
                arguments: [accountID, name.uppercased()]
            ).map(Self.customRole)
        }
    }

    public func principal(userID: Int32, accountID: Int32, scope: Scope) async throws -> PrincipalRecord? {
        try await read { db in try Self.principal(db, userID: userID, accountID: accountID, scope: scope) }
    }

    public func apiKeyPrincipal(digest: [UInt8], scope: Scope) async throws
        -> (token: ApiTokenRecord, principal: PrincipalRecord?)?
    {
        try await read { db in
            guard
                let token = try Row.fetchOne(
                    try db.cachedStatement(sql: "SELECT * FROM api_tokens WHERE key_digest = ?"),
                    arguments: [Data(digest)]
                ).map(Self.apiToken)
            else { return nil }
            return (token, try Self.principal(db, userID: token.userID, accountID: token.accountID, scope: scope))
        }
    }

    public func sessionPrincipal(digest: [UInt8], scope: Scope) async throws
        -> (session: SessionRecord, principal: PrincipalRecord?)?
    {
        try await read { db in
            guard
                let session = try Row.fetchOne(
                    try db.cachedStatement(sql: "SELECT * FROM sessions WHERE token_digest = ?"),
                    arguments: [Data(digest)]
                ).map(Self.session)
            else { return nil }
            return (session, try Self.principal(db, userID: session.userID, accountID: session.accountID, scope: scope))
        }
    }

    static func principal(_ db: Database, userID: Int32, accountID: Int32, scope: Scope) throws -> PrincipalRecord? {
        guard
            let user = try Row.fetchOne(
                try db.cachedStatement(sql: "SELECT * FROM users WHERE id = ?"), arguments: [userID]
            )
            .map(Self.user),
            let account = try Row.fetchOne(
                try db.cachedStatement(sql: "SELECT * FROM accounts WHERE id = ?"), arguments: [accountID]
            ).map(Self.account)
        else { return nil }
        let membership = try Self.membership(db, userID: userID, accountID: accountID)
        var custom: CustomRoleRecord?
        if let name = membership?.roles[scope], BuiltinRole(rawValue: name) == nil {
            custom = try Row.fetchOne(
                try db.cachedStatement(
                    sql: "SELECT \(Self.customRoleColumns) FROM custom_roles WHERE account_id = ? AND name = ?"),
                arguments: [accountID, name.uppercased()]
            ).map(Self.customRole)
        }
        return PrincipalRecord(user: user, account: account, membership: membership, customRole: custom)
    }

    public func apiToken(digest: [UInt8]) async throws -> ApiTokenRecord? {
        try await read { db in
            try Row.fetchOne(
                try db.cachedStatement(sql: "SELECT * FROM api_tokens WHERE key_digest = ?"), arguments: [Data(digest)]
            )
            .map(Self.apiToken)
        }
    }

    public func touchApiToken(id: Int32, now: Int64) async throws {
        try await write { db in
            try db.cachedStatement(sql: "UPDATE api_tokens SET last_used_at = ? WHERE id = ? AND last_used_at < ?")
                .execute(
                    arguments: [now, id, now - 60])
        }
    }

    public func createApiToken(
        accountID: Int32, userID: Int32, utility: TokenUtility, name: String, digest: [UInt8], now: Int64, maxLive: Int,
        audit: AuditEntry
    ) async throws -> ApiTokenRecord {
        try await write { db in
            let live =
                try Int.fetchOne(
                    try db.cachedStatement(sql: "SELECT COUNT(*) FROM api_tokens WHERE account_id = ? AND user_id = ?"),
                    arguments: [accountID, userID]) ?? 0
            try AccountRules.createApiToken(live: live, max: maxLive)
            try db.cachedStatement(
                sql: """
                    INSERT INTO api_tokens (account_id, user_id, utility, name, key_digest, created_at)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """
            ).execute(
                arguments: [accountID, userID, utility.rawValue, name, Data(digest), now])
            let id = Int32(db.lastInsertedRowID)
            var entry = audit
            entry.target = "api-token:\(id)"
            try Self.insertAudit(db, entry)
            return ApiTokenRecord(
                id: id, accountID: accountID, userID: userID, utility: utility, name: name, createdAt: now,
                lastUsedAt: 0)
        }
    }

    public func deleteApiToken(id: Int32, userID: Int32, accountID: Int32, audit: AuditEntry) async throws -> Bool {
        try await write { db in
            try db.cachedStatement(sql: "DELETE FROM api_tokens WHERE id = ? AND user_id = ? AND account_id = ?")
                .execute(
                    arguments: [id, userID, accountID])
            guard db.changesCount > 0 else { return false }
            try Self.insertAudit(db, audit)
            return true
        }
    }

    public func apiTokens(userID: Int32, accountID: Int32) async throws -> [ApiTokenRecord] {
        try await read { db in
            try Row.fetchAll(
                try db.cachedStatement(
                    sql: "SELECT * FROM api_tokens WHERE user_id = ? AND account_id = ? ORDER BY id"),
                arguments: [userID, accountID]
            ).map(Self.apiToken)
        }
    }

    // MARK: Account operations

    public func createAccount(
        userID: Int32, organizationID: String, name: String, maxAccountsPerUser: Int, sessionID: Int64?, now: Int64,
        audit: AuditEntry
    ) async throws -> AccountRecord {
        try await write { db in
            let count =
                try Int.fetchOne(
                    try db.cachedStatement(sql: "SELECT COUNT(*) FROM members WHERE user_id = ?"), arguments: [userID])
                ?? 0
            try AccountRules.createAccount(memberships: count, max: maxAccountsPerUser)
            let account = try Self.insertAccount(db, organizationID: organizationID, name: name, now: now)
            try Self.insertMember(db, userID: userID, accountID: account.id, role: BuiltinRole.admin.rawValue, now: now)
            if let sessionID {
                try db.cachedStatement(sql: "UPDATE sessions SET account_id = ? WHERE id = ?").execute(arguments: [
                    account.id, sessionID,
                ])
            }
            var entry = audit
            entry.target = "account:\(account.id)"
            try Self.insertAudit(db, entry)
            return account
        }
    }

    public func switchSession(sessionID: Int64, accountID: Int32, audit: AuditEntry) async throws -> Bool {
        try await write { db in
            try db.cachedStatement(
                sql: """
                    UPDATE sessions SET account_id = ? WHERE id = ? AND revoked = 0
                      AND EXISTS (SELECT 1 FROM members WHERE members.user_id = sessions.user_id AND members.account_id = ?)
                    """
            ).execute(
                arguments: [accountID, sessionID, accountID])
            guard db.changesCount == 1 else { return false }
            var entry = audit
            entry.accountID = accountID
            try Self.insertAudit(db, entry)
            return true
        }
    }

    public func rename(userID: Int32, name: String?, organizationID: String, organization: String?, audit: AuditEntry)
        async throws -> String
    {
        try await write { db in
            let row = try Row.fetchOne(
                try db.cachedStatement(sql: "SELECT name, owner_user_id FROM organizations WHERE id = ?"),
                arguments: [organizationID])
            let current: String = row?["name"] ?? ""
            let renames = try AccountRules.renameOrganization(
                actor: userID, ownerUserID: row?["owner_user_id"], current: current, requested: organization)
            if let name {
                try db.cachedStatement(sql: "UPDATE users SET name = ? WHERE id = ?").execute(arguments: [name, userID])
            }
            if renames, let organization {
                try db.cachedStatement(sql: "UPDATE organizations SET name = ? WHERE id = ?").execute(arguments: [
                    organization, organizationID,
                ])
            }
            try Self.insertAudit(db, audit)
            return renames ? organization ?? current : current
        }
    }

    public func transferOwnership(organizationID: String, actorID: Int32, email: String, audit: AuditEntry) async throws
        -> UserRecord
    {
        try await write { db in
            let owner = try Int32.fetchOne(
                try db.cachedStatement(sql: "SELECT owner_user_id FROM organizations WHERE id = ?"),
                arguments: [organizationID])
            let newOwner = try Self.userID(db, email: email)
            let isMember =
                try Bool.fetchOne(
                    try db.cachedStatement(
                        sql: """
                            SELECT EXISTS (SELECT 1 FROM members m JOIN accounts a ON a.id = m.account_id
                                           WHERE m.user_id = ? AND a.organization_id = ?)
                            """), arguments: [newOwner, organizationID]) ?? false
            try AccountRules.transferOwnership(
                actor: actorID, ownerUserID: owner, newOwner: newOwner, newOwnerIsMember: isMember)
            guard let newOwner, let user = try Self.user(db, id: newOwner) else { throw MembershipRules.noSuchMember }
            try db.cachedStatement(sql: "UPDATE organizations SET owner_user_id = ?, admin_email = ? WHERE id = ?")
                .execute(arguments: [newOwner, user.email, organizationID])
            var entry = audit
            entry.target = "user:\(newOwner)"
            try Self.insertAudit(db, entry)
            return user
        }
    }

    public func issuePasswordResetToken(
        accountID: Int32, actorID: Int32, email: String, digest: [UInt8], now: Int64, expiresAt: Int64,
        minimumInterval: Int64, audit: AuditEntry
    ) async throws -> UserRecord {
        try await write { db in
            let (target, active, accounts) = try Self.identityWideFacts(
                db, accountID: accountID, actorID: actorID, email: email)
            let last = try Int64.fetchOne(
                try db.cachedStatement(sql: "SELECT MAX(created_at) FROM password_reset_tokens WHERE user_id = ?"),
                arguments: [target])
            try ResetTokenRules.issue(
                actor: actorID, target: target, activeAccount: active, accounts: accounts, lastIssuedAt: last, now: now,
                interval: minimumInterval)
            guard let target, let user = try Self.user(db, id: target) else { throw MembershipRules.noSuchMember }
            try db.cachedStatement(
                sql: """
                    INSERT INTO password_reset_tokens (user_id, token_digest, issued_by, account_id, created_at, expires_at)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """
            ).execute(
                arguments: [target, Data(digest), actorID, accountID, now, expiresAt])
            var entry = audit
            entry.target = "user:\(target)"
            try Self.insertAudit(db, entry)
            return user
        }
    }

    public func resetTokenEmail(digest: [UInt8]) async throws -> String? {
        try await read { db in
            try String.fetchOne(
                try db.cachedStatement(
                    sql:
                        "SELECT u.email FROM password_reset_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_digest = ?"
                ),
                arguments: [Data(digest)])
        }
    }

    public func consumePasswordResetToken(digest: [UInt8], passwordHash: String, now: Int64, audit: AuditEntry)
        async throws -> Int32
    {
        try await write { db in
            let row = try Row.fetchOne(
                try db.cachedStatement(sql: "SELECT * FROM password_reset_tokens WHERE token_digest = ?"),
                arguments: [Data(digest)])
            let token = row.map { row in
                ResetTokenRules.Token(
                    userID: row["user_id"], issuedBy: row["issued_by"], accountID: row["account_id"],
                    expiresAt: row["expires_at"], isUsed: row["used_at"] as Int64? != nil,
                    isRevoked: row["revoked_at"] as Int64? != nil)
            }
            let accounts =
                try token.map { try Self.accountsFacts(db, of: $0.userID, users: [$0.userID, $0.issuedBy]) } ?? []
            try ResetTokenRules.consume(token, now: now, accounts: accounts)
            guard let token else { throw ResetTokenRules.unusable }
            // Single use: the conditional update is what two racing uses contend on.
            try db.cachedStatement(
                sql: "UPDATE password_reset_tokens SET used_at = ? WHERE token_digest = ? AND used_at IS NULL"
            ).execute(arguments: [now, Data(digest)])
            guard db.changesCount == 1 else { throw ResetTokenRules.unusable }
            let userID = token.userID
            try db.cachedStatement(sql: "UPDATE users SET password_hash = ? WHERE id = ?").execute(arguments: [
                passwordHash, userID,
            ])
            try db.cachedStatement(sql: "UPDATE sessions SET revoked = 1 WHERE user_id = ?").execute(arguments: [userID]
            )
            try db.cachedStatement(sql: "DELETE FROM api_tokens WHERE user_id = ?").execute(arguments: [userID])
            var entry = audit
            entry.actorUserID = userID
            entry.accountID = token.accountID
            entry.target = "user:\(userID) sessions and API tokens revoked"
            try Self.insertAudit(db, entry)
            return userID
        }
    }

    public func saveSubscription(
        userID: Int32, endpoint: String, p256dh: [UInt8], auth: [UInt8], expirationTime: Int64?, now: Int64,
        maxPerUser: Int, audit: AuditEntry
    ) async throws {
        try await write { db in
            try db.cachedStatement(
                sql: """
                    INSERT INTO push_subscriptions (user_id, endpoint, p256dh, auth, expiration_time, created_at, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (user_id, endpoint) DO UPDATE SET
                      p256dh = excluded.p256dh, auth = excluded.auth, expiration_time = excluded.expiration_time,
                      updated_at = excluded.updated_at
                    """
            ).execute(
                arguments: [userID, endpoint, Data(p256dh), Data(auth), expirationTime, now, now])
            try db.cachedStatement(
                sql: """
                    DELETE FROM push_subscriptions WHERE user_id = ? AND id NOT IN (
                      SELECT id FROM push_subscriptions WHERE user_id = ? ORDER BY updated_at DESC, id DESC LIMIT ?)
                    """
            ).execute(
                arguments: [userID, userID, maxPerUser])
            try Self.insertAudit(db, audit)
        }
    }

    public func pushSubscriptionEndpoints(userID: Int32) async throws -> [String] {
        try await read { db in
            try String.fetchAll(
                try db.cachedStatement(
                    sql: "SELECT endpoint FROM push_subscriptions WHERE user_id = ? ORDER BY updated_at DESC, id DESC"),
                arguments: [userID])
        }
    }

    public func installSetupToken(digest: [UInt8], now: Int64) async throws -> SetupTokenState {
        try await write { db in
            if try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM users)") == true {
                try db.execute(sql: "DELETE FROM setup_token")
                return .notNeeded
            }
            if let createdAt = try Int64.fetchOne(db, sql: "SELECT created_at FROM setup_token WHERE id = 1") {
                return .exists(createdAt: createdAt)
            }
            try db.execute(
                sql: "INSERT INTO setup_token (id, token_digest, created_at) VALUES (1, ?, ?)",
                arguments: [Data(digest), now])
            return .created
        }
    }

    // MARK: Audit

    public func appendAudit(_ entry: AuditEntry) async throws {
        try await write { db in try Self.insertAudit(db, entry) }
    }

    public func auditLog(accountID: Int32, beforeID: Int64, limit: Int) async throws -> [(id: Int64, entry: AuditEntry)]
    {
        try await read { db in
            try Row.fetchAll(
                try db.cachedStatement(
                    sql: "SELECT * FROM audit_log WHERE account_id = ? AND (? = 0 OR id < ?) ORDER BY id DESC LIMIT ?"),
                arguments: [accountID, beforeID, beforeID, limit]
            ).map { row in
                (
                    row["id"],
                    AuditEntry(
                        actorUserID: row["actor_user_id"], actorEmail: row["actor_email"], accountID: row["account_id"],
                        operation: row["operation"], target: row["target"], timestamp: row["timestamp"],
                        transport: row["transport"], peer: row["peer"])
                )
            }
        }
    }

    // MARK: Row helpers (inside transactions)

    static func insertAccount(_ db: Database, organizationID: String, name: String, now: Int64) throws -> AccountRecord
    {
        let id =
            try Int32.fetchOne(try db.cachedStatement(sql: "SELECT COALESCE(MAX(id), 999999) + 1 FROM accounts"))
            ?? 1_000_000
        try db.cachedStatement(sql: "INSERT INTO accounts (id, organization_id, name, created_at) VALUES (?, ?, ?, ?)")
            .execute(
                arguments: [id, organizationID, name, now])
        for (collection, context) in AccountDefaults.collections {
            try db.cachedStatement(
                sql: "INSERT INTO api_collections (account_id, name, context_source, created_at) VALUES (?, ?, ?, ?)"
            ).execute(
                arguments: [id, collection, context, now])
        }
        return AccountRecord(id: id, name: name, organizationID: organizationID, createdAt: now)
    }

    static func insertMember(_ db: Database, userID: Int32, accountID: Int32, role: String, now: Int64) throws {
        try db.cachedStatement(sql: "INSERT INTO members (user_id, account_id, joined_at) VALUES (?, ?, ?)").execute(
            arguments: [userID, accountID, now])
        for scope in Scope.allCases {
            try db.cachedStatement(
                sql: "INSERT INTO member_roles (user_id, account_id, scope, role) VALUES (?, ?, ?, ?)"
            ).execute(
                arguments: [userID, accountID, scope.rawValue, role])
        }
    }

    static func insertSession(
        _ db: Database, userID: Int32, accountID: Int32, digest: [UInt8], now: Int64, expiresAt: Int64
    ) throws -> SessionRecord {
        try db.cachedStatement(
            sql:
                "INSERT INTO sessions (token_digest, user_id, account_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?)"
        ).execute(
            arguments: [Data(digest), userID, accountID, now, expiresAt])
        return SessionRecord(
            id: db.lastInsertedRowID, userID: userID, accountID: accountID, createdAt: now, expiresAt: expiresAt,
            isRevoked: false)
    }

    static func insertAudit(_ db: Database, _ entry: AuditEntry) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO audit_log (actor_user_id, actor_email, account_id, operation, target, timestamp, transport, peer)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(
            arguments: [
                entry.actorUserID, entry.actorEmail, entry.accountID, entry.operation, entry.target, entry.timestamp,
                entry.transport, entry.peer,
            ])
    }

    static func membership(_ db: Database, userID: Int32, accountID: Int32) throws -> MembershipRecord? {
        // One statement: the membership row with its roles (none: one row of NULLs; not a member: no row).
        let rows = try Row.fetchCursor(
            try db.cachedStatement(
                sql: """
                    SELECT r.scope, r.role FROM members m
                    LEFT JOIN member_roles r ON r.user_id = m.user_id AND r.account_id = m.account_id
                    WHERE m.user_id = ? AND m.account_id = ?
                    """), arguments: [userID, accountID])
        var found = false
        var roles: [Scope: String] = [:]
        while let row = try rows.next() {
            found = true
            if let name: String = row[0], let scope = Scope(rawValue: name), let role: String = row[1] {
                roles[scope] = role
            }
        }
        return found ? MembershipRecord(userID: userID, accountID: accountID, roles: roles) : nil
    }

    static func user(_ row: Row) -> UserRecord {
        UserRecord(
            id: row["id"], email: row["email"], name: row["name"], passwordHash: row["password_hash"],
            createdAt: row["created_at"])
    }

    static func account(_ row: Row) -> AccountRecord {
        AccountRecord(
            id: row["id"], name: row["name"], organizationID: row["organization_id"], createdAt: row["created_at"])
    }

    static func session(_ row: Row) -> SessionRecord {
        SessionRecord(
            id: row["id"], userID: row["user_id"], accountID: row["account_id"], createdAt: row["created_at"],
            expiresAt: row["expires_at"], isRevoked: row["revoked"])
    }

    static func apiToken(_ row: Row) -> ApiTokenRecord {
        ApiTokenRecord(
            id: row["id"], accountID: row["account_id"], userID: row["user_id"],
            utility: TokenUtility(rawValue: row["utility"]) ?? .burp, name: row["name"], createdAt: row["created_at"],
            lastUsedAt: row["last_used_at"])
    }

    static func decodeJSON<T: Decodable>(_ type: T.Type, _ text: String) -> T? {
        try? JSONDecoder().decode(type, from: Data(text.utf8))
    }
}
