import Compiler
import Foundation
import IOUring
import Runtime
import RuntimeABI
import Scheduler
import Testing
import WasmCore
import WasmText

/// A guest that calls `env.wait` once, an async host function that parks on the calling worker's
/// io_uring for an hour (a timeout nobody expects to fire in a test).
let parkingModule = """
    (module
      (import "env" "wait" (func $wait))
      (func (export "park") (call $wait)))
    """

func parkForAnHour() -> HostImport {
    HostImport(module: "env", name: "wait", function: Function(AsyncHostFunction(type: FuncType(params: [], results: [])) {
        _, _, completion in
        _ = (Ring.current ?? Ring.shared).sleep(nanoseconds: 3_600_000_000_000) { _ in completion.resume(returning: []) }
    }))
}

/// Counts callbacks; `wait` polls (bounded) until `expected` arrived.
final class Tally: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [Result<[Value], any Error>] = []
    func add(_ r: Result<[Value], any Error>) { lock.withLock { results.append(r) } }
    var all: [Result<[Value], any Error>] { lock.withLock { results } }
    func wait(for expected: Int, seconds: Int = 30) async throws {
        for _ in 0..<(seconds * 200) where all.count < expected { try await Task.sleep(for: .milliseconds(5)) }
    }
}

@Suite("sharded scheduler")
struct ShardedSchedulerTests {
    @Test func anIdleWorkerStealsFromABusyOne() async throws {
        var configuration = SchedulerConfiguration(slots: 64, memoryPages: 1, threads: 2, timeSlice: .microseconds(200))
        configuration.placement = .firstWorker  // worker 1 gets work only by stealing
        let scheduler = try Scheduler(configuration)
        defer { scheduler.shutdown() }
        let module = try load()
        let results = try await withThrowingTaskGroup(of: (Int, [Value]).self) { group in
            for i in 0..<48 {
                group.addTask { (i, try await scheduler.run(module, entry: "count", arguments: [.i64(UInt64(2_000_000 + i))])) }
            }
            var all: [Int: [Value]] = [:]
            for try await (i, values) in group { all[i] = values }
            return all
        }
        for (i, values) in results { #expect(values == [.i64(UInt64(2_000_000 + i))]) }
        let stats = scheduler.statistics
        #expect(stats.steals > 0)
        #expect(stats.stolen >= stats.steals)
        let workers = await scheduler.workerSnapshots()
        #expect(workers.count == 2)
        #expect(workers[1].completed > 0, "worker 1 ran nothing: \(workers)")
        #expect(workers[1].steals > 0)  // (worker 0 may steal back at the end, when worker 1 holds the last calls)
        #expect(workers.allSatisfy { $0.queued == 0 && $0.parked == 0 })
    }

    @Test func aParkedInstanceIsCancelledFromAnotherThreadThroughItsWorker() async throws {
        let configuration = SchedulerConfiguration(slots: 8, memoryPages: 1, threads: 2, hostFunctions: [parkForAnHour()])
        let scheduler = try Scheduler(configuration)
        defer { scheduler.shutdown() }
        let module = try LoadedModule(try ModuleCompiler.compile(bytes: try TextFormat.wat2wasm(parkingModule), heapMode: .bounded))
        let tally = Tally()
        let tickets = (0..<4).map { _ in scheduler.submit(module, entry: "park") { tally.add($0) } }
        for _ in 0..<2_000 where scheduler.counts.parked < 4 { try await Task.sleep(for: .milliseconds(5)) }
        #expect(scheduler.counts.parked == 4)
        // This task's thread is no worker's: each cancellation reaches the instance's own worker
        // through its inbox, which retires it (its ring's timeout stays armed, harmlessly).
        for ticket in tickets { scheduler.cancel(ticket) }
        try await tally.wait(for: 4)
        #expect(tally.all.count == 4)
        for result in tally.all {
            #expect(throws: CancellationError.self) { try result.get() }
        }
        for _ in 0..<2_000 where scheduler.counts.parked > 0 || scheduler.counts.live > 0 { try await Task.sleep(for: .milliseconds(5)) }
        #expect(scheduler.counts.parked == 0)
        #expect(scheduler.counts.live == 0)
        #expect(scheduler.region.freeCount == 8)
        // The workers still serve calls afterwards.
        #expect(try await scheduler.run(try load(), entry: "count", arguments: [.i64(7)]) == [.i64(7)])
    }

    @Test func shutdownWithWorkInFlightAnswersEveryCall() async throws {
        var configuration = SchedulerConfiguration(slots: 24, memoryPages: 1, threads: 2, timeSlice: .microseconds(200),
                                                   admission: .queue(limit: 100), hostFunctions: [parkForAnHour()])
        configuration.guardPages = .never
        let scheduler = try Scheduler(configuration)
        let spinning = try load()
        let parking = try LoadedModule(try ModuleCompiler.compile(bytes: try TextFormat.wat2wasm(parkingModule), heapMode: .bounded))
        let tally = Tally()
        for _ in 0..<12 { scheduler.submit(spinning, entry: "spin") { tally.add($0) } }  // running and queued
        for _ in 0..<12 { scheduler.submit(parking, entry: "park") { tally.add($0) } }  // parked
        for _ in 0..<10 { scheduler.submit(spinning, entry: "spin") { tally.add($0) } }  // waiting for a slot
        for _ in 0..<2_000 where scheduler.counts.parked < 12 { try await Task.sleep(for: .milliseconds(5)) }
        #expect(scheduler.counts.waiting == 10)
        scheduler.shutdown()
        try await tally.wait(for: 34)
        #expect(tally.all.count == 34)
        for result in tally.all {
            #expect(throws: SchedulerError.shutDown) { try result.get() }
        }
        for _ in 0..<2_000 where scheduler.region.freeCount < 24 { try await Task.sleep(for: .milliseconds(5)) }
        #expect(scheduler.region.freeCount == 24)  // every slot reset and returned
        #expect(scheduler.counts.live == 0)
        // After shutdown, new calls are refused at once.
        await #expect(throws: SchedulerError.shutDown) { try await scheduler.run(spinning, entry: "spin") }
    }
}

@Suite("deterministic twin, many workers")
struct ManyWorkerTwinTests {
    @Test func idleVirtualWorkersStealAndRunsAreReproducible() throws {
        let module = try load(fuel: true)
        func run() throws -> (latencies: [UInt64], stats: [DeterministicScheduler.WorkerStatistics], results: [[Value]?]) {
            let twin = try DeterministicScheduler(slots: 256, sliceFuel: 1_000, memoryPages: 1, workers: 8, seed: 42)
            var handles: [DeterministicScheduler.Handle] = []
            // Uneven calls: long ones and short ones mixed; placement balances counts, not work,
            // so workers that drew short calls run dry and steal.
            for i in 0..<200 {
                handles.append(twin.submit(module, entry: "count", arguments: [.i64(i % 5 == 0 ? 40_000 : 300)]))
            }
            twin.runUntilIdle()
            return (handles.compactMap(\.latency), twin.workerStatistics, handles.map { try? $0.result?.get() })
        }
        let first = try run()
        #expect(first.latencies.count == 200)
        for (i, values) in first.results.enumerated() { #expect(values == [.i64(i % 5 == 0 ? 40_000 : 300)]) }
        #expect(first.stats.reduce(0) { $0 + $1.steals } > 0)
        #expect(first.stats.allSatisfy { $0.slices > 0 })  // every worker ran something
        let second = try run()
        #expect(second.latencies == first.latencies)
        #expect(second.stats.map(\.steals) == first.stats.map(\.steals))
    }
}

@Suite("deterministic twin, fairness on many workers")
struct ManyWorkerFairnessTests {
    @Test func shortCallsAreNotStarvedByLongOnesOnFourWorkers() throws {
        let module = try load(fuel: true)
        let twin = try DeterministicScheduler(slots: 600, sliceFuel: 1_000, memoryPages: 1, workers: 4, seed: 3)
        for _ in 0..<400 { twin.submit(module, entry: "spin") }  // CPU-bound, forever
        twin.runUntilIdle(maxSteps: 1_200)  // every spinner has had its first slice
        var short: [DeterministicScheduler.Handle] = []
        for _ in 0..<100 {
            short.append(twin.submit(module, entry: "count", arguments: [.i64(500)]))
            twin.runUntilIdle(maxSteps: 40)
        }
        for h in short { #expect(try h.result?.get() == [.i64(500)]) }
        let latencies = short.compactMap(\.latency).sorted()
        #expect(latencies.count == 100)
        // A new call waits at most for the earliest slice end among the workers (it is placed on
        // the worker whose slice began first, or taken by whichever worker ends its slice first),
        // then runs: within two slices of 1,001 units.
        #expect(latencies.last! <= 2 * 1_001, "p100 \(latencies.last!), p50 \(latencies[latencies.count / 2])")
    }
}
