import RuntimeABI
import WasmCore
import WasmDecoder
import X64

extension FunctionCompiler {
    // MARK: WebAssembly calls

    /// Spills every operand below the arguments (registers do not survive a call), stores the
    /// arguments to the outgoing area and pops them.
    mutating func prepareCallArguments(_ type: FuncType) {
        let count = type.params.count
        let base = stack.count - count
        for k in min(registerFloor, base)..<base { spill(k) }
        var at = 0  // slot index in the outgoing area (a v128 takes two)
        for i in 0..<count {
            storeValue(stack[base + i], depth: base + i, to: frame.outgoing(at))
            at += type.params[i].slotCount
        }
        truncateStack(to: base)
        maxOutgoing = max(maxOutgoing, at, FrameLayout.slotCount(type.results))
    }

    mutating func pushCallResults(_ type: FuncType) {
        var at = 0
        for t in type.results {
            if t.isGPRClass {
                let r = allocGPR()
                loadGPR(t, r, from: frame.outgoing(at))
                pushGPR(t, r)
            } else {
                let x = allocXMM()
                loadXMM(t, x, from: frame.outgoing(at))
                pushXMM(t, x)
            }
            at += t.slotCount
        }
    }

    mutating func emitCall(_ index: UInt32) {
        let callee = Int(index)
        let type = shared.module.types[Int(shared.context.functionTypeIndices[callee])]
        prepareCallArguments(type)
        if callee < shared.layout.importedFunctionCount {
            let slot = Int32(shared.layout.importedFunction(callee))
            asm.load(.b64, .rdi, Mem(Registers.vmctx, slot + 8))
            asm.call(Mem(Registers.vmctx, slot))
        } else {
            asm.mov(.b64, .rdi, Registers.vmctx)
            asm.call(externalLabel(.function(callee - shared.layout.importedFunctionCount)))
        }
        pushCallResults(type)
    }

    mutating func emitCallIndirect(typeIndex: UInt32, table: UInt32) {
        let type = shared.module.types[Int(typeIndex)]
        let index = popGPR()
        asm.mov(.b32, index, index)
        prepareCallArguments(type)
        let ref = allocGPR()
        asm.load(.b64, ref, Mem(Registers.vmctx, Int32(shared.layout.table(Int(table)))))
        asm.alu(.cmp, .b64, index, Mem(ref, Int32(TableLayout.size)))
        asm.jcc(.ae, trapLabel(.undefinedElement))
        asm.load(.b64, ref, Mem(ref, Int32(TableLayout.elements)))
        asm.load(.b64, ref, Mem(ref, index: index, scale: 8))
        asm.test(.b64, ref, ref)
        asm.jcc(.e, trapLabel(.uninitializedElement))
        asm.load(.b64, Registers.scratch, Mem(Registers.vmctx, Int32(VMContextLayout.typeIDs)))
        asm.load(.b32, Registers.scratch, Mem(Registers.scratch, Int32(4 * Int(typeIndex))))
        asm.alu(.cmp, .b32, Registers.scratch, Mem(ref, Int32(FuncRefLayout.typeID)))
        asm.jcc(.ne, trapLabel(.indirectCallTypeMismatch))
        asm.load(.b64, .rdi, Mem(ref, Int32(FuncRefLayout.vmctx)))
        asm.call(Mem(ref, Int32(FuncRefLayout.code)))
        free(index)
        free(ref)
        pushCallResults(type)
    }

    // MARK: Builtins

    /// Calls a runtime builtin with the C convention: vmctx in rdi, the top operands popped into
    /// `operands` (listed bottom to top), `constants` loaded into their registers.
    mutating func callBuiltin(_ builtin: Builtin, operands: [Reg], constants: [(Reg, Int64)], result: ValueType?,
                              traps: Bool = false) {
        spillAllRegisters()
        for reg in operands.reversed() {
            claim(reg)
            popInto(reg)
        }
        for (reg, value) in constants { asm.mov(.b64, reg, imm: value) }
        asm.mov(.b64, .rdi, Registers.vmctx)
        asm.load(.b64, .rax, Mem(Registers.vmctx, Int32(VMContextLayout.builtins)))
        asm.call(Mem(.rax, Int32(8 * builtin.rawValue)))
        for reg in operands { free(reg) }
        if traps { trapIfEAXNonZero() }
        if let result {
            claim(.rax)
            asm.mov(.b32, .rax, .rax)
            pushGPR(result, .rax)
        }
    }

    // MARK: Tables

    func elementType(_ table: Int) -> ValueType {
        shared.context.tables[table].elementType == .funcref ? .funcref : .externref
    }

    /// Bounds-checks `index` against table `table` and returns a register holding the elements
    /// pointer (owned by the caller).
    mutating func tableElements(_ table: Int, index: Reg) -> Reg {
        let base = allocGPR()
        asm.mov(.b32, index, index)
        asm.load(.b64, base, Mem(Registers.vmctx, Int32(shared.layout.table(table))))
        asm.alu(.cmp, .b64, index, Mem(base, Int32(TableLayout.size)))
        asm.jcc(.ae, trapLabel(.outOfBoundsTableAccess))
        asm.load(.b64, base, Mem(base, Int32(TableLayout.elements)))
        return base
    }

    mutating func emitTableGet(_ table: Int) {
        let index = popGPR()
        let elements = tableElements(table, index: index)
        asm.load(.b64, index, Mem(elements, index: index, scale: 8))
        free(elements)
        pushGPR(elementType(table), index)
    }

    mutating func emitTableSet(_ table: Int) {
        let value = popGPR()
        let index = popGPR()
        let elements = tableElements(table, index: index)
        asm.store(.b64, Mem(elements, index: index, scale: 8), value)
        free(elements)
        free(index)
        free(value)
    }
}
