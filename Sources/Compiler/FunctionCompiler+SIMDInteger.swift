import WasmCore
import WasmDecoder
import X64

/// Bitwise and integer v128 operators. Each pops its operands into XMM registers it then owns,
/// computes into the first (or a temporary), and pushes the result; xmm15 is the scratch.
extension FunctionCompiler {
    mutating func emitSIMD(_ op: SIMDOp) throws {
        if let packed = Self.directBinary[op] { return emitPackedBinary(packed) }
        if emitSIMDFloat(op) { return }
        switch op {
        case .i8x16Splat, .i16x8Splat, .i32x4Splat, .i64x2Splat, .f32x4Splat, .f64x2Splat: emitSplat(op)
        case .i8x16Swizzle: emitSwizzle()
        case .v128Andnot: emitPackedBinary(.pandn, swapped: true)  // ~b & a
        case .v128Not:
            let x = popXMM()
            bitwiseNot(x)
            pushXMM(.v128, x)
        case .v128Bitselect:
            let c = popXMM()
            let b = popXMM()
            let a = popXMM()
            asm.packed(.pxor, a, b)
            asm.packed(.pand, a, c)
            asm.packed(.pxor, a, b)  // ((a ^ b) & c) ^ b
            free(b)
            free(c)
            pushXMM(.v128, a)
        case .v128AnyTrue:
            let x = popXMM()
            let r = allocGPR()
            asm.packed(.ptest, x, x)
            free(x)
            setFlagResult(.ne, into: r)
        case .i8x16AllTrue: emitAllTrue(.pcmpeqb)
        case .i16x8AllTrue: emitAllTrue(.pcmpeqw)
        case .i32x4AllTrue: emitAllTrue(.pcmpeqd)
        case .i64x2AllTrue: emitAllTrue(.pcmpeqq)
        case .i8x16Bitmask, .i16x8Bitmask, .i32x4Bitmask, .i64x2Bitmask: emitBitmask(op)
        case .i8x16Abs: emitUnaryPacked(.pabsb)
        case .i16x8Abs: emitUnaryPacked(.pabsw)
        case .i32x4Abs: emitUnaryPacked(.pabsd)
        case .i64x2Abs: emitI64x2Abs()
        case .i8x16Neg: emitNeg(.psubb)
        case .i16x8Neg: emitNeg(.psubw)
        case .i32x4Neg: emitNeg(.psubd)
        case .i64x2Neg: emitNeg(.psubq)
        case .i8x16Popcnt: emitPopcnt()
        case .i16x8Q15mulrSatS: emitQ15MulR()
        case .i64x2Mul: emitI64x2Mul()
        default:
            if emitSIMDWidening(op) || emitSIMDShift(op) || emitSIMDCompare(op) { return }
            throw CompileError("SIMD operator \(op) is not supported by the code generator")
        }
    }

