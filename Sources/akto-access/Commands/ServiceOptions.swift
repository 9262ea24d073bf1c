import AccessBilling
import AccessCore
import AccessPostgres
import AccessService
import Logging
import ServiceLifecycle
import AccessSQLite
import ArgumentParser
import Foundation

/// Options of the store and the operations, shared by `serve` and `admin bootstrap`.
struct ServiceOptions: ParsableArguments {
    @Option(
        help:
            "PostgreSQL instead of the embedded SQLite: postgres://user@host:5432/db?sslmode=disable|prefer|require (default require, prefer on localhost). A URL with a password only in the env AKTO_ACCESS_DATABASE_URL (the command line shows in ps), or the password in --database-password-file."
    )
    var databaseUrl: String?
    @Option(
        help:
            "File whose first line is the PostgreSQL password, for a --database-url without one (env AKTO_ACCESS_DATABASE_PASSWORD_FILE)."
    )
    var databasePasswordFile: String?
    @Option(
        help:
            "Seconds a PostgreSQL write waits for a row lock another transaction holds before ABORTED, within the call's deadline (env AKTO_ACCESS_DATABASE_LOCK_TIMEOUT; default 5)."
    )
    var databaseLockTimeout: Double?
    @Option(
        help: "PostgreSQL pool size of this process, 1-1000 (env AKTO_ACCESS_DATABASE_MAX_CONNECTIONS; default 10).")
    var databaseMaxConnections: Int?
    @Option(
        help:
            "Tries of a PostgreSQL transaction that conflicts (serialization failure, deadlock) before ABORTED, 1-100 (env AKTO_ACCESS_DATABASE_MAX_ATTEMPTS; default 10)."
    )
    var databaseMaxAttempts: Int?
    @Option(
        help:
            "Credentials whose principal is kept in memory, 0-10000000; 0 turns the principal cache off (env AKTO_ACCESS_PRINCIPAL_CACHE_ENTRIES; default 100000)."
    )
    var principalCacheEntries: Int?
    @Option(
        help:
            "Longest a cached principal is used, seconds, 1-3600; the service's own writes invalidate at once, this bounds changes made outside it (env AKTO_ACCESS_PRINCIPAL_CACHE_SECONDS; default 30)."
    )
    var principalCacheSeconds: Int?
    @Option(help: "SQLite synchronous mode: full or normal (env AKTO_ACCESS_SQLITE_SYNCHRONOUS; default full).")
    var sqliteSynchronous: String?
    @Option(
        help:
            "Group commit: most concurrent writes per SQLite transaction, 1-4096; 1 turns it off (env AKTO_ACCESS_SQLITE_MAX_WRITES_PER_COMMIT; default 256)."
    )
    var sqliteMaxWritesPerCommit: Int?
    @Option(
        help:
            "Public dashboard URL, base of reset links (env AKTO_ACCESS_PUBLIC_BASE_URL; default http://localhost:8080)."
    )
    var publicBaseUrl: String?
    @Option(help: "SSO/Auth0 logout URL Logout sends browsers to (env AKTO_ACCESS_LOGOUT_URL; default none).")
    var logoutUrl: String?
    @Option(help: "Origins redirect URLs may point to, comma-separated (env AKTO_ACCESS_REDIRECT_ALLOW_LIST).")
    var redirectAllowList: String?
    @Option(help: "Session lifetime in seconds (env AKTO_ACCESS_SESSION_LIFETIME; default 604800).")
    var sessionLifetime: Int?
    @Option(help: "Live API tokens per user and account (env AKTO_ACCESS_MAX_API_TOKENS; default 50).")
    var maxApiTokens: Int?
    @Option(help: "Pending invitations per account (env AKTO_ACCESS_MAX_PENDING_INVITATIONS; default 1000).")
    var maxPendingInvitations: Int?
    @Option(
        help:
            "Pending invitations one member may have in one account (env AKTO_ACCESS_MAX_PENDING_INVITATIONS_PER_INVITER; default 100)."
    )
    var maxPendingInvitationsPerInviter: Int?
    @Option(help: "scrypt cost: N = 2^this (env AKTO_ACCESS_SCRYPT_LOG_ROUNDS; default 15, range 10-20).")
    var scryptLogRounds: Int?
    @Option(
        help:
            "Seconds a queued background job waits so that repeated requests fold into it, 0-3600 (env AKTO_ACCESS_JOB_COALESCE; default 0)."
    )
    var jobCoalesce: Int?
    @Option(
        help:
            "Failed sign-ins of one peer on one address before it is locked out (env AKTO_ACCESS_LOGIN_MAX_FAILURES; default 5)."
    )
    var loginMaxFailures: Int?
    @Option(
        help:
            "Failed sign-ins on one address across peers after which every attempt waits --login-slow-delay (env AKTO_ACCESS_LOGIN_SLOW_FAILURES; default 20)."
    )
    var loginSlowFailures: Int?
    @Option(
        help:
            "Seconds within which failed sign-ins count; counters quiet this long are deleted (env AKTO_ACCESS_LOGIN_FAILURE_WINDOW; default 900)."
    )
    var loginFailureWindow: Int?
    @Option(
        help:
            "Seconds of the first lockout, doubled per further failure (env AKTO_ACCESS_LOGIN_FIRST_LOCKOUT; default 60)."
    )
    var loginFirstLockout: Int?
    @Option(help: "Longest lockout in seconds (env AKTO_ACCESS_LOGIN_MAX_LOCKOUT; default 900).")
    var loginMaxLockout: Int?
    @Option(
        help:
            "Seconds a sign-in on an address under attack waits before it is judged (env AKTO_ACCESS_LOGIN_SLOW_DELAY; default 1)."
    )
    var loginSlowDelay: Double?
    @Option(help: "Sign-in counter rows kept at most (env AKTO_ACCESS_LOGIN_MAX_COUNTERS; default 100000).")
    var loginMaxCounters: Int?
    @Option(
        help: "Password hashes one peer may have waiting or running (env AKTO_ACCESS_HASH_QUEUE_PER_PEER; default 8).")
    var hashQueuePerPeer: Int?
    @Option(help: "Password hashes waiting or running in all (env AKTO_ACCESS_HASH_QUEUE_TOTAL; default 256).")
    var hashQueueTotal: Int?
    @Option(
        help:
            "Anonymous calls (Login, Signup, ResetPassword) per second one peer may make (env AKTO_ACCESS_ANONYMOUS_RATE; default 10)."
    )
    var anonymousRate: Double?
    @Option(help: "Burst of anonymous calls one peer may make at once (env AKTO_ACCESS_ANONYMOUS_BURST; default 60).")
    var anonymousBurst: Int?
    @Option(
        help: "Seconds a dashboard access token lives, 1-86400 (env AKTO_ACCESS_ACCESS_TOKEN_LIFETIME; default 900).")
    var accessTokenLifetime: Int?
    @Option(
        help:
            "Seconds in which a just-spent refresh token yields the same new pair, 0-300 (env AKTO_ACCESS_REFRESH_GRACE; default 30)."
    )
    var refreshGrace: Int?
    @Option(
        help:
            "File holding Stigg's signing key, to sign the self-hosted billing page's customer token (env AKTO_ACCESS_STIGG_SIGNING_KEY_FILE)."
    )
    var stiggSigningKeyFile: String?
    @Option(
        help:
            "A socket peer uid that may ask DecisionService about any credential; repeatable (env AKTO_ACCESS_DECISION_ALLOWED_UIDS, comma-separated; default none: only DECISIONS API keys may)."
    )
    var decisionAllowedUid: [UInt32] = []
    @Option(help: "Stigg GraphQL endpoint, e.g. https://api.stigg.io/graphql (env AKTO_ACCESS_STIGG_ENDPOINT).")
    var stiggEndpoint: String?
    @Option(help: "Stigg server API key; prefer the env AKTO_ACCESS_STIGG_API_KEY (never logged).")
    var stiggApiKey: String?

