import RuntimeABI
import WasmCore
import WasmDecoder
import X64

/// Float operators, with the sequences the baseline uses too (X64/Assembler+WasmFloat.swift,
/// Assembler+FloatTruncation.swift) and so its semantics exactly: NaN-aware compares, min/max
/// with NaN and signed zeros, sign-bit abs, neg and copysign, unsigned conversions,
/// range-checked truncations that trap or saturate.
/// Operands are read where they live; sequences that modify an operand work on xmm14/xmm15,
/// rax, rcx and rdx, and the result is moved to its location at the end.
extension CodeGen {
    mutating func emitFloat(_ op: NumericOp, _ inst: Inst) {
        let r = inst.results[0]
        let a = inst.args[0]
        switch op {
        case .f32Eq, .f64Eq: floatCompare(.eq, inst)
        case .f32Ne, .f64Ne: floatCompare(.ne, inst)
        case .f32Lt, .f64Lt: floatCompare(.lt, inst)
        case .f32Gt, .f64Gt: floatCompare(.gt, inst)
        case .f32Le, .f64Le: floatCompare(.le, inst)
        case .f32Ge, .f64Ge: floatCompare(.ge, inst)
        case .f32Add, .f64Add: floatArithmetic(.add, inst)
        case .f32Sub, .f64Sub: floatArithmetic(.sub, inst)
        case .f32Mul, .f64Mul: floatArithmetic(.mul, inst)
        case .f32Div, .f64Div: floatArithmetic(.div, inst)
        case .f32Min, .f64Min: minMax(isMin: true, inst)
        case .f32Max, .f64Max: minMax(isMin: false, inst)
        case .f32Sqrt, .f64Sqrt:
            let x = xreg(a, Self.floatA)
            let d = xdest(r)
            asm.sse(.sqrt, precision(r), d, x)
            finish(r, d)
        case .f32Ceil, .f64Ceil: round(inst, mode: 2)
        case .f32Floor, .f64Floor: round(inst, mode: 1)
        case .f32Trunc, .f64Trunc: round(inst, mode: 3)
        case .f32Nearest, .f64Nearest: round(inst, mode: 0)
        case .f32Abs, .f64Abs: signBits(inst, abs: true)
        case .f32Neg, .f64Neg: signBits(inst, abs: false)
        case .f32Copysign, .f64Copysign: copysign(inst)
        case .f32DemoteF64, .f64PromoteF32:
            let x = xreg(a, Self.floatA)
            let d = xdest(r)
            asm.cvts2s(to: precision(r), d, x)
            finish(r, d)
        case .i32ReinterpretF32, .i64ReinterpretF64:
            let x = xreg(a, Self.floatA)
            let d = dest(r)
            asm.movq(width(r), d, x)
            finish(r, d)
        case .f32ReinterpretI32, .f64ReinterpretI64:
            let g = reg(a, .rax)
            let d = xdest(r)
            asm.movq(width(a), d, g)
            finish(r, d)
        case .f32ConvertI32S, .f64ConvertI32S: convert(inst, signed: true)
        case .f32ConvertI32U, .f64ConvertI32U: convert(inst, signed: false)
        case .f32ConvertI64S, .f64ConvertI64S: convert(inst, signed: true)
        case .f32ConvertI64U, .f64ConvertI64U: convert(inst, signed: false)
        case .i32TruncF32S, .i32TruncF64S, .i64TruncF32S, .i64TruncF64S: truncate(inst, signed: true, saturating: false)
        case .i32TruncF32U, .i32TruncF64U, .i64TruncF32U, .i64TruncF64U: truncate(inst, signed: false, saturating: false)
        case .i32TruncSatF32S, .i32TruncSatF64S, .i64TruncSatF32S, .i64TruncSatF64S: truncate(inst, signed: true, saturating: true)
        case .i32TruncSatF32U, .i32TruncSatF64U, .i64TruncSatF32U, .i64TruncSatF64U: truncate(inst, signed: false, saturating: true)
        default:
            preconditionFailure("\(op) is not a float operator")
        }
    }

    /// NaN-aware comparison (`Assembler.floatCompare`, shared with the baseline).
    mutating func floatCompare(_ comparison: FloatComparison, _ inst: Inst) {
        let (a, b, r) = (inst.args[0], inst.args[1], inst.results[0])
        let lhs = xreg(a, Self.floatA)
        let rhs = xreg(b, Self.floatB)
        let d = dest(r)
        asm.floatCompare(precision(a), comparison, lhs, rhs, into: d, scratch: .rcx)
        finish(r, d)
    }

