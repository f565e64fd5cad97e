import WasmCore
import WasmDecoder
import X64

/// v128 shifts and integer comparisons.
extension FunctionCompiler {
    /// Shifts take the count modulo the lane width (in a GPR, moved to xmm15).
    mutating func emitSIMDShift(_ op: SIMDOp) -> Bool {
        let shape: (bits: Int, op: PackedOp)
        switch op {
        case .i16x8Shl: shape = (16, .psllw)
        case .i16x8ShrS: shape = (16, .psraw)
        case .i16x8ShrU: shape = (16, .psrlw)
        case .i32x4Shl: shape = (32, .pslld)
        case .i32x4ShrS: shape = (32, .psrad)
        case .i32x4ShrU: shape = (32, .psrld)
        case .i64x2Shl: shape = (64, .psllq)
        case .i64x2ShrU: shape = (64, .psrlq)
        case .i8x16Shl, .i8x16ShrS, .i8x16ShrU:
            emitI8x16Shift(op)
            return true
        case .i64x2ShrS:
            emitI64x2ShrS()
            return true
        default: return false
        }
        let count = popGPR()
        let x = popXMM()
        asm.alu(.and, .b32, count, imm: Int32(shape.bits - 1))
        asm.movq(.b32, Registers.scratchXMM, count)
        asm.packed(shape.op, x, Registers.scratchXMM)
        free(count)
        pushXMM(.v128, x)
        return true
    }

    /// Byte shifts shift words, then mask off the bits that crossed from the neighbouring byte;
    /// arithmetic right shifts widen each byte to the high half of a word first.
    mutating func emitI8x16Shift(_ op: SIMDOp) {
        let count = popGPR()
        let x = popXMM()
        let t = allocXMM()
        let s = Registers.scratchXMM
        asm.alu(.and, .b32, count, imm: 7)
        switch op {
        case .i8x16ShrS:
            asm.alu(.add, .b32, count, imm: 8)
            asm.movq(.b32, s, count)
            asm.movdqa(t, x)
            asm.packed(.punpcklbw, x, x)  // each byte to the high half of a word
            asm.packed(.punpckhbw, t, t)
            asm.packed(.psraw, x, s)
            asm.packed(.psraw, t, s)
            asm.packed(.packsswb, x, t)
        case .i8x16Shl:
            asm.movq(.b32, s, count)
            asm.packed(.psllw, x, s)
            asm.packed(.pcmpeqd, t, t)
            asm.packed(.psllw, t, s)  // 0xFFFF << n: its low byte is the byte mask
            asm.packedShift(.psllw, t, imm: 8)
            asm.packedShift(.psrlw, t, imm: 8)
            asm.packed(.packuswb, t, t)
            asm.packed(.pand, x, t)
        default:  // shr_u
            asm.movq(.b32, s, count)
            asm.packed(.psrlw, x, s)
            asm.alu(.add, .b32, count, imm: 8)
            asm.packed(.pcmpeqd, t, t)
            asm.movq(.b32, s, count)
            asm.packed(.psrlw, t, s)  // 0xFFFF >> (n + 8) = 0xFF >> n
            asm.packed(.packuswb, t, t)
            asm.packed(.pand, x, t)
        }
        free(t)
        free(count)
        pushXMM(.v128, x)
    }

    /// No psraq before AVX-512: ((x >>> n) ^ m) - m with m = (1 << 63) >>> n.
    mutating func emitI64x2ShrS() {
        let count = popGPR()
        let x = popXMM()
        let m = allocXMM()
        let s = Registers.scratchXMM
        asm.alu(.and, .b32, count, imm: 63)
        asm.movq(.b32, s, count)
        asm.packed(.pcmpeqd, m, m)
        asm.packedShift(.psllq, m, imm: 63)
        asm.packed(.psrlq, m, s)
        asm.packed(.psrlq, x, s)
        asm.packed(.pxor, x, m)
        asm.packed(.psubq, x, m)
        free(m)
        free(count)
        pushXMM(.v128, x)
    }

    enum LaneCompare { case eq, ne, ltS, ltU, gtS, gtU, leS, leU, geS, geU }

