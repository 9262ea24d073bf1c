// swift-tools-version:6.2
import PackageDescription

// libFuzzer targets (<doc:Hardening>): its own package, built only by tools/fuzz/run with the fuzzer and address
// sanitizers, so the main build never pays for it.
let package = Package(
    name: "akto-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "akto-access", path: "../.."),
    ],
    targets: [
        .executableTarget(
            name: "akto-fuzz",
            dependencies: [
                .product(name: "AccessClient", package: "akto-access"),
                .product(name: "AccessWireTesting", package: "akto-access"),
            ]
        )
    ]
)
