import AccessCore
import Foundation
import GRDB
import Testing

@testable import AccessSQLite

@Suite struct SQLiteSettingsTests {
    private func open(_ synchronous: SQLiteConfiguration.Synchronous = .full) throws -> SQLiteAccountStore {
        let directory = NSTemporaryDirectory() + "akto-settings-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return try SQLiteAccountStore(
            configuration: SQLiteConfiguration(path: directory + "/s.sqlite", synchronous: synchronous))
    }

    @Test func usesWALFullSynchronousAndForeignKeys() async throws {
        let store = try open()
        let (journal, synchronous, foreignKeys) = try await store.pool.write { db in
            (
                try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "",
                try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1,
                try Int.fetchOne(db, sql: "PRAGMA foreign_keys") ?? -1
            )
        }
        #expect(journal == "wal")
        #expect(synchronous == 2)  // FULL
        #expect(foreignKeys == 1)
        let normal = try open(.normal)
        #expect(try await normal.pool.write { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") } == 1)
    }

    @Test func migrationsAreAppliedOnceAndRecorded() async throws {
        let store = try open()
        let applied = try await store.pool.read { db in try Migrations.migrator.appliedIdentifiers(db) }
        #expect(
            applied == [
                "2026-11-29-v1-whole-model", "2026-12-02-v2-authority", "2026-12-03-v3-abuse",
                "2026-12-04-v4-dashboard",
            ])
        try Migrations.migrator.migrate(store.pool)  // idempotent
    }

    @Test func anUnopenableDatabaseIsUnavailable() throws {
        let error = try #require(throws: RPCError.self) {
            try SQLiteAccountStore(configuration: SQLiteConfiguration(path: "/nonexistent-dir/x/s.sqlite"))
        }
        #expect(error.code == .unavailable)
    }
}
