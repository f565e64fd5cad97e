import Compiler
import Foundation
import Runtime
import RuntimeABI
import Testing
import WasmCore
import WasmText

/// The register calling convention of direct calls between optimized functions (`FastCallABI`):
/// its code shape, and the optimizing tier against the baseline on call-heavy programs (many and
/// mixed params, multi-value results, recursion to exhaustion, traps in callees, fuel, yields,
/// baseline callees, imports that call back).
@Suite("optimizer fast calls")
struct FastCallTests {
    @Test func aDirectCallPassesArgumentsAndKeepsValuesInRegisters() throws {
        let wat = """
            (module
              (func $g (param i32 i32) (result i32) local.get 0 local.get 1 i32.sub)
              (func (param $x i32) (result i32)
                (i32.add (call $g (local.get $x) (i32.const 7)) (local.get $x))))
            """
        guard let caller = disassemble(try machineCode(wat, function: 1)).map(Self.mainPath) else { return }
        let call = caller.firstIndex { $0.hasPrefix("call ") }!
        let around = caller[(call - 3)...(call + 3)]
        // The args go in edi and esi, nothing goes through the outgoing area, and $x stays in a
        // callee-saved register across the call.
        #expect(!caller.contains { $0.contains("[rsp") && $0.hasPrefix("mov") }, "\(caller)")
        #expect(around.contains { $0.hasPrefix("mov esi,0x7") }, "\(caller)")
        #expect(caller.contains { $0.contains("rbx") || $0.contains("r12") || $0.contains("r13") }, "\(caller)")
        guard let callee = disassemble(try machineCode(wat, function: 0)) else { return }
        // Two entries: the standard one saves r14/r15; the fast one, with a copy of the body of
        // its own that returns by the fast convention, does not mark its frame with a 0.
        #expect(!callee.contains("push 0x0"), "\(callee)")
        #expect(callee.filter { $0 == "push r14" }.count == 1, "\(callee)")
        // The fast entry's body reads its params from edi and esi, not from memory.
        #expect(callee.contains { $0.hasPrefix("sub") && $0.contains("edi") || $0.hasPrefix("mov") && $0.contains("edi") }, "\(callee)")
    }

    /// The code before the slow paths (whose yield path saves every allocatable register).
    static func mainPath(_ lines: [String]) -> [String] {
        Array(lines.prefix { !$0.contains("[r14+0x38]") })
    }

    /// A small function has a copy of its body per entry, each returning by its own convention;
    /// a larger one shares its body and tests [rbp-8] at each return.
    @Test func smallFunctionsReturnWithoutTestingTheirEntry() throws {
        let small = "(module (func (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))"
        guard let lines = disassemble(try machineCode(small)).map(Self.mainPath) else { return }
        #expect(!lines.contains { $0.contains("[rbp-0x8]") }, "\(lines)")
        #expect(lines.filter { $0 == "ret" }.count == 2, "\(lines)")
        let adds = (0..<50).map { _ in "local.get 0 local.get 1 i32.add local.set 0" }.joined(separator: "\n")
        let large = "(module (func (param i32 i32) (result i32) \(adds) local.get 0))"
        guard let shared = disassemble(try machineCode(large)).map(Self.mainPath) else { return }
        #expect(shared.contains("cmp QWORD PTR [rbp-0x8],0x0"), "\(shared)")
    }

    @Test func aLeafKeepsNoCalleeSavedRegisters() throws {
        let wat = "(module (func (param i64 i64) (result i64) local.get 0 local.get 1 i64.mul))"
        guard let lines = disassemble(try machineCode(wat)).map(Self.mainPath) else { return }
        #expect(!lines.contains { $0.contains("rbx") || $0.contains("r12") || $0.contains("r13") }, "\(lines)")
    }

    @Test(arguments: HeapMode.allCases)
    func randomCallGraphsAgreeWithTheBaseline(heapMode: HeapMode) throws {
        try Self.expectRandomCallGraphsAgree(seed: 0xCA11_0001, indirect: false, heapMode: heapMode)
    }

