import RuntimeABI
import WasmCore
import WasmDecoder
import X64

extension FunctionCompiler {
    mutating func emitFloatNumeric(_ op: NumericOp) {
        switch op {
        case .f32Eq: emitFloatCompare(.single, .eq)
        case .f32Ne: emitFloatCompare(.single, .ne)
        case .f32Lt: emitFloatCompare(.single, .lt)
        case .f32Gt: emitFloatCompare(.single, .gt)
        case .f32Le: emitFloatCompare(.single, .le)
        case .f32Ge: emitFloatCompare(.single, .ge)
        case .f64Eq: emitFloatCompare(.double, .eq)
        case .f64Ne: emitFloatCompare(.double, .ne)
        case .f64Lt: emitFloatCompare(.double, .lt)
        case .f64Gt: emitFloatCompare(.double, .gt)
        case .f64Le: emitFloatCompare(.double, .le)
        case .f64Ge: emitFloatCompare(.double, .ge)

        case .f32Add: emitFloatBinary(.add, .single)
        case .f32Sub: emitFloatBinary(.sub, .single)
        case .f32Mul: emitFloatBinary(.mul, .single)
        case .f32Div: emitFloatBinary(.div, .single)
        case .f64Add: emitFloatBinary(.add, .double)
        case .f64Sub: emitFloatBinary(.sub, .double)
        case .f64Mul: emitFloatBinary(.mul, .double)
        case .f64Div: emitFloatBinary(.div, .double)
        case .f32Min: emitMinMax(.single, isMin: true)
        case .f32Max: emitMinMax(.single, isMin: false)
        case .f64Min: emitMinMax(.double, isMin: true)
        case .f64Max: emitMinMax(.double, isMin: false)
        case .f32Sqrt, .f64Sqrt:
            let p: Precision = op == .f32Sqrt ? .single : .double
            let x = popXMM()
            asm.sse(.sqrt, p, x, x)
            pushXMM(p == .single ? .f32 : .f64, x)
        case .f32Ceil: emitRound(.single, mode: 2)
        case .f32Floor: emitRound(.single, mode: 1)
        case .f32Trunc: emitRound(.single, mode: 3)
        case .f32Nearest: emitRound(.single, mode: 0)
        case .f64Ceil: emitRound(.double, mode: 2)
        case .f64Floor: emitRound(.double, mode: 1)
        case .f64Trunc: emitRound(.double, mode: 3)
        case .f64Nearest: emitRound(.double, mode: 0)
        case .f32Abs: emitSignBits(.single, .abs)
        case .f32Neg: emitSignBits(.single, .neg)
        case .f64Abs: emitSignBits(.double, .abs)
        case .f64Neg: emitSignBits(.double, .neg)
        case .f32Copysign: emitCopysign(.single)
        case .f64Copysign: emitCopysign(.double)

        case .f32DemoteF64, .f64PromoteF32:
            let x = popXMM()
            let to: Precision = op == .f32DemoteF64 ? .single : .double
            asm.cvts2s(to: to, x, x)
            pushXMM(to == .single ? .f32 : .f64, x)
        case .i32ReinterpretF32, .i64ReinterpretF64:
            let x = popXMM()
            let r = allocGPR()
            asm.movq(op == .i32ReinterpretF32 ? .b32 : .b64, r, x)
            free(x)
            pushGPR(op == .i32ReinterpretF32 ? .i32 : .i64, r)
        case .f32ReinterpretI32, .f64ReinterpretI64:
            let r = popGPR()
            let x = allocXMM()
            asm.movq(op == .f32ReinterpretI32 ? .b32 : .b64, x, r)
            free(r)
            pushXMM(op == .f32ReinterpretI32 ? .f32 : .f64, x)

        case .f32ConvertI32S: emitConvert(.single, from: .i32, signed: true)
        case .f32ConvertI32U: emitConvert(.single, from: .i32, signed: false)
        case .f32ConvertI64S: emitConvert(.single, from: .i64, signed: true)
        case .f32ConvertI64U: emitConvert(.single, from: .i64, signed: false)
        case .f64ConvertI32S: emitConvert(.double, from: .i32, signed: true)
        case .f64ConvertI32U: emitConvert(.double, from: .i32, signed: false)
        case .f64ConvertI64S: emitConvert(.double, from: .i64, signed: true)
        case .f64ConvertI64U: emitConvert(.double, from: .i64, signed: false)

        case .i32TruncF32S: emitTruncate(.single, to: .i32, signed: true, saturating: false)
        case .i32TruncF32U: emitTruncate(.single, to: .i32, signed: false, saturating: false)
        case .i32TruncF64S: emitTruncate(.double, to: .i32, signed: true, saturating: false)
        case .i32TruncF64U: emitTruncate(.double, to: .i32, signed: false, saturating: false)
        case .i64TruncF32S: emitTruncate(.single, to: .i64, signed: true, saturating: false)
        case .i64TruncF32U: emitTruncate(.single, to: .i64, signed: false, saturating: false)
        case .i64TruncF64S: emitTruncate(.double, to: .i64, signed: true, saturating: false)
        case .i64TruncF64U: emitTruncate(.double, to: .i64, signed: false, saturating: false)
        case .i32TruncSatF32S: emitTruncate(.single, to: .i32, signed: true, saturating: true)
        case .i32TruncSatF32U: emitTruncate(.single, to: .i32, signed: false, saturating: true)
        case .i32TruncSatF64S: emitTruncate(.double, to: .i32, signed: true, saturating: true)
        case .i32TruncSatF64U: emitTruncate(.double, to: .i32, signed: false, saturating: true)
        case .i64TruncSatF32S: emitTruncate(.single, to: .i64, signed: true, saturating: true)
        case .i64TruncSatF32U: emitTruncate(.single, to: .i64, signed: false, saturating: true)
        case .i64TruncSatF64S: emitTruncate(.double, to: .i64, signed: true, saturating: true)
        case .i64TruncSatF64U: emitTruncate(.double, to: .i64, signed: false, saturating: true)
        default:
            preconditionFailure("integer operator \(op) reached the float emitter")
        }
    }

