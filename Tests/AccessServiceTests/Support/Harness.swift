import AccessCore
import AccessTestSupport
import PostgresNIO
import Testing
import AccessRPC
import AccessWire
import Foundation
import GRDB
import Logging
import Synchronization

@testable import AccessPostgres
@testable import AccessService
@testable import AccessSQLite

/// A wall clock tests move by hand.
final class TestClock: WallClock {
    private let seconds = Locked<Double>(1_800_000_000)
    func now() -> Double { seconds.withLock { $0 } }
    func advance(_ delta: Double) { seconds.withLock { $0 += delta } }
}

/// The store a harness runs on: SQLite always; PostgreSQL when the run has a cluster (AKTO_TEST_POSTGRES_URL).
enum TestBackend: Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    var testDescription: String { self == .sqlite ? "SQLite" : "PostgreSQL" }

    static let all: [TestBackend] = PostgresTestCluster.url == nil ? [.sqlite] : [.sqlite, .postgres]
}

/// The real service on a temporary SQLite file (or a fresh PostgreSQL database), called through the real
/// dispatcher.
struct Harness {
    let directory: String
    /// The service's store, whatever the backend.
    let services: any ServiceStore
    private let sqlite: SQLiteAccountStore?
    private let postgres: PostgresAccountStore?
    let clock: TestClock
    let dispatcher: Dispatcher

    /// The SQLite store, for tests that look at its tables directly (SQLite-only tests).
    var store: SQLiteAccountStore {
        guard let sqlite else { preconditionFailure("this test reads SQLite tables; run it on the SQLite backend") }
        return sqlite
    }

    init(configure: (inout ServiceConfiguration) -> Void = { _ in }) throws {
        let directory = NSTemporaryDirectory() + "akto-service-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let store = try SQLiteAccountStore(configuration: SQLiteConfiguration(path: directory + "/test.sqlite"))
        try self.init(directory: directory, sqlite: store, postgres: nil, configure: configure)
    }

    /// A harness on `backend`.
    static func make(_ backend: TestBackend, configure: (inout ServiceConfiguration) -> Void = { _ in }) async throws
        -> Harness
    {
        switch backend {
        case .sqlite: return try Harness(configure: configure)
        case .postgres:
            let directory = NSTemporaryDirectory() + "akto-service-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let store = try await PostgresTestCluster.freshStore()
            return try Harness(directory: directory, sqlite: nil, postgres: store, configure: configure)
        }
    }

    /// Another service on the same database with a store of its own — what a second process is to this one
    /// (SQLite: another connection set on the same file, sharing only the file and its `-authority` counter;
    /// PostgreSQL: another pool on the same database). Same clock.
    func otherProcess(configure: (inout ServiceConfiguration) -> Void = { _ in }) async throws -> Harness {
        if let postgres {
            let store = try await PostgresAccountStore.connect(
                configuration: postgres.configuration, logger: Logger(label: "test-postgres-2"))
            return try Harness(directory: directory, sqlite: nil, postgres: store, clock: clock, configure: configure)
        }
        let store = try SQLiteAccountStore(configuration: SQLiteConfiguration(path: directory + "/test.sqlite"))
        return try Harness(directory: directory, sqlite: store, postgres: nil, clock: clock, configure: configure)
    }

    private init(
        directory: String, sqlite: SQLiteAccountStore?, postgres: PostgresAccountStore?, clock: TestClock = TestClock(),
        configure: (inout ServiceConfiguration) -> Void
    ) throws {
        self.directory = directory
        self.sqlite = sqlite
        self.postgres = postgres
        let store: any ServiceStore = sqlite ?? postgres!
        services = store
        self.clock = clock
        var configuration = ServiceConfiguration(
            publicBaseURL: "https://app.example.com", redirectAllowList: ["https://docs.example.com"],
            passwordHashing: ScryptParameters(logRounds: 10))
        configure(&configuration)
        let service = try AccessService(store: store, configuration: configuration, clock: clock)
        var registry = MethodRegistry(codec: ProtobufCodec())
        try service.register(into: &registry)
        dispatcher = Dispatcher(registry: registry, logger: Logger(label: "test"))
        self.service = service
    }