    /// 40 random call graphs (`CallGraphGenerator`), each called 4 times with random arguments,
    /// give the same outcomes on both tiers, with every function optimized.
    static func expectRandomCallGraphsAgree(seed: UInt64, indirect: Bool, heapMode: HeapMode) throws {
        var rng = Random(seed: seed)
        for program in 0..<40 {
            var generator = CallGraphGenerator(rng: Random(seed: rng.next()), indirect: indirect)
            let wat = generator.module()
            let baseline = try instantiate(wat, tier: .baseline, heapMode: heapMode)
            let optimized = try instantiate(wat, tier: .optimized, heapMode: heapMode)
            #expect(optimized.compiled.tierStats.optimizedFunctions == generator.signatures.count, "\(optimized.compiled.tierStats.fallbackReasons)")
            for _ in 0..<4 {
                let args = generator.signatures[0].params.map { generator.randomValue($0) }
                let expected = try call(baseline, "f0", args)
                let actual = try call(optimized, "f0", args)
                #expect(expected == actual, "program \(program) args \(args)\n\(wat)")
                if expected != actual { return }
            }
        }
    }

    static let recursion = """
        (module
          (func $deep (export "deep") (param i64 i64 i64 i64 i64 i64 f64 i64 i64) (result i64)
            (if (result i64) (i64.eqz (local.get 0)) (then (local.get 8))
              (else (i64.add (local.get 1)
                (call $deep (i64.sub (local.get 0) (i64.const 1)) (local.get 2) (local.get 3) (local.get 4)
                  (local.get 5) (local.get 7) (local.get 6) (local.get 8) (i64.add (local.get 1) (local.get 8)))))))
          (func $div (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_s)
          (func (export "trapsInCallee") (param i32 i32) (result i32)
            (i32.add (local.get 0) (call $div (local.get 0) (local.get 1)))))
        """

    @Test(arguments: HeapMode.allCases)
    func recursionAndTrapsInCalleesMatchTheBaseline(heapMode: HeapMode) throws {
        let baseline = try instantiate(Self.recursion, tier: .baseline, heapMode: heapMode)
        let optimized = try instantiate(Self.recursion, tier: .optimized, heapMode: heapMode)
        let rest: [Value] = [.i64(3), .i64(5), .i64(7), .i64(11), .i64(13), .f64(bits: 0x4000_0000_0000_0000), .i64(17), .i64(19)]
        for n: UInt64 in [0, 1, 2, 100, 10_000, 100_000_000] {
            let expected = try call(baseline, "deep", [.i64(n)] + rest)
            #expect(try call(optimized, "deep", [.i64(n)] + rest) == expected, "n = \(n)")
        }
        #expect(try call(optimized, "deep", [.i64(100_000_000)] + rest) == .trap(.callStackExhausted))
        for args: [Value] in [[.i32(7), .i32(0)], [.i32(0x8000_0000), .i32(0xFFFF_FFFF)], [.i32(9), .i32(2)]] {
            #expect(try call(optimized, "trapsInCallee", args) == call(baseline, "trapsInCallee", args))
        }
        // The backtrace names the callee and the caller, once each.
        do {
            _ = try optimized.instance.invoke("trapsInCallee", [.i32(1), .i32(0)])
            Issue.record("no trap")
        } catch let trap as Trap {
            #expect(trap.backtrace.map(\.functionIndex) == [1, 2], "\(trap.backtrace)")
        }
    }