    mutating func floatArithmetic(_ op: SSEOp, _ inst: Inst) {
        let (a, b, r) = (inst.args[0], inst.args[1], inst.results[0])
        let p = precision(r)
        let rhs = xreg(b, Self.floatB)
        var d = xdest(r)
        if d == rhs && !(loc[a.id] == .xreg(d)) { d = Self.floatA }  // d holds b: compute aside
        move(.xreg(d), loc[a.id])
        asm.sse(op, p, d, rhs)
        if d == Self.floatA { move(loc[r.id], .xreg(d)) } else { finish(r, d) }
    }

    /// WebAssembly min/max, NaN and signed zeros included (`Assembler.floatMinMax`), computed in
    /// xmm14 since the sequence overwrites its first operand.
    mutating func minMax(isMin: Bool, _ inst: Inst) {
        let (a, b, r) = (inst.args[0], inst.args[1], inst.results[0])
        let rhs = xreg(b, Self.floatB)
        let lhs = Self.floatA
        move(.xreg(lhs), loc[a.id])
        asm.floatMinMax(precision(r), isMin: isMin, lhs, rhs)
        move(loc[r.id], .xreg(lhs))
    }

    mutating func round(_ inst: Inst, mode: UInt8) {
        let (a, r) = (inst.args[0], inst.results[0])
        let x = xreg(a, Self.floatA)
        let d = xdest(r)
        asm.round(precision(r), d, x, mode: mode | 8)
        finish(r, d)
    }

    /// abs and neg on the sign bit (`Assembler.floatSignBits`), through rax (and rcx for f64).
    mutating func signBits(_ inst: Inst, abs: Bool) {
        let (a, r) = (inst.args[0], inst.results[0])
        let x = xreg(a, Self.floatA)
        let d = xdest(r)
        asm.floatSignBits(precision(r), abs: abs, x, into: d, gpr: .rax, mask: .rcx)
        finish(r, d)
    }

    /// copysign on the operands' bits (`Assembler.copysignBits`), in rax and rcx. The sign is
    /// read first: loading a constant goes through rax.
    mutating func copysign(_ inst: Inst) {
        let (a, b, r) = (inst.args[0], inst.args[1], inst.results[0])
        let w: Width = precision(r) == .single ? .b32 : .b64
        let sign = xreg(b, Self.floatB)
        asm.movq(w, .rcx, sign)
        let magnitude = xreg(a, Self.floatA)
        asm.movq(w, .rax, magnitude)
        asm.copysignBits(precision(r), magnitude: .rax, sign: .rcx, scratch: .rdx)
        let d = xdest(r)
        asm.movq(w, d, .rax)
        finish(r, d)
    }

    /// Integer to float (`Assembler.convertToFloat`); the operand is copied to rax (the u64 path
    /// changes it). i32 values are kept zero-extended, so an unsigned one needs no clearing.
    mutating func convert(_ inst: Inst, signed: Bool) {
        let (a, r) = (inst.args[0], inst.results[0])
        load(a, into: .rax)
        let x = xdest(r)
        asm.convertToFloat(precision(r), .rax, bits: f.types[a.id] == .i32 ? 32 : 64, signed: signed, into: x,
                           upperHalfZero: true, scratch: .rcx)
        finish(r, x)
    }

    /// Float to integer truncation, the baseline's sequence (`Assembler.truncateFloat`). The
    /// operand is copied to xmm14 (the u64 path changes it); the result is built in rax.
    mutating func truncate(_ inst: Inst, signed: Bool, saturating: Bool) {
        let (a, r) = (inst.args[0], inst.results[0])
        let x = Self.floatA
        move(.xreg(x), loc[a.id])
        let traps = saturating ? nil : (overflow: trapLabel(.integerOverflow), invalid: trapLabel(.invalidConversionToInteger))
        asm.truncateFloat(precision(a), x, to: .rax, bits: f.types[r.id] == .i32 ? 32 : 64, signed: signed, traps: traps,
                          constant: Self.floatB, scratch: .rcx)
        move(loc[r.id], .reg(.rax))
    }
}