    /// Extends, extending multiplies and pairwise adds: handles `op` if it is one.
    mutating func emitSIMDWidening(_ op: SIMDOp) -> Bool {
        switch op {
        case .i16x8ExtendLowI8x16S: emitExtend(.pmovsxbw, high: false)
        case .i16x8ExtendHighI8x16S: emitExtend(.pmovsxbw, high: true)
        case .i16x8ExtendLowI8x16U: emitExtend(.pmovzxbw, high: false)
        case .i16x8ExtendHighI8x16U: emitExtend(.pmovzxbw, high: true)
        case .i32x4ExtendLowI16x8S: emitExtend(.pmovsxwd, high: false)
        case .i32x4ExtendHighI16x8S: emitExtend(.pmovsxwd, high: true)
        case .i32x4ExtendLowI16x8U: emitExtend(.pmovzxwd, high: false)
        case .i32x4ExtendHighI16x8U: emitExtend(.pmovzxwd, high: true)
        case .i64x2ExtendLowI32x4S: emitExtend(.pmovsxdq, high: false)
        case .i64x2ExtendHighI32x4S: emitExtend(.pmovsxdq, high: true)
        case .i64x2ExtendLowI32x4U: emitExtend(.pmovzxdq, high: false)
        case .i64x2ExtendHighI32x4U: emitExtend(.pmovzxdq, high: true)
        case .i16x8ExtmulLowI8x16S: emitExtmul(.pmovsxbw, .pmullw, high: false)
        case .i16x8ExtmulHighI8x16S: emitExtmul(.pmovsxbw, .pmullw, high: true)
        case .i16x8ExtmulLowI8x16U: emitExtmul(.pmovzxbw, .pmullw, high: false)
        case .i16x8ExtmulHighI8x16U: emitExtmul(.pmovzxbw, .pmullw, high: true)
        case .i32x4ExtmulLowI16x8S: emitExtmul(.pmovsxwd, .pmulld, high: false)
        case .i32x4ExtmulHighI16x8S: emitExtmul(.pmovsxwd, .pmulld, high: true)
        case .i32x4ExtmulLowI16x8U: emitExtmul(.pmovzxwd, .pmulld, high: false)
        case .i32x4ExtmulHighI16x8U: emitExtmul(.pmovzxwd, .pmulld, high: true)
        case .i64x2ExtmulLowI32x4S: emitExtmul64(.pmuldq, high: false)
        case .i64x2ExtmulHighI32x4S: emitExtmul64(.pmuldq, high: true)
        case .i64x2ExtmulLowI32x4U: emitExtmul64(.pmuludq, high: false)
        case .i64x2ExtmulHighI32x4U: emitExtmul64(.pmuludq, high: true)
        case .i16x8ExtaddPairwiseI8x16S, .i16x8ExtaddPairwiseI8x16U, .i32x4ExtaddPairwiseI16x8S,
             .i32x4ExtaddPairwiseI16x8U:
            emitExtaddPairwise(op)
        default: return false
        }
        return true
    }

    /// Operators that are exactly one packed instruction `a = a op b`.
    static let directBinary: [SIMDOp: PackedOp] = [
        .v128And: .pand, .v128Or: .por, .v128Xor: .pxor,
        .i8x16Add: .paddb, .i8x16AddSatS: .paddsb, .i8x16AddSatU: .paddusb, .i8x16Sub: .psubb,
        .i8x16SubSatS: .psubsb, .i8x16SubSatU: .psubusb, .i8x16MinS: .pminsb, .i8x16MinU: .pminub,
        .i8x16MaxS: .pmaxsb, .i8x16MaxU: .pmaxub, .i8x16AvgrU: .pavgb,
        .i8x16NarrowI16x8S: .packsswb, .i8x16NarrowI16x8U: .packuswb,
        .i16x8Add: .paddw, .i16x8AddSatS: .paddsw, .i16x8AddSatU: .paddusw, .i16x8Sub: .psubw,
        .i16x8SubSatS: .psubsw, .i16x8SubSatU: .psubusw, .i16x8Mul: .pmullw, .i16x8MinS: .pminsw,
        .i16x8MinU: .pminuw, .i16x8MaxS: .pmaxsw, .i16x8MaxU: .pmaxuw, .i16x8AvgrU: .pavgw,
        .i16x8NarrowI32x4S: .packssdw, .i16x8NarrowI32x4U: .packusdw,
        .i32x4Add: .paddd, .i32x4Sub: .psubd, .i32x4Mul: .pmulld, .i32x4MinS: .pminsd, .i32x4MinU: .pminud,
        .i32x4MaxS: .pmaxsd, .i32x4MaxU: .pmaxud, .i32x4DotI16x8S: .pmaddwd,
        .i64x2Add: .paddq, .i64x2Sub: .psubq,
        .f32x4Add: .addps, .f32x4Sub: .subps, .f32x4Mul: .mulps, .f32x4Div: .divps,
        .f64x2Add: .addpd, .f64x2Sub: .subpd, .f64x2Mul: .mulpd, .f64x2Div: .divpd,
    ]

