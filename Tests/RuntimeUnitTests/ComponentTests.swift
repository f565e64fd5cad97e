import Runtime
import RuntimeABI
import Testing
import WasmCore

/// The runtime's parts on their own, without generated code.
@Suite("runtime components")
struct ComponentTests {
    @Test(arguments: HeapMode.allCases)
    func memoryGrowsWithinItsLimits(heapMode: HeapMode) throws {
        let memory = try LinearMemory(type: MemoryType(limits: Limits(min: 1, max: 3)), heapMode: heapMode)
        #expect(memory.pages == 1)
        #expect(memory.bytes.count == 65_536)
        memory.bytes[65_535] = 7
        #expect(memory.grow(by: 1) == 1)
        #expect(memory.bytes[65_535] == 7)
        #expect(memory.bytes[65_536] == 0)  // new pages read as zero
        memory.bytes[2 * 65_536 - 1] = 9
        #expect(memory.grow(by: 2) == nil)  // past the maximum
        #expect(memory.grow(by: 0) == 2)
        #expect(memory.grow(by: 1) == 2)
        #expect(memory.pages == 3)
    }

    @Test func memoryWithoutMaximumStopsAtFourGiB() throws {
        let memory = try LinearMemory(type: MemoryType(limits: Limits(min: 0)), heapMode: .guarded)
        #expect(memory.grow(by: 65_537) == nil)
        #expect(memory.pages == 0)
    }

    @Test func tablesCheckBoundsAndGrow() throws {
        let table = try Table(type: TableType(elementType: .externref, limits: Limits(min: 2, max: 4)))
        #expect(table.size == 2)
        #expect(table.get(0) == .externref(nil))
        #expect(table.set(1, .externref(41)))
        #expect(table.get(1) == .externref(41))
        #expect(!table.set(2, .externref(1)))
        #expect(table.get(2) == nil)
    }

    @Test func valuesRoundTripThroughSlots() {
        let values: [Value] = [
            .i32(0xFFFF_FFFF), .i64(UInt64.max), .f32(bits: 0x7FC0_0001), .f64(bits: 0xFFF8_0000_0000_0001),
            .externref(nil), .externref(0), .externref(12345), .funcref(nil), .funcref(FunctionReference(address: 0x1000)),
        ]
        for v in values { #expect(Value(slot: v.slot, type: v.type) == v) }
    }

    @Test func hostFunctionsCanBeCalledDirectly() throws {
        let double = Function(HostFunction(type: FuncType(params: [.i32], results: [.i32])) { _, args in
            guard case .i32(let x) = args[0] else { return [] }
            return [.i32(x &* 2)]
        })
        #expect(try double.invoke([.i32(21)]) == [.i32(42)])
        #expect(throws: RuntimeError.self) { try double.invoke([.i64(1)]) }
    }
}

import CShoal

/// The C side hard-codes a few offsets (it cannot import Swift); they must be RuntimeABI's.
@Suite("C and Swift agree on the ABI")
struct ABIAgreementTests {
    @Test func offsetsMatchRuntimeABI() {
        let c = shoal_c_abi_offsets()
        #expect(c.stack_limit == VMContextLayout.stackLimit)
        #expect(c.execution_state == VMContextLayout.executionState)
        #expect(c.real_stack_limit == VMContextLayout.realStackLimit)
        #expect(c.fuel == VMContextLayout.fuel)
        #expect(c.state_entry_sp == ExecutionStateLayout.entrySP)
        #expect(c.state_fiber == ExecutionStateLayout.fiber)
        #expect(c.state_fuel_policy == ExecutionStateLayout.fuelPolicy)
        #expect(c.memory_base == VMContextLayout.memoryBase)
        #expect(c.state_trap_code == ExecutionStateLayout.trapCode)
        #expect(c.state_trap_pc == ExecutionStateLayout.trapPC)
        #expect(c.state_trap_fp == ExecutionStateLayout.trapFP)
        #expect(c.state_backtrace_count == ExecutionStateLayout.backtraceCount)
        #expect(c.trap_out_of_fuel == Int(TrapCode.outOfFuel.rawValue))
        #expect(c.trap_interrupted == Int(TrapCode.interrupted.rawValue))
        #expect(c.trap_out_of_bounds_memory == Int(TrapCode.outOfBoundsMemoryAccess.rawValue))
        #expect(c.trap_call_stack_exhausted == Int(TrapCode.callStackExhausted.rawValue))
    }
}
