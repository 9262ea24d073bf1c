import AccessCore
import Logging
import PostgresNIO

/// The PostgreSQL schema's history: append-only, named, plain SQL (one statement per entry), the same logical
/// schema as the SQLite store's migrations. A released migration is never edited; changes go in a new one.
/// Every process runs `migrate` at start; an advisory lock makes concurrent starts apply each migration once.
enum PostgresMigrations {
    static let all: [(name: String, statements: [String])] = [
        ("2026-11-29-v1-whole-model", v1), ("2026-12-02-v2-authority", v2), ("2026-12-03-v3-abuse", v3),
        ("2026-12-04-v4-dashboard", v4),
    ]

    /// Issue 17 (as SQLite's v4): the dashboard's access and refresh tokens, custom roles' threat flag.
    static let v4 = [
        """
        CREATE TABLE session_tokens (
            digest BYTEA PRIMARY KEY,
            session_id BIGINT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            kind TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
            issued_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL,
            rotated_at BIGINT,
            rotation_key BYTEA NOT NULL
        )
        """,
        "CREATE INDEX session_tokens_by_session ON session_tokens(session_id, kind, expires_at)",
        "ALTER TABLE custom_roles ADD COLUMN threat_protection_enabled BOOLEAN NOT NULL DEFAULT false",
    ]

    /// Issue 16 (as SQLite's v3): sign-in counters and the one-time setup token's digest.
    static let v3 = [
        """
        CREATE TABLE login_counters (
            email TEXT NOT NULL,
            peer TEXT NOT NULL,
            failures INTEGER NOT NULL,
            last_failure_at BIGINT NOT NULL,
            PRIMARY KEY (email, peer)
        )
        """,
        "CREATE INDEX login_counters_by_age ON login_counters(last_failure_at)",
        "CREATE TABLE setup_token (id INTEGER PRIMARY KEY CHECK (id = 1), token_digest BYTEA NOT NULL, created_at BIGINT NOT NULL)",
    ]

    /// SPEC.md's Authority (as SQLite's v2): the organization's owner, reset tokens' account and revocation.
    static let v2 = [
        "ALTER TABLE organizations ADD COLUMN owner_user_id INTEGER",
        "UPDATE organizations SET owner_user_id = (SELECT u.id FROM users u WHERE u.email = organizations.admin_email)",
        "ALTER TABLE password_reset_tokens ADD COLUMN account_id INTEGER",
        "ALTER TABLE password_reset_tokens ADD COLUMN revoked_at BIGINT",
        "CREATE INDEX password_reset_tokens_by_issuer ON password_reset_tokens(issued_by, account_id)",
        "CREATE INDEX invitations_by_inviter ON invitations(inviter_user_id, account_id)",
    ]

    /// Any constant both processes agree on: the advisory lock key of migrations.
    static let lockKey: Int64 = 0x616B_746F_6D69_6772  // "aktomigr"

    static func migrate(_ db: PostgresDatabase) async throws -> [String] {
        try await db.transaction { db in
            try await db.execute("SELECT pg_advisory_xact_lock(\(lockKey))")
            try await db.execute(
                "CREATE TABLE IF NOT EXISTS akto_schema_migrations (name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
            )
            let applied = Set(try await db.values("SELECT name FROM akto_schema_migrations", as: String.self))
            var ran: [String] = []
            for migration in all where !applied.contains(migration.name) {
                for statement in migration.statements {
                    try await db.execute(PostgresQuery(unsafeSQL: statement))
                }
                try await db.execute("INSERT INTO akto_schema_migrations (name) VALUES (\(migration.name))")
                ran.append(migration.name)
            }
            return ran
        }
    }

