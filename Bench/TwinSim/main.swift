// A many-core run of the scheduling policy in the deterministic twin: WORKERS virtual workers,
// CALLS calls arriving at a steady rate (90% short, 10% long), every one a real instance running
// real guest code, time measured in fuel (1 unit = 1 virtual ns). Reports steals, queue lengths
// and latency percentiles in virtual time, with stealing on and off (same seed, same arrivals).
//
// Usage: swift build -c release --product TwinSim && .build/release/TwinSim [WORKERS] [CALLS] [LOAD%]
import Compiler
import Foundation
import Runtime
import RuntimeABI
import Scheduler
import WasmText

let arguments = CommandLine.arguments
let workers = arguments.count > 1 ? Int(arguments[1]) ?? 64 : 64
let calls = arguments.count > 2 ? Int(arguments[2]) ?? 1_000_000 : 1_000_000
let load = arguments.count > 3 ? Double(arguments[3]) ?? 80 : 80

let wat = """
    (module
      (func (export "count") (param $n i64) (result i64) (local $i i64)
        (loop $again local.get $i i64.const 1 i64.add local.tee $i local.get $n i64.lt_u br_if $again)
        local.get $i))
    """
let module = try LoadedModule(try ModuleCompiler.compile(bytes: try TextFormat.wat2wasm(wat), options: CompileOptions(heapMode: .bounded, fuel: true)))
let short: UInt64 = 200
let long: UInt64 = 20_000
// Work per call in fuel units (measured below from the first run's slices, printed); the
// arrival interval puts the workers at LOAD% on average.
let meanWork = 0.9 * Double(short) + 0.1 * Double(long)
let interval = UInt64(max(1, meanWork / (Double(workers) * load / 100)))

func simulate(stealing: Bool) throws {
    let twin = try DeterministicScheduler(slots: 20_000, sliceFuel: 10_000, memoryPages: 1, workers: workers, seed: 7,
                                          stealing: stealing)
    var latencies: [UInt64] = []
    latencies.reserveCapacity(calls)
    var pending: [DeterministicScheduler.Handle] = []
    var queueSamples = 0
    var queueTotal = 0
    var queueMax = 0
    var mismatches = 0
    var random = SchedulingPolicy.Random(seed: 99)
    let started = Date()
    var submitted = 0
    var steps = 0
    while submitted < calls || twin.nextEventTime != nil {
        let arrival = UInt64(submitted) * interval
        if submitted < calls, twin.nextEventTime.map({ arrival <= $0 }) ?? true {
            twin.advance(to: arrival)
            let n = random.next() % 10 == 0 ? long : short
            let handle = twin.submit(module, entry: "count", arguments: [.i64(n)])
            pending.append(handle)
            submitted += 1
            continue
        }
        twin.step()
        steps += 1
        if steps % 64 == 0 {
            let lengths = twin.queueLengths
            queueSamples += lengths.count
            queueTotal += lengths.reduce(0, +)
            queueMax = max(queueMax, lengths.max() ?? 0)
        }
        if pending.count > 50_000 {  // collect finished ones so memory stays flat
            pending.removeAll { handle in
                guard let latency = handle.latency else { return false }
                latencies.append(latency)
                if case .success(let values)? = handle.result, values.count == 1 {} else { mismatches += 1 }
                return true
            }
        }
    }
    for handle in pending {
        if let latency = handle.latency { latencies.append(latency) }
        if case .success(let values)? = handle.result, values.count == 1 {} else { mismatches += 1 }
    }
    latencies.sort()
    func p(_ q: Double) -> UInt64 { latencies[min(latencies.count - 1, Int(Double(latencies.count) * q))] }
    let stats = twin.workerStatistics
    let slices = stats.map(\.slices)
    print(String(format: "stealing %@: %d calls on %d workers in %.1f s real, %.2f ms virtual", stealing ? "on " : "off", latencies.count,
                 workers, Date().timeIntervalSince(started), Double(twin.now) / 1e6))
    print("  steals \(stats.reduce(0) { $0 + $1.steals }), calls stolen \(stats.reduce(0) { $0 + $1.stolen }); slices per worker min \(slices.min()!) max \(slices.max()!)")
    print(String(format: "  queue length per worker: mean %.2f, max %d (longest any worker saw: %d)",
                 Double(queueTotal) / Double(max(1, queueSamples)), queueMax, stats.map(\.longestQueue).max()!))
    print("  latency (virtual ns): p50 \(p(0.5)), p90 \(p(0.9)), p99 \(p(0.99)), p99.9 \(p(0.999)), max \(latencies.last!); failures \(mismatches)")
}

print("twin: \(workers) virtual workers, \(calls) calls (90% count(\(short)), 10% count(\(long))), one every \(interval) virtual ns (~\(Int(load))% load)")
try simulate(stealing: true)
try simulate(stealing: false)
