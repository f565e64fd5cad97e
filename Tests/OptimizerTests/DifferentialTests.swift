import Compiler
import Foundation
import Runtime
import RuntimeABI
import Testing
import WasmText

/// The optimizing tier against the baseline: the same results and the same traps, on random
/// integer programs (locals, nested blocks and loops, br_if and br_table, memory, calls,
/// division traps) and random arguments, in both heap modes.
@Suite("optimizer differential")
struct DifferentialTests {
    @Test(arguments: HeapMode.allCases)
    func randomProgramsAgreeWithTheBaseline(heapMode: HeapMode) throws {
        var rng = Random(seed: 0x5EED_0001)
        var compared = 0
        for program in 0..<100 {
            var generator = ProgramGenerator(rng: &rng)
            let wat = generator.module()
            if ProcessInfo.processInfo.environment["SHOAL_PRINT_PROGRAM"] != nil { print(wat) }
            let baseline = try instantiate(wat, tier: .baseline, heapMode: heapMode)
            let optimized = try instantiate(wat, tier: .optimized, heapMode: heapMode)
            #expect(optimized.compiled.tierStats.optimizedFunctions == 2, "program \(program) fell back: \(optimized.compiled.tierStats.fallbackReasons)")
            for _ in 0..<12 {
                let args: [Value] = [.i32(rng.interesting32()), .i64(rng.interesting64()), .i32(rng.interesting32())]
                let expected = try call(baseline, "f", args)
                let actual = try call(optimized, "f", args)
                #expect(expected == actual, "program \(program) args \(args)\n\(wat)")
                compared += 1
                if expected != actual { return }
            }
        }
        #expect(compared == 1200)
    }

    @Test(arguments: HeapMode.allCases)
    func specStyleTrapsMatch(heapMode: HeapMode) throws {
        let wat = """
            (module (memory 1)
              (func (export "div_s") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_s)
              (func (export "rem_s") (param i64 i64) (result i64) local.get 0 local.get 1 i64.rem_s)
              (func (export "div_u_const") (param i32) (result i32) local.get 0 i32.const 0 i32.div_u)
              (func (export "load") (param i32) (result i64) local.get 0 i64.load offset=65530)
              (func (export "store") (param i32) local.get 0 i32.const 7 i32.store16 offset=2)
              (func (export "unreachable") (param i32) (result i32) (if (local.get 0) (then unreachable)) i32.const 1)
              (func (export "recurse") (param i32) (result i32) local.get 0 i32.const 1 i32.add call 6)
              (func (export "fields") (param i32) (result i32)
                (i32.store offset=8 (local.get 0) (i32.const 5))
                (i32.store offset=4 (local.get 0) (i32.const 6))
                (i32.store offset=12 (local.get 0) (i32.const 7))
                (i32.add (i32.load offset=12 (local.get 0)) (i32.load offset=9 (local.get 0))))
              (func (export "checksum") (result i64) (local $i i32) (local $h i64)
                (loop $l
                  (local.set $h (i64.add (i64.rotl (local.get $h) (i64.const 5)) (i64.load (local.get $i))))
                  (local.set $i (i32.add (local.get $i) (i32.const 8)))
                  (br_if $l (i32.lt_u (local.get $i) (i32.const 65536))))
                local.get $h))
            """
        let baseline = try instantiate(wat, tier: .baseline, heapMode: heapMode)
        let optimized = try instantiate(wat, tier: .optimized, heapMode: heapMode)
        #expect(optimized.compiled.tierStats.optimizedFunctions == 9)
        let cases: [(String, [Value])] = [
            ("div_s", [.i32(7), .i32(0)]), ("div_s", [.i32(0x8000_0000), .i32(0xFFFF_FFFF)]), ("div_s", [.i32(0xFFFF_FFF9), .i32(2)]),
            ("rem_s", [.i64(0x8000_0000_0000_0000), .i64(~0)]), ("rem_s", [.i64(5), .i64(0)]), ("rem_s", [.i64(~6), .i64(4)]),
            ("div_u_const", [.i32(3)]), ("load", [.i32(0)]), ("load", [.i32(6)]), ("load", [.i32(0xFFFF_FFFF)]),
            ("store", [.i32(65532)]), ("store", [.i32(65533)]), ("unreachable", [.i32(0)]), ("unreachable", [.i32(1)]),
            ("fields", [.i32(0)]), ("fields", [.i32(65520)]), ("fields", [.i32(65524)]), ("fields", [.i32(65530)]),
            ("recurse", [.i32(0)]),
        ]
        for (name, args) in cases {
            let expected = try call(baseline, name, args)
            let actual = try call(optimized, name, args)
            #expect(expected == actual, "\(name)\(args)")
        }
        #expect(try call(optimized, "recurse", [.i32(0)]) == .trap(.callStackExhausted))
        // What the stores that ran before a trap left in memory is the same too.
        #expect(try call(baseline, "checksum", []) == call(optimized, "checksum", []))
    }

