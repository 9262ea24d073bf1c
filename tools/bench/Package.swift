// swift-tools-version:6.2
import PackageDescription

// The benchmark harness: its own package so the main build never pays for it (`BENCHMARKS.md`).
let package = Package(
    name: "akto-bench",
    platforms: [.macOS(.v15)],  // grpc-swift-2 needs macOS 15 on Apple systems
    dependencies: [
        .package(name: "akto-access", path: "../.."),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/grpc/grpc-swift-2", exact: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport", exact: "2.9.2"),
    ],
    targets: [
        .executableTarget(
            name: "akto-bench",
            dependencies: [
                .product(name: "AccessClient", package: "akto-access"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
            ]
        )
    ]
)
