import AccessCore
import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO

/// Cluster-level chores for tests, benchmarks and first deployments.
public enum PostgresAdmin {
    /// Creates an empty database `name` (lower-case letters, digits, `_`) in the cluster `url` points at and
    /// returns the URL of the new database.
    public static func createDatabase(url: String, name: String, logger: Logger) async throws -> String {
        guard !name.isEmpty, name.count <= 63,
            name.allSatisfy({ ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "_" })
        else { throw RPCError(.invalidArgument, "database names here are 1-63 of a-z, 0-9 and _, got \(name)") }
        let configuration = try PostgresConfiguration(url: url)
        let tls: PostgresConnection.Configuration.TLS =
            switch configuration.tls {
            case .disable: .disable
            case .prefer: .prefer(try .init(configuration: configuration.clientTLS()))
            case .require: .require(try .init(configuration: configuration.clientTLS()))
            }
        let connection: PostgresConnection
        if let socket = configuration.unixSocketPath {
            connection = try await PostgresConnection.connect(
                configuration: .init(
                    unixSocketPath: socket, username: configuration.username, password: configuration.password,
                    database: configuration.database),
                id: 1, logger: logger)
        } else {
            connection = try await PostgresConnection.connect(
                configuration: .init(
                    host: configuration.host ?? "localhost", port: configuration.port, username: configuration.username,
                    password: configuration.password, database: configuration.database, tls: tls),
                id: 1, logger: logger)
        }
        do {
            try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: logger)
        } catch {
            try? await connection.close()
            throw error
        }
        try await connection.close()
        guard var components = URLComponents(string: url) else { return url }
        components.path = "/" + name
        return components.string ?? url
    }
}
