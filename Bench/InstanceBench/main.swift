// Instantiation latency, slot reset cost, fiber switches and yield round trips, release build, one
// thread.
//
// Usage: InstanceBench [iterations]
// Instantiation: a fresh Store in a bounded Region, instantiate (timed), optionally one call on the
// slot's fiber stack (untimed), then drop the store: the slot is reset and returned to the region
// (timed as "reset"). Baseline in the same run: mmap + memcpy of the same data + munmap, the
// cheapest way to get a private copy of the memory image without a region.
import CShoal
import Compiler
import Foundation
import Glibc
import Histogram
import Runtime
import RuntimeABI
import WasmText

let iterations = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 20_000 : 20_000

func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

func report(_ name: String, _ h: Histogram<UInt64>, unit: String = "us", divisor: Double = 1000) {
    let median = Double(h.valueAtPercentile(50)) / divisor
    let p99 = Double(h.valueAtPercentile(99)) / divisor
    print(String(format: "%-52@ median %8.2f %@   p99 %8.2f %@", name as NSString, median, unit, p99, unit))
}

func module(pages: Int, dataBytes: Int, dataOffset: Int = 0) throws -> LoadedModule {
    var hex = ""
    for i in 0..<dataBytes { hex += String(format: "\\%02x", (i * 7) & 0xFF) }
    let wat = """
        (module (memory \(pages))
          (data (i32.const \(dataOffset)) "\(hex)")
          (func (export "peek") (param i32) (result i32) local.get 0 i32.load8_u))
        """
    return try LoadedModule(try ModuleCompiler.compile(bytes: try TextFormat.wat2wasm(wat), heapMode: .bounded))
}

func histogram() -> Histogram<UInt64> { Histogram<UInt64>(highestTrackableValue: 100_000_000_000, numberOfSignificantValueDigits: .three) }

/// Instantiates `loaded` `rounds` times in a 16-slot region (after `warmUp` untimed rounds, which
/// also warm the slots); with `call`, runs `peek(0)` on the slot's fiber stack before the reset.
func instantiation(_ name: String, _ loaded: LoadedModule, pages: Int, rounds: Int, warmUp: Int, call: Bool = false,
                   baselineBytes: Int? = nil, guardPages: GuardPages = .always) throws {
    let region = try Region(Region.Configuration(slotCount: 16, heapMode: .bounded, memoryPages: max(pages, 1), guardPages: guardPages))
    var instantiate = histogram(), reset = histogram(), baseline = histogram()
    let image = [UInt8](repeating: 0x5A, count: baselineBytes ?? 0)
    let bytes = pages * 65_536
    for i in 0..<(rounds + warmUp) {
        let t0 = now()
        var store: Store? = Store(region: region)
        var instance: Instance? = try store!.instantiate(loaded) { _, _ in nil }
        let t1 = now()
        if call, case .function(let peek)? = instance!.export("peek") {
            _ = try Execution(peek, arguments: [.i32(0)]).run()
        }
        instance = nil
        let t2 = now()
        store = nil  // releases the slot: reset
        let t3 = now()
        if i >= warmUp {
            instantiate.record(t1 - t0)
            reset.record(t3 - t2)
        }
        if let baselineBytes {
            let b0 = now()
            let memory = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)!
            image.withUnsafeBytes { memory.copyMemory(from: $0.baseAddress!, byteCount: baselineBytes) }
            let b1 = now()
            munmap(memory, bytes)
            if i >= warmUp { baseline.record(b1 - b0) }
        }
    }
    report("instantiate \(name) (Shoal, region)", instantiate)
    report("  reset of its slot on release", reset)
    if baselineBytes != nil { report("  baseline mmap+memcpy", baseline) }
}

try instantiation("1 page, 4 KiB data", try module(pages: 1, dataBytes: 4096), pages: 1, rounds: iterations, warmUp: 1_000,
                  baselineBytes: 4096)
try instantiation("1 page, 4 KiB data, one call on the fiber", try module(pages: 1, dataBytes: 4096), pages: 1, rounds: iterations,
                  warmUp: 1_000, call: true)
try instantiation("1 page, 4 KiB data, one call, no guard pages", try module(pages: 1, dataBytes: 4096), pages: 1, rounds: iterations,
                  warmUp: 1_000, call: true, guardPages: .never)
try instantiation("16 pages, 1 MiB data", try module(pages: 16, dataBytes: 1 << 20), pages: 16, rounds: iterations, warmUp: 1_000,
                  baselineBytes: 1 << 20)
// A hostile shape: 512 MiB of memory, one data byte at its very end (the image used to be dense).
try instantiation("8,192 pages, 1 data byte at the end", try module(pages: 8192, dataBytes: 1, dataOffset: 8192 * 65_536 - 1),
                  pages: 8192, rounds: 20, warmUp: 2)

