import AccessCore
import AccessTestSupport
import Foundation
import Testing

@testable import AccessPostgres

/// What only the PostgreSQL store has: URL parsing, bounded retries of the failures PostgreSQL asks clients to
/// retry, and cross-process migrations.
@Suite struct PostgresConfigurationTests {
    @Test func parsesURLsWithoutEchoingThePassword() throws {
        let tcp = try PostgresConfiguration(url: "postgres://akto:s%40cret@db.internal:6543/access?sslmode=require")
        #expect(tcp.host == "db.internal" && tcp.port == 6543 && tcp.username == "akto" && tcp.password == "s@cret")
        #expect(tcp.database == "access" && tcp.tls == .require && tcp.unixSocketPath == nil)
        #expect(tcp.redacted == "postgres://akto@db.internal:6543/access")
        let socket = try PostgresConfiguration(url: "postgresql://akto@/access?host=/run/postgresql")
        #expect(
            socket.unixSocketPath == "/run/postgresql/.s.PGSQL.5432" && socket.host == nil && socket.tls == .disable)
        // <doc:Hardening>: TLS is required by default for any host but a local one; a password never goes to a
        // non-local host without it.
        #expect(try PostgresConfiguration(url: "postgres://a@h/d").tls == .require)
        #expect(try PostgresConfiguration(url: "postgres://a@localhost/d").tls == .prefer)
        #expect(try PostgresConfiguration(url: "postgres://a:p@127.0.0.1/d").tls == .prefer)
        #expect(try PostgresConfiguration(url: "postgres://a@h/d?sslmode=disable").tls == .disable)
        #expect(try PostgresConfiguration(url: "postgres://a@h/d").connectTimeout == 10)
        #expect(try PostgresConfiguration(url: "postgres://a@h/d?connect_timeout=3").connectTimeout == 3)
        let pinned = try PostgresConfiguration(url: "postgres://a@h/d?sslmode=require&sslrootcert=/etc/hostname")
        #expect(pinned.rootCertificatePath == "/etc/hostname" && pinned.tls == .require)
    }

    @Test(arguments: [
        ("mysql://a@h/d", "postgres://"), ("postgres://h/d", "no user"), ("postgres://a@h", "no database"),
        ("postgres://a@h/d?sslmode=maybe", "sslmode"), ("postgres://a@h/d?pool=3", "unknown database URL parameter"),
        ("postgres://a@h/d?host=relative", "socket directory"),
        ("postgres://a@h/d?connect_timeout=0", "connect_timeout"),
        ("postgres://a@h/d?sslmode=require&sslrootcert=relative.pem", "sslrootcert"),
        ("postgres://a@h/d?sslmode=disable&sslrootcert=/etc/hostname", "sslrootcert needs"),
        ("postgres://a:hunter2@/d", "no host"),
        ("postgres://a:hunter2@db.internal/d?sslmode=prefer", "sslmode=require"),
        ("postgres://a:hunter2@db.internal/d?sslmode=disable", "sslmode=require"),
        ("postgres://a:hunter2%zz@localhost/d", "percent-encoding"),
    ])
    func refusesBadURLsClearly(url: String, mentions: String) {
        let error = #expect(throws: RPCError.self) { try PostgresConfiguration(url: url) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains(mentions) == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("hunter2") == false)
    }

    /// <doc:Hardening>: the URL's parts are percent-decoded once, as libpq does (`pct%2541x` is `pct%41x`, not
    /// `pctAx`). Tests/EndToEnd/test_abuse.py checks the same URLs against psql.
    @Test(arguments: [
        ("pct%2541x", "pct%41x"), ("s%40cret", "s@cret"), ("plain", "plain"), ("a%25", "a%"), ("%3A%2F", ":/"),
    ])
    func passwordsAreDecodedOnce(encoded: String, password: String) throws {
        let configuration = try PostgresConfiguration(url: "postgres://u%2541:\(encoded)@localhost/d%2541b")
        #expect(configuration.password == password)
        #expect(configuration.username == "u%41")
        #expect(configuration.database == "d%41b")
    }

    @Test func limitsAreChecked() {
        #expect(throws: RPCError.self) { try PostgresConfiguration(url: "postgres://a@h/d", maxConnections: 0) }
        #expect(throws: RPCError.self) { try PostgresConfiguration(url: "postgres://a@h/d", maxTransactionAttempts: 0) }
    }
}

