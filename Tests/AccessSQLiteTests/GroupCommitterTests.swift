import AccessCore
import Foundation
import GRDB
import Synchronization
import Testing

@testable import AccessSQLite

@Suite struct GroupCommitterTests {
    private func open(maxBatch: Int = 256) throws -> (DatabasePool, GroupCommitter) {
        let directory = NSTemporaryDirectory() + "akto-group-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let pool = try DatabasePool(path: directory + "/g.sqlite")
        try pool.write { db in try db.execute(sql: "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE)") }
        return (pool, GroupCommitter(pool: pool, maxBatch: maxBatch))
    }

    private func values(_ pool: DatabasePool) throws -> Set<String> {
        Set(try pool.read { db in try String.fetchAll(db, sql: "SELECT v FROM t") })
    }

    /// Keeps the writer busy until released, so that the writes submitted meanwhile queue up together.
    /// Returns once the blocker holds the writer.
    private func blockWriter(_ committer: GroupCommitter, until released: Gate) async throws -> Task<Void, any Error> {
        let started = Gate()
        let task = Task {
            try await committer.write { db in
                try db.execute(sql: "INSERT INTO t (v) VALUES ('blocker')")
                started.open()
                while !released.isOpen { usleep(1_000) }
            }
        }
        try await waitUntil { started.isOpen }
        return task
    }

