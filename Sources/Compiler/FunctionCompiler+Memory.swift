import Optimizer
import RuntimeABI
import WasmCore
import WasmDecoder
import X64

extension FunctionCompiler {
    /// The operand for an access of `size` bytes at `index + offset` in linear memory
    /// (`Assembler.guardedHeapOperand` and `boundedHeapOperand`, shared with the optimizing tier).
    mutating func effectiveAddress(index: Reg, offset: UInt32, size: Int) -> Mem {
        asm.mov(.b32, index, index)  // the index is an i32: make sure the upper half is zero
        switch shared.heapMode {
        case .guarded:
            return asm.guardedHeapOperand(base: Registers.memoryBase, index: index, offset: offset, scratch: Registers.scratch)
        case .bounded:
            return asm.boundedHeapOperand(base: Registers.memoryBase, index: index, offset: offset, size: size,
                                          limit: Mem(Registers.vmctx, Int32(VMContextLayout.memorySize)), scratch: Registers.scratch,
                                          outOfBounds: trapLabel(.outOfBoundsMemoryAccess))
        }
    }

    /// Records that the next instruction is a heap access that may fault (guarded heaps): the
    /// signal handler accepts a fault as a trap only at such a site. Bounded code checks every
    /// access first, so its accesses never fault and none is recorded.
    mutating func markHeapAccess() {
        if shared.heapMode == .guarded { trapSites.append(asm.offset) }
    }

    mutating func emitLoad(_ op: LoadOp, _ memarg: MemArg) {
        let index = popGPR()
        let mem = effectiveAddress(index: index, offset: memarg.offset, size: 1 << op.naturalAlignment)
        if op == .f32Load || op == .f64Load {
            let x = allocXMM()  // before the mark: a spill here is not the access
            markHeapAccess()
            asm.fload(op == .f32Load ? .single : .double, x, mem)
            free(index)
            pushXMM(op.resultType, x)
            return
        }
        markHeapAccess()
        asm.load(op, index, mem)
        pushGPR(op.resultType, index)
    }

    mutating func emitStore(_ op: StoreOp, _ memarg: MemArg) {
        let size = 1 << op.naturalAlignment
        if op == .f32Store || op == .f64Store {
            let value = popXMM()
            let index = popGPR()
            let mem = effectiveAddress(index: index, offset: memarg.offset, size: size)
            markHeapAccess()
            asm.fstore(op == .f32Store ? .single : .double, mem, value)
            free(value)
            free(index)
            return
        }
        let value = popGPR()
        let index = popGPR()
        let mem = effectiveAddress(index: index, offset: memarg.offset, size: size)
        markHeapAccess()
        asm.store(op.width, mem, value)
        free(value)
        free(index)
    }
}