@Suite(.enabled(if: PostgresTestCluster.url != nil, "needs AKTO_TEST_POSTGRES_URL"))
struct PostgresRetryTests {
    /// Raises a real error with the given SQLSTATE from the server.
    static func raise(_ state: String) -> PostgresQuery {
        PostgresQuery(unsafeSQL: "DO $$ BEGIN RAISE EXCEPTION 'injected' USING ERRCODE = '\(state)'; END $$")
    }

    @Test(arguments: ["40001", "40P01"])
    func serializationFailuresAndDeadlocksAreRetriedThenSucceed(state: String) async throws {
        let store = try await PostgresTestCluster.freshStore()
        let attempts = Locked(0)
        let result = try await store.executor.write { db -> String in
            let attempt = attempts.withLock {
                $0 += 1; return $0
            }
            try await db.execute(
                "INSERT INTO audit_log (operation, timestamp, transport, peer) VALUES ('retry', 1, 't', 'p')")
            if attempt < 3 { try await db.execute(Self.raise(state)) }
            return "done on \(attempt)"
        }
        #expect(result == "done on 3")
        // The failed attempts rolled back: one row, not three.
        let rows = try await store.executor.read { db in
            try await db.value("SELECT COUNT(*) FROM audit_log WHERE operation = 'retry'", as: Int64.self)
        }
        #expect(rows == 1)
        await store.shutdown()
    }

    @Test func aConflictThatNeverClearsEndsInAborted() async throws {
        let store = try await PostgresTestCluster.freshStore()
        let attempts = Locked(0)
        let error = await #expect(throws: RPCError.self) {
            try await store.executor.write { db in
                attempts.withLock { $0 += 1 }
                try await db.execute(Self.raise("40001"))
            }
        }
        #expect(error?.code == .aborted)
        #expect(attempts.withLock { $0 } == store.configuration.maxTransactionAttempts)
        // Other failures are not retried and are UNAVAILABLE, with the cause kept for the log only.
        attempts.withLock { $0 = 0 }
        let other = await #expect(throws: RPCError.self) {
            try await store.executor.write { db in
                attempts.withLock { $0 += 1 }
                try await db.execute(Self.raise("XX000"))
            }
        }
        #expect(other?.code == .unavailable && attempts.withLock { $0 } == 1)
        await store.shutdown()
    }

    @Test func processesStartingTogetherMigrateOnce() async throws {
        let url = try #require(PostgresTestCluster.url)
        let logger = Logging.Logger(label: "test")
        let name = "akto_test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let database = try await PostgresAdmin.createDatabase(url: url, name: name, logger: logger)
        let stores = try await withThrowingTaskGroup(of: PostgresAccountStore.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    try await PostgresAccountStore.connect(
                        configuration: PostgresConfiguration(url: database, maxConnections: 2), logger: logger)
                }
            }
            return try await group.reduce(into: [PostgresAccountStore]()) { $0.append($1) }
        }
        let applied = try await stores[0].executor.read { db in
            try await db.values("SELECT name FROM akto_schema_migrations", as: String.self)
        }
        #expect(applied == PostgresMigrations.all.map(\.name))
        #expect(try await stores[0].hasUsers() == false)
        for store in stores { await store.shutdown() }
    }
}

import Logging
import PostgresNIO

