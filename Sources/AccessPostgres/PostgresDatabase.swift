import AccessCore
import Foundation
import Logging
import PostgresNIO

/// One connection lent to a store operation (inside a transaction for writes): runs queries and reads rows.
struct PostgresDatabase: Sendable {
    let connection: PostgresConnection
    let logger: Logger
    /// Longest wait for a row lock (`--database-lock-timeout`), within the call's remaining deadline.
    var lockTimeoutMilliseconds: Int64 = 5000

    /// Every row of a query.
    func rows(_ query: PostgresQuery) async throws -> [PostgresRecord] {
        try await connection.query(query, logger: logger).collect().map { PostgresRecord(cells: $0.makeRandomAccess()) }
    }

    /// The first row of a query, nil when it returns none.
    func row(_ query: PostgresQuery) async throws -> PostgresRecord? {
        try await rows(query).first
    }

    /// The first column of the first row, nil when there is no row or the value is NULL.
    func value<T: PostgresDecodable>(_ query: PostgresQuery, as type: T.Type = T.self) async throws -> T? {
        guard let row = try await row(query) else { return nil }
        let cell = row.cells[0]
        return cell.bytes == nil ? nil : try cell.decode(T.self)
    }

    /// The first column of every row.
    func values<T: PostgresDecodable>(_ query: PostgresQuery, as type: T.Type = T.self) async throws -> [T] {
        try await rows(query).map { try $0.cells[0].decode(T.self) }
    }

    /// Runs a statement and returns how many rows it returned (statements that report changes use `RETURNING`).
    @discardableResult
    func execute(_ query: PostgresQuery) async throws -> Int {
        try await rows(query).count
    }

    /// Runs `body` between `begin` and COMMIT; a thrown error (a rule, a failed statement, cancellation at the
    /// call's deadline) rolls back and passes through. When the rollback itself fails the connection is closed,
    /// so that a half-done transaction can never go back to the pool and be committed by its next user.
    ///
    /// <doc:Hardening>: the transaction's statements, lock waits and idle time are bounded by the call's remaining
    /// deadline (the server cancels a statement that runs past it, so a connection never goes back to the pool
    /// with its backend still working, and a frozen process's transaction is ended by the server); and the
    /// COMMIT starts only through the call's commit gate, so a call the transport already answered as failed
    /// rolls back, and one whose COMMIT is under way is answered with what it decided.
    func transaction<T>(begin: PostgresQuery = "BEGIN", _ body: (PostgresDatabase) async throws -> T) async throws -> T
    {
        try await execute(begin)
        do {
            try await boundByDeadline()
            let result = try await body(self)
            let gate = CallScope.commitGate
            guard gate?.beginCommit() ?? true else {
                throw RPCError(
                    .deadlineExceeded, "the call's deadline passed before its change was committed; nothing was saved")
            }
            do {
                // Not cancelled with the call: a COMMIT abandoned half-way could still commit after the call was
                // answered as failed. The transport waits for this answer instead (the gate is claimed).
                let connection = self
                _ = try await Task { try await connection.execute("COMMIT") }.value
            } catch {
                gate?.endCommit()
                throw error
            }
            return result
        } catch {
            do {
                try await execute("ROLLBACK")
            } catch {
                logger.warning("rollback failed; closing the connection", metadata: ["error": "\(error)"])
                try? await connection.close()
            }
            throw error
        }
    }

    /// `statement_timeout`, `lock_timeout` and `idle_in_transaction_session_timeout` of this transaction from the
    /// call's remaining deadline (none outside a call: tools and tests keep the server's defaults).
    func boundByDeadline() async throws {
        guard let left = CallScope.remainingMilliseconds() else { return }
        guard left > 0 else {
            throw RPCError(.deadlineExceeded, "the call's deadline passed before it reached the database")
        }
        let statement = String(left)
        let lock = String(min(left, lockTimeoutMilliseconds))
        let idle = String(left + 1000)
        try await execute(
            """
            SELECT set_config('statement_timeout', \(statement), true), set_config('lock_timeout', \(lock), true),
              set_config('idle_in_transaction_session_timeout', \(idle), true)
            """)
    }

    /// Takes the account's row lock until the transaction ends: every mutation whose rule spans the account
    /// (the last admin, the custom roles in use, invitations, collection names) runs one at a time per account,
    /// across every server process. `FOR NO KEY UPDATE` leaves foreign-key checks (KEY SHARE) unblocked.
    func lockAccount(_ id: Int32) async throws {
        _ = try await execute("SELECT id FROM accounts WHERE id = \(id) FOR NO KEY UPDATE")
    }

    /// Takes the row locks of these accounts, in id order (so two transactions never wait on each other in a
    /// cycle), until the transaction ends: the Authority rules read facts of every account they lock.
    func lockAccounts(_ ids: [Int32]) async throws {
        for id in Set(ids).sorted() { try await lockAccount(id) }
    }

    /// Takes the user's row lock until the transaction ends (per-user caps and rate limits).
    func lockUser(_ id: Int32) async throws {
        _ = try await execute("SELECT id FROM users WHERE id = \(id) FOR NO KEY UPDATE")
    }
}

/// A row read by column name.
struct PostgresRecord: @unchecked Sendable {
    let cells: PostgresRandomAccessRow

    subscript<T: PostgresDecodable>(_ column: String) -> T {
        get throws { try cells[column].decode(T.self) }
    }

