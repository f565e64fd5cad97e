// Fairness under load: 10,000 CPU-bound instances that never finish on their own, plus a stream of
// short calls; reports the short calls' latency (HdrHistogram) and that the CPU-bound ones kept
// running. Release build: `swift build -c release --product SchedulerBench`.
//
// Usage: SchedulerBench [cpuBound] [shortCalls] [intervalMs]
import Compiler
import Foundation
import Histogram
import Logging
import Runtime
import RuntimeABI
import Scheduler
import WasmText

let arguments = CommandLine.arguments
let cpuBound = arguments.count > 1 ? Int(arguments[1]) ?? 10_000 : 10_000
let shortCalls = arguments.count > 2 ? Int(arguments[2]) ?? 500 : 500
let interval = arguments.count > 3 ? Int(arguments[3]) ?? 5 : 5

let wat = """
    (module
      (func (export "spin") (loop (br 0)))
      (func (export "count") (param $n i64) (result i64) (local $i i64)
        (loop $again local.get $i i64.const 1 i64.add local.tee $i local.get $n i64.lt_u br_if $again)
        local.get $i))
    """
let module = try LoadedModule(try ModuleCompiler.compile(bytes: try TextFormat.wat2wasm(wat), heapMode: .bounded))
var logger = Logger(label: "bench")
logger.logLevel = .warning
var configuration = SchedulerConfiguration(slots: cpuBound + shortCalls + 16, memoryPages: 1, timeSlice: .milliseconds(2))
configuration.guardPages = .auto  // fairness, not guards: 10,000+ slots may not fit the default vm.max_map_count
let scheduler = try Scheduler(configuration, logger: logger)
let tickets = (0..<cpuBound).map { _ in scheduler.submit(module, entry: "spin") { _ in } }
// Steady state: every CPU-bound instance has had its first slice (new calls go first, so until
// then they are all "new" and a short call would wait behind them: see Docs/BENCHMARKS.md).
let warmUp = DispatchTime.now().uptimeNanoseconds
while scheduler.statistics.yields < 2 * cpuBound { Thread.sleep(forTimeInterval: 0.05) }  // 1.25x drains the new-call level
print(String(format: "warm-up: %.1f s until all %d CPU-bound instances had a slice", Double(DispatchTime.now().uptimeNanoseconds - warmUp) / 1e9, cpuBound))
let yieldsBefore = scheduler.statistics.yields

final class Latencies: @unchecked Sendable {
    let lock = NSLock()
    var histogram = Histogram<UInt64>(highestTrackableValue: 600_000_000_000, numberOfSignificantValueDigits: .three)
    var done = 0
}
let latencies = Latencies()
let finished = DispatchSemaphore(value: 0)
let start = DispatchTime.now().uptimeNanoseconds
for _ in 0..<shortCalls {
    let submitted = DispatchTime.now().uptimeNanoseconds
    scheduler.submit(module, entry: "count", arguments: [.i64(10_000)]) { result in
        let latency = DispatchTime.now().uptimeNanoseconds - submitted
        latencies.lock.withLock {
            if case .success = result { latencies.histogram.record(latency) }
            latencies.done += 1
            if latencies.done == shortCalls { finished.signal() }
        }
    }
    usleep(UInt32(interval * 1000))
}
finished.wait()
let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
let yields = scheduler.statistics.yields - yieldsBefore
for t in tickets { scheduler.cancel(t) }
latencies.lock.withLock {
    let h = latencies.histogram
    print("fairness: \(cpuBound) CPU-bound instances, \(shortCalls) short calls every \(interval) ms, \(ProcessInfo.processInfo.activeProcessorCount) threads, 2 ms slices")
    print(String(format: "short calls: p50 %.3f ms, p99 %.3f ms, max %.3f ms", Double(h.valueAtPercentile(50)) / 1e6,
                 Double(h.valueAtPercentile(99)) / 1e6, Double(h.max) / 1e6))
    print(String(format: "CPU-bound instances meanwhile: %d slices in %.1f s (%.0f per second), so none starved of the CPU",
                 yields, elapsed, Double(yields) / elapsed))
}
scheduler.shutdown()

// Why the run queue sits behind a lock rather than in an actor: the cost of one protected update,
// from outside the actor (as a worker thread finishing a slice would be), each way.
actor QueueActor {
    var count = 0
    func bump() { count += 1 }
}
final class LockedCounter: @unchecked Sendable {
    let lock = NSLock()
    var count = 0
    func bump() { lock.withLock { count += 1 } }
}
let updates = 1_000_000
let queueActor = QueueActor()
let actorStart = DispatchTime.now().uptimeNanoseconds
let actorDone = DispatchSemaphore(value: 0)
Task.detached {
    for _ in 0..<updates { await queueActor.bump() }
    actorDone.signal()
}
actorDone.wait()
let actorNs = Double(DispatchTime.now().uptimeNanoseconds - actorStart) / Double(updates)
let locked = LockedCounter()
let lockStart = DispatchTime.now().uptimeNanoseconds
for _ in 0..<updates { locked.bump() }
let lockNs = Double(DispatchTime.now().uptimeNanoseconds - lockStart) / Double(updates)
print(String(format: "one protected queue update: actor (awaited from a task) %.1f ns, lock %.1f ns", actorNs, lockNs))
