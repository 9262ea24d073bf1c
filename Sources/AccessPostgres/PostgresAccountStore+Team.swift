import AccessCore
import Foundation
import PostgresNIO

extension PostgresAccountStore {
    // MARK: Facts

    /// What the authority rules need of one account, read in the transaction (the caller holds the account's
    /// lock): nil when it does not exist.
    static func accountFacts(_ db: PostgresDatabase, accountID: Int32, users: [Int32]) async throws -> AccountFacts? {
        // One round trip: the account, its API roles, its custom roles and the roles of `users` (each a round
        // trip of its own before; on PostgreSQL every one is also two thread hops).
        let wanted = Array(Set(users)).sorted()
        guard
            let row = try await db.row(
                """
                SELECT a.organization_id, o.owner_user_id,
                  COALESCE((SELECT json_object_agg(r.user_id::text, r.role)::text FROM member_roles r
                            WHERE r.account_id = a.id AND r.scope = 'API'), '{}') AS api_roles,
                  COALESCE((SELECT json_agg(json_build_array(c.name, c.base_role, c.api_collection_ids,
                                c.default_invite_role, c.allowed_features, c.last_modified_at,
                                c.threat_protection_enabled))::text
                            FROM custom_roles c WHERE c.account_id = a.id), '[]') AS custom_roles,
                  COALESCE((SELECT json_object_agg(m.user_id::text,
                                COALESCE((SELECT json_object_agg(r.scope, r.role) FROM member_roles r
                                          WHERE r.user_id = m.user_id AND r.account_id = m.account_id), '{}'::json))::text
                            FROM members m WHERE m.account_id = a.id AND m.user_id = ANY(\(wanted))), '{}') AS members
                FROM accounts a JOIN organizations o ON o.id = a.organization_id WHERE a.id = \(accountID)
                """)
        else { return nil }
        var customRoles: [String: CustomRoleRecord] = [:]
        for role in try Self.customRoles(accountID: accountID, json: try row["custom_roles"]) {
            customRoles[role.name] = role
        }
        var apiRoles: [Int32: String] = [:]
        for (user, role) in try row.json("api_roles", as: [String: String].self) ?? [:] {
            if let id = Int32(user) { apiRoles[id] = role }
        }
        var members: [Int32: [Scope: String]] = [:]
        for (user, roles) in try row.json("members", as: [String: [String: String]].self) ?? [:] {
            if let id = Int32(user) { members[id] = Self.roles(roles) }
        }
        return AccountFacts(
            accountID: accountID, organizationID: try row["organization_id"], ownerUserID: try row["owner_user_id"],
            customRoles: customRoles, members: members, apiRoles: apiRoles)
    }

    /// The custom roles `accountFacts` reads as one JSON array of
    /// `[name, base_role, api_collection_ids, default_invite_role, allowed_features, last_modified_at, threat]`.
    static func customRoles(accountID: Int32, json text: String) throws -> [CustomRoleRecord] {
        guard case .array(let rows) = try JSONValue.parse(text) else {
            throw RPCError(.internal, "unreadable custom roles", cause: "custom_roles JSON is not an array")
        }
        return try rows.map { row in
            guard case .array(let cells) = row, cells.count == 7, case .string(let name) = cells[0],
                case .string(let base) = cells[1], case .string(let ids) = cells[2],
                case .bool(let isDefault) = cells[3], case .string(let features) = cells[4],
                case .number(let modified) = cells[5], let lastModified = Int64(modified),
                case .bool(let threat) = cells[6]
            else {
                throw RPCError(.internal, "unreadable custom roles", cause: "a custom_roles row has another shape")
            }
            return CustomRoleRecord(
                accountID: accountID, name: name, baseRole: BuiltinRole(rawValue: base) ?? .noAccess,
                apiCollectionIDs: JSONValue.int32List(ids) ?? [], isDefaultInviteRole: isDefault,
                allowedFeatures: JSONValue.stringList(features) ?? [], lastModifiedAt: lastModified,
                threatProtectionEnabled: threat)
        }
    }