    static let v1: [String] = [
        """
        CREATE TABLE organizations (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            admin_email TEXT NOT NULL,
            created_at BIGINT NOT NULL
        )
        """,
        """
        CREATE TABLE entitlements (
            organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
            feature_label TEXT NOT NULL,
            is_granted BOOLEAN NOT NULL,
            usage_limit BIGINT NOT NULL DEFAULT -1,
            usage BIGINT NOT NULL DEFAULT 0,
            overage_first_detected BIGINT NOT NULL DEFAULT -1,
            PRIMARY KEY (organization_id, feature_label)
        )
        """,
        """
        CREATE TABLE accounts (
            id INTEGER PRIMARY KEY,
            organization_id TEXT NOT NULL REFERENCES organizations(id),
            name TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            private_cidr_list TEXT NOT NULL DEFAULT '[]',
            partner_ip_list TEXT NOT NULL DEFAULT '[]',
            timezone TEXT NOT NULL DEFAULT 'UTC'
        )
        """,
        "CREATE INDEX accounts_by_organization ON accounts(organization_id)",
        """
        CREATE TABLE users (
            id INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            email TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL,
            password_hash TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            last_login_at BIGINT NOT NULL DEFAULT 0
        )
        """,
        """
        CREATE TABLE members (
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
            joined_at BIGINT NOT NULL,
            PRIMARY KEY (user_id, account_id)
        )
        """,
        "CREATE INDEX members_by_account ON members(account_id)",
        """
        CREATE TABLE member_roles (
            user_id INTEGER NOT NULL,
            account_id INTEGER NOT NULL,
            scope TEXT NOT NULL,
            role TEXT NOT NULL,
            PRIMARY KEY (user_id, account_id, scope),
            FOREIGN KEY (user_id, account_id) REFERENCES members(user_id, account_id) ON DELETE CASCADE
        )
        """,
        "CREATE INDEX member_roles_by_role ON member_roles(account_id, role)",
        """
        CREATE TABLE custom_roles (
            account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            base_role TEXT NOT NULL,
            api_collection_ids TEXT NOT NULL DEFAULT '[]',
            default_invite_role BOOLEAN NOT NULL DEFAULT false,
            allowed_features TEXT NOT NULL DEFAULT '[]',
            last_modified_at BIGINT NOT NULL,
            PRIMARY KEY (account_id, name)
        )
        """,
        "CREATE UNIQUE INDEX one_default_invite_role ON custom_roles(account_id) WHERE default_invite_role",
        """
        CREATE TABLE invitations (
            id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
            email TEXT NOT NULL,
            inviter_user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            code_digest BYTEA NOT NULL UNIQUE,
            created_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL,
            UNIQUE (account_id, email)
        )
        """,
        """
        CREATE TABLE invitation_roles (
            invitation_id BIGINT NOT NULL REFERENCES invitations(id) ON DELETE CASCADE,
            scope TEXT NOT NULL,
            role TEXT NOT NULL,
            PRIMARY KEY (invitation_id, scope)
        )
        """,
        """
        CREATE TABLE api_tokens (
            id INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            utility TEXT NOT NULL,
            name TEXT NOT NULL,
            key_digest BYTEA NOT NULL UNIQUE,
            created_at BIGINT NOT NULL,
            last_used_at BIGINT NOT NULL DEFAULT 0
        )
        """,
        "CREATE INDEX api_tokens_by_owner ON api_tokens(account_id, user_id)",
        """
        CREATE TABLE sessions (
            id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            token_digest BYTEA NOT NULL UNIQUE,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            account_id INTEGER NOT NULL REFERENCES accounts(id),
            created_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL,
            revoked BOOLEAN NOT NULL DEFAULT false
        )
        """,
        "CREATE INDEX sessions_by_user ON sessions(user_id)",
        """
        CREATE TABLE password_reset_tokens (
            id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            token_digest BYTEA NOT NULL UNIQUE,
            issued_by INTEGER NOT NULL,
            created_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL,
            used_at BIGINT
        )
        """,
        "CREATE INDEX password_reset_tokens_by_user ON password_reset_tokens(user_id, created_at)",
        """
        CREATE TABLE push_subscriptions (
            id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            endpoint TEXT NOT NULL,
            p256dh BYTEA NOT NULL,
            auth BYTEA NOT NULL,
            expiration_time BIGINT,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL,
            UNIQUE (user_id, endpoint)
        )
        """,
        """
        CREATE TABLE api_collections (
            id INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            host_name TEXT NOT NULL DEFAULT '',
            access_type TEXT NOT NULL DEFAULT '',
            context_source TEXT NOT NULL DEFAULT 'API',
            created_at BIGINT NOT NULL,
            UNIQUE (account_id, name)
        )
        """,
        """
        CREATE TABLE api_components (
            id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            collection_id INTEGER NOT NULL REFERENCES api_collections(id) ON DELETE CASCADE,
            method TEXT NOT NULL,
            url TEXT NOT NULL,
            access_types TEXT NOT NULL DEFAULT '[]',
            last_seen BIGINT NOT NULL DEFAULT 0,
            UNIQUE (collection_id, method, url)
        )
        """,
        """
        CREATE TABLE traffic_samples (
            id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            component_id BIGINT NOT NULL REFERENCES api_components(id) ON DELETE CASCADE,
            source_ip TEXT NOT NULL,
            destination_ip TEXT NOT NULL,
            direction TEXT NOT NULL,
            headers TEXT NOT NULL DEFAULT '{}',
            timestamp BIGINT NOT NULL
        )
        """,
        "CREATE INDEX traffic_samples_by_component ON traffic_samples(component_id)",
        """
        CREATE TABLE jobs (
            id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            kind TEXT NOT NULL,
            account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
            state TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            result TEXT NOT NULL DEFAULT '',
            error TEXT NOT NULL DEFAULT '',
            run_after BIGINT NOT NULL,
            lease_owner TEXT,
            lease_until BIGINT,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL,
            finished_at BIGINT NOT NULL DEFAULT 0
        )
        """,
        "CREATE UNIQUE INDEX one_queued_job_per_kind ON jobs(account_id, kind) WHERE state = 'QUEUED'",
        "CREATE INDEX jobs_ready ON jobs(state, run_after)",
        """
        CREATE TABLE usage_metrics (
            id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
            metric TEXT NOT NULL,
            value BIGINT NOT NULL,
            measured_at BIGINT NOT NULL,
            UNIQUE (account_id, metric, measured_at)
        )
        """,
        """
        CREATE TABLE audit_log (
            id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            actor_user_id INTEGER,
            actor_email TEXT NOT NULL DEFAULT '',
            account_id INTEGER,
            operation TEXT NOT NULL,
            target TEXT NOT NULL DEFAULT '',
            timestamp BIGINT NOT NULL,
            transport TEXT NOT NULL,
            peer TEXT NOT NULL
        )
        """,
        "CREATE INDEX audit_log_by_account ON audit_log(account_id, id)",
    ]
}