    /// The service under test (its principal cache's statistics).
    let service: AccessService

    /// Answers a call where it arrives, without a task, if the dispatcher can (nil: it has to wait).
    func callNow<Request: ProtoMessage, Response: ProtoMessage>(
        _ method: MethodSpec<Request, Response>, _ request: Request, _ metadata: [MetadataEntry] = [],
        peer: Peer = .local
    ) throws -> Result<Response, RPCError>? {
        guard
            let result = dispatcher.dispatchSynchronously(
                DispatchRequest(
                    method: method.path, metadata: metadata, payload: try MessageCodec.encode(request), peer: peer))
        else { return nil }
        if let error = result.status.error { return .failure(error) }
        return .success(try MessageCodec.decode(Response.self, from: result.payload))
    }

    /// Calls a method; a non-OK status is thrown as `RPCError`.
    func call<Request: ProtoMessage, Response: ProtoMessage>(
        _ method: MethodSpec<Request, Response>, _ request: Request, _ metadata: [MetadataEntry] = [],
        peer: Peer = .local
    ) async throws -> Response {
        let result = await dispatcher.dispatch(
            DispatchRequest(
                method: method.path, metadata: metadata, payload: try MessageCodec.encode(request), peer: peer))
        if let error = result.status.error { throw error }
        return try MessageCodec.decode(Response.self, from: result.payload)
    }

    /// The status code a call ends with (OK included).
    func code<Request: ProtoMessage, Response: ProtoMessage>(
        _ method: MethodSpec<Request, Response>, _ request: Request, _ metadata: [MetadataEntry] = [],
        peer: Peer = .local
    ) async throws -> StatusCode {
        let result = await dispatcher.dispatch(
            DispatchRequest(
                method: method.path, metadata: metadata, payload: try MessageCodec.encode(request), peer: peer))
        return result.status.code
    }

    /// Signs up the first user (ADMIN of account 1000000) and returns their session metadata.
    func signupAdmin(email: String = "admin@example.com", password: String = "Secret123-horse") async throws
        -> SignupResponse
    {
        try await call(Methods.SessionService.signup, SignupRequest(email: email, password: password, name: "Admin"))
    }

