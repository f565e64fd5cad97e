import WasmCore
import WasmDecoder
import X64

/// v128 floating point: comparisons, abs/neg, min/max (with WebAssembly's NaN and signed-zero
/// rules), rounding, and the conversions (saturating truncations, unsigned converts,
/// demote/promote). The sequences follow the well-known SSE4.1 lowerings (as in V8's and
/// Cranelift's x64 backends); NaN results are quiet and, where the spec asks, canonical.
extension FunctionCompiler {
    /// Handles `op` if it is a float operator.
    mutating func emitSIMDFloat(_ op: SIMDOp) -> Bool {
        switch op {
        case .f32x4Eq: emitFloatCompare(.cmpps, 0, swap: false)
        case .f32x4Ne: emitFloatCompare(.cmpps, 4, swap: false)
        case .f32x4Lt: emitFloatCompare(.cmpps, 1, swap: false)
        case .f32x4Gt: emitFloatCompare(.cmpps, 1, swap: true)
        case .f32x4Le: emitFloatCompare(.cmpps, 2, swap: false)
        case .f32x4Ge: emitFloatCompare(.cmpps, 2, swap: true)
        case .f64x2Eq: emitFloatCompare(.cmppd, 0, swap: false)
        case .f64x2Ne: emitFloatCompare(.cmppd, 4, swap: false)
        case .f64x2Lt: emitFloatCompare(.cmppd, 1, swap: false)
        case .f64x2Gt: emitFloatCompare(.cmppd, 1, swap: true)
        case .f64x2Le: emitFloatCompare(.cmppd, 2, swap: false)
        case .f64x2Ge: emitFloatCompare(.cmppd, 2, swap: true)
        case .f32x4Abs: emitSignMask(.f32x4, negate: false)
        case .f32x4Neg: emitSignMask(.f32x4, negate: true)
        case .f64x2Abs: emitSignMask(.f64x2, negate: false)
        case .f64x2Neg: emitSignMask(.f64x2, negate: true)
        case .f32x4Sqrt: emitUnaryPacked(.sqrtps)
        case .f64x2Sqrt: emitUnaryPacked(.sqrtpd)
        case .f32x4Ceil: emitRound(.roundps, 2)
        case .f32x4Floor: emitRound(.roundps, 1)
        case .f32x4Trunc: emitRound(.roundps, 3)
        case .f32x4Nearest: emitRound(.roundps, 0)
        case .f64x2Ceil: emitRound(.roundpd, 2)
        case .f64x2Floor: emitRound(.roundpd, 1)
        case .f64x2Trunc: emitRound(.roundpd, 3)
        case .f64x2Nearest: emitRound(.roundpd, 0)
        case .f32x4Min: emitFloatMin(.f32x4)
        case .f64x2Min: emitFloatMin(.f64x2)
        case .f32x4Max: emitFloatMax(.f32x4)
        case .f64x2Max: emitFloatMax(.f64x2)
        // pmin(a, b) = b < a ? b : a and pmax(a, b) = a < b ? b : a: exactly minps/maxps b, a.
        case .f32x4Pmin: emitPackedBinary(.minps, swapped: true)
        case .f32x4Pmax: emitPackedBinary(.maxps, swapped: true)
        case .f64x2Pmin: emitPackedBinary(.minpd, swapped: true)
        case .f64x2Pmax: emitPackedBinary(.maxpd, swapped: true)
        case .f32x4ConvertI32x4S: emitUnaryPacked(.cvtdq2ps)
        case .f64x2ConvertLowI32x4S: emitUnaryPacked(.cvtdq2pd)
        case .f32x4DemoteF64x2Zero: emitUnaryPacked(.cvtpd2ps)
        case .f64x2PromoteLowF32x4: emitUnaryPacked(.cvtps2pd)
        case .f32x4ConvertI32x4U: emitF32x4ConvertU()
        case .f64x2ConvertLowI32x4U: emitF64x2ConvertLowU()
        case .i32x4TruncSatF32x4S: emitTruncSatF32S()
        case .i32x4TruncSatF32x4U: emitTruncSatF32U()
        case .i32x4TruncSatF64x2SZero: emitTruncSatF64SZero()
        case .i32x4TruncSatF64x2UZero: emitTruncSatF64UZero()
        default: return false
        }
        return true
    }