    /// Locks every account `userID` belongs to (and `also`), in id order, and reads their facts with the roles of
    /// `users` (identity-wide rules).
    static func lockedAccountsFacts(_ db: PostgresDatabase, of userID: Int32, also: [Int32], users: [Int32])
        async throws -> [AccountFacts]
    {
        let ids = try await db.values("SELECT account_id FROM members WHERE user_id = \(userID)", as: Int32.self)
        try await db.lockAccounts(ids + also)
        var facts: [AccountFacts] = []
        // Membership may have changed before the locks were granted: read it again under them.
        for id in try await db.values(
            "SELECT account_id FROM members WHERE user_id = \(userID) ORDER BY account_id", as: Int32.self)
        {
            if let account = try await accountFacts(db, accountID: id, users: users) { facts.append(account) }
        }
        return facts
    }

    /// The account's facts under its lock.
    static func lockedAccountFacts(_ db: PostgresDatabase, accountID: Int32, users: [Int32]) async throws
        -> AccountFacts
    {
        try await db.lockAccount(accountID)
        guard let facts = try await accountFacts(db, accountID: accountID, users: users) else {
            throw AccountRules.accountNotFound(accountID)
        }
        return facts
    }

    /// What an identity-wide rule (ResetUserPassword, ClearLoginLockout) decides on, read under the row locks
    /// of every account involved (id order): the target (nil for an unknown address), the active account and
    /// every account the target belongs to, each with the actor's and the target's roles.
    static func identityWideFacts(_ db: PostgresDatabase, accountID: Int32, actorID: Int32, email: String) async throws
        -> (target: Int32?, active: AccountFacts, accounts: [AccountFacts])
    {
        let target = try await userID(db, email: email)
        let users = [actorID] + (target.map { [$0] } ?? [])
        var accounts: [AccountFacts] = []
        if let target {
            accounts = try await lockedAccountsFacts(db, of: target, also: [accountID], users: users)
        } else {
            try await db.lockAccount(accountID)
        }
        guard let active = try await accountFacts(db, accountID: accountID, users: users) else {
            throw AccountRules.accountNotFound(accountID)
        }
        return (target, active, accounts)
    }

    static func userID(_ db: PostgresDatabase, email: String) async throws -> Int32? {
        try await db.value("SELECT id FROM users WHERE email = \(email)", as: Int32.self)
    }

    static func user(_ db: PostgresDatabase, id: Int32) async throws -> UserRecord? {
        try await db.row("SELECT * FROM users WHERE id = \(id)").map(Self.user)
    }

    // MARK: Invitations

