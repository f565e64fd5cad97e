import Compiler
import Foundation
import Runtime
import RuntimeABI
import Testing
import WasmCore
import WasmText

/// Counts to `n` in a global, one loop iteration at a time, and returns the count.
let counter = """
    (module
      (global $count (mut i64) (i64.const 0))
      (func (export "count") (param $n i64) (result i64)
        (loop $again
          global.get $count i64.const 1 i64.add global.set $count
          global.get $count local.get $n i64.lt_u
          br_if $again)
        global.get $count)
      (func (export "spin") (loop (br 0))))
    """

func export(_ instance: Instance, _ name: String) throws -> Function {
    guard case .function(let f)? = instance.export(name) else { throw RuntimeError("no export \(name)") }
    return f
}

@Suite("fibers, yields and fuel")
struct ExecutionTests {
    @Test(arguments: HeapMode.allCases)
    func anInfiniteLoopIsStoppedByATimeSliceAndResumed(heapMode: HeapMode) throws {
        let store = Store(heapMode: heapMode)
        let instance = try store.instantiate(try compile(counter, heapMode)) { _, _ in nil }
        let execution = try Execution(try export(instance, "spin"), arguments: [])
        for _ in 0..<3 {
            let timer = Thread { usleep(20_000); execution.requestYield() }
            timer.start()
            guard case .yielded(.requested) = try execution.resume() else {
                Issue.record("expected a yield, got \(execution.state)")
                return
            }
        }
    }

    @Test func yieldsResumeExactlyWhereTheyStopped() throws {
        let store = Store(heapMode: .guarded)
        let instance = try store.instantiate(try compile(counter, .guarded)) { _, _ in nil }
        let execution = try Execution(try export(instance, "count"), arguments: [.i64(50_000_000)])
        // Each of the first five slices is asked to yield before it starts (so it stops at its
        // first loop header, whatever the machine's speed); the sixth runs to the end.
        var yields = 0
        while !execution.state.isFinished {
            if yields < 5 { execution.requestYield() }
            if case .yielded = try execution.resume() { yields += 1 }
        }
        guard case .exited(let values) = execution.state else { Issue.record("\(execution.state)"); return }
        #expect(values == [.i64(50_000_000)])
        #expect(yields == 5)
    }

    @Test func fuelStopsALoopAndCanBeToppedUp() throws {
        let compiled = try ModuleCompiler.compile(bytes: try TextFormat.wat2wasm(counter), options: CompileOptions(heapMode: .guarded, fuel: true))
        let store = Store(heapMode: .guarded)
        store.fuelPolicy = .yield
        let instance = try store.instantiate(compiled) { _, _ in nil }
        store.setFuel(1_000)
        let execution = try Execution(try export(instance, "count"), arguments: [.i64(10_000)])
        var slices = 0
        while !execution.state.isFinished {
            if case .yielded(.outOfFuel) = try execution.resume() {
                slices += 1
                store.setFuel(1_000)
            }
        }
        guard case .exited(let values) = execution.state else { Issue.record("\(execution.state)"); return }
        #expect(values == [.i64(10_000)])
        // One unit per function entry and per loop iteration: 10,001 units in slices of 1,001.
        #expect(slices == 9)

        // Under the trap policy the same loop traps, deterministically, on or off a fiber.
        let trapping = Store(heapMode: .guarded)
        let spinner = try trapping.instantiate(compiled) { _, _ in nil }
        trapping.setFuel(500)
        let spin = try Execution(try export(spinner, "spin"), arguments: [])
        guard case .trapped(let trap) = try spin.resume() else { Issue.record("\(spin.state)"); return }
        #expect(trap.code == .outOfFuel)
        #expect(trap.message == "all fuel consumed")
        #expect(trapping.fuel(of: spinner) == -1)
        trapping.setFuel(500)
        #expect(throws: Trap.self) { try onLargeStack { _ = try spinner.invoke("spin", []) } }
    }