    /// A binary operator that is one packed instruction: `a = a op b`, or `b = b op a` where
    /// the instruction takes the operands the other way round (`swapped`: andnot, pmin/pmax,
    /// float gt/ge); `imm` is the immediate byte of the instructions that take one.
    mutating func emitPackedBinary(_ op: PackedOp, imm: UInt8? = nil, swapped: Bool = false) {
        let b = popXMM()
        let a = popXMM()
        let (dst, src) = swapped ? (b, a) : (a, b)
        if let imm {
            asm.packed(op, dst, src, imm: imm)
        } else {
            asm.packed(op, dst, src)
        }
        free(src)
        pushXMM(.v128, dst)
    }

    /// A unary operator that is one packed instruction, in place.
    mutating func emitUnaryPacked(_ op: PackedOp, imm: UInt8? = nil) {
        let x = popXMM()
        if let imm {
            asm.packed(op, x, x, imm: imm)
        } else {
            asm.packed(op, x, x)
        }
        pushXMM(.v128, x)
    }

    /// x = ~x. SSE has no packed not: xor with all ones, which pcmpeqd makes from any register.
    mutating func bitwiseNot(_ x: XReg) {
        asm.packed(.pcmpeqd, Registers.scratchXMM, Registers.scratchXMM)
        asm.packed(.pxor, x, Registers.scratchXMM)
    }

    mutating func emitNeg(_ sub: PackedOp) {
        let x = popXMM()
        asm.movdqa(Registers.scratchXMM, x)
        asm.pxor(x, x)
        asm.packed(sub, x, Registers.scratchXMM)
        pushXMM(.v128, x)
    }

    mutating func emitAllTrue(_ eq: PackedOp) {
        let x = popXMM()
        let r = allocGPR()
        asm.pxor(Registers.scratchXMM, Registers.scratchXMM)
        asm.packed(eq, Registers.scratchXMM, x)  // all ones in lanes that are zero
        asm.packed(.ptest, Registers.scratchXMM, Registers.scratchXMM)
        free(x)
        setFlagResult(.e, into: r)
    }

    mutating func emitBitmask(_ op: SIMDOp) {
        let x = popXMM()
        let r = allocGPR()
        switch op {
        case .i8x16Bitmask: asm.pmovmskb(r, x)
        case .i16x8Bitmask:
            asm.packed(.packsswb, x, x)  // saturation keeps the sign
            asm.pmovmskb(r, x)
            asm.movzx(from: .b8, r, r)
        case .i32x4Bitmask: asm.movmsk(.single, r, x)
        default: asm.movmsk(.double, r, x)
        }
        free(x)
        pushGPR(.i32, r)
    }

    /// |x| = (x ^ s) - s with s the sign of each 64-bit lane.
    mutating func emitI64x2Abs() {
        let x = popXMM()
        let s = Registers.scratchXMM
        asm.packed(.pshufd, s, x, imm: 0xF5)  // each lane's high dword, twice
        asm.packedShift(.psrad, s, imm: 31)
        asm.packed(.pxor, x, s)
        asm.packed(.psubq, x, s)
        pushXMM(.v128, x)
    }

    /// Nibble lookup: popcnt(b) = table[b & 15] + table[b >> 4].
    mutating func emitPopcnt() {
        let x = popXMM()
        let t = allocXMM()
        let mask = Registers.scratchXMM
        materializeSplat(0x0F, bits: 8, into: mask)
        asm.movdqa(t, x)
        asm.packedShift(.psrlw, t, imm: 4)
        asm.packed(.pand, t, mask)
        asm.packed(.pand, x, mask)
        materializeV128(V128(low: 0x0302_0201_0201_0100, high: 0x0403_0302_0302_0201), into: mask)
        let table = allocXMM()
        asm.movdqa(table, mask)
        asm.packed(.pshufb, mask, x)
        asm.packed(.pshufb, table, t)
        asm.packed(.paddb, mask, table)
        asm.movdqa(x, mask)
        free(t)
        free(table)
        pushXMM(.v128, x)
    }

