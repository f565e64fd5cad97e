import Compiler
import Foundation
import Runtime
import RuntimeABI
import Testing
import WasmCore
import WasmText

/// Optimized call_indirect: after its checks it takes the callee's fast entry (`FuncRefLayout.fast`)
/// when the funcref runs in the caller's own instance and has one, else the standard entry. Its
/// code shape, and the optimizing tier against the baseline on call_indirect-heavy programs:
/// same- and cross-instance tables, imported tables written by either side, host functions and
/// baseline-compiled callees in tables, the three traps, many and mixed args and results, fuel
/// and yields in an indirect callee.
@Suite("optimizer indirect calls")
struct IndirectCallTests {
    @Test func aSameInstanceCalleeIsReachedThroughItsFastEntry() throws {
        let wat = """
            (module (type $t (func (param i32 i32) (result i32))) (table 1 funcref) (elem (i32.const 0) $g)
              (func $g (type $t) local.get 0 local.get 1 i32.sub)
              (func (param $x i32) (result i32)
                (i32.add (call_indirect (type $t) (local.get $x) (i32.const 7) (i32.const 0)) (local.get $x))))
            """
        guard let lines = disassemble(try machineCode(wat, function: 1)).map(FastCallTests.mainPath) else { return }
        // The funcref's vmctx is compared with r14 and its fast entry with 0; the fast path calls
        // through [rcx+0x18] with the args in edi/esi; the standard path through [rcx].
        #expect(lines.contains("cmp r14,QWORD PTR [rcx+0x8]"), "\(lines)")
        #expect(lines.contains("cmp QWORD PTR [rcx+0x18],0x0"), "\(lines)")
        let fast = try #require(lines.firstIndex(of: "call QWORD PTR [rcx+0x18]"), "\(lines)")
        #expect(lines[..<fast].contains { $0.hasPrefix("mov esi,0x7") }, "\(lines)")
        #expect(lines.contains("call QWORD PTR [rcx]"), "\(lines)")
        // $x lives across the call in a callee-saved register, which the standard path saves
        // before its call and restores after it.
        let standard = try #require(lines.firstIndex(of: "call QWORD PTR [rcx]"))
        let kept = ["rbx", "r12", "r13"].filter { r in lines[..<standard].contains { $0.hasPrefix("mov QWORD PTR [rbp-") && $0.hasSuffix(",\(r)") } }
        #expect(!kept.isEmpty, "\(lines)")
        for r in kept { #expect(lines[(standard + 1)...].contains { $0.hasPrefix("mov \(r),QWORD PTR [rbp-") }, "\(lines)") }
        // The record of an optimized function carries its fast entry; the compiled module lists it.
        let optimized = try instantiate(wat, tier: .optimized, heapMode: .guarded)
        #expect(optimized.compiled.fastEntries.allSatisfy { $0 != 0 })
        let baseline = try instantiate(wat, tier: .baseline, heapMode: .guarded)
        #expect(baseline.compiled.fastEntries.allSatisfy { $0 == 0 })
    }

    @Test(arguments: HeapMode.allCases)
    func randomIndirectCallGraphsAgreeWithTheBaseline(heapMode: HeapMode) throws {
        try FastCallTests.expectRandomCallGraphsAgree(seed: 0x1D1_0001, indirect: true, heapMode: heapMode)
    }

    /// Functions of each instance read their own global and memory, so a callee run with the
    /// wrong vmctx (a fast entry taken across instances) gives a different answer.
    static let provider = """
        (module
          (type $bin (func (param i64 i64) (result i64)))
          (table (export "tab") 8 funcref)
          (memory 1) (data (i32.const 0) "\\2a")
          (global $g (mut i64) (i64.const 100))
          (elem (i32.const 0) $padd $pmul) (elem (i32.const 3) $pclobber)
          (func $padd (export "padd") (type $bin)
            (i64.add (i64.add (local.get 0) (local.get 1)) (i64.add (global.get $g) (i64.load8_u (i32.const 0)))))
          (func $pmul (type $bin) (i64.mul (local.get 0) (i64.sub (local.get 1) (global.get $g))))
          ;; Keeps three values in rbx/r12/r13 across a call; entered by its standard entry (from
          ;; another instance), it does not preserve them for its caller.
          (func $pclobber (type $bin) (local $a i64) (local $b i64) (local $c i64)
            (local.set $a (i64.mul (local.get 0) (i64.const 11)))
            (local.set $b (i64.xor (local.get 1) (i64.const 13)))
            (local.set $c (i64.add (local.get 0) (i64.const 17)))
            (i64.add (call $pmul (local.get 0) (local.get 1)) (i64.add (local.get $a) (i64.add (local.get $b) (local.get $c)))))
          (func (export "pcall") (param i32 i64 i64) (result i64)
            (call_indirect (type $bin) (local.get 1) (local.get 2) (local.get 0))))
        """

    static let consumer = """
        (module
          (type $bin (func (param i64 i64) (result i64)))
          (type $many (func (param i32 i64 f32 f64 i32 i64 f32 f64 i32 i64 f64 f64 f64 f64 f64 f64 f64) (result i64 f64 i32 f32)))
          (import "p" "tab" (table $ptab 8 funcref))
          (import "p" "padd" (func $padd (type $bin)))
          (import "env" "host" (func $host (type $bin)))
          (table $tab 16 funcref)
          (memory 1) (data (i32.const 0) "\\07")
          (global $g (mut i64) (i64.const 7))
          (elem (table $tab) (i32.const 0) func $cadd $padd $host $simd $cmul $div)
          (elem (table $tab) (i32.const 8) func $many $spin)
          (func $cadd (type $bin)
            (i64.add (i64.sub (local.get 0) (local.get 1)) (i64.add (global.get $g) (i64.load8_u (i32.const 0)))))
          (func $cmul (type $bin) (i64.mul (local.get 0) (i64.add (local.get 1) (global.get $g))))
          (func $div (type $bin) (i64.div_s (local.get 0) (local.get 1)))
          (func $simd (type $bin)
            (i64x2.extract_lane 1 (i64x2.mul (i64x2.splat (local.get 0)) (i64x2.splat (local.get 1)))))
          (func $spin (type $bin) (local $i i64)
            (loop $top
              (local.set 1 (i64.add (i64.mul (local.get 1) (i64.const 3)) (local.get $i)))
              (br_if $top (i64.lt_u (local.tee $i (i64.add (local.get $i) (i64.const 1))) (local.get 0))))
            local.get 1)
          (func $many (type $many)
            (i64.add (i64.extend_i32_u (i32.add (local.get 0) (i32.add (local.get 4) (local.get 8))))
              (i64.add (local.get 1) (i64.add (local.get 5) (local.get 9))))
            (f64.add (f64.add (f64.promote_f32 (local.get 2)) (local.get 3))
              (f64.add (f64.add (local.get 10) (local.get 11)) (f64.add (local.get 12) (local.get 16))))
            (i32.wrap_i64 (i64.add (local.get 5) (global.get $g)))
            (f32.add (local.get 6) (f32.demote_f64 (local.get 15))))
          (func (export "call") (param $i i32) (param $a i64) (param $b i64) (result i64) (local $x i64) (local $y i64)
            (local.set $x (i64.mul (local.get $a) (i64.const 3)))
            (local.set $y (i64.xor (local.get $b) (i64.const 5)))
            (i64.add (call_indirect $tab (type $bin) (local.get $a) (local.get $b) (local.get $i))
              (i64.add (local.get $x) (local.get $y))))
          (func (export "callp") (param $i i32) (param $a i64) (param $b i64) (result i64)
            (call_indirect $ptab (type $bin) (local.get $a) (local.get $b) (local.get $i)))
          (func (export "keep") (param $i i32) (param $a i64) (param $b i64) (result i64) (local $x i64) (local $y i64) (local $z i64)
            (local.set $x (i64.mul (local.get $a) (i64.const 3)))
            (local.set $y (i64.xor (local.get $b) (i64.const 5)))
            (local.set $z (i64.add (local.get $a) (i64.const 9)))
            (i64.add (call_indirect $ptab (type $bin) (local.get $a) (local.get $b) (local.get $i))
              (i64.add (local.get $x) (i64.add (local.get $y) (local.get $z)))))
          (func (export "setp") (param $i i32) (table.set $ptab (local.get $i) (ref.func $cmul)))
          (func (export "copy") (param $d i32) (param $s i32) (table.copy $tab $tab (local.get $d) (local.get $s) (i32.const 1)))
          (func (export "copyp") (param $d i32) (param $s i32) (table.copy $tab $ptab (local.get $d) (local.get $s) (i32.const 1)))
          (func (export "many") (param $i i32) (param $d f64) (result i64 f64 i32 f32)
            (call_indirect $tab (type $many) (i32.const 1) (i64.const 2) (f32.const 3.5) (local.get $d) (i32.const 5)
              (i64.const 6) (f32.const 7.25) (f64.const 8) (i32.const 9) (i64.const 10) (f64.const 11) (f64.const 12)
              (f64.const 13) (f64.const 14) (f64.const 15) (f64.const 16) (local.get $d) (local.get $i)))
          (func (export "loop") (param $n i64) (param $i i32) (result i64) (local $s i64) (local $k i64)
            (loop $top
              (local.set $s (i64.add (local.get $s)
                (call_indirect $tab (type $bin) (local.get $k) (local.get $s) (local.get $i))))
              (br_if $top (i64.lt_u (local.tee $k (i64.add (local.get $k) (i64.const 1))) (local.get $n))))
            local.get $s))
        """

    struct Linked {
        let store: Store
        let provider: Instance
        let consumer: Instance
    }

    static func link(tier: CompilerTier, heapMode: HeapMode, fuel: Bool = false) throws -> Linked {
        let options = CompileOptions(heapMode: heapMode, fuel: fuel, tier: tier)
        let p = try ModuleCompiler.compile(bytes: try TextFormat.wat2wasm(provider), options: options)
        let c = try ModuleCompiler.compile(bytes: try TextFormat.wat2wasm(consumer), options: options)
        if tier == .optimized { #expect(c.tierStats.baselineFunctions == 1, "\(c.tierStats)") }  // $simd
        let store = Store(heapMode: heapMode)
        let pi = try store.instantiate(p) { _, _ in nil }
        let host = Function(HostFunction(type: FuncType(params: [.i64, .i64], results: [.i64])) { _, args in
            guard case .i64(let a) = args[0], case .i64(let b) = args[1] else { return [] }
            return [.i64(a &* 1000 &+ b)]
        })
        let ci = try store.instantiate(c) { module, name in
            switch (module, name) {
            case ("env", "host"): .function(host)
            case ("p", _): pi.export(name)
            default: nil
            }
        }
        return Linked(store: store, provider: pi, consumer: ci)
    }

    static func outcome(_ instance: Instance, _ name: String, _ args: [Runtime.Value]) -> Outcome {
        do {
            return .values(try instance.invoke(name, args))
        } catch let trap as Trap {
            return .trap(trap.code)
        } catch {
            return .trap(.unreachable)
        }
    }

    /// Every kind of table entry, through both instances' call_indirect, before and after
    /// table.set and table.copy move funcrefs between the tables.
    static func script(_ l: Linked) -> [Outcome] {
        var out: [Outcome] = []
        let pairs: [(UInt64, UInt64)] = [(5, 3), (1 << 40, 0), (0, 0), (0x8000_0000_0000_0000, 0xFFFF_FFFF_FFFF_FFFF)]
        for i: UInt32 in [0, 1, 2, 3, 4, 5, 6, 7, 8, 15, 16, 100, 0xFFFF_FFFF] {
            for (a, b) in pairs { out.append(outcome(l.consumer, "call", [.i32(i), .i64(a), .i64(b)])) }
        }
        for i: UInt32 in [0, 1, 2, 3, 8] {
            out.append(outcome(l.consumer, "keep", [.i32(i), .i64(9), .i64(4)]))
            out.append(outcome(l.consumer, "callp", [.i32(i), .i64(9), .i64(4)]))
            out.append(outcome(l.provider, "pcall", [.i32(i), .i64(9), .i64(4)]))
        }
        out.append(outcome(l.consumer, "setp", [.i32(2)]))
        out.append(outcome(l.consumer, "copy", [.i32(10), .i32(0)]))
        out.append(outcome(l.consumer, "copy", [.i32(11), .i32(2)]))
        out.append(outcome(l.consumer, "copyp", [.i32(12), .i32(0)]))
        out.append(outcome(l.consumer, "copyp", [.i32(13), .i32(2)]))
        for i: UInt32 in [2] {
            out.append(outcome(l.consumer, "keep", [.i32(i), .i64(9), .i64(4)]))
            out.append(outcome(l.consumer, "callp", [.i32(i), .i64(9), .i64(4)]))
            out.append(outcome(l.provider, "pcall", [.i32(i), .i64(9), .i64(4)]))
        }
        for i: UInt32 in [10, 11, 12, 13] { out.append(outcome(l.consumer, "call", [.i32(i), .i64(21), .i64(2)])) }
        for i: UInt32 in [8, 0, 6, 16] { out.append(outcome(l.consumer, "many", [.i32(i), .f64(bits: (2.5).bitPattern)])) }
        for i: UInt32 in [0, 1, 2, 3, 4, 9] { out.append(outcome(l.consumer, "loop", [.i64(1000), .i32(i)])) }
        return out
    }

    @Test(arguments: HeapMode.allCases)
    func tablesAcrossInstancesHostsAndBaselineCalleesMatchTheBaseline(heapMode: HeapMode) throws {
        let baseline = try Self.link(tier: .baseline, heapMode: heapMode)
        let optimized = try Self.link(tier: .optimized, heapMode: heapMode)
        let expected = Self.script(baseline)
        let actual = Self.script(optimized)
        #expect(expected.count == actual.count)
        for (k, (e, a)) in zip(expected, actual).enumerated() { #expect(e == a, "step \(k)") }
        // The traps are there: null, out of bounds, signature mismatch, and one in a callee.
        #expect(actual.contains(.trap(.uninitializedElement)))
        #expect(actual.contains(.trap(.undefinedElement)))
        #expect(actual.contains(.trap(.indirectCallTypeMismatch)))
        #expect(actual.contains(.trap(.integerDivideByZero)))
    }

    @Test func fuelThroughIndirectCallsMatchesTheBaseline() throws {
        var used: [Int64] = []
        var results: [[Outcome]] = []
        for tier in CompilerTier.allCases {
            let l = try Self.link(tier: tier, heapMode: .guarded, fuel: true)
            l.store.setFuel(10_000_000)
            var r: [Outcome] = []
            for i: UInt32 in [0, 1, 2, 4, 9] { r.append(Self.outcome(l.consumer, "loop", [.i64(300), .i32(i)])) }
            used.append(10_000_000 - l.store.fuel(of: l.consumer))
            l.store.setFuel(5_000)
            r.append(Self.outcome(l.consumer, "loop", [.i64(100_000), .i32(0)]))
            results.append(r)
        }
        #expect(used[0] == used[1])
        #expect(results[0] == results[1])
        #expect(results[1].last == .trap(.outOfFuel))
    }

    @Test func aYieldInAnIndirectCalleeKeepsTheCallersState() throws {
        let reference = try Self.link(tier: .baseline, heapMode: .guarded)
        let expected = Self.outcome(reference.consumer, "call", [.i32(9), .i64(20_000_000), .i64(3)])
        let l = try Self.link(tier: .optimized, heapMode: .guarded)
        guard case .function(let function)? = l.consumer.export("call") else { Issue.record("no export"); return }
        let execution = try Execution(function, arguments: [.i32(9), .i64(20_000_000), .i64(3)])
        let (state, yields) = try runYielding(execution)
        guard case .exited(let values) = state else { Issue.record("\(state)"); return }
        #expect(Outcome.values(values) == expected)
        #expect(yields == 3)
    }
}
