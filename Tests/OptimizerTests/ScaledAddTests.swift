import Runtime
import RuntimeABI
import Testing

/// `(x << k) + y` with k = 1...3 and the shift used once is one `lea` (`CodeGen+ScaledAdd.swift`):
/// the code shape, and exact wrapping results against the baseline in both widths, for register,
/// constant and spilled operands, shift amounts taken modulo the width, and a shift whose operand
/// dies at the shift (its liveness has to reach the add).
@Suite("optimizer scaled adds")
struct ScaledAddTests {
    static let wat = """
        (module
          (func $h (param i64) (result i64) local.get 0)
          (func (export "reg32") (param i32 i32) (result i32) local.get 0 i32.const 2 i32.shl local.get 1 i32.add)
          (func (export "imm32") (param i32) (result i32) local.get 0 i32.const 3 i32.shl i32.const -7 i32.add)
          (func (export "mod32") (param i32) (result i32) i32.const 1000 local.get 0 i32.const 33 i32.shl i32.add)
          (func (export "reg64") (param i64 i64) (result i64) local.get 1 local.get 0 i64.const 3 i64.shl i64.add)
          (func (export "imm64") (param i64) (result i64) local.get 0 i64.const 1 i64.shl i64.const 0x7fffffff i64.add)
          (func (export "two") (param i32 i32) (result i32)
            local.get 0 i32.const 2 i32.shl local.get 1 i32.const 3 i32.shl i32.add)
          (func (export "spilled") (param i64 i64) (result i64) (local i64)
            local.get 0 i64.const 2 i64.shl local.set 2
            local.get 1 call $h drop
            local.get 2 local.get 1 i64.add))
        """

    @Test(arguments: HeapMode.allCases)
    func scaledAddsWrapAsTheBaselineDoes(heapMode: HeapMode) throws {
        let baseline = try instantiate(Self.wat, tier: .baseline, heapMode: heapMode)
        let optimized = try instantiate(Self.wat, tier: .optimized, heapMode: heapMode)
        #expect(optimized.compiled.tierStats.optimizedFunctions == 8)
        let xs32: [UInt32] = [0, 1, 7, 0x3FFF_FFFF, 0x4000_0000, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0x1234_5678]
        let xs64: [UInt64] = [0, 1, 0x1FFF_FFFF_FFFF_FFFF, 1 << 63, ~0, 0xFFFF_FFFF, 0x1234_5678_9ABC_DEF0]
        var cases: [(String, [Value])] = []
        for x in xs32 {
            cases += [("imm32", [.i32(x)]), ("mod32", [.i32(x)])]
            for y in xs32 { cases += [("reg32", [.i32(x), .i32(y)]), ("two", [.i32(x), .i32(y)])] }
        }
        for x in xs64 {
            cases.append(("imm64", [.i64(x)]))
            for y in xs64 { cases += [("reg64", [.i64(x), .i64(y)]), ("spilled", [.i64(x), .i64(y)])] }
        }
        for (name, args) in cases {
            #expect(try call(baseline, name, args) == call(optimized, name, args), "\(name)\(args)")
        }
    }

    @Test func aShiftedAddIsOneLea() throws {
        let wat = "(module (func (param i32 i32) (result i32) local.get 0 i32.const 2 i32.shl local.get 1 i32.add))"
        guard let lines = disassemble(try machineCode(wat)) else { return }
        #expect(!lines.contains { $0.hasPrefix("shl ") }, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("lea ") && $0.contains("*4]") }, "\(lines)")
    }
}