// Guard pages: creating a 10,000-slot region (1 page of memory per slot), and the first
// instantiation in each of its fresh slots (all alive at once), with and without guards.
for guards in [GuardPages.never, .always] {
    let loaded = try module(pages: 1, dataBytes: 4096)
    let t0 = now()
    let region = try Region(Region.Configuration(slotCount: 10_000, heapMode: .bounded, memoryPages: 1, guardPages: guards))
    let created = now() - t0
    let mappings = MapBudget.currentMappings() ?? 0
    var first = histogram()
    var stores: [Store] = []
    stores.reserveCapacity(10_000)
    for _ in 0..<10_000 {
        let t1 = now()
        let store = Store(region: region)
        _ = try store.instantiate(loaded) { _, _ in nil }
        first.record(now() - t1)
        stores.append(store)
    }
    print(String(format: "region of 10,000 slots, guard pages %@: created in %.1f ms, %d mappings in the process",
                 guards == .never ? "off" : "on", Double(created) / 1e6, mappings))
    report("  first instantiation in a fresh slot", first)
    stores.removeAll()
}

// Fiber switch: a fiber that suspends as soon as it is resumed; one round trip is two switches.
final class PingPong: @unchecked Sendable {
    let fiber = UnsafeMutablePointer<shoal_fiber>.allocate(capacity: 1)
    let stack = UnsafeMutableRawPointer.allocate(byteCount: 64 * 1024, alignment: 16)
    init() {
        fiber.initialize(to: shoal_fiber())
        let state = UnsafeMutableRawPointer.allocate(byteCount: ExecutionStateLayout.size, alignment: 16)
        state.initializeMemory(as: UInt8.self, repeating: 0, count: ExecutionStateLayout.size)
        fiber.pointee.state = state
        fiber.pointee.fiber_sp = shoal_fiber_prepare(stack + 64 * 1024, { argument in
            let fiber = argument!.assumingMemoryBound(to: shoal_fiber.self)
            while true { shoal_fiber_suspend(fiber, UInt32(SHOAL_FIBER_YIELDED)) }
        }, UnsafeMutableRawPointer(fiber))
    }
}
let pingPong = PingPong()
var switches = Histogram<UInt64>(highestTrackableValue: 1_000_000_000, numberOfSignificantValueDigits: .three)
for _ in 0..<200 {
    let batch = 10_000
    let t0 = now()
    for _ in 0..<batch { shoal_fiber_resume(pingPong.fiber) }
    switches.record((now() - t0) / UInt64(2 * batch))
}
report("fiber switch (one direction)", switches, unit: "ns", divisor: 1)

// Yield round trip: requestYield + resume of a WebAssembly loop, which yields at its next header.
let spinModule = try ModuleCompiler.compile(bytes: try TextFormat.wat2wasm("(module (func (export \"spin\") (loop (br 0))))"),
                                            heapMode: .bounded)
let store = Store(heapMode: .bounded)
let spinner = try store.instantiate(spinModule) { _, _ in nil }
guard case .function(let spin)? = spinner.export("spin") else { fatalError() }
let execution = try Execution(spin, arguments: [])
var roundTrips = Histogram<UInt64>(highestTrackableValue: 1_000_000_000, numberOfSignificantValueDigits: .three)
execution.requestYield()
try execution.resume()  // starts, and yields at the first loop header
for _ in 0..<200 {
    let batch = 5_000
    let t0 = now()
    for _ in 0..<batch {
        execution.requestYield()
        try execution.resume()
    }
    roundTrips.record((now() - t0) / UInt64(batch))
}
report("yield + resume round trip (Execution API)", roundTrips, unit: "ns", divisor: 1)

// io_uring topology (issue 6: one shared ring with a completion thread, or a ring per thread):
// the round trip of an operation that completes at once (a no-op), measured both ways.
import IOUring
let ringOperations = 100_000
final class Handoff: @unchecked Sendable { let semaphore = DispatchSemaphore(value: 0) }
let handoff = Handoff()
let sharedStart = now()
for _ in 0..<ringOperations {
    Ring.shared.nop { _ in handoff.semaphore.signal() }
    handoff.semaphore.wait()
}
let sharedNs = Double(now() - sharedStart) / Double(ringOperations)
var error: Int32 = 0
let privateRing = shoal_ring_create(256, &error)!
let privateStart = now()
for i in 0..<ringOperations {
    _ = shoal_ring_nop(privateRing, UInt64(i))
    var tag: UInt64 = 0
    var result: Int32 = 0
    _ = shoal_ring_wait(privateRing, &tag, &result)
}
let privateNs = Double(now() - privateStart) / Double(ringOperations)
shoal_ring_destroy(privateRing)
// What the scheduler does now: a worker ring through the Swift API (callback registry, batched
// submission, drain), one operation at a time and in batches of 64 (many parked guests).
let workerRing = try Ring.worker()
final class Counter: @unchecked Sendable { var n = 0 }
let counter = Counter()
let workerStart = now()
for _ in 0..<ringOperations {
    workerRing.nop { _ in counter.n += 1 }
    while workerRing.drain() == 0 {}
}
let workerNs = Double(now() - workerStart) / Double(ringOperations)
let batchStart = now()
for _ in 0..<(ringOperations / 64) {
    for _ in 0..<64 { workerRing.nop { _ in counter.n += 1 } }
    var ran = 0
    while ran < 64 { ran += workerRing.drain() }
}
let batchNs = Double(now() - batchStart) / Double(ringOperations / 64 * 64)
workerRing.close()
print(String(format: "io_uring round trip: shared ring + completion thread %.0f ns, per-thread ring (submit and wait on one thread) %.0f ns",
             sharedNs, privateNs))
print(String(format: "io_uring worker ring (Swift API): %.0f ns one at a time, %.0f ns per operation in batches of 64", workerNs, batchNs))
