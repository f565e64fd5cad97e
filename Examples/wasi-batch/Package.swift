// swift-tools-version:6.1
import PackageDescription

// A grading farm in miniature: depends on Shoal by path (the repository two levels up) and
// imports only its `Shoal` library.
let package = Package(
    name: "wasi-batch",
    platforms: [.macOS(.v15)],
    dependencies: [
        // Named, because a path dependency's identity is otherwise its directory's name
        // (which depends on where the repository was cloned).
        .package(name: "Shoal", path: "../.."),
    ],
    targets: [
        .executableTarget(name: "wasi-batch", dependencies: [.product(name: "Shoal", package: "Shoal")]),
    ]
)
