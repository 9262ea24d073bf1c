import AccessCore
import GRDB

/// Sign-in counters (<doc:Hardening>): `LoginThrottleRules` over the `login_counters` rows, in write transactions.
extension SQLiteAccountStore {
    public func replacePasswordHash(userID: Int32, old: String, new: String) async throws -> Bool {
        try await write { db in
            try db.cachedStatement(sql: "UPDATE users SET password_hash = ? WHERE id = ? AND password_hash = ?")
                .execute(arguments: [new, userID, old])
            return db.changesCount == 1
        }
    }

    public func beginLoginAttempt(email: String, peer: String, now: Int64, policy: LoginThrottlePolicy) async throws
        -> LoginAttempt
    {
        try await write { db in
            try db.cachedStatement(sql: "DELETE FROM login_counters WHERE last_failure_at < ?")
                .execute(arguments: [now - policy.window])
            let decision = LoginThrottleRules.begin(
                peer: try Self.loginCounter(db, email: email, peer: peer),
                account: try Self.loginCounter(db, email: email, peer: LoginThrottlePolicy.anyPeer), now: now,
                policy: policy)
            if let counter = decision.peer { try Self.saveLoginCounter(db, email: email, peer: peer, counter) }
            if let counter = decision.account {
                try Self.saveLoginCounter(db, email: email, peer: LoginThrottlePolicy.anyPeer, counter)
            }
            let count = try Int.fetchOne(try db.cachedStatement(sql: "SELECT COUNT(*) FROM login_counters")) ?? 0
            if count > policy.maxCounters {
                try db.cachedStatement(
                    sql: """
                        DELETE FROM login_counters WHERE (email, peer) IN
                          (SELECT email, peer FROM login_counters ORDER BY last_failure_at LIMIT ?)
                        """
                ).execute(arguments: [count - policy.maxCounters])
            }
            return decision.attempt
        }
    }

    public func finishLoginAttempt(
        email: String, peer: String, succeeded: Bool, policy: LoginThrottlePolicy, lockoutAudit: AuditEntry
    ) async throws -> Bool {
        try await write { db in
            if succeeded {
                try db.cachedStatement(sql: "DELETE FROM login_counters WHERE email = ? AND peer = ?")
                    .execute(arguments: [email, peer])
                try db.cachedStatement(
                    sql: "UPDATE login_counters SET failures = MAX(failures - 1, 0) WHERE email = ? AND peer = ?"
                ).execute(arguments: [email, LoginThrottlePolicy.anyPeer])
                return false
            }
            let counter = try Self.loginCounter(db, email: email, peer: peer)
            guard LoginThrottleRules.locksOut(counter, policy: policy) else { return false }
            try Self.auditLockout(db, email: email, entry: lockoutAudit)
            return true
        }
    }

    public func clearLoginLockout(accountID: Int32, actorID: Int32, email: String, audit: AuditEntry) async throws
        -> Int
    {
        try await write { db in
            let (target, active, accounts) = try Self.identityWideFacts(
                db, accountID: accountID, actorID: actorID, email: email)
            try LoginThrottleRules.clear(actor: actorID, target: target, activeAccount: active, accounts: accounts)
            try db.cachedStatement(sql: "DELETE FROM login_counters WHERE email = ?").execute(arguments: [email])
            let cleared = db.changesCount
            var entry = audit
            entry.target = "user:\(target ?? 0)"
            try Self.insertAudit(db, entry)
            return cleared
        }
    }

    static func loginCounter(_ db: Database, email: String, peer: String) throws -> LoginCounter? {
        try Row.fetchOne(
            try db.cachedStatement(
                sql: "SELECT failures, last_failure_at FROM login_counters WHERE email = ? AND peer = ?"),
            arguments: [email, peer]
        ).map { LoginCounter(failures: $0[0], lastFailureAt: $0[1]) }
    }

    static func saveLoginCounter(_ db: Database, email: String, peer: String, _ counter: LoginCounter) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO login_counters (email, peer, failures, last_failure_at) VALUES (?, ?, ?, ?)
                ON CONFLICT (email, peer) DO UPDATE SET failures = excluded.failures, last_failure_at = excluded.last_failure_at
                """
        ).execute(arguments: [email, peer, counter.failures, counter.lastFailureAt])
    }

    /// One audit row per account the address's user belongs to (their admins see it), or one without an
    /// account for an address nobody has.
    static func auditLockout(_ db: Database, email: String, entry: AuditEntry) throws {
        var entry = entry
        guard let user = try userID(db, email: email) else {
            try insertAudit(db, entry)
            return
        }
        entry.target = "user:\(user)"
        let accounts = try Int32.fetchAll(
            try db.cachedStatement(sql: "SELECT account_id FROM members WHERE user_id = ? ORDER BY account_id"),
            arguments: [user])
        if accounts.isEmpty { try insertAudit(db, entry) }
        for account in accounts {
            entry.accountID = account
            try insertAudit(db, entry)
        }
    }
}