    public func createInvitation(
        accountID: Int32, actorID: Int32, email: String, requested: InvitationRules.Requested, codeDigest: [UInt8],
        now: Int64, expiresAt: Int64, maxPending: Int, maxPendingPerInviter: Int, audit: AuditEntry
    ) async throws -> InvitationRecord {
        try await write { db in
            let facts = try await Self.lockedAccountFacts(db, accountID: accountID, users: [actorID])
            let isMember =
                try await db.value(
                    """
                    SELECT EXISTS (SELECT 1 FROM members m JOIN users u ON u.id = m.user_id
                                   WHERE u.email = \(email) AND m.account_id = \(accountID))
                    """, as: Bool.self) ?? false
            let pending =
                try await db.value(
                    """
                    SELECT COUNT(*) FROM invitations
                    WHERE account_id = \(accountID) AND email != \(email) AND expires_at > \(now)
                    """, as: Int64.self) ?? 0
            let pendingByInviter = Int(
                try await db.value(
                    """
                    SELECT COUNT(*) FROM invitations WHERE account_id = \(accountID) AND inviter_user_id = \(actorID)
                    AND email != \(email) AND expires_at > \(now)
                    """, as: Int64.self) ?? 0)
            let roles = try InvitationRules.create(
                inviter: actorID, inviteeIsMember: isMember, email: email, requested: requested, pending: Int(pending),
                maxPending: maxPending, pendingByInviter: pendingByInviter, maxPendingPerInviter: maxPendingPerInviter,
                facts: facts)
            try await db.execute(
                "DELETE FROM invitations WHERE account_id = \(accountID) AND (email = \(email) OR expires_at <= \(now))"
            )
            guard
                let id = try await db.value(
                    """
                    INSERT INTO invitations (account_id, email, inviter_user_id, code_digest, created_at, expires_at)
                    VALUES (\(accountID), \(email), \(actorID), \(Data(codeDigest)), \(now), \(expiresAt))
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
            let inviter = try await db.value("SELECT email FROM users WHERE id = \(actorID)", as: String.self)
            return InvitationRecord(
                id: id, accountID: accountID, email: email, inviterUserID: actorID, inviterEmail: inviter ?? "",
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

    public func deleteInvitation(accountID: Int32, actorID: Int32, email: String, audit: AuditEntry) async throws {
        try await write { db in
            let facts = try await Self.lockedAccountFacts(db, accountID: accountID, users: [actorID])
            let invitation = try await Self.invitations(
                db, "WHERE i.account_id = \(accountID) AND i.email = \(email)"
            ).first
            try InvitationRules.remove(actor: actorID, invitation: invitation, facts: facts)
            guard let invitation,
                try await db.execute("DELETE FROM invitations WHERE id = \(invitation.id) RETURNING id") == 1
            else { throw InvitationRules.gone }
            try await Self.insertAudit(db, audit)
        }
    }

    public func acceptInvitation(
        codeDigest: [UInt8], joiner: Joiner, sessionDigest: [UInt8]?, now: Int64, sessionExpiresAt: Int64,
        audit: AuditEntry
    ) async throws -> (user: UserRecord, accountID: Int32, session: SessionRecord?) {
        let accepted = try await write { db -> Pair<UserRecord, Pair<Int32, SessionRecord?>> in
            var joinerID: Int32?
            if case .existingUser(let id, _) = joiner { joinerID = id }
            var invitation = try await Self.invitations(db, "WHERE i.code_digest = \(Data(codeDigest))").first
            var facts: AccountFacts?
            if let found = invitation {
                try await db.lockAccount(found.accountID)
                // Read again under the lock: a concurrent use or removal may have committed first.
                invitation = try await Self.invitations(db, "WHERE i.code_digest = \(Data(codeDigest))").first
                facts = try await Self.accountFacts(
                    db, accountID: found.accountID, users: [found.inviterUserID] + (joinerID.map { [$0] } ?? []))
            }
            try InvitationRules.accept(invitation: invitation, email: joiner.email, now: now, facts: facts)
            guard let invitation, let facts else { throw InvitationRules.badCode }
            guard try await db.execute("DELETE FROM invitations WHERE id = \(invitation.id) RETURNING id") == 1 else {
                throw InvitationRules.badCode
            }
            let user: UserRecord
            switch joiner {
            case .newUser(let email, let name, let passwordHash):
                try InvitationRules.join(
                    existingUser: try await Self.userID(db, email: email) != nil, isMember: false, email: email)
                guard
                    let userID = try await db.value(
                        """
                        INSERT INTO users (email, name, password_hash, created_at, last_login_at)
                        VALUES (\(email), \(name), \(passwordHash), \(now), \(now)) RETURNING id
                        """, as: Int32.self)
                else { throw RPCError(.internal, "the new user has no id") }
                user = UserRecord(id: userID, email: email, name: name, passwordHash: passwordHash, createdAt: now)
            case .existingUser(let id, let email):
                try InvitationRules.join(existingUser: false, isMember: facts.isMember(id), email: email)
                guard let existing = try await Self.user(db, id: id), existing.email == email else {
                    throw InvitationRules.badCode
                }
                user = existing
            }
            try await db.execute(
                "INSERT INTO members (user_id, account_id, joined_at) VALUES (\(user.id), \(invitation.accountID), \(now))"
            )
            for (scope, role) in invitation.roles {
                try await db.execute(
                    """
                    INSERT INTO member_roles (user_id, account_id, scope, role)
                    VALUES (\(user.id), \(invitation.accountID), \(scope.rawValue), \(role))
                    """)
            }
            var session: SessionRecord?
            if let sessionDigest {
                session = try await Self.insertSession(
                    db, userID: user.id, accountID: invitation.accountID, digest: sessionDigest, now: now,
                    expiresAt: sessionExpiresAt)
            }
            var entry = audit
            entry.actorUserID = user.id
            entry.actorEmail = user.email
            entry.accountID = invitation.accountID
            entry.target = "user:\(user.id)"
            try await Self.insertAudit(db, entry)
            return Pair(first: user, second: Pair(first: invitation.accountID, second: session))
        }
        return (accepted.first, accepted.second.first, accepted.second.second)
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

    public func setMemberRoles(
        accountID: Int32, actorID: Int32, email: String, requests: [RoleRequest], audit: AuditEntry
    )
        async throws -> (user: UserRecord, roles: [Scope: String])
    {
        let changed = try await write { db -> Pair<UserRecord, [Scope: String]> in
            let target = try await Self.userID(db, email: email)
            let facts = try await Self.lockedAccountFacts(
                db, accountID: accountID, users: [actorID] + (target.map { [$0] } ?? []))
            let roles = try MembershipRules.changeRoles(
                actor: actorID, target: target, requests: requests, facts: facts)
            guard let target, let user = try await Self.user(db, id: target) else { throw MembershipRules.noSuchMember }
            for (scope, role) in roles {
                try await db.execute(
                    """
                    INSERT INTO member_roles (user_id, account_id, scope, role)
                    VALUES (\(target), \(accountID), \(scope.rawValue), \(role))
                    ON CONFLICT (user_id, account_id, scope) DO UPDATE SET role = excluded.role
                    """)
            }
            var entry = audit
            entry.target = "user:\(target)" + (entry.target.isEmpty ? "" : " " + entry.target)
            try await Self.insertAudit(db, entry)
            return Pair(first: user, second: roles)
        }
        return (changed.first, changed.second)
    }

    public func removeMember(accountID: Int32, actorID: Int32, email: String, now: Int64, audit: AuditEntry)
        async throws
        -> UserRecord
    {
        try await write { db in
            let target = try await Self.userID(db, email: email)
            let facts = try await Self.lockedAccountFacts(
                db, accountID: accountID, users: [actorID] + (target.map { [$0] } ?? []))
            try MembershipRules.remove(actor: actorID, target: target, facts: facts)
            guard let target, let user = try await Self.user(db, id: target) else { throw MembershipRules.noSuchMember }
            try await db.execute("DELETE FROM members WHERE user_id = \(target) AND account_id = \(accountID)")
            try await db.execute("DELETE FROM api_tokens WHERE user_id = \(target) AND account_id = \(accountID)")
            try await db.execute(
                "DELETE FROM invitations WHERE inviter_user_id = \(target) AND account_id = \(accountID)")
            try await db.execute(
                """
                UPDATE password_reset_tokens SET revoked_at = \(now)
                WHERE issued_by = \(target) AND account_id = \(accountID) AND used_at IS NULL AND revoked_at IS NULL
                """)
            try await db.execute(
                "UPDATE sessions SET revoked = true WHERE user_id = \(target) AND account_id = \(accountID)")
            var entry = audit
            entry.target = "user:\(target)"
            try await Self.insertAudit(db, entry)
            return user
        }
    }

    // MARK: Custom roles

    public func customRoles(accountID: Int32) async throws -> [CustomRoleRecord] {
        try await read { db in
            try await db.rows("SELECT * FROM custom_roles WHERE account_id = \(accountID) ORDER BY name").map(
                Self.customRole)
        }
    }

    public func createCustomRole(_ role: CustomRoleRecord, actorID: Int32, scope: Scope, audit: AuditEntry) async throws
    {
        try await write { db in
            let facts = try await Self.lockedAccountFacts(db, accountID: role.accountID, users: [actorID])
            try CustomRoleRules.create(
                role, actor: actorID, scope: scope, facts: facts,
                collections: try await Self.collectionIDs(db, accountID: role.accountID, among: role.apiCollectionIDs))
            try await db.execute(
                """
                INSERT INTO custom_roles (account_id, name, base_role, api_collection_ids, default_invite_role,
                  allowed_features, last_modified_at, threat_protection_enabled)
                VALUES (\(role.accountID), \(role.name), \(role.baseRole.rawValue), \(JSONValue.text(of: role.apiCollectionIDs)),
                        \(role.isDefaultInviteRole), \(JSONValue.text(of: role.allowedFeatures)), \(role.lastModifiedAt),
                        \(role.threatProtectionEnabled))
                """)
            try await Self.insertAudit(db, audit)
        }
    }

    public func updateCustomRole(_ patch: CustomRolePatch, actorID: Int32, scope: Scope, audit: AuditEntry) async throws
        -> CustomRoleRecord
    {
        try await write { db in
            let facts = try await Self.lockedAccountFacts(db, accountID: patch.accountID, users: [actorID])
            guard let current = facts.customRoles[patch.name] else { throw CustomRoleRules.notFound(patch.name) }
            let role = patch.applied(to: current)
            try CustomRoleRules.update(
                role, actor: actorID, scope: scope, facts: facts,
                collections: try await Self.collectionIDs(db, accountID: patch.accountID, among: role.apiCollectionIDs))
            // The change and its audit row in one statement (one round trip): a data-modifying WITH runs whether
            // or not the INSERT reads it.
            try await db.execute(
                """
                WITH changed AS (
                  UPDATE custom_roles SET base_role = \(role.baseRole.rawValue),
                    api_collection_ids = \(JSONValue.text(of: role.apiCollectionIDs)),
                    default_invite_role = \(role.isDefaultInviteRole),
                    allowed_features = \(JSONValue.text(of: role.allowedFeatures)),
                    last_modified_at = \(role.lastModifiedAt), threat_protection_enabled = \(role.threatProtectionEnabled)
                  WHERE account_id = \(role.accountID) AND name = \(role.name))
                INSERT INTO audit_log (actor_user_id, actor_email, account_id, operation, target, timestamp, transport, peer)
                VALUES (\(audit.actorUserID), \(audit.actorEmail), \(audit.accountID), \(audit.operation), \(audit.target),
                        \(audit.timestamp), \(audit.transport), \(audit.peer))
                """)
            return role
        }
    }

    public func deleteCustomRole(accountID: Int32, name: String, actorID: Int32, scope: Scope, audit: AuditEntry)
        async throws
    {
        try await write { db in
            let facts = try await Self.lockedAccountFacts(db, accountID: accountID, users: [actorID])
            let inUse =
                try await db.value(
                    """
                    SELECT EXISTS (SELECT 1 FROM member_roles WHERE account_id = \(accountID) AND role = \(name))
                        OR EXISTS (SELECT 1 FROM invitation_roles r JOIN invitations i ON i.id = r.invitation_id
                                   WHERE i.account_id = \(accountID) AND r.role = \(name))
                    """, as: Bool.self) ?? true
            try CustomRoleRules.delete(name: name, actor: actorID, scope: scope, facts: facts, isInUse: inUse)
            try await db.execute("DELETE FROM custom_roles WHERE account_id = \(accountID) AND name = \(name)")
            try await Self.insertAudit(db, audit)
        }
    }

    /// Which of `ids` are collections of the account (no round trip for a role that names none).
    static func collectionIDs(_ db: PostgresDatabase, accountID: Int32, among ids: [Int32]) async throws -> Set<Int32> {
        guard !ids.isEmpty else { return [] }
        let wanted = Array(Set(ids)).sorted()
        return Set(
            try await db.values(
                "SELECT id FROM api_collections WHERE account_id = \(accountID) AND id = ANY(\(wanted))", as: Int32.self
            ))
    }

    static func customRole(_ row: PostgresRecord) throws -> CustomRoleRecord {
        CustomRoleRecord(
            accountID: try row["account_id"], name: try row["name"],
            baseRole: BuiltinRole(rawValue: try row["base_role"]) ?? .noAccess,
            apiCollectionIDs: try row.json("api_collection_ids", as: [Int32].self) ?? [],
            isDefaultInviteRole: try row["default_invite_role"],
            allowedFeatures: try row.json("allowed_features", as: [String].self) ?? [],
            lastModifiedAt: try row["last_modified_at"], threatProtectionEnabled: try row["threat_protection_enabled"])
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