    /// Sixteen values live through a loop with a call in it: more than the eight allocatable
    /// registers, and all live across the call, so they spill.
    @Test(arguments: HeapMode.allCases)
    func pressureAndCallsSpillCorrectly(heapMode: HeapMode) throws {
        let locals = (0..<16).map { "(local $v\($0) i64)" }.joined(separator: " ")
        let inits = (0..<16).map { "(local.set $v\($0) (i64.mul (local.get $n) (i64.const \($0 + 3))))" }.joined(separator: "\n")
        let updates = (0..<16).map { "(local.set $v\($0) (i64.add (local.get $v\($0)) (local.get $v\(($0 + 1) % 16))))" }.joined(separator: "\n")
        let sum = (1..<16).map { "local.get $v\($0) i64.xor" }.joined(separator: " ")
        let wat = """
            (module
              (func $h (param i64) (result i64) local.get 0 i64.const 1 i64.rotl)
              (func (export "f") (param $n i64) (result i64) \(locals) (local $i i32)
                \(inits)
                (loop $top
                  \(updates)
                  (local.set $v3 (call $h (local.get $v3)))
                  (local.set $i (i32.add (local.get $i) (i32.const 1)))
                  (br_if $top (i32.lt_u (local.get $i) (i32.const 100))))
                local.get $v0 \(sum)))
            """
        let baseline = try instantiate(wat, tier: .baseline, heapMode: heapMode)
        let optimized = try instantiate(wat, tier: .optimized, heapMode: heapMode)
        #expect(optimized.compiled.tierStats.optimizedFunctions == 2)
        for n: UInt64 in [0, 1, 12345, ~0] {
            #expect(try call(baseline, "f", [.i64(n)]) == call(optimized, "f", [.i64(n)]))
        }
        if let lines = disassemble(try machineCode(wat, function: 1, heapMode: heapMode)) {
            #expect(lines.contains { $0.hasPrefix("mov QWORD PTR [rbp-") }, "no spill store")
        }
    }

    /// Fuel is counted at the same places (function entries, loop headers) as the baseline's.
    @Test func fuelUseMatchesTheBaseline() throws {
        let wat = """
            (module (func $inner (param i32) (result i32) (loop $l (br_if $l (i32.lt_u (local.get 0) (i32.const 0)))) local.get 0)
              (func (export "f") (param $n i32) (result i32) (local $i i32) (local $s i32)
                (block $b (loop $top
                  (br_if $b (i32.ge_u (local.get $i) (local.get $n)))
                  (local.set $s (i32.add (local.get $s) (call $inner (local.get $i))))
                  (local.set $i (i32.add (local.get $i) (i32.const 1)))
                  (br $top)))
                (loop $never (br_if $never (i32.const 0)))
                local.get $s))
            """
        var used: [Int64] = []
        for tier in CompilerTier.allCases {
            let compiled = try ModuleCompiler.compile(bytes: try TextFormat.wat2wasm(wat),
                                                      options: CompileOptions(heapMode: .guarded, fuel: true, tier: tier))
            let store = Store(heapMode: .guarded)
            let instance = try store.instantiate(compiled) { _, _ in nil }
            store.setFuel(1_000_000)
            _ = try instance.invoke("f", [.i32(1000)])
            used.append(1_000_000 - store.fuel(of: instance))
        }
        #expect(used[0] == used[1])
        #expect(used[0] > 2000)
    }