@Suite(.enabled(if: PostgresTestCluster.url != nil, "needs AKTO_TEST_POSTGRES_URL"))
struct PostgresCopyTests {
    @Test func aSQLiteInstallCopiesIntoPostgresWithItsIdsAndKeepsWorking() async throws {
        let (sqlite, user, session) = try await seeded(.sqlite)
        let source = try #require(sqlite as? SQLiteAccountStore)
        let other = try await source.createAccount(
            userID: user.id, organizationID: try #require(try await source.account(id: 1_000_000)).organizationID,
            name: "B", maxAccountsPerUser: 10, sessionID: nil, now: 2, audit: entry("CreateNewAccount"))
        let token = try await source.createApiToken(
            accountID: 1_000_000, userID: user.id, utility: .externalAPI, name: "k", digest: digest("key"), now: 3,
            maxLive: 5, audit: entry("AddApiToken"))
        let role = CustomRoleRecord(
            accountID: 1_000_000, name: "ANALYST", baseRole: .member, apiCollectionIDs: [1], isDefaultInviteRole: true,
            allowedFeatures: ["AI_AGENTS"], lastModifiedAt: 4)
        try await source.createCustomRole(role, actorID: user.id, scope: .api, audit: entry("CreateCustomRole"))
        _ = try await source.createInvitation(
            accountID: 1_000_000, actorID: user.id, email: "c@example.com",
            requested: .mapping([RoleRequest(scope: .api, name: "ANALYST", field: "f")]), codeDigest: digest("invite"),
            now: 5, expiresAt: 9_999_999_999, maxPending: 10, maxPendingPerInviter: 10,
            audit: entry("InviteUsers"))
        try await source.saveSubscription(
            userID: user.id, endpoint: "https://push.example.com/1", p256dh: [4, 5, 6], auth: [7, 8],
            expirationTime: nil,
            now: 6, maxPerUser: 10, audit: entry("SaveSubscription"))
        let sample = TrafficSampleInput(
            collectionID: 1, method: "GET", url: "/a",
            observation: TrafficObservation(
                sourceIP: "10.0.0.1", destinationIP: "10.0.0.2", isOutgoing: true, headers: ["h": "v"]),
            timestamp: 7)
        _ = try await source.recordSamples(accountID: 1_000_000, samples: [sample], now: 7, audit: entry("Samples"))
        let job = try await source.enqueue(
            kind: .applyAccessType, accountID: 1_000_000, now: 8, runAfter: 8, audit: entry("ApplyAccessType")
        ).job

        let target = try await PostgresTestCluster.freshStore()
        let copied = try await target.copy(from: source, pageSize: 2)  // small pages: the cursor is exercised
        #expect(copied.first { $0.table == "users" }?.rows == 1)
        #expect(copied.first { $0.table == "audit_log" }?.rows == 8)  // one per mutation above

        // Everything reads back the same through the PostgreSQL store.
        #expect(try await target.user(email: "a@example.com") == user)
        #expect(try await target.session(digest: digest("s1")) == session)
        #expect(try await target.apiKeyPrincipal(digest: digest("key"), scope: .api)?.token == token)
        #expect(try await target.customRoles(accountID: 1_000_000) == [role])
        #expect(
            try await target.invitations(accountID: 1_000_000) == (try await source.invitations(accountID: 1_000_000)))
        #expect(try await target.pushSubscriptionEndpoints(userID: user.id) == ["https://push.example.com/1"])
        #expect(
            try await target.components(accountID: 1_000_000) == (try await source.components(accountID: 1_000_000)))
        #expect(
            try await target.collections(accountID: other.id) == (try await source.collections(accountID: other.id)))
        #expect(try await target.job(id: job.id, accountID: 1_000_000) == job)
        let audit = try await target.auditLog(accountID: 1_000_000, beforeID: 0, limit: 100)
        #expect(
            audit.map(\.entry)
                == (try await source.auditLog(accountID: 1_000_000, beforeID: 0, limit: 100)).map(\.entry))

        // The identity sequences moved past the copied ids: new rows get fresh ids.
        let next = try await target.createApiToken(
            accountID: 1_000_000, userID: user.id, utility: .cicd, name: "k2", digest: digest("key2"), now: 9,
            maxLive: 5,
            audit: entry("AddApiToken"))
        #expect(next.id == token.id + 1)
        let account = try await target.createAccount(
            userID: user.id, organizationID: other.organizationID, name: "C", maxAccountsPerUser: 10, sessionID: nil,
            now: 10, audit: entry("CreateNewAccount"))
        #expect(account.id == other.id + 1)

        // A second copy into a database with data is refused.
        let again = await #expect(throws: RPCError.self) { try await target.copy(from: source) }
        #expect(again?.code == .failedPrecondition)
        await target.shutdown()
    }
}

@testable import AccessSQLite

