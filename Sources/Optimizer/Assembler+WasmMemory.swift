import WasmDecoder
import X64

/// Linear-memory accesses, shared by both compiler tiers: the runtime's contract for a heap
/// (Docs/ARCHITECTURE.md) is the same whichever tier compiled a function, so the address forms,
/// the bounds check and the load and store instructions are written once.
extension Assembler {
    /// The operand for an access at `index + offset` in a guarded heap, `index` zero-extended.
    /// There is no check: the reservation covers every 32-bit index plus every 32-bit offset, and
    /// a fault there is made a trap by the signal handler, at a site the caller records. An
    /// offset too large for a displacement is added in `scratch`.
    public mutating func guardedHeapOperand(base: Reg, index: Reg, offset: UInt32, scratch: Reg) -> Mem {
        if offset <= UInt32(Int32.max) { return Mem(base, index: index, scale: 1, disp: Int32(offset)) }
        mov(.b64, scratch, imm: Int64(offset))
        alu(.add, .b64, scratch, index)
        return Mem(base, index: scratch, scale: 1, disp: 0)
    }

    /// The operand for an access of `size` bytes at `index + offset` in a bounded heap, `index`
    /// zero-extended: the access's end is compared with the memory's current size (`limit`),
    /// jumping to `outOfBounds` past it, so that an access never faults. The check and the
    /// address share `scratch`, which holds the end (below 2^33: it cannot overflow).
    public mutating func boundedHeapOperand(base: Reg, index: Reg, offset: UInt32, size: Int, limit: Mem, scratch: Reg,
                                            outOfBounds: Label) -> Mem {
        let end = UInt64(offset) + UInt64(size)
        if end <= UInt64(Int32.max) {
            lea(.b64, scratch, Mem(index, Int32(end)))
        } else {
            mov(.b64, scratch, imm: Int64(end))
            alu(.add, .b64, scratch, index)
        }
        alu(.cmp, .b64, scratch, limit)
        jcc(.a, outOfBounds)
        return Mem(base, index: scratch, scale: 1, disp: Int32(-size))
    }

    /// An integer load into `d`, with the extension `op` asks for: narrow unsigned loads
    /// zero-extend (movzx, or a 32-bit load, clears the upper bits), signed ones sign-extend to
    /// the result's width.
    public mutating func load(_ op: LoadOp, _ d: Reg, _ mem: Mem) {
        switch op {
        case .i32Load: load(.b32, d, mem)
        case .i64Load: load(.b64, d, mem)
        case .i32Load8S: loadSignExtended(from: .b8, to: .b32, d, mem)
        case .i32Load8U, .i64Load8U: load(.b8, d, mem)
        case .i32Load16S: loadSignExtended(from: .b16, to: .b32, d, mem)
        case .i32Load16U, .i64Load16U: load(.b16, d, mem)
        case .i64Load8S: loadSignExtended(from: .b8, to: .b64, d, mem)
        case .i64Load16S: loadSignExtended(from: .b16, to: .b64, d, mem)
        case .i64Load32S: loadSignExtended(from: .b32, to: .b64, d, mem)
        case .i64Load32U: load(.b32, d, mem)
        case .f32Load, .f64Load: preconditionFailure("a float load goes to an XMM register")
        }
    }
}

extension StoreOp {
    /// The store's width in memory.
    public var width: Width {
        switch 1 << naturalAlignment {
        case 1: .b8
        case 2: .b16
        case 4: .b32
        default: .b64
        }
    }
}