    /// What differs between the f32x4 and f64x2 forms of a sequence (instructions, bit positions),
    /// so that each sequence is written once for both lane shapes.
    struct FloatShape {
        var min, max, sub, compare: PackedOp
        var shiftLeft, shiftRight: Assembler.PackedShift
        var signBit: UInt8
        /// All ones shifted right by this covers a lane's mantissa below the quiet bit: the
        /// payload that a canonical NaN has clear.
        var payloadShift: UInt8

        static let f32x4 = FloatShape(min: .minps, max: .maxps, sub: .subps, compare: .cmpps, shiftLeft: .pslld,
                                      shiftRight: .psrld, signBit: 31, payloadShift: 10)
        static let f64x2 = FloatShape(min: .minpd, max: .maxpd, sub: .subpd, compare: .cmppd, shiftLeft: .psllq,
                                      shiftRight: .psrlq, signBit: 63, payloadShift: 13)
    }

    /// cmpps/cmppd with predicate `predicate` (0 eq, 1 lt, 2 le, 4 neq: true on NaN); gt and ge
    /// are lt and le with the operands swapped.
    mutating func emitFloatCompare(_ op: PackedOp, _ predicate: UInt8, swap: Bool) {
        emitPackedBinary(op, imm: predicate, swapped: swap)
    }

    /// abs ands with all ones shifted right by one (the sign bits clear), neg xors with all ones
    /// shifted left to the sign bit.
    mutating func emitSignMask(_ shape: FloatShape, negate: Bool) {
        let x = popXMM()
        let s = Registers.scratchXMM
        asm.packed(.pcmpeqd, s, s)
        if negate {
            asm.packedShift(shape.shiftLeft, s, imm: shape.signBit)
            asm.packed(.pxor, x, s)
        } else {
            asm.packedShift(shape.shiftRight, s, imm: 1)
            asm.packed(.pand, x, s)
        }
        pushXMM(.v128, x)
    }

    mutating func emitRound(_ op: PackedOp, _ mode: UInt8) {
        emitUnaryPacked(op, imm: mode | 8)  // 8: no precision exception
    }

    /// The minimum both ways, or'ed (a NaN or -0 from either side survives), then NaN lanes
    /// made canonical.
    mutating func emitFloatMin(_ shape: FloatShape) {
        let (a, b) = popBothWays(shape.min)
        asm.packed(.orps, Registers.scratchXMM, b)
        canonicalizeNaNs(shape, into: b, quieted: false)
        free(a)
        pushXMM(.v128, b)
    }

    /// The maximum both ways; their xor finds the lanes that disagree (NaNs, +0/-0), which are
    /// merged so that +0 wins over -0; then NaN lanes are made canonical.
    mutating func emitFloatMax(_ shape: FloatShape) {
        let (a, b) = popBothWays(shape.max)
        let s = Registers.scratchXMM
        asm.packed(.xorps, b, s)
        asm.packed(.orps, s, b)
        asm.packed(shape.sub, s, b)  // (also quiets the NaN lanes)
        canonicalizeNaNs(shape, into: b, quieted: true)
        free(a)
        pushXMM(.v128, b)
    }

    /// Pops a and b and applies `op` both ways: op(a, b) into the scratch, op(b, a) into b.
    /// minps/maxps return their second operand when either is NaN or both are zeros, so what
    /// one order drops the other keeps. a is dead after this, for the caller to free.
    private mutating func popBothWays(_ op: PackedOp) -> (a: XReg, b: XReg) {
        let b = popXMM()
        let a = popXMM()
        asm.movdqa(Registers.scratchXMM, a)
        asm.packed(op, Registers.scratchXMM, b)
        asm.packed(op, b, a)
        return (a, b)
    }

    /// Into `b`: the scratch with its NaN lanes made the canonical NaN (payload below the quiet
    /// bit cleared). Unless `quieted` says their quiet bits are already set, NaN lanes are first
    /// filled with ones: clearing the payload of a signalling NaN would leave an infinity.
    private mutating func canonicalizeNaNs(_ shape: FloatShape, into b: XReg, quieted: Bool) {
        let s = Registers.scratchXMM
        asm.movdqa(b, s)
        asm.packed(shape.compare, b, s, imm: 3)  // unordered: NaN lanes
        if !quieted { asm.packed(.orps, s, b) }
        asm.packedShift(shape.shiftRight, b, imm: shape.payloadShift)
        asm.packed(.andnps, b, s)
    }

