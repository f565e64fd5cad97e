// Runs the C kernels in Bench/kernels under Shoal, and reports compile throughput.
//
// Usage: KernelBench KERNELS_DIR [heap] [repeats] [parallel|overhead|tiers|optimized]
// For each NAME.wasm with an N in the table below: compiles it, instantiates it, calls run(N)
// `repeats` times and prints "NAME checksum best_ns". Bench/kernels.sh runs the native builds with
// the same N and prints the ratios. Compile throughput is measured on Bench/out/large.wasm when it
// exists (Bench/large-module/build.sh).
import Compiler
import Foundation
import Runtime
import RuntimeABI
import SpecRunner
import WasmDecoder

let arguments = CommandLine.arguments
let directory = arguments.count > 1 ? arguments[1] : "Bench/kernels"
let heap = arguments.count > 2 ? HeapMode(rawValue: arguments[2]) ?? .guarded : .guarded
let repeats = arguments.count > 3 ? Int(arguments[3]) ?? 5 : 5
/// `parallel`: only compile throughput, of Bench/out/large.wasm with parallelism 1, 2 and 4
/// (`repeats` runs each, in this process), plus the decode alone: the serial part.
let parallelMode = arguments.count > 4 && arguments[4] == "parallel"
/// `overhead`: compile each kernel with and without loop-header yield checks (and with fuel) and
/// print the time ratios, all in this process.
let overheadMode = arguments.count > 4 && arguments[4] == "overhead"
/// `tiers`: compile each kernel with the baseline and the optimizing tier, check that both give
/// the same checksum, and print both times, their ratio and how many functions each tier compiled.
let tiersMode = arguments.count > 4 && arguments[4] == "tiers"
/// `optimized`: the default run with the optimizing tier (Bench/kernels.sh HEAP REPEATS optimized).
let tier: CompilerTier = arguments.count > 4 && arguments[4] == "optimized" ? .optimized : .baseline

/// The work size of each kernel, chosen so a native run takes roughly 0.05-0.2 s on the bench machine.
let sizes: [(String, UInt32)] = [
    ("calls", 25_000_000), ("crc32", 600), ("fib", 35), ("hash64", 30_000_000), ("indirect", 40_000_000),
    ("interp", 5_000), ("mandelbrot", 4_000), ("matmul", 50), ("nbody", 2_000_000), ("quicksort", 15), ("sieve", 30),
]

func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

/// Best time of `repeats` calls of run(n) for a kernel compiled with `options`.
func time(_ bytes: [UInt8], _ n: UInt32, _ options: CompileOptions) throws -> (UInt32, UInt64) {
    let compiled = try ModuleCompiler.compile(bytes: bytes, options: options)
    let store = Store(heapMode: options.heapMode)
    let instance = try store.instantiate(compiled) { _, _ in nil }
    var best = UInt64.max
    var checksum: UInt32 = 0
    for _ in 0..<repeats {
        let start = now()
        let result = try instance.invoke("run", [.i32(n)])
        best = min(best, now() - start)
        if case .i32(let v) = result[0] { checksum = v }
    }
    return (checksum, best)
}

if parallelMode {
    let large = "Bench/out/large.wasm"
    guard let data = FileManager.default.contents(atPath: large) else {
        print("\(large) missing: run Bench/large-module/build.sh")
        exit(1)
    }
    let bytes = [UInt8](data)
    let megabytes = Double(bytes.count) / 1e6
    func seconds(_ body: () throws -> Void) rethrows -> Double {
        let start = now()
        try body()
        return Double(now() - start) / 1e9
    }
    func cpuSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
    func summary(_ times: [Double]) -> String {
        let rates = times.map { megabytes / $0 }.sorted()
        return String(format: "min %6.1f  median %6.1f  max %6.1f MB/s", rates[0], rates[rates.count / 2], rates[rates.count - 1])
    }
    print("compile \(large), \(bytes.count) bytes, heap \(heap), \(repeats) runs each, \(ProcessInfo.processInfo.activeProcessorCount) CPUs")
    let decode = try (0..<repeats).map { _ in try seconds { _ = try ModuleDecoder.decode(bytes, validateFunctions: false) } }
    print("decode only   " + summary(decode) + String(format: "  (median %.3f s)", decode.sorted()[repeats / 2]))
    var medians: [Int: Double] = [:]
    var reference: [UInt8]?
    for parallelism in [1, 2, 4] {
        var cpuTimes: [Double] = []
        let times = try (0..<repeats).map { _ in
            var compiled: CompiledModule?
            let cpuStart = cpuSeconds()
            let time = try seconds {
                compiled = try ModuleCompiler.compile(bytes: bytes, options: CompileOptions(heapMode: heap), parallelism: parallelism)
            }
            cpuTimes.append(cpuSeconds() - cpuStart)
            if reference == nil { reference = compiled!.code } else if compiled!.code != reference! { fatalError("code differs at parallelism \(parallelism)") }
            return time
        }
        medians[parallelism] = times.sorted()[repeats / 2]
        // CPU time of the whole process: on a shared machine the wall time shows what cores were
        // free; CPU time shows the work the parallel compile adds (threads, contention).
        print("parallelism \(parallelism) " + summary(times)
              + String(format: "  (median %.3f s wall, %.3f s CPU)", medians[parallelism]!, cpuTimes.sorted()[repeats / 2]))
    }
    // Karp-Flatt: the serial fraction implied by the measured speedup on 2 threads.
    let speedup = medians[1]! / medians[2]!
    let serial = (1 / speedup - 0.5) / 0.5
    print(String(format: "speedup on 2 threads %.2f, implied serial fraction %.3f (decode alone %.3f of the sequential compile)",
                 speedup, serial, decode.sorted()[repeats / 2] / medians[1]!))
    exit(0)
}