    enum FloatComparison { case eq, ne, lt, gt, le, ge }

    /// ucomis sets ZF, PF and CF all for an unordered (NaN) pair: "above" and "above or equal" are
    /// false then, so lt/le compare with the operands swapped; eq and ne fold in the parity flag.
    mutating func emitFloatCompare(_ p: Precision, _ comparison: FloatComparison) {
        let rhs = popXMM()
        let lhs = popXMM()
        let r = allocGPR()
        switch comparison {
        case .eq:
            asm.ucomis(p, lhs, rhs)
            asm.setcc(.e, r)
            asm.setcc(.np, Registers.scratch)
            asm.alu(.and, .b32, r, Registers.scratch)
        case .ne:
            asm.ucomis(p, lhs, rhs)
            asm.setcc(.ne, r)
            asm.setcc(.p, Registers.scratch)
            asm.alu(.or, .b32, r, Registers.scratch)
        case .lt:
            asm.ucomis(p, rhs, lhs)
            asm.setcc(.a, r)
        case .le:
            asm.ucomis(p, rhs, lhs)
            asm.setcc(.ae, r)
        case .gt:
            asm.ucomis(p, lhs, rhs)
            asm.setcc(.a, r)
        case .ge:
            asm.ucomis(p, lhs, rhs)
            asm.setcc(.ae, r)
        }
        asm.movzx(from: .b8, r, r)
        free(lhs)
        free(rhs)
        pushGPR(.i32, r)
    }

    mutating func emitFloatBinary(_ op: SSEOp, _ p: Precision) {
        let rhs = popXMM()
        let lhs = popXMM()
        asm.sse(op, p, lhs, rhs)
        free(rhs)
        pushXMM(p == .single ? .f32 : .f64, lhs)
    }

    /// WebAssembly min/max: NaN if either operand is NaN, and -0 < +0 — minss/maxss give neither.
    mutating func emitMinMax(_ p: Precision, isMin: Bool) {
        let rhs = popXMM()
        let lhs = popXMM()
        let notEqual = asm.newLabel()
        let nan = asm.newLabel()
        let done = asm.newLabel()
        asm.ucomis(p, lhs, rhs)
        asm.jcc(.p, nan)
        asm.jcc(.ne, notEqual)
        // Equal: only the signs of zeros can differ; OR keeps -0 for min, AND keeps +0 for max.
        asm.sseBit(isMin ? .or : .and, p, lhs, rhs)
        asm.jmp(done)
        asm.bind(nan)
        asm.sse(.add, p, lhs, rhs)  // a quiet NaN from the NaN operand(s)
        asm.jmp(done)
        asm.bind(notEqual)
        asm.sse(isMin ? .min : .max, p, lhs, rhs)
        asm.bind(done)
        free(rhs)
        pushXMM(p == .single ? .f32 : .f64, lhs)
    }