    /// The billing provider, or nil when billing is not configured.
    func billingProvider(logger: Logger) throws -> (any BillingProvider)? {
        let endpoint = try Environment.resolve(stiggEndpoint, "STIGG_ENDPOINT", default: "")
        let key = try Environment.resolve(stiggApiKey, "STIGG_API_KEY", default: "")
        switch (endpoint.isEmpty, key.isEmpty) {
        case (true, true): return nil
        case (false, false):
            guard
                endpoint.hasPrefix("https://") || endpoint.hasPrefix("http://127.0.0.1")
                    || endpoint.hasPrefix("http://localhost")
            else {
                throw ValidationError("--stigg-endpoint must be https (http only on localhost)")
            }
            return StiggBillingProvider(
                configuration: StiggConfiguration(endpoint: endpoint, apiKey: key), logger: logger)
        default:
            throw ValidationError(
                "billing needs both --stigg-endpoint and the Stigg API key (AKTO_ACCESS_STIGG_API_KEY)")
        }
    }

    /// The configured store: PostgreSQL when a database URL is given, else SQLite under the data directory.
    func openStore(dataDirectory: String, logger: Logger) async throws -> OpenedStore {
        let url = try Environment.resolve(databaseUrl, "DATABASE_URL", default: "")
        if let flag = databaseUrl, PostgresConfiguration.rawUserInfo(flag).password != nil {
            // Refused without echoing it: every local user can read a command line in ps or /proc.
            throw ValidationError(
                "--database-url must not carry a password (the command line is visible to every local user): set AKTO_ACCESS_DATABASE_URL instead, or put the password in a file named by --database-password-file"
            )
        }
        var separatePassword: String?
        if let file = Environment.resolve(databasePasswordFile, "DATABASE_PASSWORD_FILE") {
            guard let data = FileManager.default.contents(atPath: file), let text = String(data: data, encoding: .utf8)
            else {
                throw ValidationError("--database-password-file: cannot read \(file)")
            }
            separatePassword = String(text.split(separator: "\n", omittingEmptySubsequences: false).first ?? "")
                .trimmingCharacters(in: "\r")
        }
        guard !url.isEmpty else {
            if separatePassword != nil { throw ValidationError("--database-password-file needs a database URL") }
            let store = try openSQLite(dataDirectory: dataDirectory)
            logger.info("store: SQLite", metadata: ["path": "\(dataDirectory)/akto-access.sqlite"])
            return OpenedStore(store: store, service: nil, prepare: {})
        }
        if sqliteSynchronous != nil || sqliteMaxWritesPerCommit != nil {
            throw ValidationError("the --sqlite-* options do not apply with --database-url (PostgreSQL)")
        }
        let pool = try Environment.resolve(
            databaseMaxConnections, "DATABASE_MAX_CONNECTIONS", default: PostgresConfiguration.defaultMaxConnections)
        let attempts = try Environment.resolve(
            databaseMaxAttempts, "DATABASE_MAX_ATTEMPTS", default: PostgresConfiguration.defaultMaxTransactionAttempts)
        guard (1...1000).contains(pool) else {
            throw ValidationError("--database-max-connections must be 1-1000, got \(pool)")
        }
        guard (1...100).contains(attempts) else {
            throw ValidationError("--database-max-attempts must be 1-100, got \(attempts)")
        }
        let configuration: PostgresConfiguration
        do {
            var parsed = try PostgresConfiguration(
                url: url, maxConnections: pool, maxTransactionAttempts: attempts, password: separatePassword)
            let lock = try Environment.resolve(databaseLockTimeout, "DATABASE_LOCK_TIMEOUT", default: 5.0)
            guard lock >= 0.01, lock <= 3600 else {
                throw ValidationError("--database-lock-timeout must be 0.01-3600 seconds")
            }
            parsed.lockTimeout = .milliseconds(Int64(lock * 1000))
            configuration = parsed
        } catch let error as RPCError {
            throw ValidationError("--database-url: \(error.message)")
        }
        // <doc:Hardening>: a password never goes to a server that asks for it in clear (or as MD5) without TLS.
        switch (try? PostgresAuthProbe.check(configuration)) ?? .safe {
        case .safe: break
        case .cleartextWithoutTLS, .md5WithoutTLS:
            throw ValidationError(
                "the PostgreSQL server at \(configuration.redacted) asks for a cleartext or MD5 password over a connection without TLS; nothing was sent. Use sslmode=require, or SCRAM (password_encryption = scram-sha-256 and scram-sha-256 in pg_hba.conf)"
            )
        }
        let store = PostgresAccountStore(configuration: configuration, logger: logger)
        logger.info(
            "store: PostgreSQL",
            metadata: [
                "database": "\(configuration.redacted)", "max-connections": "\(pool)", "max-attempts": "\(attempts)",
            ])
        return OpenedStore(store: store, service: store, prepare: { try await store.migrate() })
    }

