// swift-tools-version:6.1
import PackageDescription

// Module layout (dependency arrows point one way; see Docs/ARCHITECTURE.md):
//   WasmCore  <-  WasmDecoder  <-  Compiler  ->  X64, RuntimeABI
//   WasmCore  <-  RuntimeABI   <-  Runtime   ->  CShoal (signal handler, the only C)
//   SpecRunner -> WasmDecoder, WasmText, Compiler, Runtime
//   Shoal (the embedding API) -> Compiler, Scheduler, ShoalWASI, WasmText;  shoal (CLI) -> Shoal, SpecRunner
//   The compiler and the runtime never import each other: RuntimeABI is their only contract.
let package = Package(
    name: "Shoal",
    platforms: [.macOS(.v15)],
    products: [
        // The one import an embedder needs: Engine, compile service, host functions, WASI calls.
        .library(name: "Shoal", targets: ["Shoal"]),
        .library(name: "WasmCore", targets: ["WasmCore"]),
        .library(name: "WasmDecoder", targets: ["WasmDecoder"]),
        .library(name: "SpecRunner", targets: ["SpecRunner"]),
        .library(name: "Scheduler", targets: ["Scheduler"]),
        .library(name: "Runtime", targets: ["Runtime"]),
        .library(name: "Compiler", targets: ["Compiler"]),
        .library(name: "Optimizer", targets: ["Optimizer"]),
        .executable(name: "shoal", targets: ["ShoalCLI"]),
        .executable(name: "shoal-fuzz", targets: ["ShoalFuzz"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/swiftwasm/WasmKit", exact: "0.4.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        // Latency distributions (median, p99) for benchmarks and `shoal run --instances`.
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        // SHA-256 of module bytes: the compile service's cache key.
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        .target(name: "WasmCore"),
        .target(name: "WasmDecoder", dependencies: ["WasmCore"]),
        .target(name: "X64"),
        .target(name: "RuntimeABI", dependencies: ["WasmCore"]),
        // The optimizing tier (SSA, passes, linear scan); the baseline falls back to it per function.
        .target(name: "Optimizer", dependencies: ["WasmCore", "WasmDecoder", "X64", "RuntimeABI"]),
        .target(name: "Compiler", dependencies: ["WasmDecoder", "X64", "RuntimeABI", "Optimizer"]),
        .target(name: "CShoal", linkerSettings: [.linkedLibrary("uring")]),
        .target(name: "Runtime", dependencies: ["RuntimeABI", "CShoal", "WasmCore"]),
        .target(name: "IOUring", dependencies: ["CShoal"]),
        .target(name: "ShoalWASI", dependencies: ["Runtime", "RuntimeABI", "IOUring", "WasmCore"]),
        .target(
            name: "Scheduler",
            dependencies: [
                "Runtime", "RuntimeABI", "CShoal", "IOUring",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        .target(name: "WasmText", dependencies: [.product(name: "WAT", package: "WasmKit")]),
        // Compiled artifacts: the file format, its contract and signatures (Docs/ARTIFACT.md).
        .target(name: "Artifacts", dependencies: ["RuntimeABI", "Runtime", "WasmCore", "CShoal", "X64", .product(name: "Crypto", package: "swift-crypto")]),
        .target(
            name: "Shoal",
            dependencies: ["Artifacts", "Compiler", "Runtime", "RuntimeABI", "Scheduler", "ShoalWASI", "WasmCore", "WasmDecoder", "WasmText",
                           .product(name: "Crypto", package: "swift-crypto"),
                           .product(name: "Logging", package: "swift-log"),
                           .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")]),
        .target(name: "SpecRunner", dependencies: ["Artifacts", "WasmDecoder", "WasmText", "Compiler", "Runtime", .product(name: "WAT", package: "WasmKit"),
                                           .product(name: "Crypto", package: "swift-crypto")]),
        .executableTarget(
            name: "ShoalCLI",
            dependencies: ["Shoal", "Artifacts", "SpecRunner", "WasmDecoder", "WasmText", "Compiler", "Optimizer", "Runtime", "RuntimeABI", "Scheduler", "ShoalWASI", "IOUring",
                           .product(name: "ArgumentParser", package: "swift-argument-parser"),
                           .product(name: "Histogram", package: "hdrhistogram-swift"),
                           .product(name: "Logging", package: "swift-log")]
        ),
        // Shared by the robustness test and shoal-fuzz: the seeded generator and the byte mutator.
        .target(name: "FuzzSupport"),
        // Differential fuzzing against wasmtime (wasm-tools smith), the regression replay, the long
        // mutation run. Shoal's side runs in process in a supervised worker; see Docs/TESTING.md.
        .executableTarget(
            name: "ShoalFuzz",
            dependencies: ["FuzzSupport", "SpecRunner", "WasmDecoder", "WasmText", "Compiler", "Runtime", "RuntimeABI", "WasmCore",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(name: "DecodeBench", dependencies: ["WasmDecoder"], path: "Bench/DecodeBench"),
        .executableTarget(name: "KernelBench", dependencies: ["Compiler", "Runtime", "RuntimeABI", "SpecRunner", "WasmDecoder"],
                          path: "Bench/KernelBench"),
        .executableTarget(name: "InstanceBench",
                          dependencies: ["Compiler", "Runtime", "RuntimeABI", "CShoal", "WasmText", "IOUring",
                                         .product(name: "Histogram", package: "hdrhistogram-swift"),
                           .product(name: "Logging", package: "swift-log")],
                          path: "Bench/InstanceBench"),
        .executableTarget(name: "SchedulerBench",
                          dependencies: ["Compiler", "Runtime", "RuntimeABI", "Scheduler", "WasmText",
                                         .product(name: "Histogram", package: "hdrhistogram-swift"),
                                         .product(name: "Logging", package: "swift-log")],
                          path: "Bench/SchedulerBench"),
        // The scheduler's park + unpark + enqueue path per operation, 2 to 32 workers (issue 16's baseline).
        .executableTarget(name: "ParkBench", dependencies: ["Compiler", "IOUring", "Runtime", "RuntimeABI", "Scheduler", "WasmCore", "WasmText",
                                                            .product(name: "Logging", package: "swift-log")],
                          path: "Bench/ParkBench"),
        // The scheduling policy on 64 virtual workers in the deterministic twin (issue 16).
        .executableTarget(name: "TwinSim", dependencies: ["Compiler", "Runtime", "RuntimeABI", "Scheduler", "WasmText"], path: "Bench/TwinSim"),
        // Compile vs load vs instantiate of one module (Docs/BENCHMARKS.md, artifacts).
        .executableTarget(name: "ArtifactBench", dependencies: ["Artifacts", "CShoal", "Compiler", "Runtime", "RuntimeABI", "WasmCore", "WasmText"],
                          path: "Bench/ArtifactBench"),
        // What the embedding API adds to the scheduler it feeds (Docs/BENCHMARKS.md).
        .executableTarget(name: "EngineBench",
                          dependencies: ["Shoal", "Compiler", "Runtime", "RuntimeABI", "Scheduler", "ShoalWASI", "WasmText",
                                         .product(name: "Histogram", package: "hdrhistogram-swift"),
                                         .product(name: "Logging", package: "swift-log")],
                          path: "Bench/EngineBench"),
        // The embedding API's tests import `Shoal` only (no @testable): they use what an embedder can.
        .testTarget(name: "ShoalTests", dependencies: ["Shoal", .product(name: "Logging", package: "swift-log"),
                                                     .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")]),
        .testTarget(name: "X64Tests", dependencies: ["X64"]),
        .testTarget(name: "OptimizerTests", dependencies: ["Optimizer", "Compiler", "Runtime", "RuntimeABI", "WasmCore", "WasmDecoder", "WasmText", "X64",
                                                          "SpecRunner", "FuzzSupport"]),
        .testTarget(name: "ShoalCLITests", dependencies: ["ShoalCLI", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .testTarget(name: "WASITests", dependencies: ["ShoalWASI", "IOUring", "Scheduler", "Runtime", "RuntimeABI", "Compiler", "WasmText", "WasmCore", "CShoal",
                                                     .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "SchedulerTests", dependencies: ["Scheduler", "Runtime", "RuntimeABI", "Compiler", "WasmText", "WasmCore", "IOUring"]),
        .testTarget(name: "RuntimeUnitTests", dependencies: ["Runtime", "RuntimeABI", "CShoal"]),
        .testTarget(name: "RuntimeTests", dependencies: ["Runtime", "RuntimeABI", "Compiler", "WasmDecoder", "WasmText", "CShoal"]),
        .testTarget(name: "WasmDecoderTests", dependencies: ["WasmDecoder", "WasmText"]),
        // The artifact format: round trips, the spec suite through artifacts, tampering, every refusal.
        .testTarget(name: "ArtifactTests", dependencies: ["Artifacts", "Compiler", "Runtime", "RuntimeABI", "WasmCore", "WasmText", "CShoal",
                                                         "FuzzSupport", "SpecRunner", .product(name: "Crypto", package: "swift-crypto")]),
        .testTarget(name: "SpecRunnerTests", dependencies: ["SpecRunner", "WasmDecoder", "RuntimeABI", "Compiler", "FuzzSupport"]),
        // Runs the shoal-fuzz executable (a dependency, so that it is built): the regression corpus
        // and a short seeded differential batch.
        .testTarget(name: "FuzzTests", dependencies: ["ShoalFuzz"], exclude: ["Regressions"]),
    ]
)
