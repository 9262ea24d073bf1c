import AccessCore
import AccessRPC
import AccessWire
import Foundation
import GRDB
import Logging
import Synchronization

@testable import AccessService
@testable import AccessStore

/// A wall clock tests move by hand.
final class TestClock: WallClock {
    private let seconds = Locked<Double>(1_800_000_000)
    func now() -> Double { seconds.withLock { $0 } }
    func advance(_ delta: Double) { seconds.withLock { $0 += delta } }
}

/// The real service on a temporary SQLite file, called through the real dispatcher.
struct Harness {
    let directory: String
    let store: SQLiteAccessStore
    let clock: TestClock
    let dispatcher: Dispatcher

    init(configure: (inout ServiceConfiguration) -> Void = { _ in }) throws {
        directory = NSTemporaryDirectory() + "akto-service-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        store = try SQLiteAccessStore(configuration: SQLiteConfiguration(path: directory + "/test.sqlite"))
        clock = TestClock()
        var configuration = ServiceConfiguration(
            publicBaseURL: "https://app.example.com", redirectAllowList: ["https://docs.example.com"],
            passwordHashing: ScryptParameters(logRounds: 10))
        configure(&configuration)
        let service = try AccessService(store: store, configuration: configuration, clock: clock)
        var registry = MethodRegistry()
        try service.register(into: &registry)
        dispatcher = Dispatcher(registry: registry, logger: Logger(label: "test"))
    }

    /// Calls a method; a non-OK status is thrown as `RPCError`.
    func call<Request: ProtoMessage, Response: ProtoMessage>(
        _ method: MethodSpec<Request, Response>, _ request: Request, _ metadata: [MetadataEntry] = []
    ) async throws -> Response {
        let result = await dispatcher.dispatch(
            DispatchRequest(method: method.path, metadata: metadata, payload: try MessageCodec.encode(request)))
        if let error = result.status.error { throw error }
        return try MessageCodec.decode(Response.self, from: result.payload)
    }

    /// The status code a call ends with (OK included).
    func code<Request: ProtoMessage, Response: ProtoMessage>(
        _ method: MethodSpec<Request, Response>, _ request: Request, _ metadata: [MetadataEntry] = []
    ) async throws -> StatusCode {
        let result = await dispatcher.dispatch(
            DispatchRequest(method: method.path, metadata: metadata, payload: try MessageCodec.encode(request)))
        return result.status.code
    }

    /// Signs up the first user (ADMIN of account 1000000) and returns their session metadata.
    func signupAdmin(email: String = "admin@example.com", password: String = "Secret123") async throws -> SignupResponse {
        try await call(Methods.SessionService.signup, SignupRequest(email: email, password: password, name: "Admin"))
    }

    /// Adds a user with `role` in every scope of `accountID` straight into the database (invitations arrive with
    /// the team operations) and returns a session for them.
    func addMember(email: String, role: String, accountID: Int32 = 1_000_000, password: String = "Secret123") async throws
        -> [MetadataEntry]
    {
        let hash = try await PasswordHasher(parameters: ScryptParameters(logRounds: 10)).hash(password)
        let now = Int64(clock.now())
        try await store.pool.write { db in
            try db.execute(
                sql: "INSERT INTO users (email, name, password_hash, created_at) VALUES (?, ?, ?, ?)",
                arguments: [email, "Member", hash, now])
            try SQLiteAccessStore.insertMember(
                db, userID: Int32(db.lastInsertedRowID), accountID: accountID, role: role, now: now)
        }
        let login = try await call(Methods.SessionService.login, LoginRequest(email: email, password: password))
        return bearer(login.sessionToken)
    }

    /// Creates a second organization with its own account and ADMIN straight in the database (only the first
    /// Signup creates an organization today) and returns that admin's session and the account id.
    func addOtherOrganization(email: String = "other-admin@example.com") async throws -> (session: [MetadataEntry], accountID: Int32) {
        let now = Int64(clock.now())
        let accountID = try await store.pool.write { db -> Int32 in
            try db.execute(
                sql: "INSERT INTO organizations (id, name, admin_email, created_at) VALUES ('org-b', 'Org B', ?, ?)",
                arguments: [email, now])
            return try SQLiteAccessStore.insertAccount(db, organizationID: "org-b", name: "B", now: now).id
        }
        return (try await addMember(email: email, role: "ADMIN", accountID: accountID), accountID)
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
    func auditCount(_ operation: String) async throws -> Int {
        try await store.pool.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM audit_log WHERE operation = ?", arguments: [operation]) ?? 0
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