    /// A function using SIMD inside a scalar signature stays on the baseline: optimized callers
    /// reach it through its fast-entry adapter, whose frame a backtrace skips.
    static let mixed = """
        (module
          (import "env" "host" (func $host (param i64 f64) (result i64)))
          (func $simd (param i64 i64 i64 i64 i64 i64 i64) (result i64 i32 f64)
            (i64x2.extract_lane 1 (i64x2.add (i64x2.splat (local.get 0)) (i64x2.splat (local.get 6))))
            (i32.div_u (i32.const 100) (i32.wrap_i64 (local.get 5)))
            (f64.convert_i64_s (local.get 2)))
          (func (export "leaf") (param i64) (result i64) (i64.mul (local.get 0) (i64.const 3)))
          (func (export "f") (param $x i64) (param $d f64) (result i64) (local $r i64) (local $q i32)
            (call $simd (local.get $x) (i64.const 1) (i64.const 2) (i64.const 3) (i64.const 4) (local.get $x) (i64.const 6))
            (local.set $d (f64.add (local.get $d)))
            (local.set $q)
            (local.set $r)
            (i64.add (i64.add (local.get $r) (i64.extend_i32_u (local.get $q)))
              (i64.add (call $host (local.get $x) (local.get $d)) (i64.trunc_f64_s (local.get $d))))))
        """

