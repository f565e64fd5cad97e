import Compiler
import Foundation
import Runtime
import RuntimeABI
import Scheduler
import Testing
import WasmCore
import WasmText

let programs = """
    (module
      (memory 1 8)
      (func (export "count") (param $n i64) (result i64) (local $i i64)
        (loop $again
          local.get $i i64.const 1 i64.add local.set $i
          local.get $i local.get $n i64.lt_u
          br_if $again)
        local.get $i)
      (func (export "spin") (loop (br 0)))
      (func (export "grow") (param i32) (result i32) local.get 0 memory.grow)
      (func (export "boom") unreachable))
    """

func load(fuel: Bool = false) throws -> LoadedModule {
    try LoadedModule(try ModuleCompiler.compile(bytes: try TextFormat.wat2wasm(programs),
                                                options: CompileOptions(heapMode: .bounded, fuel: fuel)))
}

@Suite("scheduler on threads")
struct SchedulerTests {
    @Test func tenThousandYieldingInstancesFinishWithCorrectResults() async throws {
        let scheduler = try Scheduler(SchedulerConfiguration(slots: 2_000, memoryPages: 1, stackSize: 256 * 1024,
                                                             timeSlice: .microseconds(100)))
        defer { scheduler.shutdown() }
        let module = try load()
        let results = try await withThrowingTaskGroup(of: (Int, [Value]).self) { group in
            for i in 0..<10_000 {
                group.addTask { (i, try await scheduler.run(module, entry: "count", arguments: [.i64(UInt64(20_000 + i))])) }
            }
            var all: [Int: [Value]] = [:]
            for try await (i, values) in group { all[i] = values }
            return all
        }
        #expect(results.count == 10_000)
        for (i, values) in results { #expect(values == [.i64(UInt64(20_000 + i))]) }
        #expect(scheduler.counts.live == 0)
        #expect(scheduler.statistics.yields > 0)
    }

    @Test func cancellationStopsARunningInstanceAndReclaimsItsSlot() async throws {
        let scheduler = try Scheduler(SchedulerConfiguration(slots: 4, memoryPages: 1))
        defer { scheduler.shutdown() }
        let module = try load()
        let task = Task { try await scheduler.run(module, entry: "spin") }
        try await Task.sleep(for: .milliseconds(30))
        #expect(scheduler.counts.live == 1)
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        for _ in 0..<100 where scheduler.counts.live > 0 { try await Task.sleep(for: .milliseconds(5)) }
        #expect(scheduler.counts.live == 0)
    }

    /// A call running alone keeps its worker when its slice is used up: ending the slice would
    /// only requeue it and run it again. At 200 µs slices this run lasts hundreds of slices, and
    /// ended each of them before; the bound leaves room for a tick that sees a passing message
    /// of the test's own task in the worker's inbox.
    @Test func aLoneCallKeepsItsWorkerPastItsSlice() async throws {
        let scheduler = try Scheduler(SchedulerConfiguration(slots: 4, memoryPages: 1, threads: 1, timeSlice: .microseconds(200)))
        defer { scheduler.shutdown() }
        #expect(try await scheduler.run(try load(), entry: "count", arguments: [.i64(100_000_000)]) == [.i64(100_000_000)])
        #expect(scheduler.statistics.yields < 10)
    }

    /// ... and gives it up at the next tick once another call arrives: on one worker thread, a
    /// short call submitted while an endless loop runs alone still finishes.
    @Test func aLoneCallsSliceEndsWhenAnotherArrives() async throws {
        let scheduler = try Scheduler(SchedulerConfiguration(slots: 4, memoryPages: 1, threads: 1, timeSlice: .microseconds(500)))
        defer { scheduler.shutdown() }
        let module = try load()
        let spinner = scheduler.submit(module, entry: "spin") { _ in }
        try await Task.sleep(for: .milliseconds(20))
        #expect(try await scheduler.run(module, entry: "count", arguments: [.i64(1_000)]) == [.i64(1_000)])
        #expect(scheduler.statistics.yields >= 1)
        scheduler.cancel(spinner)
    }

    @Test func admissionRefusesOrQueues() async throws {
        let module = try load()
        let refusing = try Scheduler(SchedulerConfiguration(slots: 2, memoryPages: 1, admission: .refuse))
        defer { refusing.shutdown() }
        let spinners = (0..<2).map { _ in refusing.submit(module, entry: "spin") { _ in } }
        do {
            _ = try await refusing.run(module, entry: "count", arguments: [.i64(1)])
            Issue.record("admitted past the slots")
        } catch let error as SchedulerError {
            #expect(error == .overloaded("all 2 slots busy"))
        }
        for s in spinners { refusing.cancel(s) }

        let queueing = try Scheduler(SchedulerConfiguration(slots: 1, memoryPages: 1, admission: .queue(limit: 1)))
        defer { queueing.shutdown() }
        let spinner = queueing.submit(module, entry: "spin") { _ in }
        async let queued = queueing.run(module, entry: "count", arguments: [.i64(5)])
        try await Task.sleep(for: .milliseconds(20))
        #expect(queueing.counts.waiting == 1)
        await #expect(throws: SchedulerError.self) { try await queueing.run(module, entry: "count", arguments: [.i64(1)]) }
        queueing.cancel(spinner)
        #expect(try await queued == [.i64(5)])
    }

    @Test func limitsOnTimeFuelAndMemory() async throws {
        let scheduler = try Scheduler(SchedulerConfiguration(slots: 8, memoryPages: 8))
        defer { scheduler.shutdown() }
        await #expect(throws: SchedulerError.timeLimitExceeded) {
            try await scheduler.run(try load(), entry: "spin", limits: InstanceLimits(wallTime: .milliseconds(50)))
        }
        do {
            _ = try await scheduler.run(try load(fuel: true), entry: "spin", limits: InstanceLimits(fuel: 10_000))
            Issue.record("no trap")
        } catch let trap as Trap {
            #expect(trap.code == .outOfFuel)
        }
        #expect(try await scheduler.run(try load(), entry: "grow", arguments: [.i32(1)], limits: InstanceLimits(memoryPages: 2)) == [.i32(1)])
        #expect(try await scheduler.run(try load(), entry: "grow", arguments: [.i32(2)], limits: InstanceLimits(memoryPages: 2))
            == [.i32(UInt32.max)])
        await #expect(throws: Trap.self) { try await scheduler.run(try load(), entry: "boom") }
        #expect(scheduler.statistics.traps >= 2)
    }
}

