import AccessCore
import Foundation
import GRDB

// <doc:DashboardSessions>: the dashboard's access and refresh tokens.
extension SQLiteAccountStore {
    public func addSessionTokens(_ tokens: [SessionTokenRecord]) async throws {
        try await write { db in
            for token in tokens { try Self.insertSessionToken(db, token) }
        }
    }

    public func accessTokenPrincipal(digest: [UInt8], scope: Scope) async throws
        -> (token: SessionTokenRecord, session: SessionRecord, principal: PrincipalRecord?)?
    {
        try await read { db in
            guard let token = try Self.sessionToken(db, digest: digest), token.kind == .access,
                let session = try Self.session(db, id: token.sessionID)
            else { return nil }
            return (
                token, session,
                try Self.principal(db, userID: session.userID, accountID: session.accountID, scope: scope)
            )
        }
    }

    public func refreshTokenSession(digest: [UInt8]) async throws -> (
        token: SessionTokenRecord, session: SessionRecord
    )? {
        try await read { db in
            guard let token = try Self.sessionToken(db, digest: digest), token.kind == .refresh,
                let session = try Self.session(db, id: token.sessionID)
            else { return nil }
            return (token, session)
        }
    }

    public func rotateRefreshToken(_ presented: String, _ inputs: RefreshWalk.Inputs) async throws
        -> RefreshRotation.Outcome
    {
        try await write { db in
            var walk = RefreshWalk(presented: presented, inputs)
            while case .fetch(let digest) = walk.step {
                let token = try Self.sessionToken(db, digest: digest)
                walk.observe(token: token, session: try token.flatMap { try Self.session(db, id: $0.sessionID) })
            }
            guard case .done(let plan) = walk.step else { return .invalid }
            switch plan {
            case .invalid:
                return .invalid
            case .answer(let issued):
                return .issued(issued)
            case .reuse(let session, let audit):
                try db.cachedStatement(sql: "UPDATE sessions SET revoked = 1 WHERE id = ?").execute(arguments: [
                    session.id
                ])
                try db.cachedStatement(sql: "DELETE FROM session_tokens WHERE session_id = ?").execute(arguments: [
                    session.id
                ])
                try Self.insertAudit(db, audit)
                return .reused(sessionID: session.id)
            case .rotate(let spend, let insert, let answer):
                try db.cachedStatement(sql: "UPDATE session_tokens SET rotated_at = ? WHERE digest = ?").execute(
                    arguments: [inputs.now, Data(spend.digest)])
                for row in insert { try Self.insertSessionToken(db, row) }
                try Self.pruneSessionTokens(db, sessionID: spend.sessionID, now: inputs.now)
                return .issued(answer)
            }
        }
    }

    public func collectionLimitedMembers(accountID: Int32, scope: Scope) async throws -> [Int32: [Int32]] {
        try await read { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT r.user_id, c.api_collection_ids FROM member_roles r
                    JOIN custom_roles c ON c.account_id = r.account_id AND c.name = UPPER(r.role)
                    WHERE r.account_id = ? AND r.scope = ?
                    """, arguments: [accountID, scope.rawValue])
            var limited: [Int32: [Int32]] = [:]
            for row in rows {
                let ids = JSONValue.int32List(row["api_collection_ids"]) ?? []
                if !ids.isEmpty { limited[row["user_id"]] = ids.sorted() }
            }
            return limited
        }
    }

    static func insertSessionToken(_ db: Database, _ token: SessionTokenRecord) throws {
        // A grace-window replay can meet rows its first rotation wrote: the same digest is the same token.
        try db.cachedStatement(
            sql: """
                INSERT OR IGNORE INTO session_tokens (digest, session_id, kind, issued_at, expires_at, rotated_at, rotation_key)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(
            arguments: [
                Data(token.digest), token.sessionID, token.kind.rawValue, token.issuedAt, token.expiresAt,
                token.rotatedAt,
                Data(token.rotationKey),
            ])
    }

    /// Keeps a session's access-token rows bounded: expired ones, and those beyond the newest
    /// `maxAccessTokensPerSession`, are deleted. Spent refresh tokens stay until the session ends (one per refresh,
    /// bounded by the session's lifetime): they are what detects a reuse.
    static func pruneSessionTokens(_ db: Database, sessionID: Int64, now: Int64) throws {
        try db.cachedStatement(
            sql: "DELETE FROM session_tokens WHERE session_id = ? AND kind = 'access' AND expires_at <= ?"
        ).execute(arguments: [sessionID, now])
        try db.cachedStatement(
            sql: """
                DELETE FROM session_tokens WHERE session_id = ? AND kind = 'access' AND digest NOT IN (
                  SELECT digest FROM session_tokens WHERE session_id = ? AND kind = 'access'
                  ORDER BY rowid DESC LIMIT ?)
                """
        ).execute(arguments: [sessionID, sessionID, RefreshRotation.maxAccessTokensPerSession])
    }

    static func sessionToken(_ db: Database, digest: [UInt8]) throws -> SessionTokenRecord? {
        try Row.fetchOne(
            try db.cachedStatement(sql: "SELECT * FROM session_tokens WHERE digest = ?"), arguments: [Data(digest)]
        ).map { row in
            SessionTokenRecord(
                digest: [UInt8](row["digest"] as Data), sessionID: row["session_id"],
                kind: SessionTokenRecord.Kind(rawValue: row["kind"]) ?? .access, issuedAt: row["issued_at"],
                expiresAt: row["expires_at"], rotatedAt: row["rotated_at"],
                rotationKey: [UInt8](row["rotation_key"] as Data))
        }
    }

    static func session(_ db: Database, id: Int64) throws -> SessionRecord? {
        try Row.fetchOne(try db.cachedStatement(sql: "SELECT * FROM sessions WHERE id = ?"), arguments: [id]).map(
            Self.session)
    }
}