if tiersMode {
    var logRatio = 0.0, count = 0.0
    print("kernel      baseline-ms  optimized-ms  ratio  functions(optimized/all)")
    for (name, n) in sizes {
        guard let data = FileManager.default.contents(atPath: "\(directory)/\(name).wasm") else { continue }
        let bytes = [UInt8](data)
        let line = LargeStack.run { () -> String in
            do {
                let (c0, base) = try time(bytes, n, CompileOptions(heapMode: heap))
                let (c1, opt) = try time(bytes, n, CompileOptions(heapMode: heap, tier: .optimized))
                guard c0 == c1 else { return "\(name) CHECKSUM MISMATCH baseline \(c0) optimized \(c1)" }
                let stats = try ModuleCompiler.compile(bytes: bytes, options: CompileOptions(heapMode: heap, tier: .optimized)).tierStats
                return String(format: "%-11@ %11.2f %13.2f %6.3f", name as NSString, Double(base) / 1e6, Double(opt) / 1e6,
                              Double(opt) / Double(base))
                    + "  \(stats.optimizedFunctions)/\(stats.optimizedFunctions + stats.baselineFunctions) \(Double(opt) / Double(base))"
            } catch {
                return "\(name) error \(error)"
            }
        }
        let parts = line.split(separator: " ")
        if let r = Double(parts[parts.count - 1]) {
            logRatio += log(r)
            count += 1
            print(parts.dropLast().joined(separator: " "))
        } else {
            print(line)
        }
    }
    print(String(format: "geomean optimized/baseline time: %.3f over %.0f kernels", exp(logRatio / count), count))
    exit(0)
}

if overheadMode {
    var logYield = 0.0, logFuel = 0.0, count = 0.0
    print("kernel      no-checks-ms  yield-checks-ms  ratio  fuel-ms  ratio")
    for (name, n) in sizes {
        guard let data = FileManager.default.contents(atPath: "\(directory)/\(name).wasm") else { continue }
        let bytes = [UInt8](data)
        let line = LargeStack.run { () -> String in
            do {
                let (c0, off) = try time(bytes, n, CompileOptions(heapMode: heap, yieldChecks: false))
                let (c1, on) = try time(bytes, n, CompileOptions(heapMode: heap, yieldChecks: true))
                let (c2, fuel) = try time(bytes, n, CompileOptions(heapMode: heap, yieldChecks: true, fuel: true))
                guard c0 == c1, c1 == c2 else { return "\(name) checksum mismatch" }
                return String(format: "%-11@ %12.2f %16.2f %6.3f %8.2f %6.3f", name as NSString, Double(off) / 1e6, Double(on) / 1e6,
                              Double(on) / Double(off), Double(fuel) / 1e6, Double(fuel) / Double(off))
                    + " \(Double(on) / Double(off)) \(Double(fuel) / Double(off))"
            } catch {
                return "\(name) error \(error)"
            }
        }
        let parts = line.split(separator: " ")
        if let f = Double(parts[parts.count - 1]), let y = Double(parts[parts.count - 2]) {
            logYield += log(y)
            logFuel += log(f)
            count += 1
            print(parts.dropLast(2).joined(separator: " "))
        } else {
            print(line)
        }
    }
    print(String(format: "geomean: yield checks %.3f, fuel %.3f (time with / time without)", exp(logYield / count), exp(logFuel / count)))
    exit(0)
}

for (name, n) in sizes {
    let path = "\(directory)/\(name).wasm"
    guard let data = FileManager.default.contents(atPath: path) else {
        print("\(name) missing")
        continue
    }
    let line = LargeStack.run { () -> String in
        do {
            let compiled = try ModuleCompiler.compile(bytes: [UInt8](data), options: CompileOptions(heapMode: heap, tier: tier))
            let store = Store(heapMode: heap)
            let instance = try store.instantiate(compiled) { _, _ in nil }
            var best = UInt64.max
            var checksum: UInt32 = 0
            for _ in 0..<repeats {
                let start = now()
                let result = try instance.invoke("run", [.i32(n)])
                best = min(best, now() - start)
                if case .i32(let v) = result[0] { checksum = v }
            }
            return "\(name) \(checksum) \(best)"
        } catch {
            return "\(name) error \(error)"
        }
    }
    print(line)
}

// Compile throughput: the largest module we have, compiled in one thread.
let large = "Bench/out/large.wasm"
if let data = FileManager.default.contents(atPath: large) {
    let bytes = [UInt8](data)
    var best = Double.infinity
    var codeSize = 0
    for _ in 0..<3 {
        let start = now()
        let compiled = try ModuleCompiler.compile(bytes: bytes, heapMode: heap)
        best = min(best, Double(now() - start) / 1e9)
        codeSize = compiled.code.count
    }
    print(String(format: "compile %@ %.1f MB/s (%d bytes of wasm -> %d bytes of x86-64, best %.3f s)",
                 large, Double(bytes.count) / 1e6 / best, bytes.count, codeSize, best))
}
