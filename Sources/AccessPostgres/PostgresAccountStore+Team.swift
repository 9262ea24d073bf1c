import AccessCore
import Foundation
import PostgresNIO

extension PostgresAccountStore {
    // MARK: Invitations

    public func createInvitation(
        accountID: Int32, email: String, inviterUserID: Int32, roles: [Scope: String], codeDigest: [UInt8], now: Int64,
        expiresAt: Int64, audit: AuditEntry
    ) async throws -> InvitationRecord {
        try await write { db in
            try await db.lockAccount(accountID)
            let isMember =
                try await db.value(
                    """
                    SELECT EXISTS (SELECT 1 FROM members m JOIN users u ON u.id = m.user_id
                                   WHERE u.email = \(email) AND m.account_id = \(accountID))
                    """, as: Bool.self) ?? false
            guard !isMember else { throw StoreRule.alreadyMember(email) }
            try await db.execute("DELETE FROM invitations WHERE account_id = \(accountID) AND email = \(email)")
            guard
                let id = try await db.value(
                    """
                    INSERT INTO invitations (account_id, email, inviter_user_id, code_digest, created_at, expires_at)
                    VALUES (\(accountID), \(email), \(inviterUserID), \(Data(codeDigest)), \(now), \(expiresAt))
                    RETURNING id
                    """, as: Int64.self)
            else { throw RPCError(.internal, "the new invitation has no id") }
            for (scope, role) in roles {
                try await db.execute(
                    "INSERT INTO invitation_roles (invitation_id, scope, role) VALUES (\(id), \(scope.rawValue), \(role))"
                )
            }
            var entry = audit
            entry.target = "invitation:\(email)"
            try await Self.insertAudit(db, entry)
            let inviter = try await db.value("SELECT email FROM users WHERE id = \(inviterUserID)", as: String.self)
            return InvitationRecord(
                id: id, accountID: accountID, email: email, inviterUserID: inviterUserID, inviterEmail: inviter ?? "",
                roles: roles, createdAt: now, expiresAt: expiresAt)
        }
    }

    public func invitation(accountID: Int32, email: String) async throws -> InvitationRecord? {
        try await read { db in
            try await Self.invitations(db, "WHERE i.account_id = \(accountID) AND i.email = \(email)").first
        }
    }

    public func invitations(accountID: Int32) async throws -> [InvitationRecord] {
        try await read { db in try await Self.invitations(db, "WHERE i.account_id = \(accountID)") }
    }

    public func deleteInvitation(id: Int64, audit: AuditEntry) async throws {
        try await write { db in
            guard try await db.execute("DELETE FROM invitations WHERE id = \(id) RETURNING id") == 1 else {
                throw StoreRule.invitationGone
            }
            try await Self.insertAudit(db, audit)
        }
    }

    public func acceptInvitation(
        codeDigest: [UInt8], email: String, name: String, passwordHash: String, sessionDigest: [UInt8], now: Int64,
        sessionExpiresAt: Int64, audit: AuditEntry
    ) async throws -> (user: UserRecord, accountID: Int32, session: SessionRecord) {
        let accepted = try await write { db -> Pair<UserRecord, SessionRecord> in
            guard
                let invitation = try await Self.invitations(
                    db, "WHERE i.code_digest = \(Data(codeDigest)) AND i.expires_at > \(now)"
                ).first, invitation.email == email
            else { throw StoreRule.badInviteCode }
            try await db.lockAccount(invitation.accountID)
            // Consumed by this transaction or by a concurrent one that committed first.
            guard try await db.execute("DELETE FROM invitations WHERE id = \(invitation.id) RETURNING id") == 1 else {
                throw StoreRule.badInviteCode
            }
            guard try await db.value("SELECT EXISTS (SELECT 1 FROM users WHERE email = \(email))", as: Bool.self) == false
            else { throw StoreRule.emailTaken }
            guard
                let userID = try await db.value(
                    """
                    INSERT INTO users (email, name, password_hash, created_at, last_login_at)
                    VALUES (\(email), \(name), \(passwordHash), \(now), \(now)) RETURNING id
                    """, as: Int32.self)
            else { throw RPCError(.internal, "the new user has no id") }
            try await db.execute(
                "INSERT INTO members (user_id, account_id, joined_at) VALUES (\(userID), \(invitation.accountID), \(now))")
            for (scope, role) in invitation.roles {
                try await db.execute(
                    """
                    INSERT INTO member_roles (user_id, account_id, scope, role)
                    VALUES (\(userID), \(invitation.accountID), \(scope.rawValue), \(role))
                    """)
            }
            let session = try await Self.insertSession(
                db, userID: userID, accountID: invitation.accountID, digest: sessionDigest, now: now,
                expiresAt: sessionExpiresAt)
            var entry = audit
            entry.actorUserID = userID
            entry.accountID = invitation.accountID
            try await Self.insertAudit(db, entry)
            return Pair(
                first: UserRecord(id: userID, email: email, name: name, passwordHash: passwordHash, createdAt: now),
                second: session)
        }
        return (accepted.first, accepted.second.accountID, accepted.second)
    }

