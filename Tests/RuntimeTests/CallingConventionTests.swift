import CShoal
import Compiler
import Foundation
import Runtime
import RuntimeABI
import Testing
import WasmCore
import WasmText

/// `count` values live at once — each `x * k` in a register of its own until the allocator runs
/// out and spills — then summed: x * (1 + 2 + ... + count). Every allocatable register, rbx, r12
/// and r13 among them, holds a guest-derived value at the end.
private func pressure(_ count: Int, x: String = "(local.get $x)") -> String {
    (1...count).map { "\(x) (i64.const \($0)) (i64.mul)" }.joined(separator: " ")
}

private func sums(_ count: Int) -> String { String(repeating: "(i64.add) ", count: count) }

/// Modules built to use every allocatable register on every path into and out of generated code.
private let registerHungry = """
    (module
      (import "host" "reenter" (func $reenter (param i64) (result i64)))
      (type $unary (func (param i64) (result i64)))
      (memory 1)
      (table 2 funcref)
      (elem (i32.const 0) $pressure $calls)
      (func $pressure (export "pressure") (param $x i64) (result i64) \(pressure(24)) \(sums(23)))
      (func $calls (export "calls") (param $x i64) (result i64)
        \(pressure(12)) (call $pressure (local.get $x)) \(sums(12)))
      (func (export "indirect") (param $x i64) (result i64)
        \(pressure(12)) (call_indirect (type $unary) (local.get $x) (i32.const 1)) \(sums(12)))
      (func (export "host") (param $x i64) (result i64)
        \(pressure(12)) (call $reenter (local.get $x)) \(sums(12)))
      (func (export "heapTrap") (param $x i64) (result i64)
        \(pressure(12)) (i64.load (i32.const -8)) \(sums(12)))
      (func (export "unreachable") (param $x i64) (result i64) \(pressure(12)) unreachable)
      (func $deep (export "deep") (param $x i64) (result i64)
        \(pressure(12)) (call $deep (local.get $x)) \(sums(12)))
      (func (export "loop") (param $x i64) (result i64) (local $i i64) (local $acc i64)
        (loop $again
          \(pressure(12)) \(sums(11)) (local.get $acc) (i64.add) (local.set $acc)
          (local.tee $i (i64.add (local.get $i) (i64.const 1)))
          (i64.const 100) (i64.lt_u) (br_if $again))
        (local.get $acc)))
    """

/// x * (1 + ... + n)
private func expected(_ x: UInt64, _ n: UInt64) -> UInt64 { x &* (n * (n + 1) / 2) }

/// Runs `body` and checks that it entered generated code at least once and that every entry
/// found every callee-saved register (rbx, rbp, r12-r15) and the MXCSR/x87 control words as it
/// left them: `shoal_call_entry` loads canaries into them before each entry and compares after.
private func withCanaries<T>(_ body: () throws -> T) rethrows -> T {
    shoal_entry_set_violations_fatal(0)
    defer { shoal_entry_set_violations_fatal(1) }
    let before = shoal_entry_thread_stats()
    let result = try body()
    let after = shoal_entry_thread_stats()
    #expect(after.checked > before.checked, "no entry into generated code was checked")
    #expect(after.violations == before.violations, "a callee-saved register or control word was not preserved")
    return result
}

/// A box for the function a host import calls back into (set once the instance exists).
private final class Reentry: @unchecked Sendable { var target: Function? }

private func instantiateHungry(_ heapMode: HeapMode, fuel: Bool = false, store: Store? = nil) throws -> (Store, Instance) {
    let store = store ?? Store(heapMode: heapMode)
    let reentry = Reentry()
    let reenter = Function(HostFunction(type: FuncType(params: [.i64], results: [.i64])) { _, arguments in
        // Re-enter WebAssembly from the host: a nested entry, itself canary-checked.
        try reentry.target!.invoke(arguments)
    })
    let compiled = try ModuleCompiler.compile(bytes: try TextFormat.wat2wasm(registerHungry),
                                              options: CompileOptions(heapMode: heapMode, fuel: fuel))
    let instance = try store.instantiate(compiled) { module, name in
        module == "host" && name == "reenter" ? .function(reenter) : nil
    }
    reentry.target = try export(instance, "pressure")
    return (store, instance)
}

