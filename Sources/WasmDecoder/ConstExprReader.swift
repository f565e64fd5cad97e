import WasmCore

/// Reads and type-checks a constant expression (global initializers, segment offsets, element items).
///
/// In WebAssembly 2.0 a constant expression is one constant instruction and `end`; `global.get` may
/// only name an immutable imported global.
struct ConstExprReader {
    /// Types of the imported globals: the only globals a constant expression may read.
    let importedGlobals: [GlobalType]
    let functionCount: Int

    func read(_ reader: inout ByteReader, expecting expected: ValueType) throws(WasmError) -> ConstExpr {
        var instructions = InstructionReader(reader: reader, hasDataCount: true)
        var values: [(ConstExpr, ValueType)] = []
        while true {
            let offset = instructions.offset
            let instruction = try instructions.next()
            switch instruction {
            case .i32Const(let v): values.append((.i32(v), .i32))
            case .i64Const(let v): values.append((.i64(v), .i64))
            case .f32Const(let bits): values.append((.f32(bits: bits), .f32))
            case .f64Const(let bits): values.append((.f64(bits: bits), .f64))
            case .v128Const(let v): values.append((.v128(v), .v128))
            case .refNull(let t): values.append((.refNull(t), t.valueType))
            case .refFunc(let index):
                guard Int(index) < functionCount else { throw .invalid("unknown function \(index)", at: offset) }
                values.append((.refFunc(index), .funcref))
            case .globalGet(let index):
                guard Int(index) < importedGlobals.count else { throw .invalid("unknown global \(index)", at: offset) }
                let g = importedGlobals[Int(index)]
                guard !g.isMutable else { throw .invalid("constant expression required", at: offset) }
                values.append((.globalGet(index), g.valueType))
            case .end:
                reader.position = instructions.reader.position
                guard values.count == 1, values[0].1 == expected else { throw .invalid("type mismatch", at: offset) }
                return values[0].0
            default:
                throw .invalid("constant expression required", at: offset)
            }
        }
    }
}
