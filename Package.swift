// swift-tools-version:6.2
import PackageDescription

/// Every first-party target treats warnings as errors (STYLE.md, house rule 10).
let strict: [SwiftSetting] = [.treatAllWarnings(as: .error)]

let package = Package(
    name: "akto-access",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "akto-access", targets: ["akto-access"]),
        .library(name: "AccessClient", targets: ["AccessClient", "AccessCore", "AccessWire"]),
        // Test support for the codec's users (the fuzzers under tools/fuzz): the test-only contract and the fuzz
        // harness; no server target depends on it.
        .library(name: "AccessWireTesting", targets: ["AccessWireTesting"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        // `swift package generate-documentation --target AccessCore`: the design of record (AccessCore.docc).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CProtobufC",
            path: "Sources/CProtobufC",
            pkgConfig: "libprotobuf-c",
            providers: [.apt(["libprotobuf-c-dev"])]
        ),
        .target(
            name: "AccessProtoC",
            dependencies: ["CProtobufC"],
            path: "Sources/AccessProtoC",
            cSettings: [.define("NDEBUG", .when(configuration: .release))],
            linkerSettings: [.linkedLibrary("protobuf-c")]
        ),
        // SO_PEERCRED's constants for the socket transport, read in C as swift-nio's CNIOLinux does.
        .target(
            name: "CPeerCredentials",
            path: "Sources/CPeerCredentials"
        ),
        // The SQLite store's authority version: a counter in a file every process maps (atomic loads and adds).
        .target(
            name: "CSharedCounter",
            path: "Sources/CSharedCounter"
        ),
        .target(
            name: "AccessWire",
            dependencies: [
                "AccessProtoC", "AccessCore",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        // The test-only contract akto.testing.v1 (generated C) and its Swift side with the fuzz harness: outside
        // every production target.
        .target(
            name: "AccessTestingProtoC",
            dependencies: ["CProtobufC"],
            path: "Sources/AccessTestingProtoC",
            linkerSettings: [.linkedLibrary("protobuf-c")]
        ),
        .target(
            name: "AccessWireTesting",
            dependencies: [
                "AccessWire", "AccessCore", "AccessTestingProtoC",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "AccessCore",
            swiftSettings: strict
        ),
        .target(
            name: "AccessSQLite",
            dependencies: [
                "AccessCore", "CSharedCounter",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "AccessPostgres",
            dependencies: [
                "AccessCore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "AccessTestSupport",
            dependencies: ["AccessCore", "AccessPostgres", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        .target(
            name: "AccessService",
            dependencies: [
                "AccessCore", "AccessRPC",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "AccessRPC",
            dependencies: [
                "AccessCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "AccessServer",
            dependencies: [
                "AccessRPC", "AccessWire", "AccessCore", "CPeerCredentials",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "AccessBilling",
            dependencies: [
                "AccessCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "AccessGateway",
            dependencies: [
                "AccessRPC", "AccessWire", "AccessCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "AccessClient",
            dependencies: [
                "AccessWire", "AccessCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "akto-access",
            dependencies: [
                "AccessServer", "AccessClient", "AccessRPC", "AccessWire", "AccessCore", "AccessSQLite", "AccessService",
                "AccessGateway", "AccessBilling", "AccessPostgres",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "AccessCoreTests",
            dependencies: ["AccessCore"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "AccessWireTests",
            dependencies: [
                "AccessWire", "AccessWireTesting", "AccessCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
            ],
            resources: [.copy("Fixtures")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "AccessRPCTests",
            dependencies: [
                "AccessRPC", "AccessWire", "AccessCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "AccessSQLiteTests",
            dependencies: [
                "AccessSQLite", "AccessPostgres", "AccessTestSupport", "AccessCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "AccessServiceTests",
            dependencies: [
                "AccessService", "AccessSQLite", "AccessPostgres", "AccessTestSupport", "AccessRPC", "AccessWire", "AccessCore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "AccessBillingTests",
            dependencies: [
                "AccessBilling", "AccessTestSupport", "AccessService", "AccessSQLite", "AccessRPC", "AccessWire", "AccessCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "AccessGatewayTests",
            dependencies: [
                "AccessGateway", "AccessService", "AccessSQLite", "AccessRPC", "AccessWire", "AccessCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "AccessServerTests",
            dependencies: [
                "AccessServer", "AccessTestSupport", "AccessClient", "AccessRPC", "AccessWire", "AccessCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
    ]
)
