import RuntimeABI
import WasmCore
import WasmDecoder
import X64

extension FunctionCompiler {
    mutating func emitNumeric(_ op: NumericOp) {
        switch op {
        case .i32Eqz, .i64Eqz:
            let r = popGPR()
            asm.test(op == .i32Eqz ? .b32 : .b64, r, r)
            setFlagResult(.e, into: r)
        case .i32Eq: emitCompare(.b32, .e)
        case .i32Ne: emitCompare(.b32, .ne)
        case .i32LtS: emitCompare(.b32, .l)
        case .i32LtU: emitCompare(.b32, .b)
        case .i32GtS: emitCompare(.b32, .g)
        case .i32GtU: emitCompare(.b32, .a)
        case .i32LeS: emitCompare(.b32, .le)
        case .i32LeU: emitCompare(.b32, .be)
        case .i32GeS: emitCompare(.b32, .ge)
        case .i32GeU: emitCompare(.b32, .ae)
        case .i64Eq: emitCompare(.b64, .e)
        case .i64Ne: emitCompare(.b64, .ne)
        case .i64LtS: emitCompare(.b64, .l)
        case .i64LtU: emitCompare(.b64, .b)
        case .i64GtS: emitCompare(.b64, .g)
        case .i64GtU: emitCompare(.b64, .a)
        case .i64LeS: emitCompare(.b64, .le)
        case .i64LeU: emitCompare(.b64, .be)
        case .i64GeS: emitCompare(.b64, .ge)
        case .i64GeU: emitCompare(.b64, .ae)

        case .i32Clz: emitClz(.b32)
        case .i64Clz: emitClz(.b64)
        case .i32Ctz: emitCtz(.b32)
        case .i64Ctz: emitCtz(.b64)
        case .i32Popcnt: emitPopcnt(.b32)
        case .i64Popcnt: emitPopcnt(.b64)

        case .i32Add: emitALU(.add, .i32)
        case .i32Sub: emitALU(.sub, .i32)
        case .i32And: emitALU(.and, .i32)
        case .i32Or: emitALU(.or, .i32)
        case .i32Xor: emitALU(.xor, .i32)
        case .i64Add: emitALU(.add, .i64)
        case .i64Sub: emitALU(.sub, .i64)
        case .i64And: emitALU(.and, .i64)
        case .i64Or: emitALU(.or, .i64)
        case .i64Xor: emitALU(.xor, .i64)
        case .i32Mul: emitMul(.i32)
        case .i64Mul: emitMul(.i64)
        case .i32DivS: emitDivRem(.i32, signed: true, remainder: false)
        case .i32DivU: emitDivRem(.i32, signed: false, remainder: false)
        case .i32RemS: emitDivRem(.i32, signed: true, remainder: true)
        case .i32RemU: emitDivRem(.i32, signed: false, remainder: true)
        case .i64DivS: emitDivRem(.i64, signed: true, remainder: false)
        case .i64DivU: emitDivRem(.i64, signed: false, remainder: false)
        case .i64RemS: emitDivRem(.i64, signed: true, remainder: true)
        case .i64RemU: emitDivRem(.i64, signed: false, remainder: true)
        case .i32Shl: emitShift(.shl, .i32)
        case .i32ShrS: emitShift(.sar, .i32)
        case .i32ShrU: emitShift(.shr, .i32)
        case .i32Rotl: emitShift(.rol, .i32)
        case .i32Rotr: emitShift(.ror, .i32)
        case .i64Shl: emitShift(.shl, .i64)
        case .i64ShrS: emitShift(.sar, .i64)
        case .i64ShrU: emitShift(.shr, .i64)
        case .i64Rotl: emitShift(.rol, .i64)
        case .i64Rotr: emitShift(.ror, .i64)

        case .i32WrapI64, .i64ExtendI32U:
            let r = popGPR()
            asm.mov(.b32, r, r)
            pushGPR(op == .i32WrapI64 ? .i32 : .i64, r)
        case .i64ExtendI32S: emitSignExtend(from: .b32, to: .i64)
        case .i32Extend8S: emitSignExtend(from: .b8, to: .i32)
        case .i32Extend16S: emitSignExtend(from: .b16, to: .i32)
        case .i64Extend8S: emitSignExtend(from: .b8, to: .i64)
        case .i64Extend16S: emitSignExtend(from: .b16, to: .i64)
        case .i64Extend32S: emitSignExtend(from: .b32, to: .i64)

        default:
            emitFloatNumeric(op)
        }
    }