    @Test(arguments: HeapMode.allCases)
    func baselineCalleesAndImportsThatCallBackMatch(heapMode: HeapMode) throws {
        var outcomes: [[Outcome]] = []
        for tier in CompilerTier.allCases {
            let compiled = try ModuleCompiler.compile(bytes: try TextFormat.wat2wasm(Self.mixed), options: CompileOptions(heapMode: heapMode, tier: tier))
            if tier == .optimized { #expect(compiled.tierStats.baselineFunctions == 1) }
            let store = Store(heapMode: heapMode)
            let box = InstanceBox()
            let host = Function(HostFunction(type: FuncType(params: [.i64, .f64], results: [.i64])) { _, args in
                guard case .i64(let x) = args[0], case .f64(let bits) = args[1] else { return [] }
                let back = try box.instance!.invoke("leaf", [.i64(x)])
                guard case .i64(let y) = back[0] else { return [] }
                return [.i64(y &+ UInt64(bitPattern: Int64(Double(bitPattern: bits))))]
            })
            let instance = try store.instantiate(compiled) { _, _ in .function(host) }
            box.instance = instance
            let run = Instantiated(store: store, instance: instance, compiled: compiled)
            var results: [Outcome] = []
            for x: UInt64 in [1, 5, 100, 0, 1 << 40] {
                results.append(try call(run, "f", [.i64(x), .f64(bits: 0x3FF8_0000_0000_0000)]))
            }
            outcomes.append(results)
        }
        #expect(outcomes[0] == outcomes[1])
        #expect(outcomes[1][3] == .trap(.integerDivideByZero))
    }

    /// $middle uses no callee-saved register itself, but its call_indirect reaches $clobber
    /// through the standard entry, which may use them all: $middle's fast entry must still save
    /// and restore them for "f", which keeps $a, $b and $c in them across the call.
    @Test(arguments: HeapMode.allCases)
    func aStandardCallInACalleeDoesNotLoseTheCallersRegisters(heapMode: HeapMode) throws {
        let wat = """
            (module (type $t (func (param i64) (result i64))) (table 1 funcref) (elem (i32.const 0) $clobber)
              (func $leaf (param i64) (result i64) (i64.add (local.get 0) (i64.const 1)))
              (func $clobber (type $t) (local $a i64) (local $b i64) (local $c i64)
                (local.set $a (i64.mul (local.get 0) (i64.const 11)))
                (local.set $b (i64.xor (local.get 0) (i64.const 13)))
                (local.set $c (i64.add (local.get 0) (i64.const 17)))
                (i64.add (call $leaf (local.get 0)) (i64.add (local.get $a) (i64.add (local.get $b) (local.get $c)))))
              (func $middle (param i64) (result i64) (call_indirect (type $t) (local.get 0) (i32.const 0)))
              (func (export "f") (param $x i64) (result i64) (local $a i64) (local $b i64) (local $c i64)
                (local.set $a (i64.mul (local.get $x) (i64.const 3)))
                (local.set $b (i64.xor (local.get $x) (i64.const 5)))
                (local.set $c (i64.add (local.get $x) (i64.const 7)))
                (i64.add (call $middle (local.get $x)) (i64.add (local.get $a) (i64.add (local.get $b) (local.get $c))))))
            """
        let baseline = try instantiate(wat, tier: .baseline, heapMode: heapMode)
        let optimized = try instantiate(wat, tier: .optimized, heapMode: heapMode)
        for x: UInt64 in [0, 1, 1000, 1 << 40] {
            #expect(try call(optimized, "f", [.i64(x)]) == call(baseline, "f", [.i64(x)]))
        }
    }

    @Test func fuelAcrossFastCallsMatchesTheBaseline() throws {
        let wat = """
            (module (func $add (param i32 i32 i32 i32 i32 i32 i32) (result i32)
                (i32.add (local.get 0) (local.get 6)))
              (func (export "f") (param $n i32) (result i32) (local $s i32)
                (loop $top
                  (local.set $s (call $add (local.get $s) (i32.const 1) (i32.const 2) (i32.const 3) (i32.const 4)
                    (i32.const 5) (local.get $n)))
                  (br_if $top (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
                local.get $s))
            """
        var used: [Int64] = []
        var results: [[Value]] = []
        for tier in CompilerTier.allCases {
            let compiled = try ModuleCompiler.compile(bytes: try TextFormat.wat2wasm(wat),
                                                      options: CompileOptions(heapMode: .guarded, fuel: true, tier: tier))
            let store = Store(heapMode: .guarded)
            let instance = try store.instantiate(compiled) { _, _ in nil }
            store.setFuel(1_000_000)
            results.append(try instance.invoke("f", [.i32(1000)]))
            used.append(1_000_000 - store.fuel(of: instance))
        }
        #expect(used[0] == used[1])
        #expect(results[0] == results[1])
    }

    @Test func aYieldInACalleeKeepsTheCallersRegisters() throws {
        let wat = """
            (module
              (func $spin (param $n i64) (param $k i64) (result i64) (local $i i64)
                (loop $top
                  (local.set $k (i64.add (i64.mul (local.get $k) (i64.const 3)) (local.get $i)))
                  (br_if $top (i64.lt_u (local.tee $i (i64.add (local.get $i) (i64.const 1))) (local.get $n))))
                local.get $k)
              (func (export "f") (param $n i64) (result i64) (local $a i64) (local $b i64) (local $c i64)
                (local.set $a (i64.mul (local.get $n) (i64.const 7)))
                (local.set $b (i64.xor (local.get $n) (i64.const 0x55)))
                (local.set $c (call $spin (local.get $n) (local.get $a)))
                (local.set $c (i64.add (local.get $c) (call $spin (local.get $n) (local.get $b))))
                (i64.add (local.get $c) (i64.add (local.get $a) (local.get $b)))))
            """
        let baseline = try instantiate(wat, tier: .baseline, heapMode: .guarded)
        let optimized = try instantiate(wat, tier: .optimized, heapMode: .guarded)
        let expected = try call(baseline, "f", [.i64(10_000_000)])
        guard case .function(let function)? = optimized.instance.export("f") else { Issue.record("no export"); return }
        let execution = try Execution(function, arguments: [.i64(10_000_000)])
        let (state, yields) = try runYielding(execution)
        guard case .exited(let values) = state else { Issue.record("\(state)"); return }
        #expect(Outcome.values(values) == expected)
        #expect(yields == 3)
    }
}

final class InstanceBox: @unchecked Sendable {
    var instance: Instance?
}

/// Random acyclic call graphs: function i calls functions j > i, with random signatures of up to
/// 12 params and 7 results over i32, i64, f32 and f64 (past the register lists both ways). Each
/// function folds its params and every call's results into an i64 and an f64 that stay live
/// across its calls, and derives its results from them. Floats stay finite and NaN-free.
struct CallGraphGenerator {
    var rng: Random
    var signatures: [FuncType] = []
    /// Calls go through call_indirect on a table holding every function at its index.
    var indirect = false
    static let types: [ValueType] = [.i32, .i64, .f32, .f64]

    init(rng: Random, indirect: Bool = false) {
        self.rng = rng
        self.indirect = indirect
    }

