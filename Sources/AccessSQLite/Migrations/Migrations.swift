import GRDB

/// The schema's history: append-only, named, plain SQL that never references app types. A migration, once
/// released, is never edited; changes go in a new one.
enum Migrations {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("2026-11-29-v1-whole-model") { db in
            try db.execute(sql: v1)
        }
        migrator.registerMigration("2026-12-02-v2-authority") { db in
            try db.execute(sql: v2)
        }
        migrator.registerMigration("2026-12-03-v3-abuse") { db in
            try db.execute(sql: v3)
        }
        migrator.registerMigration("2026-12-04-v4-dashboard") { db in
            try db.execute(sql: v4)
        }
        return migrator
    }

    /// The whole model of SPEC.md, so later features add code, not schema churn.
    static let v1 = """
        CREATE TABLE organizations (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            admin_email TEXT NOT NULL,
            created_at INTEGER NOT NULL
        );
        CREATE TABLE entitlements (
            organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
            feature_label TEXT NOT NULL,
            is_granted INTEGER NOT NULL,
            usage_limit INTEGER NOT NULL DEFAULT -1,
            usage INTEGER NOT NULL DEFAULT 0,
            overage_first_detected INTEGER NOT NULL DEFAULT -1,
            PRIMARY KEY (organization_id, feature_label)
        );
        CREATE TABLE accounts (
            id INTEGER PRIMARY KEY,
            organization_id TEXT NOT NULL REFERENCES organizations(id),
            name TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            private_cidr_list TEXT NOT NULL DEFAULT '[]',
            partner_ip_list TEXT NOT NULL DEFAULT '[]',
            timezone TEXT NOT NULL DEFAULT 'UTC'
        );
        CREATE INDEX accounts_by_organization ON accounts(organization_id);
        CREATE TABLE users (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            email TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL,
            password_hash TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            last_login_at INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE members (
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
            joined_at INTEGER NOT NULL,
            PRIMARY KEY (user_id, account_id)
        );
        CREATE INDEX members_by_account ON members(account_id);
        CREATE TABLE member_roles (
            user_id INTEGER NOT NULL,
            account_id INTEGER NOT NULL,
            scope TEXT NOT NULL,
            role TEXT NOT NULL,
            PRIMARY KEY (user_id, account_id, scope),
            FOREIGN KEY (user_id, account_id) REFERENCES members(user_id, account_id) ON DELETE CASCADE
        );
        CREATE INDEX member_roles_by_role ON member_roles(account_id, role);
        CREATE TABLE custom_roles (
            account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            base_role TEXT NOT NULL,
            api_collection_ids TEXT NOT NULL DEFAULT '[]',
            default_invite_role INTEGER NOT NULL DEFAULT 0,
            allowed_features TEXT NOT NULL DEFAULT '[]',
            last_modified_at INTEGER NOT NULL,
            PRIMARY KEY (account_id, name)
        );
        CREATE UNIQUE INDEX one_default_invite_role ON custom_roles(account_id) WHERE default_invite_role = 1;
        CREATE TABLE invitations (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
            email TEXT NOT NULL,
            inviter_user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            code_digest BLOB NOT NULL UNIQUE,
            created_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            UNIQUE (account_id, email)
        );
        CREATE TABLE invitation_roles (
            invitation_id INTEGER NOT NULL REFERENCES invitations(id) ON DELETE CASCADE,
            scope TEXT NOT NULL,
            role TEXT NOT NULL,
            PRIMARY KEY (invitation_id, scope)
        );
        CREATE TABLE api_tokens (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            utility TEXT NOT NULL,
            name TEXT NOT NULL,
            key_digest BLOB NOT NULL UNIQUE,
            created_at INTEGER NOT NULL,
            last_used_at INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX api_tokens_by_owner ON api_tokens(account_id, user_id);
        CREATE TABLE sessions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            token_digest BLOB NOT NULL UNIQUE,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            account_id INTEGER NOT NULL REFERENCES accounts(id),
            created_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            revoked INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX sessions_by_user ON sessions(user_id);
        CREATE TABLE password_reset_tokens (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            token_digest BLOB NOT NULL UNIQUE,
            issued_by INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            used_at INTEGER
        );
        CREATE INDEX password_reset_tokens_by_user ON password_reset_tokens(user_id, created_at);
        CREATE TABLE push_subscriptions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            endpoint TEXT NOT NULL,
            p256dh BLOB NOT NULL,
            auth BLOB NOT NULL,
            expiration_time INTEGER,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            UNIQUE (user_id, endpoint)
        );
        CREATE TABLE api_collections (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            host_name TEXT NOT NULL DEFAULT '',
            access_type TEXT NOT NULL DEFAULT '',
            context_source TEXT NOT NULL DEFAULT 'API',
            created_at INTEGER NOT NULL,
            UNIQUE (account_id, name)
        );
        CREATE TABLE api_components (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            collection_id INTEGER NOT NULL REFERENCES api_collections(id) ON DELETE CASCADE,
            method TEXT NOT NULL,
            url TEXT NOT NULL,
            access_types TEXT NOT NULL DEFAULT '[]',
            last_seen INTEGER NOT NULL DEFAULT 0,
            UNIQUE (collection_id, method, url)
        );
        CREATE TABLE traffic_samples (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            component_id INTEGER NOT NULL REFERENCES api_components(id) ON DELETE CASCADE,
            source_ip TEXT NOT NULL,
            destination_ip TEXT NOT NULL,
            direction TEXT NOT NULL,
            headers TEXT NOT NULL DEFAULT '{}',
            timestamp INTEGER NOT NULL
        );
        CREATE INDEX traffic_samples_by_component ON traffic_samples(component_id);
        CREATE TABLE jobs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            kind TEXT NOT NULL,
            account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
            state TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            result TEXT NOT NULL DEFAULT '',
            error TEXT NOT NULL DEFAULT '',
            run_after INTEGER NOT NULL,
            lease_owner TEXT,
            lease_until INTEGER,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            finished_at INTEGER NOT NULL DEFAULT 0
        );
        CREATE UNIQUE INDEX one_queued_job_per_kind ON jobs(account_id, kind) WHERE state = 'QUEUED';
        CREATE INDEX jobs_ready ON jobs(state, run_after);
        CREATE TABLE usage_metrics (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
            metric TEXT NOT NULL,
            value INTEGER NOT NULL,
            measured_at INTEGER NOT NULL,
            UNIQUE (account_id, metric, measured_at)
        );
        CREATE TABLE audit_log (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            actor_user_id INTEGER,
            actor_email TEXT NOT NULL DEFAULT '',
            account_id INTEGER,
            operation TEXT NOT NULL,
            target TEXT NOT NULL DEFAULT '',
            timestamp INTEGER NOT NULL,
            transport TEXT NOT NULL,
            peer TEXT NOT NULL
        );
        CREATE INDEX audit_log_by_account ON audit_log(account_id, id);
        """

    /// SPEC.md's Authority: the organization's owner (backfilled from the admin e-mail), the account a reset token
    /// was issued in and its revocation (tokens issued before this have no account and cannot be used), and the
    /// lookups removing a member needs.
    static let v2 = """
        ALTER TABLE organizations ADD COLUMN owner_user_id INTEGER;
        UPDATE organizations SET owner_user_id = (SELECT u.id FROM users u WHERE u.email = organizations.admin_email);
        ALTER TABLE password_reset_tokens ADD COLUMN account_id INTEGER;
        ALTER TABLE password_reset_tokens ADD COLUMN revoked_at INTEGER;
        CREATE INDEX password_reset_tokens_by_issuer ON password_reset_tokens(issued_by, account_id);
        CREATE INDEX invitations_by_inviter ON invitations(inviter_user_id, account_id);
        """

    /// <doc:Hardening>: sign-in counters per (e-mail, peer) and per e-mail across peers (peer `*`), and the one-time
    /// setup token of an empty install (its digest only).
    /// <doc:DashboardSessions>: the dashboard's access and refresh tokens (digests, bound to a session), and Akto's
    /// threat-protection flag of custom roles.
    static let v4 = """
        CREATE TABLE session_tokens (
            digest BLOB PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            kind TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
            issued_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            rotated_at INTEGER,
            rotation_key BLOB NOT NULL
        );
        CREATE INDEX session_tokens_by_session ON session_tokens(session_id, kind, expires_at);
        ALTER TABLE custom_roles ADD COLUMN threat_protection_enabled INTEGER NOT NULL DEFAULT 0;
        """

    static let v3 = """
        CREATE TABLE login_counters (
            email TEXT NOT NULL,
            peer TEXT NOT NULL,
            failures INTEGER NOT NULL,
            last_failure_at INTEGER NOT NULL,
            PRIMARY KEY (email, peer)
        );
        CREATE INDEX login_counters_by_age ON login_counters(last_failure_at);
        CREATE TABLE setup_token (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            token_digest BLOB NOT NULL,
            created_at INTEGER NOT NULL
        );
        """
}