    /// The low 16 bits of each lane convert exactly; the rest is halved (so it is positive as a
    /// signed integer), converted, doubled, and added.
    mutating func emitF32x4ConvertU() {
        let x = popXMM()
        let s = Registers.scratchXMM
        asm.pxor(s, s)
        asm.packed(.pblendw, s, x, imm: 0x55)  // the low halves
        asm.packed(.psubd, x, s)  // the high halves
        asm.packed(.cvtdq2ps, s, s)
        asm.packedShift(.psrld, x, imm: 1)
        asm.packed(.cvtdq2ps, x, x)
        asm.packed(.addps, x, x)
        asm.packed(.addps, x, s)
        pushXMM(.v128, x)
    }

    /// 2^52 + u as a double has u in its low mantissa bits: build it, then subtract 2^52.
    mutating func emitF64x2ConvertLowU() {
        let x = popXMM()
        let s = Registers.scratchXMM
        materializeSplat(0x4330_0000, bits: 32, into: s)
        asm.packed(.unpcklps, x, s)
        materializeSplat(0x4330_0000_0000_0000, bits: 64, into: s)
        asm.packed(.subpd, x, s)
        pushXMM(.v128, x)
    }

    /// cvttps2dq gives 0x80000000 for NaN and out-of-range lanes: zero the NaNs first, then turn
    /// the positive overflows into 0x7FFFFFFF.
    mutating func emitTruncSatF32S() {
        let x = popXMM()
        let s = Registers.scratchXMM
        asm.movdqa(s, x)
        asm.packed(.cmpps, s, x, imm: 0)  // ordered-equal: not NaN
        asm.packed(.pand, x, s)
        asm.packed(.pxor, s, x)  // top bit set where x >= 0
        asm.packed(.cvttps2dq, x, x)
        asm.packed(.pand, s, x)  // ... and the result is negative: overflow
        asm.packedShift(.psrad, s, imm: 31)
        asm.packed(.pxor, x, s)
        pushXMM(.v128, x)
    }

    /// Clamp NaN and negatives to 0; lanes at or above 2^31 convert (x - 2^31) and add it back.
    mutating func emitTruncSatF32U() {
        let x = popXMM()
        let t = allocXMM()
        let s = Registers.scratchXMM
        asm.pxor(s, s)
        asm.packed(.maxps, x, s)
        asm.packed(.pcmpeqd, s, s)
        asm.packedShift(.psrld, s, imm: 1)
        asm.packed(.cvtdq2ps, s, s)  // 2^31 as a float
        asm.movdqa(t, x)
        asm.packed(.subps, t, s)
        asm.packed(.cmpps, s, t, imm: 2)  // 2^31 <= x - 2^31: beyond u32
        asm.packed(.cvttps2dq, t, t)
        asm.packed(.pxor, t, s)
        asm.pxor(s, s)
        asm.packed(.pmaxsd, t, s)
        asm.packed(.cvttps2dq, x, x)
        asm.packed(.paddd, x, t)
        free(t)
        pushXMM(.v128, x)
    }

    /// NaN lanes become 0, the rest are clamped to 2147483647.0; cvttpd2dq gives INT_MIN for the
    /// negative overflows, as saturation wants, and zeroes the upper lanes.
    mutating func emitTruncSatF64SZero() {
        let x = popXMM()
        let s = Registers.scratchXMM
        let t = allocXMM()
        asm.movdqa(s, x)
        asm.packed(.cmppd, s, x, imm: 0)
        materializeSplat(Double(2147483647.0).bitPattern, bits: 64, into: t)
        asm.packed(.andps, s, t)
        asm.packed(.minpd, x, s)
        asm.packed(.cvttpd2dq, x, x)
        free(t)
        pushXMM(.v128, x)
    }

    /// Clamp to [0, 4294967295], truncate, add 2^52 so the integer is in the low dword, gather.
    mutating func emitTruncSatF64UZero() {
        let x = popXMM()
        let s = Registers.scratchXMM
        asm.pxor(s, s)
        asm.packed(.maxpd, x, s)
        materializeSplat(Double(4294967295.0).bitPattern, bits: 64, into: s)
        asm.packed(.minpd, x, s)
        asm.packed(.roundpd, x, x, imm: 3 | 8)
        materializeSplat(0x4330_0000_0000_0000, bits: 64, into: s)
        asm.packed(.addpd, x, s)
        asm.pxor(s, s)
        asm.packed(.shufps, x, s, imm: 0x88)
        pushXMM(.v128, x)
    }
}