    /// Adds a user with `role` in every scope of `accountID` straight into the database (invitations arrive with
    /// the team operations) and returns a session for them.
    func addMember(email: String, role: String, accountID: Int32 = 1_000_000, password: String = "Secret123-horse")
        async throws
        -> [MetadataEntry]
    {
        let hash = try await PasswordHasher(parameters: ScryptParameters(logRounds: 10)).hash(password, for: .local)
        let now = Int64(clock.now())
        if let postgres {
            try await postgres.executor.write { db in
                let id = try #require(
                    try await db.value(
                        "INSERT INTO users (email, name, password_hash, created_at) VALUES (\(email), 'Member', \(hash), \(now)) RETURNING id",
                        as: Int32.self))
                try await PostgresAccountStore.insertMember(db, userID: id, accountID: accountID, role: role, now: now)
            }
        } else {
            try await store.pool.write { db in
                try db.execute(
                    sql: "INSERT INTO users (email, name, password_hash, created_at) VALUES (?, ?, ?, ?)",
                    arguments: [email, "Member", hash, now])
                try SQLiteAccountStore.insertMember(
                    db, userID: Int32(db.lastInsertedRowID), accountID: accountID, role: role, now: now)
            }
        }
        let login = try await call(Methods.SessionService.login, LoginRequest(email: email, password: password))
        return bearer(login.sessionToken)
    }

    /// Creates a second organization with its own account and ADMIN straight in the database (only the first
    /// Signup creates an organization today) and returns that admin's session and the account id.
    func addOtherOrganization(email: String = "other-admin@example.com") async throws -> (
        session: [MetadataEntry], accountID: Int32
    ) {
        let now = Int64(clock.now())
        let accountID: Int32
        if let postgres {
            accountID = try await postgres.executor.write { db in
                try await db.execute(
                    "INSERT INTO organizations (id, name, admin_email, created_at) VALUES ('org-b', 'Org B', \(email), \(now))"
                )
                return try await PostgresAccountStore.insertAccount(db, organizationID: "org-b", name: "B", now: now).id
            }
        } else {
            accountID = try await store.pool.write { db -> Int32 in
                try db.execute(
                    sql:
                        "INSERT INTO organizations (id, name, admin_email, created_at) VALUES ('org-b', 'Org B', ?, ?)",
                    arguments: [email, now])
                return try SQLiteAccountStore.insertAccount(db, organizationID: "org-b", name: "B", now: now).id
            }
        }
        let session = try await addMember(email: email, role: "ADMIN", accountID: accountID)
        try await execute(
            "UPDATE organizations SET owner_user_id = (SELECT id FROM users WHERE email = '\(email)') WHERE id = 'org-b'"
        )
        return (session, accountID)
    }

    /// Runs one SQL statement of the test's own on whichever store the harness uses (fixtures only).
    func execute(_ sql: String) async throws {
        if let postgres {
            try await postgres.executor.write { db in _ = try await db.execute(PostgresQuery(unsafeSQL: sql)) }
        } else {
            try await store.pool.write { db in try db.execute(sql: sql) }
        }
    }

    func bearer(_ token: String) -> [MetadataEntry] { [MetadataEntry("authorization", "Bearer " + token)] }
    func apiKey(_ key: String) -> [MetadataEntry] { [MetadataEntry("x-api-key", key)] }

    /// Every byte of the database files (main file and WAL), for "no secret in the clear" checks.
    func databaseBytes() throws -> [UInt8] {
        var bytes: [UInt8] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: directory) {
            bytes += [UInt8](try Data(contentsOf: URL(fileURLWithPath: directory + "/" + name)))
        }
        return bytes
    }

    /// The number of audit rows for an operation.
    /// How many rows a table holds.
    func rowCount(_ table: String) async throws -> Int {
        if let postgres {
            return Int(
                try await postgres.executor.read { db in
                    try await db.value(PostgresQuery(unsafeSQL: "SELECT COUNT(*) FROM \(table)"), as: Int64.self)
                } ?? 0)
        }
        return try await store.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)") ?? 0 }
    }

    func auditCount(_ operation: String) async throws -> Int {
        if let postgres {
            return Int(
                try await postgres.executor.read { db in
                    try await db.value("SELECT COUNT(*) FROM audit_log WHERE operation = \(operation)", as: Int64.self)
                } ?? 0)
        }
        return try await store.pool.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM audit_log WHERE operation = ?", arguments: [operation]) ?? 0
        }
    }

    /// Every row of every table, as text, in a stable order ("did this call change anything?").
    func tableSnapshot() async throws -> [String] {
        if let postgres {
            return try await postgres.executor.snapshot { db in
                let tables = try await db.values(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename", as: String.self)
                var rows: [String] = []
                for table in tables {
                    let quoted = "\"" + table + "\""
                    rows += try await db.values(
                        PostgresQuery(unsafeSQL: "SELECT row_to_json(t)::text AS r FROM \(quoted) t ORDER BY 1"),
                        as: String.self
                    ).map { "\(table): \($0)" }
                }
                return rows
            }
        }
        return try await store.pool.read { db in
            let tables = try String.fetchAll(
                db,
                sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
            return try tables.flatMap { table in
                try Row.fetchAll(db, sql: "SELECT * FROM \"\(table)\" ORDER BY rowid").map { "\(table): \($0)" }
            }
        }
    }
}

extension Array where Element == UInt8 {
    /// True when `needle` occurs in these bytes.
    func contains(_ needle: String) -> Bool {
        let pattern = Array(needle.utf8)
        guard !pattern.isEmpty, pattern.count <= count else { return false }
        for start in 0...(count - pattern.count) where self[start] == pattern[0] {
            if Array(self[start..<start + pattern.count]) == pattern { return true }
        }
        return false
    }
}
