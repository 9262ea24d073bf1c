import AccessCore
import Foundation
import PostgresNIO

// <doc:DashboardSessions>: the dashboard's access and refresh tokens (as SQLiteAccountStore+Dashboard).
extension PostgresAccountStore {
    public func addSessionTokens(_ tokens: [SessionTokenRecord]) async throws {
        try await write { db in
            for token in tokens { try await Self.insertSessionToken(db, token) }
        }
    }

    public func accessTokenPrincipal(digest: [UInt8], scope: Scope) async throws
        -> (token: SessionTokenRecord, session: SessionRecord, principal: PrincipalRecord?)?
    {
        struct Found: Sendable {
            var token: SessionTokenRecord
            var session: SessionRecord
            var principal: PrincipalRecord?
        }
        let found = try await read { db -> Found? in
            guard
                let row = try await db.row(
                    Self.principalQuery(
                        select: """
                            s.*, t.digest AS t_digest, t.kind AS t_kind, t.issued_at AS t_issued_at,
                              t.expires_at AS t_expires_at, t.rotated_at AS t_rotated_at, t.rotation_key AS t_rotation_key,
                            """,
                        from: """
                            session_tokens t JOIN sessions s ON s.id = t.session_id
                              LEFT JOIN users u ON u.id = s.user_id LEFT JOIN accounts a ON a.id = s.account_id
                            """,
                        where: "t.digest = $1 AND t.kind = 'access'", scope: scope,
                        binds: { try $0.append(Data(digest)) }))
            else { return nil }
            let session = try Self.session(row)
            return Found(
                token: try Self.sessionToken(row, prefix: "t_", sessionID: session.id), session: session,
                principal: try Self.principal(row, scope: scope))
        }
        return found.map { ($0.token, $0.session, $0.principal) }
    }

    public func refreshTokenSession(digest: [UInt8]) async throws -> (
        token: SessionTokenRecord, session: SessionRecord
    )? {
        let found = try await read { db -> Pair<SessionTokenRecord, SessionRecord>? in
            guard let token = try await Self.sessionToken(db, digest: digest), token.kind == .refresh,
                let session = try await Self.session(db, id: token.sessionID)
            else { return nil }
            return Pair(first: token, second: session)
        }
        return found.map { ($0.first, $0.second) }
    }

    public func rotateRefreshToken(_ presented: String, _ inputs: RefreshWalk.Inputs) async throws
        -> RefreshRotation.Outcome
    {
        try await write { db in
            var walk = RefreshWalk(presented: presented, inputs)
            while case .fetch(let digest) = walk.step {
                // FOR UPDATE: two refreshes of one token serialise here, so only one of them rotates it.
                let token = try await Self.sessionToken(db, digest: digest, lock: true)
                var session: SessionRecord?
                if let token { session = try await Self.session(db, id: token.sessionID) }
                walk.observe(token: token, session: session)
            }
            guard case .done(let plan) = walk.step else { return .invalid }
            switch plan {
            case .invalid:
                return .invalid
            case .answer(let issued):
                return .issued(issued)
            case .reuse(let session, let audit):
                try await db.execute("UPDATE sessions SET revoked = true WHERE id = \(session.id)")
                try await db.execute("DELETE FROM session_tokens WHERE session_id = \(session.id)")
                try await Self.insertAudit(db, audit)
                return .reused(sessionID: session.id)
            case .rotate(let spend, let insert, let answer):
                try await db.execute(
                    "UPDATE session_tokens SET rotated_at = \(inputs.now) WHERE digest = \(Data(spend.digest))")
                for row in insert { try await Self.insertSessionToken(db, row) }
                try await Self.pruneSessionTokens(db, sessionID: spend.sessionID, now: inputs.now)
                return .issued(answer)
            }
        }
    }

    /// As SQLite's: expired access tokens and those beyond the newest `maxAccessTokensPerSession` go.
    static func pruneSessionTokens(_ db: PostgresDatabase, sessionID: Int64, now: Int64) async throws {
        try await db.execute(
            "DELETE FROM session_tokens WHERE session_id = \(sessionID) AND kind = 'access' AND expires_at <= \(now)")
        try await db.execute(
            """
            DELETE FROM session_tokens WHERE session_id = \(sessionID) AND kind = 'access' AND digest NOT IN (
              SELECT digest FROM session_tokens WHERE session_id = \(sessionID) AND kind = 'access'
              ORDER BY seq DESC LIMIT \(RefreshRotation.maxAccessTokensPerSession))
            """)
    }

    public func collectionLimitedMembers(accountID: Int32, scope: Scope) async throws -> [Int32: [Int32]] {
        let rows = try await read { db -> [Pair<Int32, [Int32]>] in
            try await db.rows(
                """
                SELECT r.user_id, c.api_collection_ids FROM member_roles r
                JOIN custom_roles c ON c.account_id = r.account_id AND c.name = upper(r.role)
                WHERE r.account_id = \(accountID) AND r.scope = \(scope.rawValue)
                """
            ).map { row in
                Pair(first: try row["user_id"], second: try row.json("api_collection_ids", as: [Int32].self) ?? [])
            }
        }
        var limited: [Int32: [Int32]] = [:]
        for row in rows where !row.second.isEmpty { limited[row.first] = row.second.sorted() }
        return limited
    }

    static func insertSessionToken(_ db: PostgresDatabase, _ token: SessionTokenRecord) async throws {
        try await db.execute(
            """
            INSERT INTO session_tokens (digest, session_id, kind, issued_at, expires_at, rotated_at, rotation_key)
            VALUES (\(Data(token.digest)), \(token.sessionID), \(token.kind.rawValue), \(token.issuedAt), \(token.expiresAt),
                    \(token.rotatedAt), \(Data(token.rotationKey)))
            ON CONFLICT (digest) DO NOTHING
            """)
    }

    static func sessionToken(_ db: PostgresDatabase, digest: [UInt8], lock: Bool = false) async throws
        -> SessionTokenRecord?
    {
        let found: PostgresRecord?
        if lock {
            found = try await db.row("SELECT * FROM session_tokens WHERE digest = \(Data(digest)) FOR UPDATE")
        } else {
            found = try await db.row("SELECT * FROM session_tokens WHERE digest = \(Data(digest))")
        }
        guard let row = found else { return nil }
        return try Self.sessionToken(row, prefix: "", sessionID: try row["session_id"])
    }

    static func sessionToken(_ row: PostgresRecord, prefix: String, sessionID: Int64) throws -> SessionTokenRecord {
        SessionTokenRecord(
            digest: [UInt8](try row[prefix + "digest"] as Data), sessionID: sessionID,
            kind: SessionTokenRecord.Kind(rawValue: try row[prefix + "kind"]) ?? .access,
            issuedAt: try row[prefix + "issued_at"],
            expiresAt: try row[prefix + "expires_at"], rotatedAt: try row[prefix + "rotated_at"],
            rotationKey: [UInt8](try row[prefix + "rotation_key"] as Data))
    }

    static func session(_ db: PostgresDatabase, id: Int64) async throws -> SessionRecord? {
        try await db.row("SELECT * FROM sessions WHERE id = \(id)").map(Self.session)
    }
}