    private func waitUntil(_ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while !condition() {
            guard ContinuousClock.now < deadline else { throw RPCError(.deadlineExceeded, "condition never held") }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    @Test func concurrentWritesShareOneTransactionAndEachGetsItsResult() async throws {
        let (pool, committer) = try open()
        let released = Gate()
        let blocker = try await blockWriter(committer, until: released)
        let results = try await withThrowingTaskGroup(of: Int64.self) { group in
            for index in 0..<50 {
                group.addTask {
                    try await committer.write { db in
                        try db.execute(sql: "INSERT INTO t (v) VALUES (?)", arguments: ["v\(index)"])
                        return db.lastInsertedRowID
                    }
                }
            }
            try await waitUntil { committer.queued == 50 }
            released.open()
            return try await group.reduce(into: [Int64]()) { $0.append($1) }
        }
        try await blocker.value
        #expect(Set(results).count == 50)  // each call saw its own row id
        #expect(try values(pool).count == 51)
        // The blocker's transaction, then one for the 50 that queued behind it.
        #expect(committer.committedTransactions.load(ordering: .relaxed) == 2)
    }

    @Test func aRuleViolationRollsBackOnlyThatCall() async throws {
        let (pool, committer) = try open()
        let released = Gate()
        let blocker = try await blockWriter(committer, until: released)
        let first = Task { try await committer.write { db in try db.execute(sql: "INSERT INTO t (v) VALUES ('a')") } }
        let broken = Task {
            try await committer.write { db in
                try db.execute(sql: "INSERT INTO t (v) VALUES ('half-applied')")
                throw RPCError(.failedPrecondition, "rule broken after a write")
            }
        }
        let last = Task { try await committer.write { db in try db.execute(sql: "INSERT INTO t (v) VALUES ('b')") } }
        try await waitUntil { committer.queued == 3 }
        released.open()
        try await first.value
        try await last.value
        await #expect(throws: RPCError(.failedPrecondition, "rule broken after a write")) { try await broken.value }
        try await blocker.value
        #expect(try values(pool) == ["blocker", "a", "b"])
        #expect(committer.committedTransactions.load(ordering: .relaxed) == 2)
    }

    @Test func aDatabaseErrorFailsThatCallAndTheRestOfTheBatchIsRetried() async throws {
        let (pool, committer) = try open()
        let released = Gate()
        let blocker = try await blockWriter(committer, until: released)
        let first = Task { try await committer.write { db in try db.execute(sql: "INSERT INTO t (v) VALUES ('a')") } }
        let broken = Task {
            try await committer.write { db in try db.execute(sql: "INSERT INTO missing_table VALUES (1)") }
        }
        let last = Task { try await committer.write { db in try db.execute(sql: "INSERT INTO t (v) VALUES ('b')") } }
        try await waitUntil { committer.queued == 3 }
        released.open()
        try await first.value
        try await last.value
        let error = await #expect(throws: RPCError.self) { try await broken.value }
        #expect(error?.code == .unavailable)
        #expect(error?.message == "the database is unavailable")  // the SQL error stays in the log cause only
        try await blocker.value
        #expect(try values(pool) == ["blocker", "a", "b"])
    }

    @Test func aBatchIsCappedAtItsLimit() async throws {
        let (pool, committer) = try open(maxBatch: 10)
        let released = Gate()
        let blocker = try await blockWriter(committer, until: released)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<25 {
                group.addTask {
                    try await committer.write { db in
                        try db.execute(sql: "INSERT INTO t (v) VALUES (?)", arguments: ["v\(index)"])
                    }
                }
            }
            try await waitUntil { committer.queued == 25 }
            released.open()
            try await group.waitForAll()
        }
        try await blocker.value
        #expect(try values(pool).count == 26)
        #expect(committer.committedTransactions.load(ordering: .relaxed) == 4)  // blocker + 10 + 10 + 5
    }

    @Test func aFailedCommitFailsTheWholeBatchAndKeepsNothing() async throws {
        let (pool, committer) = try open()
        // A deferred foreign key violation only fails at COMMIT.
        try await pool.write { db in
            try db.execute(
                sql:
                    "CREATE TABLE child (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES t(id) DEFERRABLE INITIALLY DEFERRED)"
            )
        }
        let released = Gate()
        let blocker = try await blockWriter(committer, until: released)
        let good = Task { try await committer.write { db in try db.execute(sql: "INSERT INTO t (v) VALUES ('good')") } }
        let dangling = Task {
            try await committer.write { db in try db.execute(sql: "INSERT INTO child (parent) VALUES (999)") }
        }
        try await waitUntil { committer.queued == 2 }
        released.open()
        let goodError = await #expect(throws: RPCError.self) { try await good.value }
        let danglingError = await #expect(throws: RPCError.self) { try await dangling.value }
        #expect(goodError?.code == .unavailable && danglingError?.code == .unavailable)
        try await blocker.value
        #expect(try values(pool) == ["blocker"])
    }

    /// <doc:Hardening>: a write whose call was given up (its deadline passed) while it waited for the group commit is
    /// never committed; a write whose batch already claimed its gate is answered with the commit's outcome.
    @Test func aWriteGivenUpWhileQueuedIsNeverCommitted() async throws {
        let (pool, committer) = try open()
        let released = Gate()
        let blocker = try await blockWriter(committer, until: released)
        let gate = CommitGate()
        let late = Task {
            try await CallScope.$commitGate.withValue(gate) {
                try await committer.write { db in try db.execute(sql: "INSERT INTO t (v) VALUES ('late')") }
            }
        }
        try await Task.sleep(for: .milliseconds(50))
        #expect(gate.abandon())  // the transport answers DEADLINE_EXCEEDED now
        released.open()
        try await blocker.value
        let error = await #expect(throws: RPCError.self) { try await late.value }
        #expect(error?.code == .deadlineExceeded)
        #expect(try values(pool) == ["blocker"])

        // Claimed first: the transport may no longer give up on it, and it commits.
        let claimed = CommitGate()
        try await CallScope.$commitGate.withValue(claimed) {
            try await committer.write { db in try db.execute(sql: "INSERT INTO t (v) VALUES ('kept')") }
        }
        #expect(!claimed.abandon())
        #expect(try values(pool) == ["blocker", "kept"])
    }

}

/// A one-way gate shared between a test and the body it blocks.
final class Gate: Sendable {
    private let state = Atomic<Bool>(false)
    func open() { state.store(true, ordering: .releasing) }
    var isOpen: Bool { state.load(ordering: .acquiring) }
}