    mutating func module() -> String {
        let count = 2 + rng.below(5)
        signatures = (0..<count).map { _ in
            FuncType(params: (0..<rng.below(13)).map { _ in Self.types[rng.below(4)] },
                     results: (0..<rng.below(8)).map { _ in Self.types[rng.below(4)] })
        }
        var text = "(module\n"
        if indirect {
            for (i, type) in signatures.enumerated() {
                text += "(type $t\(i) (func (param \(type.params.map { "\($0)" }.joined(separator: " "))) (result \(type.results.map { "\($0)" }.joined(separator: " ")))))\n"
            }
            text += "(table \(count) funcref) (elem (i32.const 0) \((0..<count).map { "$f\($0)" }.joined(separator: " ")))\n"
        }
        for i in 0..<count { text += function(i) }
        return text + ")"
    }

    mutating func randomValue(_ t: ValueType) -> Value {
        switch t {
        case .i32: .i32(rng.interesting32())
        case .i64: .i64(rng.interesting64())
        case .f32: .f32(bits: Float(Int(rng.below(2001)) - 1000).bitPattern)
        default: .f64(bits: (Double(Int(rng.below(200_001)) - 100_000) / 7).bitPattern)
        }
    }

    mutating func function(_ i: Int) -> String {
        let type = signatures[i]
        var body = "(local $a i64) (local $d f64) (local $ti32 i32) (local $ti64 i64) (local $tf32 f32) (local $tf64 f64)\n"
        for (k, t) in type.params.enumerated() { body += fold(t, "(local.get \(k))") + "\n" }
        if i + 1 < signatures.count {
            for _ in 0..<(1 + rng.below(3)) {
                let j = i + 1 + rng.below(signatures.count - i - 1)
                let args = signatures[j].params.map { argument($0, params: type.params) }
                body += indirect ? "(call_indirect (type $t\(j)) \(args.joined(separator: " ")) (i32.const \(j)))\n"
                    : "(call $f\(j) \(args.joined(separator: " ")))\n"
                for t in signatures[j].results.reversed() { body += "(local.set $t\(t))" + fold(t, "(local.get $t\(t))") + "\n" }
            }
        }
        let results = type.results.enumerated().map { k, t in derive(t, k) }.joined(separator: " ")
        let export = i == 0 ? "(export \"f0\") " : ""
        return "(func $f\(i) \(export)(param \(type.params.map { "\($0)" }.joined(separator: " "))) (result \(type.results.map { "\($0)" }.joined(separator: " ")))\n\(body)\(results))\n"
    }

    /// Statements folding `value` (of type t) into $a (integers) or $d (floats).
    func fold(_ t: ValueType, _ value: String) -> String {
        switch t {
        case .i32: "(local.set $a (i64.add (i64.mul (local.get $a) (i64.const 31)) (i64.extend_i32_u \(value))))"
        case .i64: "(local.set $a (i64.xor (i64.rotl (local.get $a) (i64.const 7)) \(value)))"
        case .f32: "(local.set $d (f64.add (f64.mul (local.get $d) (f64.const 0.5)) (f64.promote_f32 \(value))))"
        default: "(local.set $d (f64.add (f64.mul (local.get $d) (f64.const 0.25)) \(value)))"
        }
    }

    /// An argument of type t: one of the caller's params of that type, or a value derived from $a and $d.
    mutating func argument(_ t: ValueType, params: [ValueType]) -> String {
        let same = params.indices.filter { params[$0] == t }
        if !same.isEmpty && rng.below(2) == 0 { return "(local.get \(same[rng.below(same.count)]))" }
        return derive(t, rng.below(100))
    }

    func derive(_ t: ValueType, _ k: Int) -> String {
        switch t {
        case .i32: "(i32.add (i32.wrap_i64 (local.get $a)) (i32.const \(k)))"
        case .i64: "(i64.mul (local.get $a) (i64.const \(2 * k + 1)))"
        case .f32: "(f32.demote_f64 (f64.add (local.get $d) (f64.const \(k))))"
        default: "(f64.add (local.get $d) (f64.convert_i64_s (i64.shr_s (local.get $a) (i64.const \(k % 64 + 10)))))"
        }
    }
}