    private func openSQLite(dataDirectory: String) throws -> SQLiteAccountStore {
        let mode = try Environment.resolve(sqliteSynchronous, "SQLITE_SYNCHRONOUS", default: "full")
        guard let synchronous = SQLiteConfiguration.Synchronous(rawValue: mode.uppercased()) else {
            throw ValidationError("--sqlite-synchronous must be full or normal, got \(mode)")
        }
        let batch = try Environment.resolve(
            sqliteMaxWritesPerCommit, "SQLITE_MAX_WRITES_PER_COMMIT",
            default: SQLiteConfiguration.defaultMaxWritesPerCommit)
        guard (1...4096).contains(batch) else {
            throw ValidationError("--sqlite-max-writes-per-commit must be 1-4096, got \(batch)")
        }
        return try SQLiteAccountStore(
            configuration: SQLiteConfiguration(
                path: dataDirectory + "/akto-access.sqlite", synchronous: synchronous, maxWritesPerCommit: batch))
    }

    func configuration() throws -> ServiceConfiguration {
        let base = try Environment.resolve(publicBaseUrl, "PUBLIC_BASE_URL", default: "http://localhost:8080")
        guard base.hasPrefix("https://") || base.hasPrefix("http://") else {
            throw ValidationError("--public-base-url must be an http(s) URL, got \(base)")
        }
        let logout = try Environment.resolve(logoutUrl, "LOGOUT_URL", default: "")
        guard logout.isEmpty || logout.hasPrefix("https://") || logout.hasPrefix("http://") else {
            throw ValidationError("--logout-url must be an http(s) URL, got \(logout)")
        }
        let origins = try Environment.resolve(redirectAllowList, "REDIRECT_ALLOW_LIST", default: "")
            .split(separator: ",").map { $0.trimmingSpaces.lowercased() }.filter { !$0.isEmpty }
        for origin in origins
        where !(origin.hasPrefix("https://") || origin.hasPrefix("http://")) || origin.dropFirst(8).contains("/") {
            throw ValidationError("--redirect-allow-list takes origins like https://app.example.com, got \(origin)")
        }
        let lifetime = try Environment.resolve(sessionLifetime, "SESSION_LIFETIME", default: 7 * 24 * 3600)
        guard (60...31_536_000).contains(lifetime) else {
            throw ValidationError("--session-lifetime must be 60-31536000")
        }
        let tokens = try Environment.resolve(maxApiTokens, "MAX_API_TOKENS", default: 50)
        guard (1...10_000).contains(tokens) else { throw ValidationError("--max-api-tokens must be 1-10000") }
        let pending = try Environment.resolve(maxPendingInvitations, "MAX_PENDING_INVITATIONS", default: 1000)
        guard (1...100_000).contains(pending) else {
            throw ValidationError("--max-pending-invitations must be 1-100000")
        }
        let rounds = try Environment.resolve(scryptLogRounds, "SCRYPT_LOG_ROUNDS", default: 15)
        guard (10...20).contains(rounds) else { throw ValidationError("--scrypt-log-rounds must be 10-20") }
        let coalesce = try Environment.resolve(jobCoalesce, "JOB_COALESCE", default: 0)
        guard (0...3600).contains(coalesce) else { throw ValidationError("--job-coalesce must be 0-3600") }
        func ranged<T: ExpressibleByArgument & Comparable>(
            _ flag: T?, _ env: String, _ fallback: T, _ range: ClosedRange<T>, _ option: String
        )
            throws -> T
        {
            let value = try Environment.resolve(flag, env, default: fallback)
            guard range.contains(value) else {
                throw ValidationError("--\(option) must be \(range.lowerBound)-\(range.upperBound), got \(value)")
            }
            return value
        }
        let throttle = LoginThrottlePolicy(
            peerMaxFailures: try ranged(loginMaxFailures, "LOGIN_MAX_FAILURES", 5, 1...1000, "login-max-failures"),
            accountSlowFailures: try ranged(
                loginSlowFailures, "LOGIN_SLOW_FAILURES", 20, 1...100_000, "login-slow-failures"),
            window: Int64(
                try ranged(loginFailureWindow, "LOGIN_FAILURE_WINDOW", 900, 1...86_400, "login-failure-window")),
            firstLockout: Int64(
                try ranged(loginFirstLockout, "LOGIN_FIRST_LOCKOUT", 60, 1...86_400, "login-first-lockout")),
            maxLockout: Int64(try ranged(loginMaxLockout, "LOGIN_MAX_LOCKOUT", 900, 1...86_400, "login-max-lockout")),
            slowDelay: .milliseconds(
                Int64(1000 * (try ranged(loginSlowDelay, "LOGIN_SLOW_DELAY", 1.0, 0...30, "login-slow-delay")))),
            maxCounters: try ranged(
                loginMaxCounters, "LOGIN_MAX_COUNTERS", 100_000, 100...100_000_000, "login-max-counters"))
        let admission = HashAdmissionLimits(
            perPeer: try ranged(hashQueuePerPeer, "HASH_QUEUE_PER_PEER", 8, 1...10_000, "hash-queue-per-peer"),
            total: try ranged(hashQueueTotal, "HASH_QUEUE_TOTAL", 256, 1...100_000, "hash-queue-total"))
        return ServiceConfiguration(
            publicBaseURL: base, logoutURL: logout, redirectAllowList: Set(origins),
            sessionLifetime: .seconds(lifetime), maxApiTokensPerUser: tokens,
            passwordHashing: ScryptParameters(logRounds: rounds), jobCoalesceSeconds: Int64(coalesce),
            maxPendingInvitations: pending, loginThrottle: throttle, hashAdmission: admission,
            anonymousRate: try ranged(anonymousRate, "ANONYMOUS_RATE", 10.0, 0.01...100_000, "anonymous-rate"),
            anonymousBurst: try ranged(anonymousBurst, "ANONYMOUS_BURST", 60, 1...1_000_000, "anonymous-burst"),
            maxPendingInvitationsPerInviter: try ranged(
                maxPendingInvitationsPerInviter, "MAX_PENDING_INVITATIONS_PER_INVITER", 100, 1...100_000,
                "max-pending-invitations-per-inviter"),
            accessTokenLifetime: .seconds(
                try ranged(accessTokenLifetime, "ACCESS_TOKEN_LIFETIME", 900, 1...86_400, "access-token-lifetime")),
            refreshGrace: .seconds(try ranged(refreshGrace, "REFRESH_GRACE", 30, 0...300, "refresh-grace")),
            stiggSigningKey: try stiggSigningKey(), decisionAllowedUIDs: try decisionAllowedUIDs(),
            principalCacheEntries: try ranged(
                principalCacheEntries, "PRINCIPAL_CACHE_ENTRIES", 100_000, 0...10_000_000, "principal-cache-entries"),
            principalCacheSeconds: Double(
                try ranged(principalCacheSeconds, "PRINCIPAL_CACHE_SECONDS", 30, 1...3600, "principal-cache-seconds")))
    }

