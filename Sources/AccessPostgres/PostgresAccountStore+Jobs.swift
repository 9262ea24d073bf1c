import AccessCore
import Foundation
import PostgresNIO

extension PostgresAccountStore: JobQueue {
    public func enqueue(kind: JobKind, accountID: Int32, now: Int64, runAfter: Int64, audit: AuditEntry) async throws
        -> (job: JobRecord, isNew: Bool)
    {
        let queued = try await write { db -> Pair<JobRecord, Bool> in
            // The partial unique index (account_id, kind) WHERE state = 'QUEUED' makes this race-free across
            // processes: a concurrent insert waits for the first one's commit, then does nothing.
            let inserted = try await db.value(
                """
                INSERT INTO jobs (kind, account_id, state, run_after, created_at, updated_at)
                VALUES (\(kind.rawValue), \(accountID), 'QUEUED', \(runAfter), \(now), \(now))
                ON CONFLICT DO NOTHING RETURNING id
                """, as: Int64.self)
            guard
                let row = try await db.row(
                    "SELECT * FROM jobs WHERE account_id = \(accountID) AND kind = \(kind.rawValue) AND state = 'QUEUED'"
                )
            else {
                // Claimed between the two statements: the next attempt queues a fresh one.
                throw RPCError(.aborted, "the queued job was claimed concurrently; try again")
            }
            let job = try Self.job(row)
            if inserted != nil {
                var entry = audit
                entry.target = "job:\(job.id)"
                try await Self.insertAudit(db, entry)
            }
            return Pair(first: job, second: inserted != nil)
        }
        return (queued.first, queued.second)
    }

    public func job(id: Int64, accountID: Int32) async throws -> JobRecord? {
        try await read { db in
            try await db.row("SELECT * FROM jobs WHERE id = \(id) AND account_id = \(accountID)").map(Self.job)
        }
    }

    public func claim(owner: String, now: Int64, leaseSeconds: Int64) async throws -> JobRecord? {
        try await write { db in
            // SKIP LOCKED: workers of every process claim different jobs without waiting on each other; a job
            // whose lease expired (its process died) is runnable again.
            try await db.row(
                """
                UPDATE jobs SET state = 'RUNNING', attempts = attempts + 1, lease_owner = \(owner),
                  lease_until = \(now + leaseSeconds), updated_at = \(now)
                WHERE id = (SELECT id FROM jobs
                            WHERE (state = 'QUEUED' AND run_after <= \(now)) OR (state = 'RUNNING' AND lease_until < \(now))
                            ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
                RETURNING *
                """
            ).map(Self.job)
        }
    }

    public func renewLease(id: Int64, owner: String, until: Int64) async throws -> Bool {
        try await write { db in
            try await db.execute(
                """
                UPDATE jobs SET lease_until = \(until)
                WHERE id = \(id) AND lease_owner = \(owner) AND state = 'RUNNING' RETURNING id
                """) == 1
        }
    }

    public func complete(id: Int64, owner: String, result: String, now: Int64) async throws {
        try await write { db in
            try await db.execute(
                """
                UPDATE jobs SET state = 'SUCCEEDED', result = \(result), error = '', updated_at = \(now),
                  finished_at = \(now), lease_owner = NULL, lease_until = NULL
                WHERE id = \(id) AND lease_owner = \(owner) AND state = 'RUNNING'
                """)
        }
    }

    public func fail(id: Int64, owner: String, error: String, now: Int64, retryAt: Int64?) async throws {
        try await write { db in
            guard let retryAt else {
                try await db.execute(
                    """
                    UPDATE jobs SET state = 'FAILED', error = \(error), updated_at = \(now), finished_at = \(now),
                      lease_owner = NULL, lease_until = NULL
                    WHERE id = \(id) AND lease_owner = \(owner) AND state = 'RUNNING'
                    """)
                return
            }
            guard let row = try await db.row("SELECT * FROM jobs WHERE id = \(id) FOR UPDATE") else { return }
            let job = try Self.job(row)
            if let queued = try await db.value(
                "SELECT id FROM jobs WHERE account_id = \(job.accountID) AND kind = \(job.kind.rawValue) AND state = 'QUEUED'",
                as: Int64.self)
            {
                // A newer request already queued the same (idempotent) work; this attempt folds into it.
                try await db.execute(
                    """
                    UPDATE jobs SET state = 'FAILED', error = \("\(error); retried as job \(queued)"), updated_at = \(now),
                      finished_at = \(now), lease_owner = NULL, lease_until = NULL
                    WHERE id = \(id) AND lease_owner = \(owner)
                    """)
            } else {
                try await db.execute(
                    """
                    UPDATE jobs SET state = 'QUEUED', error = \(error), run_after = \(retryAt), updated_at = \(now),
                      lease_owner = NULL, lease_until = NULL
                    WHERE id = \(id) AND lease_owner = \(owner) AND state = 'RUNNING'
                    """)
            }
        }
    }

    static func job(_ row: PostgresRecord) throws -> JobRecord {
        JobRecord(
            id: try row["id"], kind: JobKind(rawValue: try row["kind"]) ?? .applyAccessType,
            accountID: try row["account_id"], state: JobState(rawValue: try row["state"]) ?? .failed,
            attempts: try row["attempts"], result: try row["result"], error: try row["error"],
            createdAt: try row["created_at"], updatedAt: try row["updated_at"], finishedAt: try row["finished_at"])
    }
}
