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
        #expect(socket.unixSocketPath == "/run/postgresql/.s.PGSQL.5432" && socket.host == nil && socket.tls == .disable)
        #expect(try PostgresConfiguration(url: "postgres://a@h/d").tls == .prefer)
        #expect(try PostgresConfiguration(url: "postgres://a@h/d").connectTimeout == 10)
        #expect(try PostgresConfiguration(url: "postgres://a@h/d?connect_timeout=3").connectTimeout == 3)
    }

    @Test(arguments: [
        ("mysql://a@h/d", "postgres://"), ("postgres://h/d", "no user"), ("postgres://a@h", "no database"),
        ("postgres://a@h/d?sslmode=maybe", "sslmode"), ("postgres://a@h/d?pool=3", "unknown database URL parameter"),
        ("postgres://a@h/d?host=relative", "socket directory"), ("postgres://a@h/d?connect_timeout=0", "connect_timeout"), ("postgres://a:hunter2@/d", "no host"),
    ])
    func refusesBadURLsClearly(url: String, mentions: String) {
        let error = #expect(throws: RPCError.self) { try PostgresConfiguration(url: url) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains(mentions) == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("hunter2") == false)
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
            let attempt = attempts.withLock { $0 += 1; return $0 }
            try await db.execute("INSERT INTO audit_log (operation, timestamp, transport, peer) VALUES ('retry', 1, 't', 'p')")
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
                    try await PostgresAccountStore(
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