    struct IntegerShape {
        var eq: PackedOp
        var gt: PackedOp?
        var minU: PackedOp?
        var maxU: PackedOp?
    }

    mutating func emitSIMDCompare(_ op: SIMDOp) -> Bool {
        let raw = op.rawValue
        let kinds: [LaneCompare] = [.eq, .ne, .ltS, .ltU, .gtS, .gtU, .leS, .leU, .geS, .geU]
        let shape: IntegerShape
        let base: UInt32
        switch raw {
        case 35...44: (shape, base) = (IntegerShape(eq: .pcmpeqb, gt: .pcmpgtb, minU: .pminub, maxU: .pmaxub), 35)
        case 45...54: (shape, base) = (IntegerShape(eq: .pcmpeqw, gt: .pcmpgtw, minU: .pminuw, maxU: .pmaxuw), 45)
        case 55...64: (shape, base) = (IntegerShape(eq: .pcmpeqd, gt: .pcmpgtd, minU: .pminud, maxU: .pmaxud), 55)
        default:
            switch op {
            case .i64x2Eq: emitIntegerCompare(.eq, IntegerShape(eq: .pcmpeqq))
            case .i64x2Ne: emitIntegerCompare(.ne, IntegerShape(eq: .pcmpeqq))
            case .i64x2LtS: emitI64x2Less(swap: false, invert: false)
            case .i64x2GtS: emitI64x2Less(swap: true, invert: false)
            case .i64x2LeS: emitI64x2Less(swap: true, invert: true)
            case .i64x2GeS: emitI64x2Less(swap: false, invert: true)
            default: return false
            }
            return true
        }
        emitIntegerCompare(kinds[Int(raw - base)], shape)
        return true
    }

    mutating func emitIntegerCompare(_ kind: LaneCompare, _ shape: IntegerShape) {
        let b = popXMM()
        let a = popXMM()
        var result = a
        var invert = false
        switch kind {
        case .eq: asm.packed(shape.eq, a, b)
        case .ne:
            asm.packed(shape.eq, a, b)
            invert = true
        case .gtS: asm.packed(shape.gt!, a, b)
        case .ltS:
            asm.packed(shape.gt!, b, a)
            result = b
        case .leS:
            asm.packed(shape.gt!, a, b)
            invert = true
        case .geS:
            asm.packed(shape.gt!, b, a)
            result = b
            invert = true
        case .geU, .ltU:  // a >= b  <=>  max(a, b) == a
            asm.movdqa(Registers.scratchXMM, a)
            asm.packed(shape.maxU!, Registers.scratchXMM, b)
            asm.packed(shape.eq, a, Registers.scratchXMM)
            invert = kind == .ltU
        case .leU, .gtU:  // a <= b  <=>  min(a, b) == a
            asm.movdqa(Registers.scratchXMM, a)
            asm.packed(shape.minU!, Registers.scratchXMM, b)
            asm.packed(shape.eq, a, Registers.scratchXMM)
            invert = kind == .gtU
        }
        if invert { bitwiseNot(result) }
        free(result == a ? b : a)
        pushXMM(.v128, result)
    }

    /// Signed 64-bit a < b without pcmpgtq (SSE4.2): the sign of (a - b), corrected where the
    /// subtraction overflowed, spread over the lane.
    mutating func emitI64x2Less(swap: Bool, invert: Bool) {
        var b = popXMM()
        var a = popXMM()
        if swap { (a, b) = (b, a) }
        let t = allocXMM()
        let v = Registers.scratchXMM
        asm.movdqa(t, a)
        asm.packed(.psubq, t, b)  // a - b
        asm.movdqa(v, t)
        asm.packed(.pxor, v, a)  // (a - b) ^ a
        asm.packed(.pxor, a, b)  // a ^ b
        asm.packed(.pand, a, v)  // overflow in the sign bit
        asm.packed(.pxor, t, a)  // the true sign of a - b
        asm.packedShift(.psrad, t, imm: 31)
        asm.packed(.pshufd, t, t, imm: 0xF5)
        if invert { bitwiseNot(t) }
        free(a)
        free(b)
        pushXMM(.v128, t)
    }
}