    /// `--decision-allowed-uid`, else AKTO_ACCESS_DECISION_ALLOWED_UIDS.
    private func decisionAllowedUIDs() throws -> Set<UInt32> {
        if !decisionAllowedUid.isEmpty { return Set(decisionAllowedUid) }
        var uids = Set<UInt32>()
        for part in Environment.string("DECISION_ALLOWED_UIDS")?.split(separator: ",") ?? [] {
            guard let uid = UInt32(part.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("AKTO_ACCESS_DECISION_ALLOWED_UIDS: \(part) is not a uid")
            }
            uids.insert(uid)
        }
        return uids
    }

    private func stiggSigningKey() throws -> [UInt8]? {
        guard let file = Environment.resolve(stiggSigningKeyFile, "STIGG_SIGNING_KEY_FILE") else { return nil }
        guard let data = FileManager.default.contents(atPath: file),
            let key = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines), !key.isEmpty
        else { throw ValidationError("--stigg-signing-key-file: cannot read a key from \(file)") }
        return Array(key.utf8)
    }
}

/// A store and how to close it when the process is done with it.
/// The store `serve` and the admin commands open: SQLite (ready when opened) or PostgreSQL (its connection pool
/// is a service: `serve` runs it first in its group, then `prepare`s the store before the others start).
struct OpenedStore: Sendable {
    let store: any ServiceStore
    /// The store's long-lived part (PostgreSQL's pool), nil for SQLite.
    let service: (any Service)?
    /// Brings the store up once `service` runs: the PostgreSQL migrations.
    let prepare: @Sendable () async throws -> Void

    /// For one-shot commands: runs `service` as a child task around `body` (prepared first), ends it after.
    func withRunning<T: Sendable>(_ body: @Sendable (any ServiceStore) async throws -> T) async throws -> T {
        guard let service else { return try await body(store) }
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await service.run() }
            defer { group.cancelAll() }
            try await prepare()
            return try await body(store)
        }
    }
}
