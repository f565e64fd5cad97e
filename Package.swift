// swift-tools-version:6.1
import PackageDescription

// Module layout (dependency arrows point one way; see Docs/ARCHITECTURE.md):
//   WasmCore  <-  WasmDecoder  <-  SpecRunner  <-  shoal (CLI)
//                 WasmText (WasmKit's WAT) <-/
let package = Package(
    name: "Shoal",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "WasmCore", targets: ["WasmCore"]),
        .library(name: "WasmDecoder", targets: ["WasmDecoder"]),
        .library(name: "SpecRunner", targets: ["SpecRunner"]),
        .executable(name: "shoal", targets: ["ShoalCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/swiftwasm/WasmKit", exact: "0.4.2"),
    ],
    targets: [
        .target(name: "WasmCore"),
        .target(name: "WasmDecoder", dependencies: ["WasmCore"]),
        .target(name: "WasmText", dependencies: [.product(name: "WAT", package: "WasmKit")]),
        .target(name: "SpecRunner", dependencies: ["WasmDecoder", "WasmText", .product(name: "WAT", package: "WasmKit")]),
        .executableTarget(
            name: "ShoalCLI",
            dependencies: ["SpecRunner", "WasmDecoder", "WasmText", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(name: "DecodeBench", dependencies: ["WasmDecoder"], path: "Bench/DecodeBench"),
        .testTarget(name: "WasmDecoderTests", dependencies: ["WasmDecoder", "WasmText"]),
        .testTarget(name: "SpecRunnerTests", dependencies: ["SpecRunner", "WasmDecoder"]),
    ]
)
