import AccessCore
import Foundation
import GRDB

extension SQLiteAccountStore {
    // MARK: Facts

    /// What the authority rules need of one account, read in the transaction: nil when it does not exist.
    static func accountFacts(_ db: Database, accountID: Int32, users: [Int32]) throws -> AccountFacts? {
        guard
            let row = try Row.fetchOne(
                try db.cachedStatement(
                    sql: """
                        SELECT a.organization_id, o.owner_user_id FROM accounts a
                        JOIN organizations o ON o.id = a.organization_id WHERE a.id = ?
                        """), arguments: [accountID])
        else { return nil }
        var customRoles: [String: CustomRoleRecord] = [:]
        let roles = try Row.fetchCursor(
            try db.cachedStatement(
                sql: "SELECT \(Self.customRoleColumns) FROM custom_roles WHERE account_id = ?"), arguments: [accountID])
        while let row = try roles.next() {
            let role = Self.customRole(row)
            customRoles[role.name] = role
        }
        var apiRoles: [Int32: String] = [:]
        let apiRows = try Row.fetchCursor(
            try db.cachedStatement(
                sql: "SELECT user_id, role FROM member_roles WHERE account_id = ? AND scope = 'API'"),
            arguments: [accountID])
        while let row = try apiRows.next() {
            apiRoles[row[0]] = row[1]
        }
        var members: [Int32: [Scope: String]] = [:]
        for user in Set(users) {
            if let membership = try Self.membership(db, userID: user, accountID: accountID) {
                members[user] = membership.roles
            }
        }
        return AccountFacts(
            accountID: accountID, organizationID: row["organization_id"], ownerUserID: row["owner_user_id"],
            customRoles: customRoles, members: members, apiRoles: apiRoles)
    }

    /// The facts of every account `userID` belongs to, each with the roles of `users` (identity-wide rules).
    static func accountsFacts(_ db: Database, of userID: Int32, users: [Int32]) throws -> [AccountFacts] {
        try Int32.fetchAll(
            try db.cachedStatement(sql: "SELECT account_id FROM members WHERE user_id = ? ORDER BY account_id"),
            arguments: [userID]
        ).compactMap { try accountFacts(db, accountID: $0, users: users) }
    }

    /// What an identity-wide rule (ResetUserPassword, ClearLoginLockout) decides on: the target (nil for an
    /// unknown address), the active account and every account the target belongs to, each with the actor's and
    /// the target's roles.
    static func identityWideFacts(_ db: Database, accountID: Int32, actorID: Int32, email: String) throws
        -> (target: Int32?, active: AccountFacts, accounts: [AccountFacts])
    {
        let target = try userID(db, email: email)
        let users = [actorID] + (target.map { [$0] } ?? [])
        guard let active = try accountFacts(db, accountID: accountID, users: users) else {
            throw AccountRules.accountNotFound(accountID)
        }
        let accounts = try target.map { try accountsFacts(db, of: $0, users: users) } ?? []
        return (target, active, accounts)
    }

    static func userID(_ db: Database, email: String) throws -> Int32? {
        try Int32.fetchOne(try db.cachedStatement(sql: "SELECT id FROM users WHERE email = ?"), arguments: [email])
    }

    static func user(_ db: Database, id: Int32) throws -> UserRecord? {
        try Row.fetchOne(try db.cachedStatement(sql: "SELECT * FROM users WHERE id = ?"), arguments: [id]).map(
            Self.user)
    }

    // MARK: Invitations

