import RuntimeABI
import WasmCore
import WasmDecoder
import X64

extension FunctionCompiler {
    /// The operand for an access of `size` bytes at `index + offset` in linear memory.
    ///
    /// Guarded heaps need no check: the reservation covers every 32-bit index plus every 32-bit
    /// offset, and a fault is turned into a trap by the signal handler. Bounded heaps compare the
    /// access's end against the current size; the check and the address share the scratch register.
    mutating func effectiveAddress(index: Reg, offset: UInt32, size: Int) -> Mem {
        asm.mov(.b32, index, index)  // the index is an i32: make sure the upper half is zero
        switch shared.heapMode {
        case .guarded:
            if offset <= UInt32(Int32.max) { return Mem(Registers.memoryBase, index: index, scale: 1, disp: Int32(offset)) }
            asm.mov(.b64, Registers.scratch, imm: Int64(offset))
            asm.alu(.add, .b64, Registers.scratch, index)
            return Mem(Registers.memoryBase, index: Registers.scratch, scale: 1, disp: 0)
        case .bounded:
            let end = UInt64(offset) + UInt64(size)
            if end <= UInt64(Int32.max) {
                asm.lea(.b64, Registers.scratch, Mem(index, Int32(end)))
            } else {
                asm.mov(.b64, Registers.scratch, imm: Int64(end))
                asm.alu(.add, .b64, Registers.scratch, index)
            }
            asm.alu(.cmp, .b64, Registers.scratch, Mem(Registers.vmctx, Int32(VMContextLayout.memorySize)))
            asm.jcc(.a, trapLabel(.outOfBoundsMemoryAccess))
            return Mem(Registers.memoryBase, index: Registers.scratch, scale: 1, disp: Int32(-size))
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
        switch op {
        case .f32Load, .f64Load: preconditionFailure("handled above")
        case .i32Load: asm.load(.b32, index, mem)
        case .i64Load: asm.load(.b64, index, mem)
        case .i32Load8S: asm.loadSignExtended(from: .b8, to: .b32, index, mem)
        case .i32Load8U, .i64Load8U: asm.load(.b8, index, mem)
        case .i32Load16S: asm.loadSignExtended(from: .b16, to: .b32, index, mem)
        case .i32Load16U, .i64Load16U: asm.load(.b16, index, mem)
        case .i64Load8S: asm.loadSignExtended(from: .b8, to: .b64, index, mem)
        case .i64Load16S: asm.loadSignExtended(from: .b16, to: .b64, index, mem)
        case .i64Load32S: asm.loadSignExtended(from: .b32, to: .b64, index, mem)
        case .i64Load32U: asm.load(.b32, index, mem)
        }
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
        let width: Width = switch size {
        case 1: .b8
        case 2: .b16
        case 4: .b32
        default: .b64
        }
        markHeapAccess()
        asm.store(width, mem, value)
        free(value)
        free(index)
    }
}
