import AccessCore
import AccessPostgres
import AccessSQLite
import AccessTestSupport
import Foundation

/// A store implementation the contract suite runs against: SQLite always; PostgreSQL when
/// `AKTO_TEST_POSTGRES_URL` points at a cluster (tools/test starts a throw-away one), each test in a fresh
/// database of its own.
struct StoreBackend: Sendable, CustomTestStringConvertible {
    let name: String
    let make: @Sendable () async throws -> any ServiceStore

    var testDescription: String { name }

    static let sqlite = StoreBackend(name: "SQLite") {
        let directory = NSTemporaryDirectory() + "akto-store-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return try SQLiteAccountStore(configuration: SQLiteConfiguration(path: directory + "/contract.sqlite"))
    }

    static let postgres = StoreBackend(name: "PostgreSQL") {
        try await PostgresTestCluster.freshStore()
    }

    static let all: [StoreBackend] = PostgresTestCluster.url == nil ? [.sqlite] : [.sqlite, .postgres]
}

import Testing

/// An audit row for contract tests.
func entry(_ operation: String, actor: Int32? = 1, account: Int32? = 1_000_000) -> AuditEntry {
    AuditEntry(
        actorUserID: actor, actorEmail: "a@example.com", accountID: account, operation: operation, target: "",
        timestamp: 1_800_000_000, transport: "test", peer: "local")
}

/// A fresh store with its first user (id 1, ADMIN of account 1000000) and that user's session.
func seeded(_ backend: StoreBackend) async throws -> (store: any ServiceStore, user: UserRecord, session: SessionRecord)
{
    let store = try await backend.make()
    let created = try await store.createFirstUser(
        email: "a@example.com", name: "A", passwordHash: "scrypt$x", organizationName: "Org",
        sessionDigest: digest("s1"),
        setupTokenDigest: nil, now: 1_800_000_000, sessionExpiresAt: 1_800_086_400,
        audit: entry("Signup", actor: nil, account: nil))
    return (store, created.user, try #require(created.session))
}

/// A stand-in digest for a secret (the store never sees secrets).
func digest(_ text: String) -> [UInt8] {
    var bytes = Array(text.utf8)
    while bytes.count < 32 { bytes.append(0) }
    return Array(bytes.prefix(32))
}

/// Whether the PostgreSQL suites ran: skipped with a message locally, a failure where they are required.
@Suite struct PostgresAvailabilityTests {
    @Test(.enabled(if: PostgresTestCluster.url == nil, "PostgreSQL is configured; its suites run"))
    func postgresSuitesNeedAClusterURL() {
        #expect(!PostgresTestCluster.required, "AKTO_TEST_REQUIRE_POSTGRES=1 but AKTO_TEST_POSTGRES_URL is not set")
        print(PostgresTestCluster.skipMessage)
    }
}

/// A member joined through an invitation from `inviter` with these roles (scopes left out: NO_ACCESS), with a
/// session of digest `session`.
@discardableResult
func invitedMember(
    _ store: any ServiceStore, inviter: Int32, email: String, roles: [Scope: String], session: String,
    account: Int32 = 1_000_000
) async throws -> UserRecord {
    _ = try await store.createInvitation(
        accountID: account, actorID: inviter, email: email,
        requested: .mapping(roles.map { RoleRequest(scope: $0.key, name: $0.value, field: "f") }),
        codeDigest: digest("code-" + email), now: 1_800_000_000, expiresAt: 1_900_000_000, maxPending: 100,
        maxPendingPerInviter: 100,
        audit: entry("InviteUsers", actor: inviter, account: account))
    return try await store.acceptInvitation(
        codeDigest: digest("code-" + email), joiner: .newUser(email: email, name: "M", passwordHash: "scrypt$m"),
        sessionDigest: digest(session), now: 1_800_000_001, sessionExpiresAt: 1_900_000_000,
        audit: entry("Signup", actor: nil, account: nil)
    ).user
}