    func json<T: Decodable>(_ column: String, as type: T.Type) throws -> T? {
        let text: String = try self[column]
        return try? JSONDecoder().decode(type, from: Data(text.utf8))
    }
}

/// How the store talks to PostgreSQL: a bounded pool, transactions retried on the failures PostgreSQL asks
/// clients to retry, and errors mapped to the status callers see.
final class PostgresExecutor: Sendable {
    let client: PostgresClient
    let logger: Logger
    let maxAttempts: Int
    /// The longest wait for a pooled connection before UNAVAILABLE.
    let acquireTimeout: Duration
    let lockTimeoutMilliseconds: Int64

    init(
        client: PostgresClient, logger: Logger, maxAttempts: Int, acquireTimeout: Duration,
        lockTimeout: Duration = .seconds(5)
    ) {
        self.client = client
        self.logger = logger
        self.maxAttempts = maxAttempts
        self.acquireTimeout = acquireTimeout
        self.lockTimeoutMilliseconds = max(
            1, lockTimeout.components.seconds * 1000 + lockTimeout.components.attoseconds / 1_000_000_000_000_000)
    }

    /// SQLSTATEs that mean "run the transaction again": serialization_failure, deadlock_detected, and
    /// unique_violation (a concurrent insert won; the re-run's checks then answer properly).
    static let retryable: Set<String> = ["40001", "40P01", "23505"]

    static func sqlState(_ error: any Error) -> String? {
        (error as? PSQLError)?.serverInfo?[.sqlState]
    }

    /// A database failure as callers see it: UNAVAILABLE, the cause kept for the log only.
    static func unavailable(_ error: any Error) -> RPCError {
        if let error = error as? RPCError { return error }
        switch sqlState(error) {
        case "57014"?:  // query_canceled: the statement ran into the call's deadline (statement_timeout)
            return RPCError(
                .deadlineExceeded, "the database did not finish before the call's deadline; nothing was saved",
                cause: String(reflecting: error))
        case "55P03"?:  // lock_not_available: lock_timeout
            return RPCError(
                .aborted, "another change holds the records this call needs; try again",
                cause: String(reflecting: error))
        default:
            return RPCError(.unavailable, "the database is unavailable", cause: String(reflecting: error))
        }
    }

    /// Runs `body` in one READ COMMITTED transaction and commits; rule violations thrown as `RPCError` roll it
    /// back and pass through. Retryable failures run it again (up to `maxAttempts`, with jittered back-off),
    /// then fail with ABORTED; anything else is UNAVAILABLE.
    func write<T: Sendable>(_ body: @escaping @Sendable (PostgresDatabase) async throws -> T) async throws -> T {
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try await withConnection { connection in
                    try await PostgresDatabase(
                        connection: connection, logger: self.logger,
                        lockTimeoutMilliseconds: self.lockTimeoutMilliseconds
                    ).transaction(body)
                }
            } catch let error where Self.sqlState(error).map(Self.retryable.contains) == true {
                guard attempt < maxAttempts else {
                    logger.warning(
                        "transaction gave up after retries",
                        metadata: ["attempts": "\(attempt)", "sqlstate": "\(Self.sqlState(error) ?? "")"])
                    throw RPCError(
                        .aborted, "the change conflicted with concurrent changes \(attempt) times; try again",
                        cause: String(reflecting: error))
                }
                // 1, 2, 4 … ms (capped at 64) with full jitter, so the contenders spread out.
                let cap = UInt64(1) << UInt64(min(attempt - 1, 6))
                try? await Task.sleep(nanoseconds: UInt64.random(in: 0...(cap * 1_000_000)))
            } catch {
                throw Self.unavailable(error)
            }
        }
    }

    /// Leases a pooled connection for `body`. Waiting for the lease is bounded by `acquireTimeout`: when the
    /// database is down the pool keeps trying to connect and a lease would otherwise wait until the call's
    /// deadline; this answers UNAVAILABLE instead. `body` itself is not bounded here (the call's deadline is).
    private func withConnection<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T)
        async throws -> T
    {
        let leased = Locked(false)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                try await self.client.withConnection { connection in
                    leased.withLock { $0 = true }
                    return try await body(connection)
                }
            }
            group.addTask {
                try await Task.sleep(for: self.acquireTimeout)
                guard leased.withLock({ $0 }) else {
                    throw RPCError(
                        .unavailable, "the database is unavailable or overloaded; try again",
                        cause:
                            "no pooled connection within \(self.acquireTimeout): PostgreSQL down or the pool saturated")
                }
                return nil
            }
            while let result = try await group.next() {
                if let result {
                    group.cancelAll()
                    return result
                }
            }
            throw CancellationError()
        }
    }

    /// Runs one or more statements on a pooled connection outside a transaction (each statement sees the
    /// data committed before it started).
    func read<T: Sendable>(_ body: @escaping @Sendable (PostgresDatabase) async throws -> T) async throws -> T {
        do {
            return try await withConnection { connection in
                try await body(PostgresDatabase(connection: connection, logger: self.logger))
            }
        } catch {
            throw Self.unavailable(error)
        }
    }

    /// Like `read`, in a REPEATABLE READ read-only transaction: several statements see one snapshot.
    func snapshot<T: Sendable>(_ body: @escaping @Sendable (PostgresDatabase) async throws -> T) async throws -> T {
        try await read { db in try await db.transaction(begin: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", body)
        }
    }
}
