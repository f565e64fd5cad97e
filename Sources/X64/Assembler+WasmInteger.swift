/// WebAssembly's integer operators that take x86 more than one instruction, shared by both
/// compiler tiers so that they trap and count identically.
extension Assembler {
    /// Divides rdx:rax by `divisor` (which is neither): the quotient is left in rax, the
    /// remainder in rdx.
    ///
    /// div and idiv fault (#DE) on a zero divisor and on a quotient that does not fit, which for
    /// idiv is MIN / -1. WebAssembly traps on a zero divisor and on MIN / -1 for div_s, but
    /// defines rem_s of MIN by -1 as 0; so a divisor of -1 takes a short path: rem_s gives 0
    /// there, div_s traps if the dividend is MIN (any other dividend divides normally). The
    /// caller leaves out what it has proven impossible: `divideByZero` is nil for a divisor
    /// known not to be zero, `checksMinusOne` false for one known not to be -1. `overflow`, the
    /// trap for MIN / -1, is needed only for div_s with `checksMinusOne`; `scratch` holds the
    /// i64 MIN for the compare.
    public mutating func wasmDivide(_ w: Width, by divisor: Reg, signed: Bool, remainder: Bool,
                                    divideByZero: Label?, checksMinusOne: Bool, overflow: Label?, scratch: Reg) {
        if let divideByZero {
            test(w, divisor, divisor)
            jcc(.e, divideByZero)
        }
        guard signed else {
            alu(.xor, .b32, .rdx, .rdx)
            unary(.div, w, divisor)
            return
        }
        let divide = newLabel()
        let done = newLabel()
        if checksMinusOne {
            alu(.cmp, w, divisor, imm: -1)
            jcc(.ne, divide)
            if remainder {
                alu(.xor, .b32, .rdx, .rdx)
                jmp(done)
            } else {
                guard let overflow else { preconditionFailure("div_s by a possible -1 needs the overflow trap") }
                if w == .b32 {
                    alu(.cmp, .b32, .rax, imm: Int32.min)
                } else {
                    mov(.b64, scratch, imm: Int64.min)
                    alu(.cmp, .b64, .rax, scratch)
                }
                jcc(.e, overflow)
            }
        }
        bind(divide)
        if w == .b32 { cdq() } else { cqo() }
        unary(.idiv, w, divisor)
        bind(done)
    }

    /// clz of `x` into `d`. Without lzcnt, bsr gives the index of the highest set bit, and leaves
    /// ZF set (and its destination undefined) for 0: count = (bits - 1) - index, with index -1
    /// standing for "no bit set" (loaded through `scratch`).
    public mutating func countLeadingZeros(_ w: Width, _ d: Reg, _ x: Reg, scratch: Reg) {
        if CPUFeatures.hasLZCNT {
            bitCount(.lzcnt, w, d, x)
        } else {
            bitCount(.bsr, w, d, x)
            mov(.b64, scratch, imm: -1)
            cmov(.e, w, d, scratch)
            unary(.neg, w, d)
            alu(.add, w, d, imm: w == .b32 ? 31 : 63)
        }
    }

    /// ctz of `x` into `d`. Without tzcnt, bsf leaves ZF set for 0, whose count is the width
    /// (loaded through `scratch`).
    public mutating func countTrailingZeros(_ w: Width, _ d: Reg, _ x: Reg, scratch: Reg) {
        if CPUFeatures.hasBMI1 {
            bitCount(.tzcnt, w, d, x)
        } else {
            bitCount(.bsf, w, d, x)
            mov(.b64, scratch, imm: w == .b32 ? 32 : 64)
            cmov(.e, w, d, scratch)
        }
    }
}
