import Runtime
import Testing

/// Unsigned division and remainder by constants (`CodeGen+DivConst.swift`): the multiply-by-
/// reciprocal forms against Swift's own `/` and `%`, over divisors that take every form (powers of
/// two, the plain multiply, the N+1-bit multiply-add, top-bit divisors that keep `div`), and the
/// code shape: no `div` left for a constant divisor. Signed division by a positive power of two
/// (a shift with a rounding bias) the same way, against Swift's truncating `/` and `%`.
@Suite("optimizer division by constants")
struct DivisionByConstantTests {
    static let divisors32: [UInt32] = [1, 2, 3, 5, 6, 7, 10, 11, 25, 60, 64, 100, 641, 1000, 1000003,
                                       0x7FFF_FFFF, 0x4000_0000, 0x8000_0000, 0x8000_0001, 0xFFFF_FFFF]
    static let divisors64: [UInt64] = [1, 2, 3, 5, 7, 10, 11, 19, 60, 641, 1000003, 0xFFFF_FFFF,
                                       0x1_0000_0001, 274_177, 0x7FFF_FFFF_FFFF_FFFF, 0x4000_0000_0000_0000,
                                       0x3FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0001, ~0]

    static var wat: String {
        var funcs: [String] = []
        for d in divisors32 {
            for op in ["div_u", "rem_u"] {
                funcs.append("(func (export \"i32_\(op)_\(d)\") (param i32) (result i32) local.get 0 i32.const \(Int32(bitPattern: d)) i32.\(op))")
            }
        }
        for d in divisors64 {
            for op in ["div_u", "rem_u"] {
                funcs.append("(func (export \"i64_\(op)_\(d)\") (param i64) (result i64) local.get 0 i64.const \(Int64(bitPattern: d)) i64.\(op))")
            }
        }
        return "(module \(funcs.joined(separator: "\n")))"
    }

    @Test func quotientsAndRemaindersAreExact() throws {
        let instance = try instantiate(Self.wat, tier: .optimized, heapMode: .guarded)
        #expect(instance.compiled.tierStats.optimizedFunctions == 2 * (Self.divisors32.count + Self.divisors64.count))
        var rng = Random(seed: 0xD1F1_5105)
        for d in Self.divisors32 {
            var xs: [UInt32] = [0, 1, d &- 1, d, d &+ 1, 0x7FFF_FFFF, 0x8000_0000, ~0, ~0 - 1, d &* 2 &- 1]
            for _ in 0..<40 { xs.append(UInt32(truncatingIfNeeded: rng.next())) }
            for x in xs {
                #expect(try call(instance, "i32_div_u_\(d)", [.i32(x)]) == .values([.i32(x / d)]), "\(x) / \(d)")
                #expect(try call(instance, "i32_rem_u_\(d)", [.i32(x)]) == .values([.i32(x % d)]), "\(x) % \(d)")
            }
        }
        for d in Self.divisors64 {
            var xs: [UInt64] = [0, 1, d &- 1, d, d &+ 1, 1 << 63, (1 << 63) - 1, ~0, ~0 - 1, 0xFFFF_FFFF, d &* 2 &- 1]
            for _ in 0..<40 { xs.append(rng.next()) }
            for x in xs {
                #expect(try call(instance, "i64_div_u_\(d)", [.i64(x)]) == .values([.i64(x / d)]), "\(x) / \(d)")
                #expect(try call(instance, "i64_rem_u_\(d)", [.i64(x)]) == .values([.i64(x % d)]), "\(x) % \(d)")
            }
        }
    }

    static let signed32: [Int32] = [2, 4, 8, 1 << 16, 1 << 30, 3, -2, 1, -1]
    static let signed64: [Int64] = [2, 16, 1 << 31, 1 << 32, 1 << 62, 7, -4, 1, -1]

    @Test func signedPowerOfTwoQuotientsAndRemaindersTruncate() throws {
        var funcs: [String] = []
        for (i, d) in Self.signed32.enumerated() {
            for op in ["div_s", "rem_s"] {
                funcs.append("(func (export \"i32_\(op)_\(i)\") (param i32) (result i32) local.get 0 i32.const \(d) i32.\(op))")
            }
        }
        for (i, d) in Self.signed64.enumerated() {
            for op in ["div_s", "rem_s"] {
                funcs.append("(func (export \"i64_\(op)_\(i)\") (param i64) (result i64) local.get 0 i64.const \(d) i64.\(op))")
            }
        }
        let instance = try instantiate("(module \(funcs.joined(separator: "\n")))", tier: .optimized, heapMode: .guarded)
        var rng = Random(seed: 0x5167_0ED)
        for (i, d) in Self.signed32.enumerated() {
            var xs: [Int32] = [0, 1, -1, d, -d, d - 1, 1 - d, d + 1, -d - 1, .max, .min + 1, 7, -7]
            for _ in 0..<40 { xs.append(Int32(truncatingIfNeeded: rng.next())) }
            for x in xs {
                let bits = UInt32(bitPattern: x)
                #expect(try call(instance, "i32_div_s_\(i)", [.i32(bits)]) == .values([.i32(UInt32(bitPattern: x / d))]), "\(x) / \(d)")
                #expect(try call(instance, "i32_rem_s_\(i)", [.i32(bits)]) == .values([.i32(UInt32(bitPattern: x % d))]), "\(x) % \(d)")
            }
        }
        for (i, d) in Self.signed64.enumerated() {
            var xs: [Int64] = [0, 1, -1, d, -d, d - 1, 1 - d, d + 1, -d - 1, .max, .min + 1, 7, -7]
            for _ in 0..<40 { xs.append(Int64(bitPattern: rng.next())) }
            for x in xs {
                let bits = UInt64(bitPattern: x)
                #expect(try call(instance, "i64_div_s_\(i)", [.i64(bits)]) == .values([.i64(UInt64(bitPattern: x / d))]), "\(x) / \(d)")
                #expect(try call(instance, "i64_rem_s_\(i)", [.i64(bits)]) == .values([.i64(UInt64(bitPattern: x % d))]), "\(x) % \(d)")
            }
        }
        // MIN / 2^k needs the bias too (and does not overflow).
        #expect(try call(instance, "i32_div_s_0", [.i32(0x8000_0000)]) == .values([.i32(0xC000_0000)]))
        #expect(try call(instance, "i64_div_s_0", [.i64(1 << 63)]) == .values([.i64(0xC000_0000_0000_0000)]))
    }

    @Test func aSignedHalvingIsAShiftNotAnIdiv() throws {
        let wat = "(module (func (param i32 i32) (result i32) local.get 0 local.get 1 i32.add i32.const 2 i32.div_s))"
        guard let lines = disassemble(try machineCode(wat)) else { return }
        #expect(!lines.contains { $0.hasPrefix("idiv ") }, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("sar ") }, "\(lines)")
    }

    @Test func aConstantDivisorIsAMultiplyNotADiv() throws {
        let wat = "(module (func (param i64) (result i64) local.get 0 i64.const 1000003 i64.rem_u))"
        guard let lines = disassemble(try machineCode(wat)) else { return }
        #expect(!lines.contains { $0.hasPrefix("div ") }, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("mul ") }, "\(lines)")
        // A divisor with its top bit set keeps div.
        let wide = "(module (func (param i32) (result i32) local.get 0 i32.const 0x80000001 i32.div_u))"
        guard let wideLines = disassemble(try machineCode(wide)) else { return }
        #expect(wideLines.contains { $0.hasPrefix("div ") }, "\(wideLines)")
    }
}
