import AccessCore
import AccessPostgres
import Foundation
import Logging

/// The PostgreSQL cluster of a test run, if any: `AKTO_TEST_POSTGRES_URL` (tools/test starts a throw-away one
/// with tools/pg-test-cluster). Used only by the test targets.
public enum PostgresTestCluster {
    public static let url = ProcessInfo.processInfo.environment["AKTO_TEST_POSTGRES_URL"].flatMap {
        $0.isEmpty ? nil : $0
    }
    /// tools/test sets `AKTO_TEST_REQUIRE_POSTGRES=1`: a run that should cover PostgreSQL fails instead of
    /// skipping it.
    public static let required = ProcessInfo.processInfo.environment["AKTO_TEST_REQUIRE_POSTGRES"] == "1"
    public static let skipMessage =
        "PostgreSQL suites skipped: set AKTO_TEST_POSTGRES_URL (tools/test starts a throw-away cluster with tools/pg-test-cluster)"

    /// A store on a fresh, empty database of its own.
    public static func freshStore(maxConnections: Int = 4) async throws -> PostgresAccountStore {
        guard let url else { throw RPCError(.failedPrecondition, skipMessage) }
        let logger = Logger(label: "test-postgres")
        let name = "akto_test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let database = try await PostgresAdmin.createDatabase(url: url, name: name, logger: logger)
        return try await PostgresAccountStore.connect(
            configuration: PostgresConfiguration(url: database, maxConnections: maxConnections), logger: logger)
    }
}

/// How much slower than a plain debug build the tests run: `AKTO_TEST_SLOWDOWN` (tools/sanitize sets it for
/// the sanitizer builds, which run 5-15× slower). Time limits that guard against hangs scale with it; limits
/// that are the behaviour under test (a deadline, an idle timeout) scale only where the test would otherwise
/// race its own setup.
public enum TestTiming {
    public static let slowdown: Double = {
        guard let text = ProcessInfo.processInfo.environment["AKTO_TEST_SLOWDOWN"], let value = Double(text), value >= 1
        else { return 1 }
        return value
    }()

    public static func scaled(_ duration: Duration) -> Duration { duration * slowdown }
}
