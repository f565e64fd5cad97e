// The scheduler's hot path, park + unpark + enqueue, per operation: INSTANCES instances each call
// an async host function ROUNDS times whose completion comes from the worker's io_uring (a no-op),
// so every call parks the instance, reaps the completion, takes the instance off the parked set,
// queues it and resumes it on a worker.
// Run with 2 workers (the cores of this machine) and oversubscribed with 8, 16 and 32: the cost of
// contention on whatever the workers share (today: one lock). Issue 16's "before" figure.
//
// Usage: swift build -c release --product ParkBench && .build/release/ParkBench [INSTANCES] [ROUNDS]
import Compiler
import Foundation
import IOUring
import Logging
import Runtime
import RuntimeABI
import Scheduler
import WasmCore
import WasmText

let arguments = CommandLine.arguments
let instances = arguments.count > 1 ? Int(arguments[1]) ?? 1_000 : 1_000
let rounds = arguments.count > 2 ? Int(arguments[2]) ?? 1_000 : 1_000

let wat = """
    (module
      (import "env" "bounce" (func $bounce))
      (func (export "run") (param $n i32)
        (loop $again
          (call $bounce)
          (local.tee $n (i32.sub (local.get $n) (i32.const 1)))
          (br_if $again))))
    """
let module = try LoadedModule(try ModuleCompiler.compile(bytes: try TextFormat.wat2wasm(wat), heapMode: .bounded))
// A no-op on the worker's own io_uring: the instance parks; the worker reaps the completion
// between slices, which unparks and queues the instance — the path of every WASI I/O call.
// (A completion delivered inside the call would not park at all.)
let bounce = HostImport(module: "env", name: "bounce", function: Function(AsyncHostFunction(type: FuncType(params: [], results: [])) {
    _, _, completion in (Ring.current ?? Ring.shared).nop { _ in completion.resume(returning: []) }
}))
var logger = Logger(label: "bench")
logger.logLevel = .warning

print("park + unpark + enqueue: \(instances) instances x \(rounds) io_uring no-ops each, \(ProcessInfo.processInfo.activeProcessorCount) cores")
for threads in [2, 8, 16, 32] {
    var samples: [Double] = []
    for _ in 0..<3 {
        var configuration = SchedulerConfiguration(slots: instances, memoryPages: 1, threads: threads, hostFunctions: [bounce])
        configuration.guardPages = .auto
        let scheduler = try Scheduler(configuration, logger: logger)
        let done = DispatchSemaphore(value: 0)
        final class Count: @unchecked Sendable {
            let lock = NSLock()
            var left: Int
            var failures = 0
            init(_ n: Int) { left = n }
        }
        let count = Count(instances)
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<instances {
            scheduler.submit(module, entry: "run", arguments: [.i32(UInt32(rounds))]) { result in
                count.lock.withLock {
                    if case .failure = result { count.failures += 1 }
                    count.left -= 1
                    if count.left == 0 { done.signal() }
                }
            }
        }
        done.wait()
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start)
        scheduler.shutdown()
        precondition(count.failures == 0, "\(count.failures) calls failed")
        samples.append(elapsed / Double(instances * rounds))
    }
    samples.sort()
    print(String(format: "%2d workers: %7.0f ns per park+unpark+enqueue (min %.0f, max %.0f; %.2f M/s)",
                 threads, samples[1], samples[0], samples[2], 1e3 / samples[1]))
}
