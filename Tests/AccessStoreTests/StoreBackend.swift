import AccessCore
import AccessStore
import Foundation

/// A store implementation the contract suite runs against. A new backend (PostgreSQL) adds itself to `all`.
struct StoreBackend: Sendable, CustomTestStringConvertible {
    let name: String
    let make: @Sendable () throws -> any AccessStore

    var testDescription: String { name }

    static let sqlite = StoreBackend(name: "SQLite") {
        let directory = NSTemporaryDirectory() + "akto-store-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return try SQLiteAccessStore(configuration: SQLiteConfiguration(path: directory + "/contract.sqlite"))
    }

    static let all: [StoreBackend] = [.sqlite]
}

import Testing

/// An audit row for contract tests.
func entry(_ operation: String, actor: Int32? = 1, account: Int32? = 1_000_000) -> AuditEntry {
    AuditEntry(
        actorUserID: actor, actorEmail: "a@example.com", accountID: account, operation: operation, target: "",
        timestamp: 1_800_000_000, transport: "test", peer: "local")
}

/// A fresh store with its first user (id 1, ADMIN of account 1000000) and that user's session.
func seeded(_ backend: StoreBackend) async throws -> (store: any AccessStore, user: UserRecord, session: SessionRecord) {
    let store = try backend.make()
    let created = try await store.createFirstUser(
        email: "a@example.com", name: "A", passwordHash: "scrypt$x", organizationName: "Org", sessionDigest: digest("s1"),
        now: 1_800_000_000, sessionExpiresAt: 1_800_086_400, audit: entry("Signup", actor: nil, account: nil))
    return (store, created.user, try #require(created.session))
}

/// A stand-in digest for a secret (the store never sees secrets).
func digest(_ text: String) -> [UInt8] {
    var bytes = Array(text.utf8)
    while bytes.count < 32 { bytes.append(0) }
    return Array(bytes.prefix(32))
}
