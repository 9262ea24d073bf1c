// swift-tools-version:6.2
import PackageDescription

// The benchmark harness: its own package so the main build never pays for it (issue 8).
let package = Package(
    name: "akto-bench",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "akto-access", path: "../.."),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
    ],
    targets: [
        .executableTarget(
            name: "akto-bench",
            dependencies: [
                .product(name: "AccessClient", package: "akto-access"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        )
    ]
)