    @Test func aYieldInAnOptimizedLoopKeepsItsRegisters() throws {
        let wat = """
            (module (func (export "f") (param $n i64) (result i64) (local $i i64) (local $a i64) (local $b i64)
              (loop $top
                local.get $a local.get $i i64.add local.set $a
                local.get $b local.get $a i64.xor i64.const 3 i64.add local.set $b
                local.get $i i64.const 1 i64.add local.tee $i
                local.get $n i64.lt_u br_if $top)
              local.get $a local.get $b i64.add))
            """
        let baseline = try instantiate(wat, tier: .baseline, heapMode: .guarded)
        let optimized = try instantiate(wat, tier: .optimized, heapMode: .guarded)
        let expected = try call(baseline, "f", [.i64(20_000_000)])
        guard case .function(let function)? = optimized.instance.export("f") else { Issue.record("no export"); return }
        let execution = try Execution(function, arguments: [.i64(20_000_000)])
        let (state, yields) = try runYielding(execution)
        guard case .exited(let values) = state else { Issue.record("\(state)"); return }
        #expect(Outcome.values(values) == expected)
        #expect(yields == 3)
    }
}

struct Random {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    mutating func interesting32() -> UInt32 {
        [0, 1, 2, 7, 31, 32, 0xFFFF_FFFF, 0x8000_0000, 0x7FFF_FFFF, 65_530, UInt32(truncatingIfNeeded: next())][below(11)]
    }
    mutating func interesting64() -> UInt64 {
        [0, 1, 3, 63, 64, ~0, 1 << 63, (1 << 63) - 1, 0xFFFF_FFFF, next()][below(10)]
    }
}

/// Random functions `f(i32, i64, i32) -> i32` over integers and floats (and a helper `g` they call) in the text
/// format. Every value is built from typed expression generators, so programs always validate;
/// loops count down a fuel local so they always end.
struct ProgramGenerator {
    var rng: Random
    var depth = 0
    var loops = 0

    init(rng: inout Random) {
        self.rng = Random(seed: rng.next())
    }

    mutating func module() -> String {
        let body = statements(4)
        return """
            (module (memory 1)
              (func $g (param i32 i64) (result i64)
                local.get 1 local.get 0 i64.extend_i32_u i64.mul i64.const 11 i64.add)
              (func (export "f") (param $a i32) (param $b i64) (param $c i32) (result i32)
                (local $x i32) (local $y i64) (local $z i32) (local $fuel i32) (local $d f64) (local $e f32)
                (local $l0 i32) (local $l1 i32) (local $l2 i32) (local $l3 i32) (local $l4 i32) (local $l5 i32)
                (local $l6 i32) (local $l7 i32) (local $l8 i32) (local $l9 i32) (local $l10 i32) (local $l11 i32)
                i32.const 64 local.set $fuel
                \(body)
                \(i32())
                \((0..<12).map { "(local.get $l\($0))" }.joined(separator: " "))
                \(String(repeating: "i32.add ", count: 12))))
            """
    }

    mutating func statements(_ n: Int) -> String {
        (0..<n).map { _ in statement() }.joined(separator: "\n")
    }

