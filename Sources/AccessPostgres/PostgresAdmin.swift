import AccessCore
import Foundation
import Logging
import PostgresNIO

/// Cluster-level chores for tests, benchmarks and first deployments.
public enum PostgresAdmin {
    /// Creates an empty database `name` (lower-case letters, digits, `_`) in the cluster `url` points at and
    /// returns the URL of the new database.
    public static func createDatabase(url: String, name: String, logger: Logger) async throws -> String {
        guard !name.isEmpty, name.count <= 63,
            name.allSatisfy({ ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "_" })
        else { throw RPCError(.invalidArgument, "database names here are 1-63 of a-z, 0-9 and _, got \(name)") }
        let configuration = try PostgresConfiguration(url: url, maxConnections: 1)
        let client = PostgresClient(configuration: configuration.clientConfiguration(), backgroundLogger: logger)
        let runner = Task { await client.run() }
        defer { runner.cancel() }
        // CREATE DATABASE cannot run in a transaction: one statement on a plain connection.
        let executor = PostgresExecutor(
            client: client, logger: logger, maxAttempts: 1, acquireTimeout: configuration.connectTimeoutDuration)
        _ = try await executor.read { db in try await db.execute(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)")) }
        guard var components = URLComponents(string: url) else { return url }
        components.path = "/" + name
        return components.string ?? url
    }
}