    @Test func aThousandInstancesOnOneThreadTakeTurns() throws {
        let compiled = try ModuleCompiler.compile(bytes: try TextFormat.wat2wasm(counter), options: CompileOptions(heapMode: .guarded, fuel: true))
        let loaded = try LoadedModule(compiled)
        var executions: [(Store, Execution, UInt64)] = []
        for i in 0..<1_000 {
            let store = Store(heapMode: .guarded)
            store.fuelPolicy = .yield
            let instance = try store.instantiate(loaded) { _, _ in nil }
            store.setFuel(100)
            let target = UInt64(500 + i)
            executions.append((store, try Execution(try export(instance, "count"), arguments: [.i64(target)]), target))
        }
        var rounds = 0
        var running = executions.count
        while running > 0 {
            rounds += 1
            running = 0
            for (store, execution, _) in executions where !execution.state.isFinished {
                if case .yielded = try execution.resume() {
                    store.setFuel(100)
                    running += 1
                }
            }
        }
        for (_, execution, target) in executions {
            guard case .exited(let values) = execution.state else { Issue.record("\(execution.state)"); continue }
            #expect(values == [.i64(target)])
        }
        #expect(rounds >= 5)
    }

    @Test func aHostFunctionParksAndAnotherThreadResumes() throws {
        let compiled = try compile(
            """
            (module
              (import "host" "fetch" (func $fetch (param i32) (result i32)))
              (func (export "twice") (param i32) (result i32)
                local.get 0 call $fetch call $fetch))
            """, .guarded)
        let fetch = Function(AsyncHostFunction(type: FuncType(params: [.i32], results: [.i32])) { _, args, completion in
            guard case .i32(let x) = args[0] else { return }
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(5)) {
                completion.resume(returning: [.i32(x * 10)])
            }
        })
        let store = Store(heapMode: .guarded)
        let instance = try store.instantiate(compiled) { _, _ in .function(fetch) }
        let execution = try Execution(try export(instance, "twice"), arguments: [.i32(3)])
        let parked = try execution.resume()
        guard case .parked = parked else { Issue.record("\(parked)"); return }
        #expect(throws: ExecutionError.self) { try execution.resume() }  // the completion has not arrived
        // Wait for each completion, then resume from a different thread each time.
        for _ in 0..<2 {
            while true {
                if case .parked = execution.state { usleep(1_000) } else { break }
                let resumed = DispatchSemaphore(value: 0)
                let worker = Thread {
                    _ = try? execution.resume()
                    resumed.signal()
                }
                usleep(10_000)
                worker.start()
                resumed.wait()
            }
            if execution.state.isFinished { break }
        }
        guard case .exited(let values) = execution.state else { Issue.record("\(execution.state)"); return }
        #expect(values == [.i32(300)])
    }

    /// An async host function's synchronous attempt (the WASI inline fast path): when it finishes
    /// the call, its results come back without a park and the body never runs; when it declines,
    /// the body runs and the guest parks as before.
    @Test func anAsyncHostFunctionsAttemptFinishesInlineOrDeclines() throws {
        let compiled = try compile(
            """
            (module
              (import "host" "fetch" (func $fetch (param i32 i64) (result i32)))
              (func (export "go") (param i32) (result i32)
                local.get 0 i64.const 0x1_0000_0007 call $fetch))
            """, .guarded)
        final class Counts: @unchecked Sendable {  // touched only on the guest's fiber and this thread, in turn
            var attempts = 0, bodies = 0
        }
        let counts = Counts()
        let fetch = Function(AsyncHostFunction(type: FuncType(params: [.i32, .i64], results: [.i32]), attempt: { _, slots in
            counts.attempts += 1
            // Arguments straight from the slots: an i32 in the low half, an i64 whole.
            guard slots[0] & 1 == 0 else { return false }  // odd: decline
            slots.setResult(0, .i32(UInt32(truncatingIfNeeded: slots[0]) &+ UInt32(truncatingIfNeeded: slots[1] >> 32)))
            return true
        }) { _, args, completion in
            counts.bodies += 1
            guard case .i32(let x) = args[0], case .i64(let y) = args[1] else { return }
            completion.resume(returning: [.i32(x &* 100 &+ UInt32(truncatingIfNeeded: y))])
        })
        let store = Store(heapMode: .guarded)
        let instance = try store.instantiate(compiled) { _, _ in .function(fetch) }
        let inline = try Execution(try export(instance, "go"), arguments: [.i32(40)])
        let first = try inline.resume()
        guard case .exited(let values) = first else { Issue.record("parked or trapped: \(first)"); return }
        #expect(values == [.i32(41)])
        #expect(counts.attempts == 1 && counts.bodies == 0)
        let declined = try Execution(try export(instance, "go"), arguments: [.i32(3)])
        var state = try declined.resume()
        if case .parked = state { state = try declined.resume() }
        guard case .exited(let results) = state else { Issue.record("\(state)"); return }
        #expect(results == [.i32(307)])
        #expect(counts.attempts == 2 && counts.bodies == 1)
    }

    /// The same attempt as an `InlineHostCall` (the form WASI's reads and writes use): a C entry
    /// handed the caller's memory and the raw slots. When it finishes the call, neither the
    /// closure attempt nor the body runs; when it declines, the usual path does, untouched.
    @Test func anInlineHostCallFinishesTheCallOrDeclines() throws {
        let compiled = try compile(
            """
            (module
              (import "host" "fetch" (func $fetch (param i32 i64) (result i32)))
              (memory 1)
              (func (export "go") (param i32) (result i32)
                i32.const 16 i32.const 0xAB i32.store8
                local.get 0 i64.const 0x1_0000_0007 call $fetch))
            """, .guarded)
        final class Counts: @unchecked Sendable {  // touched only on the guest's fiber and this thread, in turn
            var inline = 0, attempts = 0, bodies = 0
        }
        let counts = Counts()
        let entry: InlineHostCall.Entry = { target, base, size, slots in
            let counts = Unmanaged<Counts>.fromOpaque(target).takeUnretainedValue()
            counts.inline += 1
            // The caller's memory, as the guest left it; the arguments straight from the slots.
            guard let base, size == 65_536, base.load(fromByteOffset: 16, as: UInt8.self) == 0xAB else { return false }
            guard slots[0] & 1 == 0 else { return false }  // odd: decline
            slots[0] = UInt64(UInt32(truncatingIfNeeded: slots[0]) &+ UInt32(truncatingIfNeeded: slots[1] >> 32))
            return true
        }
        let fetch = Function(AsyncHostFunction(type: FuncType(params: [.i32, .i64], results: [.i32]),
                                               inline: InlineHostCall(entry: entry, target: counts), attempt: { _, _ in
            counts.attempts += 1
            return false
        }) { _, args, completion in
            counts.bodies += 1
            guard case .i32(let x) = args[0], case .i64(let y) = args[1] else { return }
            completion.resume(returning: [.i32(x &* 100 &+ UInt32(truncatingIfNeeded: y))])
        })
        let store = Store(heapMode: .guarded)
        let instance = try store.instantiate(compiled) { _, _ in .function(fetch) }
        let inline = try Execution(try export(instance, "go"), arguments: [.i32(40)])
        let first = try inline.resume()
        guard case .exited(let values) = first else { Issue.record("parked or trapped: \(first)"); return }
        #expect(values == [.i32(41)])
        #expect(counts.inline == 1 && counts.attempts == 0 && counts.bodies == 0)
        let declined = try Execution(try export(instance, "go"), arguments: [.i32(3)])
        var state = try declined.resume()
        if case .parked = state { state = try declined.resume() }
        guard case .exited(let results) = state else { Issue.record("\(state)"); return }
        #expect(results == [.i32(307)])
        #expect(counts.inline == 2 && counts.attempts == 1 && counts.bodies == 1)
    }

    /// The host stub tries the inline entry itself (issue 17: one C frame fewer between a guest and
    /// its system call), so every way a guest reaches a host function must take it: a direct call
    /// and a call_indirect, from both tiers, from a module with a memory and from one without
    /// (the entry then gets no base and size 0). A declined call still reaches the body, and a
    /// body's error is still the guest's trap.
    @Test(arguments: CompilerTier.allCases, HeapMode.allCases)
    func theHostStubTriesTheInlineEntryOnEveryPath(tier: CompilerTier, heapMode: HeapMode) throws {
        final class Seen: @unchecked Sendable {  // touched only on the guest's fiber and this thread, in turn
            var inline: [(hasMemory: Bool, size: UInt64, argument: UInt64)] = []
            var bodies = 0
        }
        let seen = Seen()
        let entry: InlineHostCall.Entry = { target, base, size, slots in
            let seen = Unmanaged<Seen>.fromOpaque(target).takeUnretainedValue()
            seen.inline.append((base != nil, size, slots[0]))
            guard slots[0] % 3 != 0 else { return false }  // multiples of 3 decline
            slots[0] = slots[0] &* 2
            return true
        }
        let twice = Function(AsyncHostFunction(type: FuncType(params: [.i32], results: [.i32]),
                                               inline: InlineHostCall(entry: entry, target: seen)) { _, args, completion in
            seen.bodies += 1
            guard case .i32(let x) = args[0] else { return }
            if x == 9 { completion.resume(throwing: RuntimeError("nine")) } else { completion.resume(returning: [.i32(x &+ 1000)]) }
        })
        func module(memory: Bool) throws -> CompiledModule {
            try ModuleCompiler.compile(bytes: try TextFormat.wat2wasm("""
                (module
                  (import "host" "twice" (func $twice (param i32) (result i32)))
                  \(memory ? "(memory 2)" : "")
                  (type $t (func (param i32) (result i32)))
                  (table 1 funcref)
                  (elem (i32.const 0) $twice)
                  (func (export "direct") (param i32) (result i32) local.get 0 call $twice)
                  (func (export "indirect") (param i32) (result i32)
                    local.get 0 i32.const 0 call_indirect (type $t)))
                """), options: CompileOptions(heapMode: heapMode, tier: tier))
        }
        func run(_ instance: Instance, _ name: String, _ x: UInt32) throws -> Execution.State {
            let execution = try Execution(try export(instance, name), arguments: [.i32(x)])
            var state = try execution.resume()
            while case .parked = state { state = try execution.resume() }
            return state
        }
        let store = Store(heapMode: heapMode)
        for hasMemory in [true, false] {
            let instance = try store.instantiate(try module(memory: hasMemory)) { _, _ in .function(twice) }
            for name in ["direct", "indirect"] {
                seen.inline.removeAll()
                seen.bodies = 0
                guard case .exited(let finished) = try run(instance, name, 20) else { Issue.record("\(name) 20"); continue }
                #expect(finished == [.i32(40)], "\(name), memory \(hasMemory)")
                guard case .exited(let declined) = try run(instance, name, 6) else { Issue.record("\(name) 6"); continue }
                #expect(declined == [.i32(1006)], "\(name), memory \(hasMemory)")
                guard case .trapped(let trap) = try run(instance, name, 9) else { Issue.record("\(name) 9 did not trap"); continue }
                #expect(trap.code == .hostError, "\(name), memory \(hasMemory)")
                #expect(seen.bodies == 2)
                #expect(seen.inline.map(\.argument) == [20, 6, 9])
                #expect(seen.inline.allSatisfy { $0.hasMemory == hasMemory && $0.size == (hasMemory ? 131_072 : 0) })
            }
        }
    }

    /// A completion's deferred work (how WASI writes I/O results into guest memory) runs on the
    /// guest's fiber when it resumes — and never, if the execution was cancelled while parked,
    /// since its slot may already belong to another instance.
    @Test func deferredCompletionWorkRunsOnResumeAndNeverAfterCancel() throws {
        let compiled = try compile(
            """
            (module
              (import "host" "fetch" (func $fetch (result i32)))
              (memory (export "memory") 1)
              (func (export "go") (result i32) call $fetch))
            """, .guarded)
        final class Box: @unchecked Sendable {
            let lock = NSLock()
            var completion: Completion?
            var ran = 0
        }
        let box = Box()
        let fetch = Function(AsyncHostFunction(type: FuncType(params: [], results: [.i32])) { _, _, completion in
            box.lock.withLock { box.completion = completion }
        })
        let store = Store(heapMode: .guarded)
        let instance = try store.instantiate(compiled) { _, _ in .function(fetch) }

        let first = try Execution(try export(instance, "go"), arguments: [])
        guard case .parked = try first.resume() else { Issue.record("\(first.state)"); return }
        box.lock.withLock { box.completion }!.resume(running: {
            box.lock.withLock { box.ran += 1 }
            return [.i32(42)]
        })
        #expect(box.lock.withLock { box.ran } == 0)  // delivery alone does not run it
        guard case .exited(let values) = try first.resume() else { Issue.record("\(first.state)"); return }
        #expect(values == [.i32(42)])
        #expect(box.lock.withLock { box.ran } == 1)

        let second = try Execution(try export(instance, "go"), arguments: [])
        guard case .parked = try second.resume() else { Issue.record("\(second.state)"); return }
        second.cancel()
        box.lock.withLock { box.completion }!.resume(running: {
            box.lock.withLock { box.ran += 1 }
            return [.i32(7)]
        })
        #expect(box.lock.withLock { box.ran } == 1)
    }

    @Test func aTrapOnOneFiberLeavesAnotherSuspendedFiberIntact() throws {
        let store = Store(heapMode: .guarded)
        let instance = try store.instantiate(try compile(counter + "", .guarded)) { _, _ in nil }
        let trapper = try store.instantiate(try compile(victim, .guarded)) { _, _ in nil }
        let first = try Execution(try export(instance, "spin"), arguments: [])
        let timer = Thread { usleep(10_000); first.requestYield() }
        timer.start()
        guard case .yielded = try first.resume() else { Issue.record("\(first.state)"); return }
        let second = try Execution(try export(trapper, "recurse"), arguments: [.i32(0)])
        guard case .trapped(let trap) = try second.resume() else { Issue.record("\(second.state)"); return }
        #expect(trap.code == .callStackExhausted)
        let again = Thread { usleep(10_000); first.requestYield() }
        again.start()
        guard case .yielded = try first.resume() else { Issue.record("\(first.state)"); return }
    }

    /// A start function counts to 10,000 (one fuel unit per iteration) and stores the count.
    static let countingStart = """
        (module
          (global $g (mut i32) (i32.const 0))
          (func $start (local $i i32)
            (loop $again
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br_if $again (i32.lt_u (local.get $i) (i32.const 10000))))
            (global.set $g (local.get $i)))
          (start $start)
          (func (export "read") (result i32) (global.get $g))
          (func (export "spin") (loop (br 0))))
        """

    @Test(arguments: HeapMode.allCases)
    func aDeferredStartFunctionRunsFirstOnTheFiberUnderItsLimits(heapMode: HeapMode) throws {
        let compiled = try ModuleCompiler.compile(bytes: try TextFormat.wat2wasm(Self.countingStart),
                                                  options: CompileOptions(heapMode: heapMode, fuel: true))
        let store = Store(heapMode: heapMode)
        store.fuelPolicy = .yield
        let instance = try store.instantiate(compiled, runningStart: false) { _, _ in nil }
        #expect(try export(instance, "read").invoke([]) == [.i32(0)], "instantiation left the start function unrun")
        store.setFuel(1_000)
        let execution = try Execution(try export(instance, "read"), arguments: [], first: instance.startFunction)
        var slices = 0
        while !execution.state.isFinished {
            if case .yielded(.outOfFuel) = try execution.resume() {
                slices += 1
                store.setFuel(1_000)
            }
        }
        #expect(slices >= 9, "the start function ran out of fuel, as any call does")
        guard case .exited(let values) = execution.state else { Issue.record("\(execution.state)"); return }
        #expect(values == [.i32(10_000)], "then the call ran, after it")
    }

    @Test func aLoopingDeferredStartFunctionYieldsAndCanBeCancelled() throws {
        let store = Store(heapMode: .guarded)
        let spinning = Self.countingStart.replacingOccurrences(of: "(start $start)", with: "(func $forever (loop (br 0))) (start $forever)")
        let instance = try store.instantiate(try compile(spinning, .guarded), runningStart: false) { _, _ in nil }
        let execution = try Execution(try export(instance, "read"), arguments: [], first: instance.startFunction)
        let timer = Thread { usleep(20_000); execution.requestYield() }
        timer.start()
        guard case .yielded(.requested) = try execution.resume() else { Issue.record("\(execution.state)"); return }
        execution.cancel()
        guard case .trapped(let trap) = execution.state else { Issue.record("\(execution.state)"); return }
        #expect(trap.code == .interrupted)
    }
}
