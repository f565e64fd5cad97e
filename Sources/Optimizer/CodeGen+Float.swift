import RuntimeABI
import WasmCore
import WasmDecoder
import X64

/// Float operators, with the baseline's sequences (Compiler/FunctionCompiler+Float.swift) and so
/// its semantics exactly: NaN-aware compares, min/max with NaN and signed zeros, sign-bit abs,
/// neg and copysign, unsigned conversions, range-checked truncations that trap or saturate.
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

    enum FloatComparison { case eq, ne, lt, gt, le, ge }

    /// ucomis sets ZF, PF and CF for an unordered pair: lt/le compare swapped, eq/ne fold in PF.
    mutating func floatCompare(_ comparison: FloatComparison, _ inst: Inst) {
        let (a, b, r) = (inst.args[0], inst.args[1], inst.results[0])
        let p = precision(a)
        let lhs = xreg(a, Self.floatA)
        let rhs = xreg(b, Self.floatB)
        let d = dest(r)
        switch comparison {
        case .eq:
            asm.ucomis(p, lhs, rhs)
            asm.setcc(.e, d)
            asm.setcc(.np, .rcx)
            asm.alu(.and, .b32, d, .rcx)
        case .ne:
            asm.ucomis(p, lhs, rhs)
            asm.setcc(.ne, d)
            asm.setcc(.p, .rcx)
            asm.alu(.or, .b32, d, .rcx)
        case .lt:
            asm.ucomis(p, rhs, lhs)
            asm.setcc(.a, d)
        case .le:
            asm.ucomis(p, rhs, lhs)
            asm.setcc(.ae, d)
        case .gt:
            asm.ucomis(p, lhs, rhs)
            asm.setcc(.a, d)
        case .ge:
            asm.ucomis(p, lhs, rhs)
            asm.setcc(.ae, d)
        }
        asm.movzx(from: .b8, d, d)
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

    /// WebAssembly min/max: NaN if either operand is NaN, and -0 < +0 (minss/maxss give neither).
    mutating func minMax(isMin: Bool, _ inst: Inst) {
        let (a, b, r) = (inst.args[0], inst.args[1], inst.results[0])
        let p = precision(r)
        let rhs = xreg(b, Self.floatB)
        let lhs = Self.floatA
        move(.xreg(lhs), loc[a.id])
        let notEqual = asm.newLabel()
        let nan = asm.newLabel()
        let done = asm.newLabel()
        asm.ucomis(p, lhs, rhs)
        asm.jcc(.p, nan)
        asm.jcc(.ne, notEqual)
        asm.sseBit(isMin ? .or : .and, p, lhs, rhs)
        asm.jmp(done)
        asm.bind(nan)
        asm.sse(.add, p, lhs, rhs)
        asm.jmp(done)
        asm.bind(notEqual)
        asm.sse(isMin ? .min : .max, p, lhs, rhs)
        asm.bind(done)
        move(loc[r.id], .xreg(lhs))
    }

    mutating func round(_ inst: Inst, mode: UInt8) {
        let (a, r) = (inst.args[0], inst.results[0])
        let x = xreg(a, Self.floatA)
        let d = xdest(r)
        asm.round(precision(r), d, x, mode: mode | 8)
        finish(r, d)
    }

    /// abs and neg only touch the sign bit (NaN payloads pass through), done in rax.
    mutating func signBits(_ inst: Inst, abs: Bool) {
        let (a, r) = (inst.args[0], inst.results[0])
        let x = xreg(a, Self.floatA)
        if precision(r) == .single {
            asm.movq(.b32, .rax, x)
            asm.alu(abs ? .and : .xor, .b32, .rax, imm: abs ? 0x7FFF_FFFF : Int32.min)
        } else {
            asm.movq(.b64, .rax, x)
            asm.mov(.b64, .rcx, imm: abs ? Int64.max : Int64.min)
            asm.alu(abs ? .and : .xor, .b64, .rax, .rcx)
        }
        let d = xdest(r)
        asm.movq(precision(r) == .single ? .b32 : .b64, d, .rax)
        finish(r, d)
    }

    mutating func copysign(_ inst: Inst) {
        let (a, b, r) = (inst.args[0], inst.args[1], inst.results[0])
        let single = precision(r) == .single
        let w: Width = single ? .b32 : .b64
        let sign = xreg(b, Self.floatB)  // (loading a constant goes through rax)
        asm.movq(w, .rcx, sign)
        let magnitude = xreg(a, Self.floatA)
        asm.movq(w, .rax, magnitude)
        if single {
            asm.alu(.and, .b32, .rax, imm: 0x7FFF_FFFF)
            asm.alu(.and, .b32, .rcx, imm: Int32.min)
        } else {
            asm.mov(.b64, .rdx, imm: Int64.max)
            asm.alu(.and, .b64, .rax, .rdx)
            asm.unary(.not, .b64, .rdx)
            asm.alu(.and, .b64, .rcx, .rdx)
        }
        asm.alu(.or, w, .rax, .rcx)
        let d = xdest(r)
        asm.movq(w, d, .rax)
        finish(r, d)
    }

    /// Integer to float; the operand is copied to rax (the u64 path changes it).
    mutating func convert(_ inst: Inst, signed: Bool) {
        let (a, r) = (inst.args[0], inst.results[0])
        let p = precision(r)
        load(a, into: .rax)
        let x = xdest(r)
        asm.pxor(x, x)  // cvtsi2s* only writes the low lane: break the dependency on x's old value
        if f.types[a.id] == .i32 {
            // i32 values are kept zero-extended: unsigned converts as a 64-bit signed value.
            asm.cvtsi2s(p, from: signed ? .b32 : .b64, x, .rax)
        } else if signed {
            asm.cvtsi2s(p, from: .b64, x, .rax)
        } else {
            let big = asm.newLabel()
            let done = asm.newLabel()
            asm.test(.b64, .rax, .rax)
            asm.jcc(.s, big)
            asm.cvtsi2s(p, from: .b64, x, .rax)
            asm.jmp(done)
            asm.bind(big)
            asm.mov(.b64, .rcx, .rax)
            asm.shift(.shr, .b64, .rcx, imm: 1)
            asm.alu(.and, .b32, .rax, imm: 1)
            asm.alu(.or, .b64, .rcx, .rax)
            asm.cvtsi2s(p, from: .b64, x, .rcx)
            asm.sse(.add, p, x, x)
            asm.bind(done)
        }
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