    /// pmulhrsw is exact but for 0x8000 * 0x8000, which it gives as 0x8000: flip those to 0x7FFF.
    mutating func emitQ15MulR() {
        let b = popXMM()
        let a = popXMM()
        asm.packed(.pmulhrsw, a, b)
        materializeSplat(0x8000, bits: 16, into: Registers.scratchXMM)
        asm.packed(.pcmpeqw, Registers.scratchXMM, a)
        asm.packed(.pxor, a, Registers.scratchXMM)
        free(b)
        pushXMM(.v128, a)
    }

    /// lo(a)*lo(b) + ((hi(a)*lo(b) + lo(a)*hi(b)) << 32), with 32x32->64 multiplies.
    mutating func emitI64x2Mul() {
        let b = popXMM()
        let a = popXMM()
        let t = allocXMM()
        let u = Registers.scratchXMM
        asm.movdqa(t, a)
        asm.packedShift(.psrlq, t, imm: 32)
        asm.packed(.pmuludq, t, b)  // hi(a) * lo(b)
        asm.movdqa(u, b)
        asm.packedShift(.psrlq, u, imm: 32)
        asm.packed(.pmuludq, u, a)  // hi(b) * lo(a)
        asm.packed(.paddq, t, u)
        asm.packedShift(.psllq, t, imm: 32)
        asm.packed(.pmuludq, a, b)
        asm.packed(.paddq, a, t)
        free(t)
        free(b)
        pushXMM(.v128, a)
    }

    mutating func emitExtend(_ op: PackedOp, high: Bool) {
        let x = popXMM()
        if high { asm.packed(.pshufd, x, x, imm: 0xEE) }
        asm.packed(op, x, x)
        pushXMM(.v128, x)
    }

    mutating func emitExtmul(_ extend: PackedOp, _ mul: PackedOp, high: Bool) {
        let b = popXMM()
        let a = popXMM()
        if high {
            asm.packed(.pshufd, a, a, imm: 0xEE)
            asm.packed(.pshufd, b, b, imm: 0xEE)
        }
        asm.packed(extend, a, a)
        asm.packed(extend, b, b)
        asm.packed(mul, a, b)
        free(b)
        pushXMM(.v128, a)
    }

    /// pmuldq/pmuludq multiply dwords 0 and 2: spread the two source dwords there first.
    mutating func emitExtmul64(_ mul: PackedOp, high: Bool) {
        let b = popXMM()
        let a = popXMM()
        let order: UInt8 = high ? 0xFA : 0x50  // [2,2,3,3] or [0,0,1,1]
        asm.packed(.pshufd, a, a, imm: order)
        asm.packed(.pshufd, b, b, imm: order)
        asm.packed(mul, a, b)
        free(b)
        pushXMM(.v128, a)
    }

    mutating func emitExtaddPairwise(_ op: SIMDOp) {
        let x = popXMM()
        let s = Registers.scratchXMM
        switch op {
        case .i16x8ExtaddPairwiseI8x16S:
            materializeSplat(1, bits: 8, into: s)
            asm.packed(.pmaddubsw, s, x)  // unsigned 1s times signed bytes
            asm.movdqa(x, s)
        case .i16x8ExtaddPairwiseI8x16U:
            materializeSplat(1, bits: 8, into: s)
            asm.packed(.pmaddubsw, x, s)  // unsigned bytes times signed 1s
        case .i32x4ExtaddPairwiseI16x8S:
            materializeSplat(1, bits: 16, into: s)
            asm.packed(.pmaddwd, x, s)
        default:  // i32x4 from unsigned i16: bias to signed, add pairs, unbias (2 * 0x8000)
            materializeSplat(0x8000, bits: 16, into: s)
            asm.packed(.pxor, x, s)
            materializeSplat(1, bits: 16, into: s)
            asm.packed(.pmaddwd, x, s)
            materializeSplat(0x10000, bits: 32, into: s)
            asm.packed(.paddd, x, s)
        }
        pushXMM(.v128, x)
    }
}
