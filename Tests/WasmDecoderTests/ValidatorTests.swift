import Testing
import WasmCore
import WasmDecoder
import WasmText

@Suite("Validator")
struct ValidatorTests {
    func message(_ text: String) throws -> String? { try errorDecodingText(text)?.message }

    @Test func polymorphicStackAfterUnreachable() throws {
        #expect(try message("(module (func (result i32) unreachable i32.add))") == nil)
        #expect(try message("(module (func (result i32) unreachable i64.const 0 i32.add))") == "type mismatch")
        #expect(try message("(module (func (result i32) (br 0) (i32.const 1) (i64.const 1) (select)))") == "type mismatch")
        #expect(try message("(module (func (result i64) unreachable select))") == nil)
        #expect(try message("(module (func i32.const 1))") == "type mismatch")
    }

    @Test func branches() throws {
        #expect(try message("(module (func (block (br 1))))") == nil)
        #expect(try message("(module (func (block (br 2))))")?.hasPrefix("unknown label") == true)
        // br_table labels must agree in arity.
        #expect(
            try message("(module (func (block (result i32) (block (i32.const 0) (i32.const 0) (br_table 0 1))) drop))")
                == "type mismatch")
        #expect(
            try message("(module (func (result i32) (block (result i32) (unreachable) (br_table 0 1)) ))") == nil)
        // A loop label carries the loop's parameters.
        #expect(
            try message(
                "(module (type $t (func (param i32) (result i32))) (func (result i32) (i32.const 1) (loop (type $t) (br 0))))")
                == nil)
    }

    @Test func multiValueBlocksAndIf() throws {
        #expect(
            try message(
                "(module (func (result i32 i64) (block (result i32 i64) (i32.const 1) (i64.const 2))))") == nil)
        // An `if` without `else` must leave its params as its results.
        #expect(try message("(module (func (result i32) (i32.const 1) (if (result i32) (then (i32.const 2)))))") == "type mismatch")
    }

    @Test func referencesAndSelect() throws {
        #expect(try message("(module (func (result funcref) (ref.func 0)))") == "undeclared function reference")
        #expect(try message("(module (func (result funcref) (ref.func 0)) (elem declare func 0))") == nil)
        #expect(try message("(module (func (result funcref) (ref.func 0)) (export \"f\" (func 0)))") == nil)
        #expect(
            try message("(module (func (result funcref) (ref.null func) (ref.null func) (i32.const 1) (select)))")
                == "type mismatch")
        #expect(
            try message("(module (func (result funcref) (ref.null func) (ref.null func) (i32.const 1) (select (result funcref))))")
                == nil)
        #expect(try message("(module (func (result i32) (i32.const 1) (ref.is_null)))") == "type mismatch")
    }

    @Test func memoryGlobalsAndTables() throws {
        #expect(try message("(module (memory 1) (func (drop (i32.load align=8 (i32.const 0)))))") == "alignment must not be larger than natural")
        #expect(try message("(module (func (drop (i32.load (i32.const 0)))))")?.hasPrefix("unknown memory") == true)
        #expect(try message("(module (global i32 (i32.const 0)) (func (global.set 0 (i32.const 1))))") == "global is immutable")
        #expect(try message("(module (global (mut i32) (i64.const 0)))") == "type mismatch")
        #expect(try message("(module (global i32 (i32.add (i32.const 0) (i32.const 1))))") == "constant expression required")
        #expect(try message("(module (table 1 externref) (func (call_indirect (i32.const 0))))") == "type mismatch")
        #expect(try message("(module (table 1 funcref) (elem (table 0) (i32.const 0) externref) )") != nil)
    }

    @Test func simdLanesAndShapes() throws {
        #expect(try message("(module (func (result i32) (i8x16.extract_lane_s 16 (v128.const i64x2 0 0))))") == "invalid lane index")
        #expect(try message("(module (func (result i64) (i64x2.extract_lane 1 (v128.const i64x2 0 0))))") == nil)
        #expect(try message("(module (func (result v128) (i32x4.shl (v128.const i64x2 0 0) (i64.const 1))))") == "type mismatch")
    }

    /// A compiler drives the reader and the validator together and reads the operand types as it goes.
    @Test func lockstepDriving() throws {
        let module = try ModuleDecoder.decode(
            TextFormat.wat2wasm("(module (func (param f32) (result i64) (i32.const 1) (local.get 0) (drop) (drop) (i64.const 2)))"),
            validateFunctions: false)
        let body = module.functionBodies[0]
        let context = ModuleDecoderContext.of(module)
        var validator = FunctionValidator(
            context: context, type: module.types[0], localCounts: body.localCounts, localTypes: body.localTypes)
        var reader = InstructionReader(
            reader: ByteReader(bytes: module.bytes, position: body.code.lowerBound, limit: body.code.upperBound), hasDataCount: false)
        var stackSizes: [Int] = []
        while !validator.isFinished {
            let offset = reader.offset
            try validator.validate(try reader.next(), at: offset)
            stackSizes.append(validator.operands.count)
        }
        #expect(stackSizes == [1, 2, 1, 0, 1, 0])
        #expect(validator.localType(0) == .f32)
    }
}

/// Builds the validation context of a decoded module, as a compiler would.
enum ModuleDecoderContext {
    static func of(_ module: Module) -> ValidationContext {
        ValidationContext(
            types: module.types,
            functionTypeIndices: module.imports.compactMap { if case .function(let t) = $0.descriptor { t } else { nil } }
                + module.functionTypeIndices,
            tables: module.allTables, memories: module.allMemories, globals: module.allGlobals,
            elementTypes: module.elements.map(\.type), dataCount: module.dataCount)
    }
}
