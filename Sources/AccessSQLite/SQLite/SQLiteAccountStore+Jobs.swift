import AccessCore
import Foundation
import GRDB

extension SQLiteAccountStore: JobQueue {
    public func enqueue(kind: JobKind, accountID: Int32, now: Int64, runAfter: Int64, audit: AuditEntry) async throws
        -> (job: JobRecord, isNew: Bool)
    {
        try await write { db in
            // The partial unique index (account_id, kind) WHERE state = 'QUEUED' makes this race-free.
            try db.cachedStatement(
                sql: """
                    INSERT INTO jobs (kind, account_id, state, run_after, created_at, updated_at)
                    VALUES (?, ?, 'QUEUED', ?, ?, ?) ON CONFLICT DO NOTHING
                    """
            ).execute(
                arguments: [kind.rawValue, accountID, runAfter, now, now])
            let isNew = db.changesCount == 1
            guard
                let row = try Row.fetchOne(
                    try db.cachedStatement(
                        sql: "SELECT * FROM jobs WHERE account_id = ? AND kind = ? AND state = 'QUEUED'"),
                    arguments: [accountID, kind.rawValue])
            else { throw RPCError(.internal, "the queued job vanished") }
            if isNew {
                var entry = audit
                entry.target = "job:\(row["id"] as Int64)"
                try Self.insertAudit(db, entry)
            }
            return (Self.job(row), isNew)
        }
    }

    public func job(id: Int64, accountID: Int32) async throws -> JobRecord? {
        try await read { db in
            try Row.fetchOne(
                try db.cachedStatement(sql: "SELECT * FROM jobs WHERE id = ? AND account_id = ?"),
                arguments: [id, accountID]
            )
            .map(Self.job)
        }
    }

    public func claim(owner: String, now: Int64, leaseSeconds: Int64) async throws -> JobRecord? {
        try await write { db in
            try Row.fetchOne(
                try db.cachedStatement(
                    sql: """
                        UPDATE jobs SET state = 'RUNNING', attempts = attempts + 1, lease_owner = ?, lease_until = ?, updated_at = ?
                        WHERE id = (SELECT id FROM jobs
                                    WHERE (state = 'QUEUED' AND run_after <= ?) OR (state = 'RUNNING' AND lease_until < ?)
                                    ORDER BY id LIMIT 1)
                        RETURNING *
                        """),
                arguments: [owner, now + leaseSeconds, now, now, now]
            ).map(Self.job)
        }
    }

    public func renewLease(id: Int64, owner: String, until: Int64) async throws -> Bool {
        try await write { db in
            try db.cachedStatement(
                sql: "UPDATE jobs SET lease_until = ? WHERE id = ? AND lease_owner = ? AND state = 'RUNNING'"
            ).execute(
                arguments: [until, id, owner])
            return db.changesCount == 1
        }
    }

    public func complete(id: Int64, owner: String, result: String, now: Int64) async throws {
        try await write { db in
            try db.cachedStatement(
                sql: """
                    UPDATE jobs SET state = 'SUCCEEDED', result = ?, error = '', updated_at = ?, finished_at = ?,
                      lease_owner = NULL, lease_until = NULL
                    WHERE id = ? AND lease_owner = ? AND state = 'RUNNING'
                    """
            ).execute(
                arguments: [result, now, now, id, owner])
        }
    }

    public func fail(id: Int64, owner: String, error: String, now: Int64, retryAt: Int64?) async throws {
        try await write { db in
            guard let retryAt else {
                try db.cachedStatement(
                    sql: """
                        UPDATE jobs SET state = 'FAILED', error = ?, updated_at = ?, finished_at = ?, lease_owner = NULL,
                          lease_until = NULL WHERE id = ? AND lease_owner = ? AND state = 'RUNNING'
                        """
                ).execute(
                    arguments: [error, now, now, id, owner])
                return
            }
            guard
                let row = try Row.fetchOne(
                    try db.cachedStatement(sql: "SELECT * FROM jobs WHERE id = ?"), arguments: [id])
            else { return }
            let job = Self.job(row)
            let queued = try Int64.fetchOne(
                try db.cachedStatement(
                    sql: "SELECT id FROM jobs WHERE account_id = ? AND kind = ? AND state = 'QUEUED'"),
                arguments: [job.accountID, job.kind.rawValue])
            if let queued {
                // A newer request already queued the same (idempotent) work; this attempt folds into it.
                try db.cachedStatement(
                    sql: """
                        UPDATE jobs SET state = 'FAILED', error = ?, updated_at = ?, finished_at = ?, lease_owner = NULL,
                          lease_until = NULL WHERE id = ? AND lease_owner = ?
                        """
                ).execute(
                    arguments: ["\(error); retried as job \(queued)", now, now, id, owner])
            } else {
                try db.cachedStatement(
                    sql: """
                        UPDATE jobs SET state = 'QUEUED', error = ?, run_after = ?, updated_at = ?, lease_owner = NULL,
                          lease_until = NULL WHERE id = ? AND lease_owner = ? AND state = 'RUNNING'
                        """
                ).execute(
                    arguments: [error, retryAt, now, id, owner])
            }
        }
    }

    static func job(_ row: Row) -> JobRecord {
        JobRecord(
            id: row["id"], kind: JobKind(rawValue: row["kind"]) ?? .applyAccessType, accountID: row["account_id"],
            state: JobState(rawValue: row["state"]) ?? .failed, attempts: row["attempts"], result: row["result"],
            error: row["error"], createdAt: row["created_at"], updatedAt: row["updated_at"],
            finishedAt: row["finished_at"])
    }
}