    mutating func statement() -> String {
        guard depth < 3 else { return "(local.set $x \(i32()))" }
        depth += 1
        defer { depth -= 1 }
        switch rng.below(9) {
        case 0: return rng.below(2) == 0 ? "(local.set $x \(i32()))" : "(local.set $l\(rng.below(12)) \(i32()))"
        case 1: return rng.below(2) == 0 ? "(local.set $y \(i64()))" : (rng.below(2) == 0 ? "(local.set $d \(f64()))" : "(local.set $e \(f32()))")
        case 2: return "(local.set $z \(i32()))"
        case 3: return "(if \(i32()) (then \(statements(2))) (else \(statements(1))))"
        case 4: return "(block $out \(statements(1)) (br_if $out \(i32())) \(statements(1)))"
        case 5:
            // A loop that runs while its condition holds and fuel lasts.
            return """
                (block $exit (loop $top
                  (br_if $exit (i32.eqz (local.get $fuel)))
                  (local.set $fuel (i32.sub (local.get $fuel) (i32.const 1)))
                  \(statements(2))
                  (br_if $top \(i32()))))
                """
        case 6: return "(i32.store offset=\(rng.below(3) * 4) \(address()) \(i32()))"
        case 7: return rng.below(2) == 0 ? "(i64.store8 \(address()) \(i64()))" : "(f64.store offset=8 \(address()) \(f64()))"
        default:
            return "(block $a (block $b (block $c (br_table $a $b $c \(i32())) ) \(statements(1))) \(statements(1)))"
        }
    }

    /// Mostly in bounds; sometimes not (the trap must match too).
    mutating func address() -> String {
        rng.below(8) == 0 ? "(local.get $a)" : "(i32.and \(i32()) (i32.const 0xFFF0))"
    }

    mutating func i32(_ level: Int = 0) -> String {
        if level > 3 { return leaf32() }
        switch rng.below(12) {
        case 0, 1: return leaf32()
        case 2: return "(i32.\(["add", "sub", "mul", "and", "or", "xor", "shl", "shr_s", "shr_u", "rotl", "rotr"][rng.below(11)]) \(i32(level + 1)) \(i32(level + 1)))"
        case 3: return "(i32.\(["eq", "ne", "lt_s", "lt_u", "gt_s", "gt_u", "le_s", "le_u", "ge_s", "ge_u"][rng.below(10)]) \(i32(level + 1)) \(i32(level + 1)))"
        case 4: return "(i64.\(["eq", "ne", "lt_s", "lt_u", "ge_u"][rng.below(5)]) \(i64(level + 1)) \(i64(level + 1)))"
        case 5: return "(i32.\(["div_s", "div_u", "rem_s", "rem_u"][rng.below(4)]) \(i32(level + 1)) \(i32(level + 1)))"
        case 6: return "(i32.\(["eqz", "clz", "ctz", "popcnt", "extend8_s", "extend16_s"][rng.below(6)]) \(i32(level + 1)))"
        case 7:
            switch rng.below(6) {
            case 0: return "(i32.wrap_i64 \(i64(level + 1)))"
            case 1: return "(f64.\(["eq", "ne", "lt", "gt", "le", "ge"][rng.below(6)]) \(f64(level + 1)) \(f64(level + 1)))"
            case 2: return "(f32.\(["eq", "ne", "lt", "ge"][rng.below(4)]) \(f32(level + 1)) \(f32(level + 1)))"
            case 3: return "(i32.trunc_\(rng.below(2) == 0 ? "sat_" : "")f64_\(rng.below(2) == 0 ? "s" : "u") \(f64(level + 1)))"
            case 4: return "(i32.reinterpret_f32 \(f32(level + 1)))"
            default: return "(i32.trunc_sat_f32_s \(f32(level + 1)))"
            }
        case 8: return "(select \(i32(level + 1)) \(i32(level + 1)) \(i32(level + 1)))"
        case 9: return "(i32.load\(["", "8_s", "8_u", "16_s", "16_u"][rng.below(5)]) \(address()))"
        case 10: return "(local.tee $z \(i32(level + 1)))"
        default: return "(i32.const \(Int32(truncatingIfNeeded: rng.interesting32())))"
        }
    }

