import AccessCore
import Foundation
import GRDB

extension SQLiteAccessStore {
    // MARK: Invitations

    public func createInvitation(
        accountID: Int32, email: String, inviterUserID: Int32, roles: [Scope: String], codeDigest: [UInt8], now: Int64,
        expiresAt: Int64, audit: AuditEntry
    ) async throws -> InvitationRecord {
        try await write { db in
            let isMember =
                try Bool.fetchOne(
                    try db.cachedStatement(
                        sql:
                            "SELECT EXISTS (SELECT 1 FROM members m JOIN users u ON u.id = m.user_id WHERE u.email = ? AND m.account_id = ?)"
                    ),
                    arguments: [email, accountID]) ?? false
            guard !isMember else { throw StoreRule.alreadyMember(email) }
            try db.cachedStatement(sql: "DELETE FROM invitations WHERE account_id = ? AND email = ?").execute(
                arguments: [accountID, email])
            try db.cachedStatement(
                sql: """
                    INSERT INTO invitations (account_id, email, inviter_user_id, code_digest, created_at, expires_at)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """
            ).execute(
                arguments: [accountID, email, inviterUserID, Data(codeDigest), now, expiresAt])
            let id = db.lastInsertedRowID
            for (scope, role) in roles {
                try db.cachedStatement(
                    sql: "INSERT INTO invitation_roles (invitation_id, scope, role) VALUES (?, ?, ?)"
                ).execute(
                    arguments: [id, scope.rawValue, role])
            }
            var entry = audit
            entry.target = "invitation:\(email)"
            try Self.insertAudit(db, entry)
            let inviter = try String.fetchOne(
                try db.cachedStatement(sql: "SELECT email FROM users WHERE id = ?"), arguments: [inviterUserID])
            return InvitationRecord(
                id: id, accountID: accountID, email: email, inviterUserID: inviterUserID, inviterEmail: inviter ?? "",
                roles: roles, createdAt: now, expiresAt: expiresAt)
        }
    }

    public func invitation(accountID: Int32, email: String) async throws -> InvitationRecord? {
        try await read { db in
            try Self.invitations(db, where: "i.account_id = ? AND i.email = ?", arguments: [accountID, email]).first
        }
    }

    public func invitations(accountID: Int32) async throws -> [InvitationRecord] {
        try await read { db in try Self.invitations(db, where: "i.account_id = ?", arguments: [accountID]) }
    }

    public func deleteInvitation(id: Int64, audit: AuditEntry) async throws {
        try await write { db in
            try db.cachedStatement(sql: "DELETE FROM invitations WHERE id = ?").execute(arguments: [id])
            guard db.changesCount == 1 else { throw StoreRule.invitationGone }
            try Self.insertAudit(db, audit)
        }
    }

