import AccessCore
import PostgresNIO

/// Sign-in counters (<doc:Hardening>) on PostgreSQL: the same rules as SQLite, the counter rows locked `FOR UPDATE`
/// so that processes sharing the database count every attempt (a concurrent first insert is a unique
/// violation, which the executor retries).
extension PostgresAccountStore {
    public func replacePasswordHash(userID: Int32, old: String, new: String) async throws -> Bool {
        try await write { db in
            try await db.execute(
                "UPDATE users SET password_hash = \(new) WHERE id = \(userID) AND password_hash = \(old) RETURNING 1")
                == 1
        }
    }

    public func beginLoginAttempt(email: String, peer: String, now: Int64, policy: LoginThrottlePolicy) async throws
        -> LoginAttempt
    {
        let attempt = try await write { db in
            let any = LoginThrottlePolicy.anyPeer
            // Lock order: the across-peers row first, then the peer's, in every transaction.
            let account = try await Self.lockedLoginCounter(db, email: email, peer: any)
            let peerCounter = try await Self.lockedLoginCounter(db, email: email, peer: peer)
            let decision = LoginThrottleRules.begin(peer: peerCounter, account: account, now: now, policy: policy)
            if let counter = decision.account { try await Self.saveLoginCounter(db, email: email, peer: any, counter) }
            if let counter = decision.peer { try await Self.saveLoginCounter(db, email: email, peer: peer, counter) }
            return decision.attempt
        }
        // Housekeeping in a transaction of its own that skips rows other attempts hold: quiet counters go, and
        // the quietest beyond the bound.
        try await write { db in
            try await db.execute(
                """
                DELETE FROM login_counters WHERE ctid IN (SELECT ctid FROM login_counters
                  WHERE last_failure_at < \(now - policy.window) LIMIT 1000 FOR UPDATE SKIP LOCKED) RETURNING 1
                """)
            let count = try await db.value("SELECT COUNT(*) FROM login_counters", as: Int64.self) ?? 0
            if count > Int64(policy.maxCounters) {
                try await db.execute(
                    """
                    DELETE FROM login_counters WHERE ctid IN (SELECT ctid FROM login_counters ORDER BY last_failure_at
                      LIMIT \(count - Int64(policy.maxCounters)) FOR UPDATE SKIP LOCKED) RETURNING 1
                    """)
            }
        }
        return attempt
    }

    public func finishLoginAttempt(
        email: String, peer: String, succeeded: Bool, policy: LoginThrottlePolicy, lockoutAudit: AuditEntry
    ) async throws -> Bool {
        try await write { db in
            let any = LoginThrottlePolicy.anyPeer
            if succeeded {
                _ = try await Self.lockedLoginCounter(db, email: email, peer: any)
                try await db.execute(
                    "UPDATE login_counters SET failures = GREATEST(failures - 1, 0) WHERE email = \(email) AND peer = \(any) RETURNING 1"
                )
                try await db.execute("DELETE FROM login_counters WHERE email = \(email) AND peer = \(peer) RETURNING 1")
                return false
            }
            let counter = try await Self.lockedLoginCounter(db, email: email, peer: peer)
            guard LoginThrottleRules.locksOut(counter, policy: policy) else { return false }
            try await Self.auditLockout(db, email: email, entry: lockoutAudit)
            return true
        }
    }

    public func clearLoginLockout(accountID: Int32, actorID: Int32, email: String, audit: AuditEntry) async throws
        -> Int
    {
        try await write { db in
            let (target, active, accounts) = try await Self.identityWideFacts(
                db, accountID: accountID, actorID: actorID, email: email)
            try LoginThrottleRules.clear(actor: actorID, target: target, activeAccount: active, accounts: accounts)
            let cleared = try await db.execute("DELETE FROM login_counters WHERE email = \(email) RETURNING 1")
            var entry = audit
            entry.target = "user:\(target ?? 0)"
            try await Self.insertAudit(db, entry)
            return cleared
        }
    }

    static func lockedLoginCounter(_ db: PostgresDatabase, email: String, peer: String) async throws -> LoginCounter? {
        guard
            let row = try await db.row(
                "SELECT failures, last_failure_at FROM login_counters WHERE email = \(email) AND peer = \(peer) FOR UPDATE"
            )
        else { return nil }
        return LoginCounter(failures: Int(try row["failures"] as Int32), lastFailureAt: try row["last_failure_at"])
    }

    static func saveLoginCounter(_ db: PostgresDatabase, email: String, peer: String, _ counter: LoginCounter)
        async throws
    {
        try await db.execute(
            """
            INSERT INTO login_counters (email, peer, failures, last_failure_at)
            VALUES (\(email), \(peer), \(Int32(clamping: counter.failures)), \(counter.lastFailureAt))
            ON CONFLICT (email, peer) DO UPDATE SET failures = excluded.failures, last_failure_at = excluded.last_failure_at
            RETURNING 1
            """)
    }

    /// One audit row per account the address's user belongs to, or one without an account for an address
    /// nobody has.
    static func auditLockout(_ db: PostgresDatabase, email: String, entry: AuditEntry) async throws {
        var entry = entry
        guard let user = try await userID(db, email: email) else {
            try await insertAudit(db, entry)
            return
        }
        entry.target = "user:\(user)"
        let accounts = try await db.values(
            "SELECT account_id FROM members WHERE user_id = \(user) ORDER BY account_id", as: Int32.self)
        if accounts.isEmpty { try await insertAudit(db, entry) }
        for account in accounts {
            entry.accountID = account
            try await insertAudit(db, entry)
        }
    }
}
