// swift-tools-version:6.1
import PackageDescription

// An embedder's service: depends on Shoal by path (the repository two levels up) and imports
// only its `Shoal` library.
let package = Package(
    name: "embed",
    platforms: [.macOS(.v15)],
    dependencies: [
        // Named, because a path dependency's identity is otherwise its directory's name
        // (which depends on where the repository was cloned).
        .package(name: "Shoal", path: "../.."),
    ],
    targets: [
        .executableTarget(
            name: "embed",
            dependencies: [.product(name: "Shoal", package: "Shoal")],
            resources: [.copy("guest.wasm")]),
    ]
)