    public func acceptInvitation(
        codeDigest: [UInt8], email: String, name: String, passwordHash: String, sessionDigest: [UInt8], now: Int64,
        sessionExpiresAt: Int64, audit: AuditEntry
    ) async throws -> (user: UserRecord, accountID: Int32, session: SessionRecord) {
        try await write { db in
            guard
                let invitation = try Self.invitations(
                    db, where: "i.code_digest = ? AND i.expires_at > ?", arguments: [Data(codeDigest), now]
                ).first, invitation.email == email
            else { throw StoreRule.badInviteCode }
            guard
                try Bool.fetchOne(
                    try db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM users WHERE email = ?)"),
                    arguments: [email]) == false
            else { throw StoreRule.emailTaken }
            try db.cachedStatement(
                sql: "INSERT INTO users (email, name, password_hash, created_at, last_login_at) VALUES (?, ?, ?, ?, ?)"
            ).execute(
                arguments: [email, name, passwordHash, now, now])
            let userID = Int32(db.lastInsertedRowID)
            try db.cachedStatement(sql: "INSERT INTO members (user_id, account_id, joined_at) VALUES (?, ?, ?)")
                .execute(
                    arguments: [userID, invitation.accountID, now])
            for (scope, role) in invitation.roles {
                try db.cachedStatement(
                    sql: "INSERT INTO member_roles (user_id, account_id, scope, role) VALUES (?, ?, ?, ?)"
                ).execute(
                    arguments: [userID, invitation.accountID, scope.rawValue, role])
            }
            try db.cachedStatement(sql: "DELETE FROM invitations WHERE id = ?").execute(arguments: [invitation.id])
            let session = try Self.insertSession(
                db, userID: userID, accountID: invitation.accountID, digest: sessionDigest, now: now,
                expiresAt: sessionExpiresAt)
            var entry = audit
            entry.actorUserID = userID
            entry.accountID = invitation.accountID
            try Self.insertAudit(db, entry)
            return (
                UserRecord(id: userID, email: email, name: name, passwordHash: passwordHash, createdAt: now),
                invitation.accountID, session
            )
        }
    }

    // MARK: Members

    public func teamMembers(accountID: Int32) async throws -> [TeamMemberRecord] {
        try await read { db in
            let users = try Row.fetchAll(
                try db.cachedStatement(
                    sql:
                        "SELECT u.* FROM users u JOIN members m ON m.user_id = u.id WHERE m.account_id = ? ORDER BY u.id"
                ),
                arguments: [accountID])
            return try users.map { row in
                let user = Self.user(row)
                let roles = try Self.membership(db, userID: user.id, accountID: accountID)?.roles ?? [:]
                return TeamMemberRecord(user: user, roles: roles, lastLoginAt: row["last_login_at"])
            }
        }
    }

    public func setMemberRoles(accountID: Int32, userID: Int32, roles: [Scope: String], audit: AuditEntry) async throws
    {
        try await write { db in
            guard try Self.membership(db, userID: userID, accountID: accountID) != nil else {
                throw StoreRule.noSuchMember
            }
            for (scope, role) in roles {
                try db.cachedStatement(
                    sql: """
                        INSERT INTO member_roles (user_id, account_id, scope, role) VALUES (?, ?, ?, ?)
                        ON CONFLICT (user_id, account_id, scope) DO UPDATE SET role = excluded.role
                        """
                ).execute(
                    arguments: [userID, accountID, scope.rawValue, role])
            }
            try Self.requireAnAdmin(db, accountID: accountID)
            try Self.insertAudit(db, audit)
        }
    }

    public func removeMember(accountID: Int32, userID: Int32, audit: AuditEntry) async throws {
        try await write { db in
            try db.cachedStatement(sql: "DELETE FROM members WHERE user_id = ? AND account_id = ?").execute(arguments: [
                userID, accountID,
            ])
            guard db.changesCount == 1 else { throw StoreRule.noSuchMember }
            try Self.requireAnAdmin(db, accountID: accountID)
            try db.cachedStatement(sql: "DELETE FROM api_tokens WHERE user_id = ? AND account_id = ?").execute(
                arguments: [userID, accountID])
            try Self.insertAudit(db, audit)
        }
    }

    /// Throws (rolling the transaction back) when no member is ADMIN in the API scope, directly or through a
    /// custom role based on ADMIN.
    static func requireAnAdmin(_ db: Database, accountID: Int32) throws {
        let admins =
            try Int.fetchOne(
                try db.cachedStatement(
                    sql: """
                        SELECT COUNT(*) FROM member_roles r WHERE r.account_id = ? AND r.scope = 'API' AND (r.role = 'ADMIN'
                          OR r.role IN (SELECT name FROM custom_roles WHERE account_id = ? AND base_role = 'ADMIN'))
                        """),
                arguments: [accountID, accountID]) ?? 0
        guard admins > 0 else {
            throw StoreRule.lastAdmin
        }
    }

    // MARK: Custom roles

    public func customRoles(accountID: Int32) async throws -> [CustomRoleRecord] {
        try await read { db in
            try Row.fetchAll(
                try db.cachedStatement(sql: "SELECT * FROM custom_roles WHERE account_id = ? ORDER BY name"),
                arguments: [accountID]
            )
            .map(Self.customRole)
        }
    }

    public func createCustomRole(_ role: CustomRoleRecord, audit: AuditEntry) async throws {
        try await write { db in
            guard
                try Bool.fetchOne(
                    try db.cachedStatement(
                        sql: "SELECT EXISTS (SELECT 1 FROM custom_roles WHERE account_id = ? AND name = ?)"),
                    arguments: [role.accountID, role.name]) == false
            else { throw StoreRule.roleExists(role.name) }
            try Self.checkCustomRole(db, role)
            try db.cachedStatement(
                sql: """
                    INSERT INTO custom_roles (account_id, name, base_role, api_collection_ids, default_invite_role,
                      allowed_features, last_modified_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                    """
            ).execute(
                arguments: Self.customRoleArguments(role))
            try Self.insertAudit(db, audit)
        }
    }

    public func updateCustomRole(_ role: CustomRoleRecord, audit: AuditEntry) async throws {
        try await write { db in
            try Self.checkCustomRole(db, role)
            try db.cachedStatement(
                sql: """
                    UPDATE custom_roles SET base_role = ?, api_collection_ids = ?, default_invite_role = ?,
                      allowed_features = ?, last_modified_at = ? WHERE account_id = ? AND name = ?
                    """
            ).execute(
                arguments: [
                    role.baseRole.rawValue, Self.json(role.apiCollectionIDs), role.isDefaultInviteRole,
                    Self.json(role.allowedFeatures), role.lastModifiedAt, role.accountID, role.name,
                ])
            guard db.changesCount == 1 else { throw StoreRule.noSuchRole(role.name) }
            // A role based on ADMIN that stops being one must not leave the account without an admin.
            try Self.requireAnAdmin(db, accountID: role.accountID)
            try Self.insertAudit(db, audit)
        }
    }

    public func deleteCustomRole(accountID: Int32, name: String, audit: AuditEntry) async throws {
        try await write { db in
            guard
                try Bool.fetchOne(
                    try db.cachedStatement(
                        sql: "SELECT EXISTS (SELECT 1 FROM custom_roles WHERE account_id = ? AND name = ?)"),
                    arguments: [accountID, name]) == true
            else { throw StoreRule.noSuchRole(name) }
            let inUse =
                try Bool.fetchOne(
                    try db.cachedStatement(
                        sql: """
                            SELECT EXISTS (SELECT 1 FROM member_roles WHERE account_id = ? AND role = ?)
                                OR EXISTS (SELECT 1 FROM invitation_roles r JOIN invitations i ON i.id = r.invitation_id
                                           WHERE i.account_id = ? AND r.role = ?)
                            """),
                    arguments: [accountID, name, accountID, name]) ?? true
            guard !inUse else {
                throw StoreRule.roleInUse(name)
            }
            try db.cachedStatement(sql: "DELETE FROM custom_roles WHERE account_id = ? AND name = ?").execute(
                arguments: [accountID, name])
            try Self.insertAudit(db, audit)
        }
    }

    static func checkCustomRole(_ db: Database, _ role: CustomRoleRecord) throws {
        if role.isDefaultInviteRole {
            let other = try String.fetchOne(
                try db.cachedStatement(
                    sql: "SELECT name FROM custom_roles WHERE account_id = ? AND default_invite_role = 1 AND name != ?"),
                arguments: [role.accountID, role.name])
            if let other {
                throw StoreRule.defaultInviteRoleTaken(by: other)
            }
        }
        let ids = Set(role.apiCollectionIDs)
        if !ids.isEmpty {
            let known = Set(
                try Int32.fetchAll(
                    try db.cachedStatement(sql: "SELECT id FROM api_collections WHERE account_id = ?"),
                    arguments: [role.accountID]))
            let unknown = ids.subtracting(known).sorted()
            if !unknown.isEmpty {
                throw StoreRule.unknownCollections(unknown)
            }
        }
    }

    static func customRoleArguments(_ role: CustomRoleRecord) -> StatementArguments {
        [
            role.accountID, role.name, role.baseRole.rawValue, json(role.apiCollectionIDs), role.isDefaultInviteRole,
            json(role.allowedFeatures), role.lastModifiedAt,
        ]
    }

    static func customRole(_ row: Row) -> CustomRoleRecord {
        CustomRoleRecord(
            accountID: row["account_id"], name: row["name"],
            baseRole: BuiltinRole(rawValue: row["base_role"]) ?? .noAccess,
            apiCollectionIDs: decodeJSON([Int32].self, row["api_collection_ids"]) ?? [],
            isDefaultInviteRole: row["default_invite_role"],
            allowedFeatures: decodeJSON([String].self, row["allowed_features"]) ?? [],
            lastModifiedAt: row["last_modified_at"])
    }

    static func json<T: Encodable>(_ value: T) -> String {
        (try? String(decoding: JSONEncoder().encode(value), as: UTF8.self)) ?? "[]"
    }

    static func invitations(_ db: Database, where condition: String, arguments: StatementArguments) throws
        -> [InvitationRecord]
    {
        try Row.fetchAll(
            try db.cachedStatement(
                sql: """
                    SELECT i.*, COALESCE(u.email, '') AS inviter_email FROM invitations i
                    LEFT JOIN users u ON u.id = i.inviter_user_id WHERE \(condition) ORDER BY i.id
                    """),
            arguments: arguments
        ).map { row in
            var roles: [Scope: String] = [:]
            for roleRow in try Row.fetchAll(
                try db.cachedStatement(sql: "SELECT scope, role FROM invitation_roles WHERE invitation_id = ?"),
                arguments: [row["id"] as Int64])
            {
                if let scope = Scope(rawValue: roleRow["scope"]) { roles[scope] = roleRow["role"] }
            }
            return InvitationRecord(
                id: row["id"], accountID: row["account_id"], email: row["email"], inviterUserID: row["inviter_user_id"],
                inviterEmail: row["inviter_email"], roles: roles, createdAt: row["created_at"],
                expiresAt: row["expires_at"])
        }
    }
}
