/// The six WebAssembly float comparisons (`f32.eq` ... `f64.ge`).
public enum FloatComparison: Sendable { case eq, ne, lt, gt, le, ge }

/// WebAssembly's scalar float operators that take x86 more than one instruction, shared by both
/// compiler tiers so that they compute the same bits (NaNs and signed zeros included). The
/// callers decide where operands live and pass registers; each sequence says what it clobbers.
extension Assembler {
    /// Sets `r` to 1 when `lhs comparison rhs` holds, else to 0; eq and ne clobber `scratch`.
    ///
    /// ucomis sets ZF, PF and CF all for an unordered (NaN) pair. "Above" and "above or equal"
    /// are false then, as every ordered comparison must be for NaN, so lt and le compare with the
    /// operands swapped and test those. "Equal" (ZF) would be true for NaN, hence the extra
    /// parity test: eq ands in "not unordered", ne ors in "unordered".
    public mutating func floatCompare(_ p: Precision, _ comparison: FloatComparison, _ lhs: XReg, _ rhs: XReg,
                                      into r: Reg, scratch: Reg) {
        switch comparison {
        case .eq:
            ucomis(p, lhs, rhs)
            setcc(.e, r)
            setcc(.np, scratch)
            alu(.and, .b32, r, scratch)
        case .ne:
            ucomis(p, lhs, rhs)
            setcc(.ne, r)
            setcc(.p, scratch)
            alu(.or, .b32, r, scratch)
        case .lt:
            ucomis(p, rhs, lhs)
            setcc(.a, r)
        case .le:
            ucomis(p, rhs, lhs)
            setcc(.ae, r)
        case .gt:
            ucomis(p, lhs, rhs)
            setcc(.a, r)
        case .ge:
            ucomis(p, lhs, rhs)
            setcc(.ae, r)
        }
        movzx(from: .b8, r, r)
    }

    /// WebAssembly min or max of `lhs` and `rhs`, into `lhs`.
    ///
    /// minss/maxss alone are wrong twice: they return the second operand when either is NaN
    /// (WebAssembly wants NaN) and when both are zeros (WebAssembly orders -0 below +0). So NaN
    /// pairs are added, which yields a quiet NaN from the NaN operand(s); and equal pairs, which
    /// can differ only in the sign of a zero, are combined bitwise: OR keeps -0 for min, AND
    /// keeps +0 for max.
    public mutating func floatMinMax(_ p: Precision, isMin: Bool, _ lhs: XReg, _ rhs: XReg) {
        let notEqual = newLabel()
        let nan = newLabel()
        let done = newLabel()
        ucomis(p, lhs, rhs)
        jcc(.p, nan)
        jcc(.ne, notEqual)
        sseBit(isMin ? .or : .and, p, lhs, rhs)
        jmp(done)
        bind(nan)
        sse(.add, p, lhs, rhs)
        jmp(done)
        bind(notEqual)
        sse(isMin ? .min : .max, p, lhs, rhs)
        bind(done)
    }

    /// abs (`abs`) or neg of the float in `x`, into `d`, done on the bits in general registers:
    /// only the sign bit changes, so a NaN's payload passes through unchanged, as WebAssembly
    /// requires. `gpr` is clobbered; f64 also clobbers `mask`, since its 64-bit mask fits no
    /// immediate.
    public mutating func floatSignBits(_ p: Precision, abs: Bool, _ x: XReg, into d: XReg, gpr: Reg, mask: Reg) {
        let w: Width = p == .single ? .b32 : .b64
        movq(w, gpr, x)
        if p == .single {
            alu(abs ? .and : .xor, .b32, gpr, imm: abs ? 0x7FFF_FFFF : Int32.min)
        } else {
            mov(.b64, mask, imm: abs ? Int64.max : Int64.min)
            alu(abs ? .and : .xor, .b64, gpr, mask)
        }
        movq(w, d, gpr)
    }

    /// copysign on float bits held in general registers: `magnitude` becomes its own bits but
    /// the sign bit, with `sign`'s sign bit (`sign` is clobbered; f64 also clobbers `scratch`,
    /// for the 64-bit masks). Bit operations keep NaN payloads intact.
    public mutating func copysignBits(_ p: Precision, magnitude: Reg, sign: Reg, scratch: Reg) {
        if p == .single {
            alu(.and, .b32, magnitude, imm: 0x7FFF_FFFF)
            alu(.and, .b32, sign, imm: Int32.min)
        } else {
            mov(.b64, scratch, imm: Int64.max)
            alu(.and, .b64, magnitude, scratch)
            unary(.not, .b64, scratch)
            alu(.and, .b64, sign, scratch)
        }
        alu(.or, p == .single ? .b32 : .b64, magnitude, sign)
    }

    /// Converts the `bits`-wide integer in `r` to a float in `x`.
    ///
    /// x86 converts only signed integers, so an unsigned i32 converts as the 64-bit signed value
    /// it zero-extends to: `upperHalfZero` says that `r`'s upper half is zero already (else it
    /// is cleared first, changing `r`). An unsigned i64 with the top bit set is halved, keeping
    /// the low bit so that rounding is unchanged, converted and doubled; that path clobbers `r`
    /// and `scratch`.
    public mutating func convertToFloat(_ p: Precision, _ r: Reg, bits: Int, signed: Bool, into x: XReg,
                                        upperHalfZero: Bool, scratch: Reg) {
        pxor(x, x)  // cvtsi2s* only writes the low lane: break the dependency on x's old value
        if bits == 32 {
            if signed {
                cvtsi2s(p, from: .b32, x, r)
            } else {
                if !upperHalfZero { mov(.b32, r, r) }
                cvtsi2s(p, from: .b64, x, r)
            }
        } else if signed {
            cvtsi2s(p, from: .b64, x, r)
        } else {
            let big = newLabel()
            let done = newLabel()
            test(.b64, r, r)
            jcc(.s, big)
            cvtsi2s(p, from: .b64, x, r)
            jmp(done)
            bind(big)
            mov(.b64, scratch, r)
            shift(.shr, .b64, scratch, imm: 1)
            alu(.and, .b32, r, imm: 1)
            alu(.or, .b64, scratch, r)
            cvtsi2s(p, from: .b64, x, scratch)
            sse(.add, p, x, x)
            bind(done)
        }
    }
}