@Suite(.enabled(if: PostgresTestCluster.url != nil, "needs AKTO_TEST_POSTGRES_URL"))
struct PostgresCancellationTests {
    /// A call cancelled (its deadline) in the middle of a transaction leaves nothing behind on the pooled
    /// connection: the next transaction on it neither sees nor commits the half-done work.
    @Test func aCancelledTransactionNeverLeaksIntoTheNextUserOfItsConnection() async throws {
        let store = try await PostgresTestCluster.freshStore(maxConnections: 1)
        for round in 0..<5 {
            let started = Locked(false)
            let task = Task {
                try await store.executor.write { db in
                    try await db.execute(
                        "INSERT INTO audit_log (operation, timestamp, transport, peer) VALUES ('half-done', 1, 't', 'p')"
                    )
                    started.withLock { $0 = true }
                    try await Task.sleep(for: .seconds(30))
                }
            }
            while !started.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(5)) }
            task.cancel()
            _ = await task.result
            _ = try await store.executor.write { db in
                try await db.execute(
                    "INSERT INTO audit_log (operation, timestamp, transport, peer) VALUES ('next', \(Int64(round)), 't', 'p')"
                )
            }
        }
        let counts = try await store.executor.read { db in
            try await db.rows(
                "SELECT operation, COUNT(*)::bigint AS n FROM audit_log GROUP BY operation ORDER BY operation"
            )
            .map { "\(try $0["operation"] as String)=\(try $0["n"] as Int64)" }
        }
        #expect(counts == ["next=5"])
        await store.shutdown()
    }
}

/// <doc:Hardening>: a transaction is bounded by its call's deadline on the server side.
@Suite(.enabled(if: PostgresTestCluster.url != nil, "needs AKTO_TEST_POSTGRES_URL"))
struct PostgresDeadlineTests {
    @Test func aTransactionGetsTimeoutsFromTheCallsDeadline() async throws {
        let store = try await PostgresTestCluster.freshStore()
        let settings = try await CallScope.$deadline.withValue(.now + .seconds(20)) {
            try await store.executor.write { db -> [String] in
                try await db.rows(
                    """
                    SELECT current_setting('statement_timeout'), current_setting('lock_timeout'),
                      current_setting('idle_in_transaction_session_timeout')
                    """
                ).first.map {
                    [
                        try $0.cells[0].decode(String.self), try $0.cells[1].decode(String.self),
                        try $0.cells[2].decode(String.self),
                    ]
                } ?? []
            }
        }
        // About 20 s of statement time (PostgreSQL shows it in s or ms), the 5 s lock cap, deadline + 1 s idle.
        #expect(settings.count == 3)
        #expect(settings[1] == "5s", "\(settings)")
        #expect(settings[0].hasSuffix("ms") || settings[0].hasSuffix("s"), "\(settings)")
        // Outside a call (tools, migrations) nothing is set.
        let plain = try await store.executor.write { db in
            try await db.value("SELECT current_setting('statement_timeout')", as: String.self)
        }
        #expect(plain == "0")
    }

    /// A process frozen inside a write (here: its task stalls mid-transaction, as under SIGSTOP) holds its row
    /// lock only until the server ends its session at the deadline (+1 s), not forever.
    @Test func aFrozenWriterLosesItsLockAtItsDeadline() async throws {
        let store = try await PostgresTestCluster.freshStore()
        // Not awaited: a statement on the session the server ended does not return (PostgresNIO; see the issue
        // 16 note), so the frozen writer is left to the end of the test process.
        _ = Task {
            try await CallScope.$deadline.withValue(.now + .seconds(1)) {
                try await store.executor.write { db in
                    try await db.execute(
                        "INSERT INTO audit_log (operation, timestamp, transport, peer) VALUES ('frozen', 1, 't', 'p')")
                    try await db.execute("LOCK TABLE audit_log IN EXCLUSIVE MODE")
                    // Frozen for 300 s: the server ends the session long before.
                    try await Task.sleep(for: .seconds(300))
                }
            }
        }
        try await Task.sleep(for: .milliseconds(300))
        let start = ContinuousClock.now
        _ = try await store.executor.write { db in
            try await db.execute(
                "INSERT INTO audit_log (operation, timestamp, transport, peer) VALUES ('next', 1, 't', 'p')")
        }
        // The idle-in-transaction timeout is 2 s: 10x that, far from the 300 s the writer would hold it.
        #expect(ContinuousClock.now - start < .seconds(20))
        let kept = try await store.executor.read { db in
            try await db.value("SELECT COUNT(*) FROM audit_log WHERE operation = 'frozen'", as: Int64.self)
        }
        #expect(kept == 0)
    }
}