    public func createInvitation(
        accountID: Int32, actorID: Int32, email: String, requested: InvitationRules.Requested, codeDigest: [UInt8],
        now: Int64, expiresAt: Int64, maxPending: Int, maxPendingPerInviter: Int, audit: AuditEntry
    ) async throws -> InvitationRecord {
        try await write { db in
            guard let facts = try Self.accountFacts(db, accountID: accountID, users: [actorID]) else {
                throw AccountRules.accountNotFound(accountID)
            }
            let isMember =
                try Bool.fetchOne(
                    try db.cachedStatement(
                        sql:
                            "SELECT EXISTS (SELECT 1 FROM members m JOIN users u ON u.id = m.user_id WHERE u.email = ? AND m.account_id = ?)"
                    ),
                    arguments: [email, accountID]) ?? false
            let pending =
                try Int.fetchOne(
                    try db.cachedStatement(
                        sql: "SELECT COUNT(*) FROM invitations WHERE account_id = ? AND email != ? AND expires_at > ?"),
                    arguments: [accountID, email, now]) ?? 0
            let pendingByInviter =
                try Int.fetchOne(
                    try db.cachedStatement(
                        sql:
                            "SELECT COUNT(*) FROM invitations WHERE account_id = ? AND inviter_user_id = ? AND email != ? AND expires_at > ?"
                    ),
                    arguments: [accountID, actorID, email, now]) ?? 0
            let roles = try InvitationRules.create(
                inviter: actorID, inviteeIsMember: isMember, email: email, requested: requested, pending: pending,
                maxPending: maxPending, pendingByInviter: pendingByInviter, maxPendingPerInviter: maxPendingPerInviter,
                facts: facts)
            try db.cachedStatement(
                sql: "DELETE FROM invitations WHERE account_id = ? AND (email = ? OR expires_at <= ?)"
            )
            .execute(arguments: [accountID, email, now])
            try db.cachedStatement(
                sql: """
                    INSERT INTO invitations (account_id, email, inviter_user_id, code_digest, created_at, expires_at)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """
            ).execute(
                arguments: [accountID, email, actorID, Data(codeDigest), now, expiresAt])
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
                try db.cachedStatement(sql: "SELECT email FROM users WHERE id = ?"), arguments: [actorID])
            return InvitationRecord(
                id: id, accountID: accountID, email: email, inviterUserID: actorID, inviterEmail: inviter ?? "",
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

    public func deleteInvitation(accountID: Int32, actorID: Int32, email: String, audit: AuditEntry) async throws {
        try await write { db in
            guard let facts = try Self.accountFacts(db, accountID: accountID, users: [actorID]) else {
                throw AccountRules.accountNotFound(accountID)
            }
            let invitation = try Self.invitations(
                db, where: "i.account_id = ? AND i.email = ?", arguments: [accountID, email]
            ).first
            try InvitationRules.remove(actor: actorID, invitation: invitation, facts: facts)
            try db.cachedStatement(sql: "DELETE FROM invitations WHERE id = ?").execute(arguments: [invitation?.id])
            try Self.insertAudit(db, audit)
        }
    }

    public func acceptInvitation(
        codeDigest: [UInt8], joiner: Joiner, sessionDigest: [UInt8]?, now: Int64, sessionExpiresAt: Int64,
        audit: AuditEntry
    ) async throws -> (user: UserRecord, accountID: Int32, session: SessionRecord?) {
        try await write { db in
            let invitation = try Self.invitations(db, where: "i.code_digest = ?", arguments: [Data(codeDigest)]).first
            var joinerID: Int32?
            if case .existingUser(let id, _) = joiner { joinerID = id }
            let facts = try invitation.flatMap { invitation in
                try Self.accountFacts(
                    db, accountID: invitation.accountID,
                    users: [invitation.inviterUserID] + (joinerID.map { [$0] } ?? []))
            }
            try InvitationRules.accept(invitation: invitation, email: joiner.email, now: now, facts: facts)
            guard let invitation, let facts else { throw InvitationRules.badCode }
            let user: UserRecord
            switch joiner {
            case .newUser(let email, let name, let passwordHash):
                try InvitationRules.join(
                    existingUser: try Self.userID(db, email: email) != nil, isMember: false, email: email)
                try db.cachedStatement(
                    sql:
                        "INSERT INTO users (email, name, password_hash, created_at, last_login_at) VALUES (?, ?, ?, ?, ?)"
                ).execute(
                    arguments: [email, name, passwordHash, now, now])
                user = UserRecord(
                    id: Int32(db.lastInsertedRowID), email: email, name: name, passwordHash: passwordHash,
                    createdAt: now)
            case .existingUser(let id, let email):
                try InvitationRules.join(existingUser: false, isMember: facts.isMember(id), email: email)
                guard let existing = try Self.user(db, id: id), existing.email == email else {
                    throw InvitationRules.badCode
                }
                user = existing
            }
            try db.cachedStatement(sql: "INSERT INTO members (user_id, account_id, joined_at) VALUES (?, ?, ?)")
                .execute(
                    arguments: [user.id, invitation.accountID, now])
            for (scope, role) in invitation.roles {
                try db.cachedStatement(
                    sql: "INSERT INTO member_roles (user_id, account_id, scope, role) VALUES (?, ?, ?, ?)"
                ).execute(
                    arguments: [user.id, invitation.accountID, scope.rawValue, role])
            }
            try db.cachedStatement(sql: "DELETE FROM invitations WHERE id = ?").execute(arguments: [invitation.id])
            let session = try sessionDigest.map { digest in
                try Self.insertSession(
                    db, userID: user.id, accountID: invitation.accountID, digest: digest, now: now,
                    expiresAt: sessionExpiresAt)
            }
            var entry = audit
            entry.actorUserID = user.id
            entry.actorEmail = user.email
            entry.accountID = invitation.accountID
            entry.target = "user:\(user.id)"
            try Self.insertAudit(db, entry)
            return (user, invitation.accountID, session)
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

    public func setMemberRoles(
        accountID: Int32, actorID: Int32, email: String, requests: [RoleRequest], audit: AuditEntry
    )
        async throws -> (user: UserRecord, roles: [Scope: String])
    {
        try await write { db in
            let target = try Self.userID(db, email: email)
            guard
                let facts = try Self.accountFacts(
                    db, accountID: accountID, users: [actorID] + (target.map { [$0] } ?? []))
            else { throw AccountRules.accountNotFound(accountID) }
            let roles = try MembershipRules.changeRoles(
                actor: actorID, target: target, requests: requests, facts: facts)
            guard let target, let user = try Self.user(db, id: target) else { throw MembershipRules.noSuchMember }
            for (scope, role) in roles {
                try db.cachedStatement(
                    sql: """
                        INSERT INTO member_roles (user_id, account_id, scope, role) VALUES (?, ?, ?, ?)
                        ON CONFLICT (user_id, account_id, scope) DO UPDATE SET role = excluded.role
                        """
                ).execute(
                    arguments: [target, accountID, scope.rawValue, role])
            }
            var entry = audit
            entry.target = "user:\(target)" + (entry.target.isEmpty ? "" : " " + entry.target)
            try Self.insertAudit(db, entry)
            return (user, roles)
        }
    }

    public func removeMember(accountID: Int32, actorID: Int32, email: String, now: Int64, audit: AuditEntry)
        async throws
        -> UserRecord
    {
        try await write { db in
            let target = try Self.userID(db, email: email)
            guard
                let facts = try Self.accountFacts(
                    db, accountID: accountID, users: [actorID] + (target.map { [$0] } ?? []))
            else { throw AccountRules.accountNotFound(accountID) }
            try MembershipRules.remove(actor: actorID, target: target, facts: facts)
            guard let target, let user = try Self.user(db, id: target) else { throw MembershipRules.noSuchMember }
            let arguments: StatementArguments = [target, accountID]
            try db.cachedStatement(sql: "DELETE FROM members WHERE user_id = ? AND account_id = ?").execute(
                arguments: arguments)
            try db.cachedStatement(sql: "DELETE FROM api_tokens WHERE user_id = ? AND account_id = ?").execute(
                arguments: arguments)
            try db.cachedStatement(sql: "DELETE FROM invitations WHERE inviter_user_id = ? AND account_id = ?").execute(
                arguments: arguments)
            try db.cachedStatement(
                sql: """
                    UPDATE password_reset_tokens SET revoked_at = ?
                    WHERE issued_by = ? AND account_id = ? AND used_at IS NULL AND revoked_at IS NULL
                    """
            ).execute(arguments: [now, target, accountID])
            try db.cachedStatement(sql: "UPDATE sessions SET revoked = 1 WHERE user_id = ? AND account_id = ?").execute(
                arguments: arguments)
            var entry = audit
            entry.target = "user:\(target)"
            try Self.insertAudit(db, entry)
            return user
        }
    }

    // MARK: Custom roles

    public func customRoles(accountID: Int32) async throws -> [CustomRoleRecord] {
        try await read { db in
            try Row.fetchAll(
                try db.cachedStatement(
                    sql: "SELECT \(Self.customRoleColumns) FROM custom_roles WHERE account_id = ? ORDER BY name"),
                arguments: [accountID]
            )
            .map(Self.customRole)
        }
    }

    public func createCustomRole(_ role: CustomRoleRecord, actorID: Int32, scope: Scope, audit: AuditEntry) async throws
    {
        try await write { db in
            guard let facts = try Self.accountFacts(db, accountID: role.accountID, users: [actorID]) else {
                throw AccountRules.accountNotFound(role.accountID)
            }
            try CustomRoleRules.create(
                role, actor: actorID, scope: scope, facts: facts,
                collections: try Self.collectionIDs(db, accountID: role.accountID, among: role.apiCollectionIDs))
            try db.cachedStatement(
                sql: """
                    INSERT INTO custom_roles (account_id, name, base_role, api_collection_ids, default_invite_role,
                      allowed_features, last_modified_at, threat_protection_enabled) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """
            ).execute(
                arguments: Self.customRoleArguments(role))
            try Self.insertAudit(db, audit)
        }
    }

    public func updateCustomRole(_ patch: CustomRolePatch, actorID: Int32, scope: Scope, audit: AuditEntry) async throws
        -> CustomRoleRecord
    {
        try await write { db in
            guard let facts = try Self.accountFacts(db, accountID: patch.accountID, users: [actorID]) else {
                throw AccountRules.accountNotFound(patch.accountID)
            }
            guard let current = facts.customRoles[patch.name] else { throw CustomRoleRules.notFound(patch.name) }
            let role = patch.applied(to: current)
            try CustomRoleRules.update(
                role, actor: actorID, scope: scope, facts: facts,
                collections: try Self.collectionIDs(db, accountID: patch.accountID, among: role.apiCollectionIDs))
            try db.cachedStatement(
                sql: """
                    UPDATE custom_roles SET base_role = ?, api_collection_ids = ?, default_invite_role = ?,
                      allowed_features = ?, last_modified_at = ?, threat_protection_enabled = ?
                    WHERE account_id = ? AND name = ?
                    """
            ).execute(
                arguments: [
                    role.baseRole.rawValue, JSONValue.text(of: role.apiCollectionIDs), role.isDefaultInviteRole,
                    JSONValue.text(of: role.allowedFeatures), role.lastModifiedAt, role.threatProtectionEnabled,
                    role.accountID,
                    role.name,
                ])
            try Self.insertAudit(db, audit)
            return role
        }
    }

    public func deleteCustomRole(accountID: Int32, name: String, actorID: Int32, scope: Scope, audit: AuditEntry)
        async throws
    {
        try await write { db in
            guard let facts = try Self.accountFacts(db, accountID: accountID, users: [actorID]) else {
                throw AccountRules.accountNotFound(accountID)
            }
            let inUse =
                try Bool.fetchOne(
                    try db.cachedStatement(
                        sql: """
                            SELECT EXISTS (SELECT 1 FROM member_roles WHERE account_id = ? AND role = ?)
                                OR EXISTS (SELECT 1 FROM invitation_roles r JOIN invitations i ON i.id = r.invitation_id
                                           WHERE i.account_id = ? AND r.role = ?)
                            """),
                    arguments: [accountID, name, accountID, name]) ?? true
            try CustomRoleRules.delete(name: name, actor: actorID, scope: scope, facts: facts, isInUse: inUse)
            try db.cachedStatement(sql: "DELETE FROM custom_roles WHERE account_id = ? AND name = ?").execute(
                arguments: [accountID, name])
            try Self.insertAudit(db, audit)
        }
    }

    /// Which of `ids` are collections of the account (what a role's collection check needs: one indexed probe per
    /// id the role names, instead of every collection of the account on every role change).
    static func collectionIDs(_ db: Database, accountID: Int32, among ids: [Int32]) throws -> Set<Int32> {
        let probe = try db.cachedStatement(sql: "SELECT 1 FROM api_collections WHERE account_id = ? AND id = ?")
        var found: Set<Int32> = []
        for id in Set(ids) where try Bool.fetchOne(probe, arguments: [accountID, id]) == true {
            found.insert(id)
        }
        return found
    }

    static func customRoleArguments(_ role: CustomRoleRecord) -> StatementArguments {
        [
            role.accountID, role.name, role.baseRole.rawValue, JSONValue.text(of: role.apiCollectionIDs),
            role.isDefaultInviteRole,
            JSONValue.text(of: role.allowedFeatures), role.lastModifiedAt, role.threatProtectionEnabled,
        ]
    }

    /// The columns `customRole` reads, in its order: a query feeding it selects exactly these. Read by position
    /// (a name lookup per column and row was a fifth of a role change's CPU).
    static let customRoleColumns = """
        account_id, name, base_role, api_collection_ids, default_invite_role, allowed_features, last_modified_at,
        threat_protection_enabled
        """

    static func customRole(_ row: Row) -> CustomRoleRecord {
        CustomRoleRecord(
            accountID: row[0], name: row[1], baseRole: BuiltinRole(rawValue: row[2]) ?? .noAccess,
            apiCollectionIDs: JSONValue.int32List(row[3]) ?? [], isDefaultInviteRole: row[4],
            allowedFeatures: JSONValue.stringList(row[5]) ?? [], lastModifiedAt: row[6], threatProtectionEnabled: row[7]
        )
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