@Suite("calling convention: registers survive every transition")
struct CallingConventionTests {
    @Test(arguments: HeapMode.allCases)
    func returnsCallsAndHostReentryKeepCalleeSavedRegisters(heapMode: HeapMode) throws {
        let (store, instance) = try instantiateHungry(heapMode)
        defer { withExtendedLifetime(store) {} }  // instances hold their store unowned
        try withCanaries {
            let pressureResult = try instance.invoke("pressure", [.i64(3)])
            #expect(pressureResult == [.i64(expected(3, 24))])
            let callsResult = try instance.invoke("calls", [.i64(5)])
            #expect(callsResult == [.i64(expected(5, 12) + expected(5, 24))])
            let indirectResult = try instance.invoke("indirect", [.i64(7)])
            #expect(indirectResult == [.i64(expected(7, 12) + expected(7, 12) + expected(7, 24))])
            let hostResult = try instance.invoke("host", [.i64(9)])
            #expect(hostResult == [.i64(expected(9, 12) + expected(9, 24))])
            let loopResult = try instance.invoke("loop", [.i64(2)])
            #expect(loopResult == [.i64(100 * expected(2, 12))])
        }
    }

    @Test(arguments: HeapMode.allCases)
    func trapsKeepCalleeSavedRegisters(heapMode: HeapMode) throws {
        let (store, instance) = try instantiateHungry(heapMode)
        defer { withExtendedLifetime(store) {} }  // instances hold their store unowned
        try withCanaries {
            for (name, code) in [("heapTrap", TrapCode.outOfBoundsMemoryAccess), ("unreachable", .unreachable)] {
                #expect(throws: Trap.self) { try instance.invoke(name, [.i64(1)]) }
                do { _ = try instance.invoke(name, [.i64(1)]) } catch let trap as Trap { #expect(trap.code == code) }
            }
        }
        // Deep recursion with many live values, on a fiber: "call stack exhausted", registers intact.
        try withCanaries {
            let execution = try Execution(try export(instance, "deep"), arguments: [.i64(1)])
            guard case .trapped(let trap) = try execution.resume() else {
                Issue.record("expected a trap, got \(execution.state)")
                return
            }
            #expect(trap.code == .callStackExhausted)
        }
    }

    @Test(arguments: HeapMode.allCases)
    func yieldsAndFuelStopsKeepCalleeSavedRegisters(heapMode: HeapMode) throws {
        let store = Store(heapMode: heapMode)
        store.fuelPolicy = .yield
        let (_, instance) = try instantiateHungry(heapMode, fuel: true, store: store)
        try withCanaries {
            store.setFuel(7)
            let execution = try Execution(try export(instance, "loop"), arguments: [.i64(3)])
            var stops = 0
            while !execution.state.isFinished {
                if case .yielded(.outOfFuel) = try execution.resume() {
                    stops += 1
                    store.setFuel(7)
                }
            }
            #expect(stops > 10)
            guard case .exited(let values) = execution.state else { Issue.record("\(execution.state)"); return }
            #expect(values == [.i64(100 * expected(3, 12))])
        }
        // A host call that re-enters WebAssembly from a fiber that then stops for fuel.
        try withCanaries {
            store.setFuel(1)  // runs out inside the nested entry, with host frames on the fiber
            let execution = try Execution(try export(instance, "host"), arguments: [.i64(4)])
            var stops = 0
            while !execution.state.isFinished {
                if case .yielded(.outOfFuel) = try execution.resume() {
                    stops += 1
                    store.setFuel(1)
                }
            }
            #expect(stops > 0)
            guard case .exited(let values) = execution.state else { Issue.record("\(execution.state)"); return }
            #expect(values == [.i64(expected(4, 12) + expected(4, 24))])
        }
    }

    /// The canary check itself: a trampoline that breaks the convention is caught.
    @Test func aClobberingTrampolineIsCaught() {
        var slots: [UInt64] = [0]
        var report = shoal_entry_report()
        let result = slots.withUnsafeMutableBufferPointer {
            shoal_call_entry_checked(unsafeBitCast(shoal_test_clobbering_trampoline as @convention(c) (UnsafeMutableRawPointer?, UnsafeRawPointer?, UnsafeMutablePointer<UInt64>?, Int) -> UInt32, to: UnsafeRawPointer.self),
                                     nil, nil, $0.baseAddress, 1, &report)
        }
        #expect(result == 0)
        #expect(shoal_entry_report_ok(&report) == 0)
        #expect(report.rbx == 1 && report.r12 == 2)
        #expect(report.r13 == shoal_entry_canary(3) && report.rbp == shoal_entry_canary(1))
        #expect(report.mxcsr_after != report.mxcsr_before)
        // The entry puts the caller's MXCSR back: floating point on this thread still rounds to nearest.
        #expect((0.1 + 0.2) == 0.30000000000000004)
    }
}