    mutating func emitRound(_ p: Precision, mode: UInt8) {
        let x = popXMM()
        asm.round(p, x, x, mode: mode | 8)
        pushXMM(p == .single ? .f32 : .f64, x)
    }

    enum SignOperation { case abs, neg }

    /// abs and neg only touch the sign bit (NaN payloads pass through), done in a GPR.
    mutating func emitSignBits(_ p: Precision, _ operation: SignOperation) {
        let x = popXMM()
        let s = Registers.scratch
        if p == .single {
            asm.movq(.b32, s, x)
            asm.alu(operation == .abs ? .and : .xor, .b32, s, imm: operation == .abs ? 0x7FFF_FFFF : Int32.min)
            asm.movq(.b32, x, s)
        } else {
            let r = allocGPR()
            asm.movq(.b64, r, x)
            asm.mov(.b64, s, imm: operation == .abs ? Int64.max : Int64.min)
            asm.alu(operation == .abs ? .and : .xor, .b64, r, s)
            asm.movq(.b64, x, r)
            free(r)
        }
        pushXMM(p == .single ? .f32 : .f64, x)
    }

    mutating func emitCopysign(_ p: Precision) {
        let sign = popXMM()
        let magnitude = popXMM()
        let a = allocGPR()
        let b = allocGPR()
        let w: Width = p == .single ? .b32 : .b64
        asm.movq(w, a, magnitude)
        asm.movq(w, b, sign)
        if p == .single {
            asm.alu(.and, .b32, a, imm: 0x7FFF_FFFF)
            asm.alu(.and, .b32, b, imm: Int32.min)
        } else {
            asm.mov(.b64, Registers.scratch, imm: Int64.max)
            asm.alu(.and, .b64, a, Registers.scratch)
            asm.unary(.not, .b64, Registers.scratch)
            asm.alu(.and, .b64, b, Registers.scratch)
        }
        asm.alu(.or, w, a, b)
        asm.movq(w, magnitude, a)
        free(a)
        free(b)
        free(sign)
        pushXMM(p == .single ? .f32 : .f64, magnitude)
    }

    mutating func emitConvert(_ p: Precision, from source: ValueType, signed: Bool) {
        let r = popGPR()
        let x = allocXMM()
        asm.pxor(x, x)  // cvtsi2s* only writes the low lane: break the dependency on x's old value
        if source == .i32 {
            if signed {
                asm.cvtsi2s(p, from: .b32, x, r)
            } else {
                asm.mov(.b32, r, r)
                asm.cvtsi2s(p, from: .b64, x, r)
            }
        } else if signed {
            asm.cvtsi2s(p, from: .b64, x, r)
        } else {
            // u64: values with the top bit set are halved (keeping the low bit, so rounding is
            // unchanged), converted and doubled.
            let big = asm.newLabel()
            let done = asm.newLabel()
            asm.test(.b64, r, r)
            asm.jcc(.s, big)
            asm.cvtsi2s(p, from: .b64, x, r)
            asm.jmp(done)
            asm.bind(big)
            asm.mov(.b64, Registers.scratch, r)
            asm.shift(.shr, .b64, Registers.scratch, imm: 1)
            asm.alu(.and, .b32, r, imm: 1)
            asm.alu(.or, .b64, Registers.scratch, r)
            asm.cvtsi2s(p, from: .b64, x, Registers.scratch)
            asm.sse(.add, p, x, x)
            asm.bind(done)
        }
        free(r)
        pushXMM(p == .single ? .f32 : .f64, x)
    }

    /// Float to integer truncation (`Assembler.truncateFloat`, shared with the optimizing tier):
    /// trapping forms trap on NaN and out of range; saturating forms give 0 for NaN and clamp.
    mutating func emitTruncate(_ p: Precision, to type: ValueType, signed: Bool, saturating: Bool) {
        let x = popXMM()
        let r = allocGPR()
        let traps = saturating ? nil : (overflow: trapLabel(.integerOverflow), invalid: trapLabel(.invalidConversionToInteger))
        asm.truncateFloat(p, x, to: r, bits: type == .i32 ? 32 : 64, signed: signed, traps: traps,
                          constant: Registers.scratchXMM, scratch: Registers.scratch)
        free(x)
        pushGPR(type, r)
    }
}