    mutating func i64(_ level: Int = 0) -> String {
        if level > 3 { return leaf64() }
        switch rng.below(10) {
        case 0, 1: return leaf64()
        case 2: return "(i64.\(["add", "sub", "mul", "and", "or", "xor", "shl", "shr_s", "shr_u", "rotl", "rotr"][rng.below(11)]) \(i64(level + 1)) \(i64(level + 1)))"
        case 3: return "(i64.\(["div_s", "div_u", "rem_s", "rem_u"][rng.below(4)]) \(i64(level + 1)) \(i64(level + 1)))"
        case 4: return "(i64.\(["clz", "ctz", "popcnt", "extend8_s", "extend16_s", "extend32_s"][rng.below(6)]) \(i64(level + 1)))"
        case 5:
            if rng.below(3) == 0 { return "(i64.trunc_\(rng.below(2) == 0 ? "sat_" : "")f64_\(rng.below(2) == 0 ? "s" : "u") \(f64(level + 1)))" }
            return "(i64.extend_i32_\(rng.below(2) == 0 ? "s" : "u") \(i32(level + 1)))"
        case 6: return "(call $g \(i32(level + 1)) \(i64(level + 1)))"
        case 7: return "(i64.load\(["", "32_s", "32_u", "16_s"][rng.below(4)]) \(address()))"
        case 8: return "(select \(i64(level + 1)) \(i64(level + 1)) \(i32(level + 1)))"
        default: return "(i64.const \(Int64(bitPattern: rng.interesting64())))"
        }
    }

    /// Twelve more locals keep more values live than there are registers (spills, and values
    /// live across calls).
    mutating func leaf32() -> String {
        ["(local.get $a)", "(local.get $c)", "(local.get $x)", "(local.get $z)", "(i32.const \(rng.below(100)))",
         "(local.get $l\(rng.below(12)))", "(local.get $l\(rng.below(12)))"][rng.below(7)]
    }

    mutating func f64(_ level: Int = 0) -> String {
        if level > 3 { return ["(local.get $d)", "(f64.const 2.5)", "(f64.const -0)", "(f64.const nan)", "(f64.convert_i32_s (local.get $a))"][rng.below(5)] }
        switch rng.below(9) {
        case 0, 1: return ["(local.get $d)", "(f64.const \(rng.below(1000)).25)", "(f64.const -1e300)", "(f64.const inf)"][rng.below(4)]
        case 2: return "(f64.\(["add", "sub", "mul", "div", "min", "max", "copysign"][rng.below(7)]) \(f64(level + 1)) \(f64(level + 1)))"
        case 3: return "(f64.\(["abs", "neg", "sqrt", "ceil", "floor", "trunc", "nearest"][rng.below(7)]) \(f64(level + 1)))"
        case 4:
            let sign = rng.below(2) == 0 ? "s" : "u"
            return rng.below(2) == 0 ? "(f64.convert_i32_\(sign) \(i32(level + 1)))" : "(f64.convert_i64_\(sign) \(i64(level + 1)))"
        case 5: return "(f64.promote_f32 \(f32(level + 1)))"
        case 6: return "(f64.load \(address()))"
        case 7: return "(select \(f64(level + 1)) \(f64(level + 1)) \(i32(level + 1)))"
        default: return "(f64.reinterpret_i64 \(i64(level + 1)))"
        }
    }

    mutating func f32(_ level: Int = 0) -> String {
        if level > 3 { return ["(local.get $e)", "(f32.const 1.5)", "(f32.const -0)"][rng.below(3)] }
        switch rng.below(6) {
        case 0, 1: return ["(local.get $e)", "(f32.const \(rng.below(100)).5)", "(f32.const nan)"][rng.below(3)]
        case 2: return "(f32.\(["add", "sub", "mul", "div", "min", "max"][rng.below(6)]) \(f32(level + 1)) \(f32(level + 1)))"
        case 3: return "(f32.demote_f64 \(f64(level + 1)))"
        case 4: return "(f32.load offset=4 \(address()))"
        default: return "(f32.convert_i32_u \(i32(level + 1)))"
        }
    }

    mutating func leaf64() -> String {
        ["(local.get $b)", "(local.get $y)", "(i64.const \(rng.below(1000)))"][rng.below(3)]
    }
}