    mutating func emitSignExtend(from: Width, to type: ValueType) {
        let r = popGPR()
        asm.movsx(from: from, to: width(type), r, r)
        pushGPR(type, r)
    }

    mutating func emitCompare(_ w: Width, _ condition: Condition) {
        if let imm = topImmediate() {
            popEntry()
            let lhs = popGPR()
            asm.alu(.cmp, w, lhs, imm: imm)
            setFlagResult(condition, into: lhs)
        } else {
            let rhs = popGPR()
            let lhs = popGPR()
            asm.alu(.cmp, w, lhs, rhs)
            free(rhs)
            setFlagResult(condition, into: lhs)
        }
    }

    mutating func emitALU(_ op: ALUOp, _ type: ValueType) {
        if let imm = topImmediate() {
            popEntry()
            let lhs = popGPR()
            asm.alu(op, width(type), lhs, imm: imm)
            pushGPR(type, lhs)
        } else {
            let rhs = popGPR()
            let lhs = popGPR()
            asm.alu(op, width(type), lhs, rhs)
            free(rhs)
            pushGPR(type, lhs)
        }
    }

    mutating func emitMul(_ type: ValueType) {
        if let imm = topImmediate() {
            popEntry()
            let lhs = popGPR()
            asm.imul(width(type), lhs, lhs, imm: imm)
            pushGPR(type, lhs)
        } else {
            let rhs = popGPR()
            let lhs = popGPR()
            asm.imul(width(type), lhs, rhs)
            free(rhs)
            pushGPR(type, lhs)
        }
    }

    /// Division through rax:rdx with the spec's traps (`Assembler.wasmDivide`, shared with the
    /// optimizing tier), every check made: the baseline knows nothing about the divisor.
    mutating func emitDivRem(_ type: ValueType, signed: Bool, remainder: Bool) {
        let w = width(type)
        claim(.rax)
        claim(.rdx)
        let divisor = popGPR()
        popInto(.rax)
        asm.wasmDivide(w, by: divisor, signed: signed, remainder: remainder, divideByZero: trapLabel(.integerDivideByZero),
                       checksMinusOne: true, overflow: signed && !remainder ? trapLabel(.integerOverflow) : nil,
                       scratch: Registers.scratch)
        free(divisor)
        if remainder {
            free(.rax)
            pushGPR(type, .rdx)
        } else {
            free(.rdx)
            pushGPR(type, .rax)
        }
    }

    /// Shifts and rotates: x86 masks the count to the operand width exactly as WebAssembly does.
    mutating func emitShift(_ op: ShiftOp, _ type: ValueType) {
        let w = width(type)
        if let imm = topImmediate() {
            popEntry()
            let value = popGPR()
            asm.shift(op, w, value, imm: UInt8(truncatingIfNeeded: imm) & (w == .b32 ? 31 : 63))
            pushGPR(type, value)
        } else {
            claim(.rcx)
            popInto(.rcx)
            let value = popGPR()
            asm.shift(op, w, value)
            free(.rcx)
            pushGPR(type, value)
        }
    }

    mutating func emitClz(_ w: Width) {
        let r = popGPR()
        asm.countLeadingZeros(w, r, r, scratch: Registers.scratch)
        pushGPR(w == .b32 ? .i32 : .i64, r)
    }

    mutating func emitCtz(_ w: Width) {
        let r = popGPR()
        asm.countTrailingZeros(w, r, r, scratch: Registers.scratch)
        pushGPR(w == .b32 ? .i32 : .i64, r)
    }

    mutating func emitPopcnt(_ w: Width) {
        let x = popGPR()
        if CPUFeatures.hasPOPCNT {
            asm.bitCount(.popcnt, w, x, x)
        } else {
            let t = allocGPR()
            asm.softwarePopcount(w, value: x, temp: t, scratch: Registers.scratch)
            free(t)
        }
        pushGPR(w == .b32 ? .i32 : .i64, x)
    }
}