@Suite("deterministic scheduler twin")
struct DeterministicSchedulerTests {
    @Test func shortCallsAreNotStarvedByLongOnes() throws {
        let twin = try DeterministicScheduler(slots: 200, sliceFuel: 1_000)
        let module = try load(fuel: true)
        for _ in 0..<100 { twin.submit(module, entry: "spin") }  // CPU-bound, forever
        // Steady state: every spinner has had its first slice (until then they are new calls too).
        twin.runUntilIdle(maxSteps: 300)
        var short: [DeterministicScheduler.Handle] = []
        for _ in 0..<50 {
            short.append(twin.submit(module, entry: "count", arguments: [.i64(500)]))
            twin.runUntilIdle(maxSteps: 150)
        }
        let latencies = short.compactMap(\.latency).sorted()
        #expect(latencies.count == 50)
        for h in short { #expect(try h.result?.get() == [.i64(500)]) }
        // A call that fits in one slice runs before the CPU-bound ones (new calls go first), at most
        // one of their slices (1,001 units) after it arrives.
        let bound: UInt64 = 2 * 1_001
        #expect(latencies.last! <= bound, "p100 \(latencies.last!) > \(bound)")
        // ... and the CPU-bound ones are not starved either: all 100 kept running.
        #expect(twin.yields > 100 * 50)
        // Identical runs give identical virtual times.
        let again = try DeterministicScheduler(slots: 200, sliceFuel: 1_000)
        for _ in 0..<100 { again.submit(module, entry: "spin") }
        again.runUntilIdle(maxSteps: 300)
        var second: [DeterministicScheduler.Handle] = []
        for _ in 0..<50 {
            second.append(again.submit(module, entry: "count", arguments: [.i64(500)]))
            again.runUntilIdle(maxSteps: 150)
        }
        #expect(second.compactMap(\.latency) == short.compactMap(\.latency))
    }

    @Test func admissionCancellationAndLimitsInVirtualTime() throws {
        let twin = try DeterministicScheduler(slots: 2, admission: .queue(limit: 1), sliceFuel: 500)
        let module = try load(fuel: true)
        let a = twin.submit(module, entry: "spin", limits: InstanceLimits(wallTime: .microseconds(5)))
        let b = twin.submit(module, entry: "spin", limits: InstanceLimits(fuel: 2_000))
        let c = twin.submit(module, entry: "count", arguments: [.i64(10)])
        let d = twin.submit(module, entry: "count", arguments: [.i64(10)])
        #expect(twin.waitingCount == 1)
        #expect(throws: SchedulerError.self) { try d.result?.get() }
        twin.runUntilIdle(maxSteps: 1_000)
        #expect(throws: SchedulerError.timeLimitExceeded) { try a.result?.get() }
        #expect(throws: Trap.self) { try b.result?.get() }
        #expect(try c.result?.get() == [.i64(10)])
        #expect(twin.live == 0)
        let e = twin.submit(module, entry: "spin")
        twin.runUntilIdle(maxSteps: 3)
        twin.cancel(e)
        twin.runUntilIdle(maxSteps: 3)
        #expect(throws: CancellationError.self) { try e.result?.get() }
        #expect(twin.live == 0)
    }
}