    // MARK: Members

    public func teamMembers(accountID: Int32) async throws -> [TeamMemberRecord] {
        try await read { db in
            try await db.rows(
                """
                SELECT u.*, COALESCE((SELECT json_object_agg(r.scope, r.role)::text FROM member_roles r
                                      WHERE r.user_id = u.id AND r.account_id = m.account_id), '{}') AS roles
                FROM users u JOIN members m ON m.user_id = u.id WHERE m.account_id = \(accountID) ORDER BY u.id
                """
            ).map { row in
                TeamMemberRecord(
                    user: try Self.user(row), roles: Self.roles(try row.json("roles", as: [String: String].self)),
                    lastLoginAt: try row["last_login_at"])
            }
        }
    }

    public func setMemberRoles(accountID: Int32, userID: Int32, roles: [Scope: String], audit: AuditEntry) async throws
    {
        try await write { db in
            try await db.lockAccount(accountID)
            guard try await Self.membership(db, userID: userID, accountID: accountID) != nil else {
                throw StoreRule.noSuchMember
            }
            for (scope, role) in roles {
                try await db.execute(
                    """
                    INSERT INTO member_roles (user_id, account_id, scope, role)
                    VALUES (\(userID), \(accountID), \(scope.rawValue), \(role))
                    ON CONFLICT (user_id, account_id, scope) DO UPDATE SET role = excluded.role
                    """)
            }
            try await Self.requireAnAdmin(db, accountID: accountID)
            try await Self.insertAudit(db, audit)
        }
    }

    public func removeMember(accountID: Int32, userID: Int32, audit: AuditEntry) async throws {
        try await write { db in
            try await db.lockAccount(accountID)
            guard
                try await db.execute(
                    "DELETE FROM members WHERE user_id = \(userID) AND account_id = \(accountID) RETURNING user_id") == 1
            else { throw StoreRule.noSuchMember }
            try await Self.requireAnAdmin(db, accountID: accountID)
            try await db.execute("DELETE FROM api_tokens WHERE user_id = \(userID) AND account_id = \(accountID)")
            try await Self.insertAudit(db, audit)
        }
    }

    /// Throws (rolling the transaction back) when no member is ADMIN in the API scope, directly or through a
    /// custom role based on ADMIN. Callers hold the account's lock, so concurrent demotions see each other.
    static func requireAnAdmin(_ db: PostgresDatabase, accountID: Int32) async throws {
        let admins =
            try await db.value(
                """
                SELECT COUNT(*) FROM member_roles r WHERE r.account_id = \(accountID) AND r.scope = 'API' AND (r.role = 'ADMIN'
                  OR r.role IN (SELECT name FROM custom_roles WHERE account_id = \(accountID) AND base_role = 'ADMIN'))
                """, as: Int64.self) ?? 0
        guard admins > 0 else {
            throw StoreRule.lastAdmin
        }
    }

    // MARK: Custom roles

    public func customRoles(accountID: Int32) async throws -> [CustomRoleRecord] {
        try await read { db in
            try await db.rows("SELECT * FROM custom_roles WHERE account_id = \(accountID) ORDER BY name").map(
                Self.customRole)
        }
    }

    public func createCustomRole(_ role: CustomRoleRecord, audit: AuditEntry) async throws {
        try await write { db in
            try await db.lockAccount(role.accountID)
            guard
                try await db.value(
                    "SELECT EXISTS (SELECT 1 FROM custom_roles WHERE account_id = \(role.accountID) AND name = \(role.name))",
                    as: Bool.self) == false
            else { throw StoreRule.roleExists(role.name) }
            try await Self.checkCustomRole(db, role)
            try await db.execute(
                """
                INSERT INTO custom_roles (account_id, name, base_role, api_collection_ids, default_invite_role,
                  allowed_features, last_modified_at)
                VALUES (\(role.accountID), \(role.name), \(role.baseRole.rawValue), \(Self.json(role.apiCollectionIDs)),
                        \(role.isDefaultInviteRole), \(Self.json(role.allowedFeatures)), \(role.lastModifiedAt))
                """)
            try await Self.insertAudit(db, audit)
        }
    }

