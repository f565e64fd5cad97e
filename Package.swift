// swift-tools-version:6.1
import PackageDescription

// Module layout (dependency arrows point one way; see Docs/ARCHITECTURE.md):
//   WasmCore  <-  WasmDecoder  <-  Compiler  ->  X64, RuntimeABI
//   WasmCore  <-  RuntimeABI   <-  Runtime   ->  CShoal (signal handler, the only C)
//   SpecRunner -> WasmDecoder, WasmText, Compiler, Runtime;  shoal (CLI) -> SpecRunner
//   The compiler and the runtime never import each other: RuntimeABI is their only contract.
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
        // Benchmarks only: latency distributions (median, p99).
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
    ],
    targets: [
        .target(name: "WasmCore"),
        .target(name: "WasmDecoder", dependencies: ["WasmCore"]),
        .target(name: "X64"),
        .target(name: "RuntimeABI", dependencies: ["WasmCore"]),
        .target(name: "Compiler", dependencies: ["WasmDecoder", "X64", "RuntimeABI"]),
        .target(name: "CShoal"),
        .target(name: "Runtime", dependencies: ["RuntimeABI", "CShoal", "WasmCore"]),
        .target(name: "WasmText", dependencies: [.product(name: "WAT", package: "WasmKit")]),
        .target(name: "SpecRunner", dependencies: ["WasmDecoder", "WasmText", "Compiler", "Runtime", .product(name: "WAT", package: "WasmKit")]),
        .executableTarget(
            name: "ShoalCLI",
            dependencies: ["SpecRunner", "WasmDecoder", "WasmText", "Compiler", "Runtime", "RuntimeABI", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(name: "DecodeBench", dependencies: ["WasmDecoder"], path: "Bench/DecodeBench"),
        .executableTarget(name: "KernelBench", dependencies: ["Compiler", "Runtime", "RuntimeABI", "SpecRunner", "WasmDecoder"],
                          path: "Bench/KernelBench"),
        .executableTarget(name: "InstanceBench",
                          dependencies: ["Compiler", "Runtime", "RuntimeABI", "CShoal", "WasmText",
                                         .product(name: "Histogram", package: "hdrhistogram-swift")],
                          path: "Bench/InstanceBench"),
        .testTarget(name: "X64Tests", dependencies: ["X64"]),
        .testTarget(name: "RuntimeUnitTests", dependencies: ["Runtime", "RuntimeABI", "CShoal"]),
        .testTarget(name: "RuntimeTests", dependencies: ["Runtime", "Compiler", "WasmDecoder", "WasmText"]),
        .testTarget(name: "WasmDecoderTests", dependencies: ["WasmDecoder", "WasmText"]),
        .testTarget(name: "SpecRunnerTests", dependencies: ["SpecRunner", "WasmDecoder", "RuntimeABI", "Compiler"]),
    ]
)
