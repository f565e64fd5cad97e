// What the embedding API costs on top of the scheduler it feeds, measured in one run:
//   1. instantiate-to-ready-to-done: one call of a trivial export in a fresh instance, awaited,
//      through `Scheduler.run` (the baseline) and through `Engine.call` (the same scheduler
//      underneath, plus the call's checks and result mapping);
//   2. the same for a WASI program (hello.wasm, captured output): a fresh WASI context per call;
//   3. a compile-cache hit (`Engine.compile` of bytes already compiled: SHA-256 + lookup), against
//      compiling the same bytes.
// Usage: swift build -c release --product EngineBench && .build/release/EngineBench [SAMPLES]
import Compiler
import Foundation
import Histogram
import Logging
import Runtime
import RuntimeABI
import Scheduler
import Shoal
import ShoalWASI
import WasmText

let samples = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 20_000 : 20_000
let warmUp = 1_000
var quiet = Logger(label: "bench")
quiet.logLevel = .warning

func report(_ name: String, _ h: Histogram<UInt64>) {
    print(name.padding(toLength: 60, withPad: " ", startingAt: 0) + String(format: "p50 %8.2f us   p99 %8.2f us",
                 Double(h.valueAtPercentile(50)) / 1e3, Double(h.valueAtPercentile(99)) / 1e3))
}

func measure(_ body: () async throws -> Void) async throws -> Histogram<UInt64> {
    var h = Histogram<UInt64>(highestTrackableValue: 10_000_000_000, numberOfSignificantValueDigits: .three)
    for i in 0..<(warmUp + samples) {
        let t0 = DispatchTime.now().uptimeNanoseconds
        try await body()
        let t = DispatchTime.now().uptimeNanoseconds - t0
        if i >= warmUp { h.record(t) }
    }
    return h
}

let trivial = Array("(module (memory 1) (data (i32.const 0) \"shoal\") (func (export \"f\") (result i32) i32.const 7))".utf8)
let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let hello = [UInt8](try Data(contentsOf: here.appendingPathComponent("Tests/wasi-programs/hello.wasm")))

// The baseline: the scheduler alone, configured as the engine configures it.
var configuration = EngineConfiguration()
configuration.threads = 2
configuration.slots = 64
configuration.memoryPages = 16
var scheduling = SchedulerConfiguration(slots: 64, heapMode: configuration.heapMode, memoryPages: 16,
                                        stackSize: configuration.stackSize, threads: 2)
scheduling.guardPages = configuration.guardPages
let scheduler = try Scheduler(scheduling, logger: quiet)
let loaded = try LoadedModule(try ModuleCompiler.compile(bytes: try TextFormat.binary(from: trivial), options: CompileOptions(heapMode: configuration.heapMode)))
let helloLoaded = try LoadedModule(try ModuleCompiler.compile(bytes: hello, options: CompileOptions(heapMode: configuration.heapMode)))
let helloNames = WASIContext.importedNames(of: helloLoaded.compiled.module)

let engine = try Engine(configuration, logger: quiet)
let module = try await engine.compile(trivial)
let helloModule = try await engine.compile(hello)

print("machine: \(ProcessInfo.processInfo.activeProcessorCount) cores; \(samples) samples after \(warmUp) warm-up calls, one at a time")
for round in 1...2 {
    print("round \(round)")
    report("scheduler.run, trivial export (baseline)", try await measure {
        _ = try await scheduler.run(loaded, entry: "f")
    })
    report("engine.call, trivial export", try await measure {
        _ = try await engine.call(module, .invoke("f"))
    })
    report("scheduler.run, hello.wasm with a WASI context (baseline)", try await measure {
        let wasi = try WASIContext(WASIConfiguration(arguments: ["hello"], captureOutput: true))
        do {
            _ = try await scheduler.run(helloLoaded, entry: "_start", imports: {
                wasi.hostFunctions(named: helloNames).map { HostImport(module: WASIContext.moduleName, name: $0.key, function: $0.value) }
            })
        } catch let trap as Trap where trap.underlying is WASIExit {}
    })
    report("engine.call, hello.wasm (.wasi, captured output)", try await measure {
        var wasi = WASIConfiguration(arguments: ["hello"], captureOutput: true)
        wasi.stdin = []
        _ = try await engine.call(helloModule, .wasi(wasi))
    })
}
report("engine.compile, cache hit (hello.wasm, \(hello.count) bytes)", try await measure {
    _ = try await engine.compile(hello)
})
var compileTimes = Histogram<UInt64>(highestTrackableValue: 10_000_000_000, numberOfSignificantValueDigits: .three)
for _ in 0..<50 {
    let t0 = DispatchTime.now().uptimeNanoseconds
    _ = try ModuleCompiler.compile(bytes: hello, options: CompileOptions(heapMode: configuration.heapMode))
    compileTimes.record(DispatchTime.now().uptimeNanoseconds - t0)
}
report("compiling hello.wasm (no cache, 50 samples)", compileTimes)
engine.shutdown()
scheduler.shutdown()
