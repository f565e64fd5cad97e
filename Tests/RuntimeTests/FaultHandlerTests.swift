import CShoal
import Compiler
import Foundation
@testable import Runtime
import RuntimeABI
import Testing
import WasmCore

/// The signal handler accepts a fault as a WebAssembly trap only where the compiler planned one:
/// at a recorded heap-access site with the address inside the instance's reservation. Everything
/// else in generated code is a host bug (the process aborts), and faults outside generated code
/// are not Shoal's.
@Suite("fault handler: only planned faults are traps")
struct FaultHandlerTests {
    static let wat = """
        (module (memory 1)
          (func (export "load") (param i32) (result i32) local.get 0 i32.load offset=16)
          (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))
        """

    @Test func heapFaultsAreTrapsOnlyAtTrapSitesInsideTheReservation() throws {
        let store = Store(heapMode: .guarded)
        let instance = try store.instantiate(try compile(Self.wat, .guarded)) { _, _ in nil }
        let loaded = instance.module
        let code = UInt(bitPattern: loaded.base)
        let compiled = loaded.compiled
        #expect(compiled.trapSites.count == 1, "one i32.load: one trap site")
        let site = code + UInt(compiled.trapSites[0])
        let vmctx = UInt(bitPattern: instance.vmctx)
        let heap = UInt(bitPattern: instance.memory!.bytes.baseAddress!)
        let reservation = UInt(HeapMode.guardedReservation)

        #expect(shoal_classify_fault(site, heap + 65_536, vmctx) == SHOAL_FAULT_HEAP)
        #expect(shoal_classify_fault(site, heap + reservation - 1, vmctx) == SHOAL_FAULT_HEAP)
        // The same instruction touching anything outside its instance's reservation: a host bug.
        #expect(shoal_classify_fault(site, heap + reservation, vmctx) == SHOAL_FAULT_HOST_BUG)
        #expect(shoal_classify_fault(site, heap - 1, vmctx) == SHOAL_FAULT_HOST_BUG)
        #expect(shoal_classify_fault(site, 0x1000, vmctx) == SHOAL_FAULT_HOST_BUG)
        // Any other instruction of a function, or of the stubs (trampoline, trap exit, host stub).
        let addStart = code + UInt(compiled.functionOffsets[1])
        #expect(shoal_classify_fault(addStart, heap + 65_536, vmctx) == SHOAL_FAULT_HOST_BUG)
        #expect(shoal_classify_fault(site + 1, heap + 65_536, vmctx) == SHOAL_FAULT_HOST_BUG)
        for stub in [compiled.entryTrampoline, compiled.trapExit, compiled.hostStub, compiled.entryExit] {
            #expect(shoal_classify_fault(code + UInt(stub), heap + 65_536, vmctx) == SHOAL_FAULT_HOST_BUG)
        }
        // A PC in no generated code: someone else's fault, chained to the previous handler.
        #expect(shoal_classify_fault(heap, heap + 65_536, vmctx) == SHOAL_FAULT_FOREIGN)
        withExtendedLifetime(store) {}
    }

    @Test func boundedCodeHasNoTrapSites() throws {
        let store = Store(heapMode: .bounded)
        let instance = try store.instantiate(try compile(Self.wat, .bounded)) { _, _ in nil }
        let compiled = instance.module.compiled
        #expect(compiled.trapSites.isEmpty)
        let code = UInt(bitPattern: instance.module.base)
        let heap = UInt(bitPattern: instance.memory!.bytes.baseAddress!)
        for offset in compiled.functionOffsets[0]..<compiled.functionEnds[0] {
            #expect(shoal_classify_fault(code + UInt(offset), heap + 65_536, UInt(bitPattern: instance.vmctx)) == SHOAL_FAULT_HOST_BUG)
        }
        withExtendedLifetime(store) {}
    }

    @Test func realOutOfBoundsAccessesStillTrap() throws {
        for heapMode in HeapMode.allCases {
            let store = Store(heapMode: heapMode)
            let instance = try store.instantiate(try compile(Self.wat, heapMode)) { _, _ in nil }
            for address: UInt32 in [65_536 - 19, 65_536, 0xFFFF_FFF0, 0xFFFF_FFFF] {
                do {
                    _ = try instance.invoke("load", [.i32(address)])
                    Issue.record("\(heapMode): load at \(address) did not trap")
                } catch let trap as Trap {
                    #expect(trap.code == .outOfBoundsMemoryAccess)
                }
            }
            #expect(try instance.invoke("load", [.i32(65_536 - 20)]) == [.i32(0)])
            withExtendedLifetime(store) {}
        }
    }
}

/// Defence in depth: if the software stack checks were ever wrong (here a host function breaks
/// them on purpose by lowering the limit to 0), runaway recursion reaches the guard below the
/// fiber's stack, and the fault handler turns that into "call stack exhausted" — nothing below
/// the guard is written and the store stays usable.
@Suite("fault handler: stack guards")
struct StackGuardFaultTests {
    static let wat = """
        (module
          (import "host" "breakStackChecks" (func $break))
          (func $recurse (param i64) (result i64)
            (i64.add (local.get 0) (call $recurse (i64.add (local.get 0) (i64.const 1)))))
          (func (export "run") (result i64) (call $break) (call $recurse (i64.const 0)))
          (func (export "ok") (result i64) (i64.const 42)))
        """

    final class Target: @unchecked Sendable { var vmctx: UnsafeMutableRawPointer? }

    @Test(arguments: HeapMode.allCases)
    func aStackOverflowPastTheChecksFaultsInTheGuardAndTraps(heapMode: HeapMode) throws {
        let target = Target()
        let breakChecks = Function(HostFunction(type: FuncType(params: [], results: [])) { _, _ in
            shoal_set_stack_limit(target.vmctx, 0)
            return []
        })
        let store = Store(heapMode: heapMode)
        let instance = try store.instantiate(try compile(Self.wat, heapMode)) { _, _ in .function(breakChecks) }
        target.vmctx = instance.vmctx
        let execution = try Execution(try export(instance, "run"), arguments: [], stackSize: 1 << 20)
        #expect(execution.stackGuard.count > 0)
        // The resume from the signal handler into the trampoline's exit keeps the host's registers.
        shoal_entry_set_violations_fatal(0)
        defer { shoal_entry_set_violations_fatal(1) }
        let before = shoal_entry_thread_stats()
        guard case .trapped(let trap) = try execution.resume() else {
            Issue.record("expected a trap, got \(execution.state)")
            return
        }
        let after = shoal_entry_thread_stats()
        #expect(trap.code == .callStackExhausted)
        #expect(after.checked == before.checked + 1 && after.violations == before.violations)
        let again = try Execution(try export(instance, "ok"), arguments: [])
        guard case .exited(let values) = try again.resume() else { Issue.record("\(again.state)"); return }
        #expect(values == [.i64(42)])
        withExtendedLifetime(store) {}
    }
}