    public func updateCustomRole(_ role: CustomRoleRecord, audit: AuditEntry) async throws {
        try await write { db in
            try await db.lockAccount(role.accountID)
            try await Self.checkCustomRole(db, role)
            guard
                try await db.execute(
                    """
                    UPDATE custom_roles SET base_role = \(role.baseRole.rawValue),
                      api_collection_ids = \(Self.json(role.apiCollectionIDs)),
                      default_invite_role = \(role.isDefaultInviteRole), allowed_features = \(Self.json(role.allowedFeatures)),
                      last_modified_at = \(role.lastModifiedAt)
                    WHERE account_id = \(role.accountID) AND name = \(role.name) RETURNING name
                    """) == 1
            else { throw StoreRule.noSuchRole(role.name) }
            // A role based on ADMIN that stops being one must not leave the account without an admin.
            try await Self.requireAnAdmin(db, accountID: role.accountID)
            try await Self.insertAudit(db, audit)
        }
    }

    public func deleteCustomRole(accountID: Int32, name: String, audit: AuditEntry) async throws {
        try await write { db in
            try await db.lockAccount(accountID)
            guard
                try await db.value(
                    "SELECT EXISTS (SELECT 1 FROM custom_roles WHERE account_id = \(accountID) AND name = \(name))",
                    as: Bool.self) == true
            else { throw StoreRule.noSuchRole(name) }
            let inUse =
                try await db.value(
                    """
                    SELECT EXISTS (SELECT 1 FROM member_roles WHERE account_id = \(accountID) AND role = \(name))
                        OR EXISTS (SELECT 1 FROM invitation_roles r JOIN invitations i ON i.id = r.invitation_id
                                   WHERE i.account_id = \(accountID) AND r.role = \(name))
                    """, as: Bool.self) ?? true
            guard !inUse else {
                throw StoreRule.roleInUse(name)
            }
            try await db.execute("DELETE FROM custom_roles WHERE account_id = \(accountID) AND name = \(name)")
            try await Self.insertAudit(db, audit)
        }
    }

    static func checkCustomRole(_ db: PostgresDatabase, _ role: CustomRoleRecord) async throws {
        if role.isDefaultInviteRole {
            if let other = try await db.value(
                """
                SELECT name FROM custom_roles WHERE account_id = \(role.accountID) AND default_invite_role
                  AND name != \(role.name)
                """, as: String.self)
            {
                throw StoreRule.defaultInviteRoleTaken(by: other)
            }
        }
        let ids = Set(role.apiCollectionIDs)
        if !ids.isEmpty {
            let known = Set(
                try await db.values("SELECT id FROM api_collections WHERE account_id = \(role.accountID)", as: Int32.self))
            let unknown = ids.subtracting(known).sorted()
            if !unknown.isEmpty {
                throw StoreRule.unknownCollections(unknown)
            }
        }
    }

    static func customRole(_ row: PostgresRecord) throws -> CustomRoleRecord {
        CustomRoleRecord(
            accountID: try row["account_id"], name: try row["name"],
            baseRole: BuiltinRole(rawValue: try row["base_role"]) ?? .noAccess,
            apiCollectionIDs: try row.json("api_collection_ids", as: [Int32].self) ?? [],
            isDefaultInviteRole: try row["default_invite_role"],
            allowedFeatures: try row.json("allowed_features", as: [String].self) ?? [],
            lastModifiedAt: try row["last_modified_at"])
    }

    /// Invitations matching `condition` (a `WHERE` clause over `i`), with their roles, by id.
    static func invitations(_ db: PostgresDatabase, _ condition: PostgresQuery) async throws -> [InvitationRecord] {
        let query = PostgresQuery(
            unsafeSQL: """
                SELECT i.*, COALESCE(u.email, '') AS inviter_email,
                  COALESCE((SELECT json_object_agg(r.scope, r.role)::text FROM invitation_roles r
                            WHERE r.invitation_id = i.id), '{}') AS roles
                FROM invitations i LEFT JOIN users u ON u.id = i.inviter_user_id 
                """ + condition.sql + " ORDER BY i.id", binds: condition.binds)
        return try await db.rows(query).map { row in
            InvitationRecord(
                id: try row["id"], accountID: try row["account_id"], email: try row["email"],
                inviterUserID: try row["inviter_user_id"], inviterEmail: try row["inviter_email"],
                roles: roles(try row.json("roles", as: [String: String].self)), createdAt: try row["created_at"],
                expiresAt: try row["expires_at"])
        }
    }
}
