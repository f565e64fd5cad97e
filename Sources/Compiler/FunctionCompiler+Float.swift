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

    /// NaN-aware comparison (`Assembler.floatCompare`, shared with the optimizing tier).
    mutating func emitFloatCompare(_ p: Precision, _ comparison: FloatComparison) {
        let rhs = popXMM()
        let lhs = popXMM()
        let r = allocGPR()
        asm.floatCompare(p, comparison, lhs, rhs, into: r, scratch: Registers.scratch)
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

    /// WebAssembly min/max, NaN and signed zeros included (`Assembler.floatMinMax`).
    mutating func emitMinMax(_ p: Precision, isMin: Bool) {
        let rhs = popXMM()
        let lhs = popXMM()
        asm.floatMinMax(p, isMin: isMin, lhs, rhs)
        free(rhs)
        pushXMM(p == .single ? .f32 : .f64, lhs)
    }

    mutating func emitRound(_ p: Precision, mode: UInt8) {
        let x = popXMM()
        asm.round(p, x, x, mode: mode | 8)
        pushXMM(p == .single ? .f32 : .f64, x)
    }

    enum SignOperation { case abs, neg }

    /// abs and neg on the sign bit (`Assembler.floatSignBits`): f32 needs only the scratch
    /// register, f64 a second register for its 64-bit mask.
    mutating func emitSignBits(_ p: Precision, _ operation: SignOperation) {
        let x = popXMM()
        let r = p == .single ? Registers.scratch : allocGPR()
        asm.floatSignBits(p, abs: operation == .abs, x, into: x, gpr: r, mask: Registers.scratch)
        if p == .double { free(r) }
        pushXMM(p == .single ? .f32 : .f64, x)
    }

    /// copysign on the operands' bits (`Assembler.copysignBits`).
    mutating func emitCopysign(_ p: Precision) {
        let sign = popXMM()
        let magnitude = popXMM()
        let a = allocGPR()
        let b = allocGPR()
        let w: Width = p == .single ? .b32 : .b64
        asm.movq(w, a, magnitude)
        asm.movq(w, b, sign)
        asm.copysignBits(p, magnitude: a, sign: b, scratch: Registers.scratch)
        asm.movq(w, magnitude, a)
        free(a)
        free(b)
        free(sign)
        pushXMM(p == .single ? .f32 : .f64, magnitude)
    }

    /// Integer to float (`Assembler.convertToFloat`). The baseline does not keep i32 values
    /// zero-extended in registers, so an unsigned i32 has its upper half cleared first.
    mutating func emitConvert(_ p: Precision, from source: ValueType, signed: Bool) {
        let r = popGPR()
        let x = allocXMM()
        asm.convertToFloat(p, r, bits: source == .i32 ? 32 : 64, signed: signed, into: x, upperHalfZero: false,
                           scratch: Registers.scratch)
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
