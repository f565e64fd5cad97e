// swift-tools-version:6.1
import PackageDescription

// An edge server: every HTTP request runs in a fresh Shoal instance. Depends on Shoal by path (the
// repository two levels up) and on Hummingbird 2, swift-prometheus, swift-metrics and swift-log,
// which the core package does not need: keeping them here keeps Shoal's own build light.
let package = Package(
    name: "edge-server",
    platforms: [.macOS(.v15)],
    dependencies: [
        // Named, because a path dependency's identity is otherwise its directory's name.
        .package(name: "Shoal", path: "../.."),
        // No traits: the swift-configuration support is not used, and not building it saves time.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // Already in the graph through Hummingbird; named because the server uses their types.
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        // The server as a library, so that the tests start it in-process on a loopback port.
        // pipe2 for the process-per-request baseline (Glibc's module hides it).
        .target(name: "CEdgeProcess"),
        .target(name: "EdgeServer", dependencies: [
            "CEdgeProcess",
            .product(name: "Shoal", package: "Shoal"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        .executableTarget(name: "edge-server", dependencies: [
            "EdgeServer",
            .product(name: "Shoal", package: "Shoal"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "EdgeServerTests", dependencies: [
            "EdgeServer",
            .product(name: "Shoal", package: "Shoal"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
        ]),
    ]
)
