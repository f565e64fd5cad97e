import Compiler
import Runtime
import RuntimeABI
import Testing
import WasmCore

/// Shrink-wrapping (`SavePlacement`), the copies of small return blocks (`DuplicateReturns`) and
/// the loop-carried hints: the callee-saved registers are saved only on the paths that use them,
/// and restored exactly where they were saved, whichever way a function is entered or left.
@Suite("optimizer shrink-wrapping")
struct ShrinkWrapTests {
    /// fib as clang -O2 writes it, and a caller that keeps values in callee-saved registers
    /// across its calls (so a callee that clobbered them would change its result).
    static let fib = """
        (module
          (type $t (func (param i32) (result i32)))
          (table 1 funcref)
          (elem (i32.const 0) $fib)
          (func $fib (param $n i32) (result i32) (local $acc i32)
            (block $done
              (br_if $done (i32.lt_u (local.get $n) (i32.const 2)))
              (loop $top
                (local.set $acc (i32.add (call $fib (i32.add (local.get $n) (i32.const -1))) (local.get $acc)))
                (local.set $n (i32.add (local.get $n) (i32.const -2)))
                (br_if $top (i32.gt_u (local.get $n) (i32.const 1)))))
            (i32.add (local.get $n) (local.get $acc)))
          (func (export "fib") (param i32) (result i32) (call $fib (local.get 0)))
          (func (export "sum") (param $n i32) (result i64) (local $i i32) (local $a i64) (local $b i64) (local $c i64)
            (local.set $b (i64.extend_i32_u (local.get $n)))
            (loop $top
              (local.set $a (i64.add (local.get $a) (i64.extend_i32_u (call $fib (local.get $i)))))
              (local.set $c (i64.add (i64.mul (local.get $c) (i64.const 31))
                (i64.extend_i32_u (call_indirect (type $t) (local.get $i) (i32.const 0)))))
              (local.set $b (i64.xor (local.get $b) (i64.shl (local.get $a) (i64.const 3))))
              (br_if $top (i32.le_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))
            (i64.add (i64.add (local.get $a) (local.get $b)) (local.get $c))))
        """

    @Test func theEarlyReturnSavesAndRestoresNothing() throws {
        guard let lines = disassemble(try machineCode(Self.fib)) else { return }
        // The fast entry is the second `push rbp`; its first `ret` is the n < 2 return.
        let entries = lines.indices.filter { lines[$0] == "push rbp" }
        guard entries.count == 2, let ret = lines[entries[1]...].firstIndex(of: "ret") else { Issue.record("\(lines)"); return }
        let early = lines[entries[1]...ret]
        #expect(!early.contains { $0.contains("rbx") || $0.contains("r12") || $0.contains("r13") }, "\(early)")
        #expect(!early.contains { $0.hasPrefix("jmp") }, "\(early)")
        // The loop's path saves them before it and restores them at its return.
        let rest = lines[ret...].prefix { !$0.contains("[r14+0x38]") }
        #expect(rest.contains { $0.hasPrefix("mov QWORD PTR [rbp-") && $0.hasSuffix(",rbx") }, "\(rest)")
        #expect(rest.contains { $0.hasPrefix("mov rbx,QWORD PTR [rbp-") }, "\(rest)")
    }

    @Test func theLoopCarriedSumNeedsNoMoveOnTheBackEdge() throws {
        // fib's loop, calling another function (a call to itself would be inlined).
        let wat = """
            (module
              (func $g (param i32) (result i32) (i32.mul (local.get 0) (i32.const 3)))
              (func $f (param $n i32) (result i32) (local $acc i32)
                (block $done
                  (br_if $done (i32.lt_u (local.get $n) (i32.const 2)))
                  (loop $top
                    (local.set $acc (i32.add (call $g (i32.add (local.get $n) (i32.const -1))) (local.get $acc)))
                    (local.set $n (i32.add (local.get $n) (i32.const -2)))
                    (br_if $top (i32.gt_u (local.get $n) (i32.const 1)))))
                (i32.add (local.get $n) (local.get $acc))))
            """
        guard let lines = disassemble(try machineCode(wat, function: 1)) else { return }
        // acc = fib(n - 1) + acc lands in acc's register: the back edge is the loop's one
        // conditional branch, with no copy before it.
        let entries = lines.indices.filter { lines[$0] == "push rbp" }
        let fast = Array(lines[entries[1]...].prefix { !$0.contains("[r14+0x38]") })
        guard let call = fast.firstIndex(where: { $0.hasPrefix("call") }),
              let ja = fast[call...].firstIndex(where: { $0.hasPrefix("ja ") }) else { Issue.record("\(fast)"); return }
        #expect(!fast[call..<ja].contains { $0.hasPrefix("mov ") || $0.hasPrefix("jmp") }, "\(fast)")
    }

    @Test(arguments: HeapMode.allCases)
    func callersKeepTheirRegistersWhicheverWayTheCalleeReturns(heapMode: HeapMode) throws {
        let baseline = try instantiate(Self.fib, tier: .baseline, heapMode: heapMode)
        let optimized = try instantiate(Self.fib, tier: .optimized, heapMode: heapMode)
        #expect(optimized.compiled.tierStats.baselineFunctions == 0)
        for n: UInt32 in [0, 1, 2, 3, 7, 20] {
            #expect(try call(optimized, "fib", [.i32(n)]) == call(baseline, "fib", [.i32(n)]), "fib \(n)")
            #expect(try call(optimized, "sum", [.i32(n)]) == call(baseline, "sum", [.i32(n)]), "sum \(n)")
        }
    }

    /// Returns from inside a loop, an early return, a trap after the save, a call_indirect (which
    /// makes every callee-saved register the function's to save) on one path only.
    static let paths = """
        (module
          (type $t (func (param i64) (result i64)))
          (table 1 funcref)
          (elem (i32.const 0) $twice)
          (func $twice (param i64) (result i64) (i64.add (local.get 0) (local.get 0)))
          (func $f (param $x i64) (param $k i32) (result i64) (local $i i64) (local $s i64)
            (if (i32.eqz (local.get $k)) (then (return (local.get $x))))
            (if (i32.eq (local.get $k) (i32.const 1))
              (then (return (call_indirect (type $t) (local.get $x) (i32.const 0)))))
            (if (i32.eq (local.get $k) (i32.const 2)) (then unreachable))
            (loop $top
              (local.set $s (i64.add (local.get $s) (call $twice (local.get $i))))
              (if (i64.gt_u (local.get $s) (local.get $x)) (then (return (local.get $s))))
              (br_if $top (i64.lt_u (local.tee $i (i64.add (local.get $i) (i64.const 1))) (i64.const 1000))))
            (i64.div_u (local.get $s) (i64.extend_i32_u (i32.sub (local.get $k) (i32.const 3)))))
          (func (export "run") (param $x i64) (param $k i32) (result i64) (local $a i64) (local $b i64)
            (local.set $a (i64.mul (local.get $x) (i64.const 7)))
            (local.set $b (call $f (local.get $x) (local.get $k)))
            (local.set $b (i64.add (local.get $b) (call $f (local.get $a) (local.get $k))))
            (i64.add (local.get $b) (i64.xor (local.get $a) (local.get $x)))))
        """

    @Test(arguments: HeapMode.allCases)
    func everyWayOutOfAShrinkWrappedFunctionMatchesTheBaseline(heapMode: HeapMode) throws {
        let baseline = try instantiate(Self.paths, tier: .baseline, heapMode: heapMode)
        let optimized = try instantiate(Self.paths, tier: .optimized, heapMode: heapMode)
        #expect(optimized.compiled.tierStats.baselineFunctions == 0)
        for x: UInt64 in [0, 5, 40, 1_000_000_000] {
            for k: UInt32 in [0, 1, 2, 3, 4, 9] {
                let args: [Value] = [.i64(x), .i32(k)]
                #expect(try call(optimized, "run", args) == call(baseline, "run", args), "x \(x) k \(k)")
            }
        }
    }

    @Test func yieldsInTheSavedRegionKeepTheCallersRegisters() throws {
        let optimized = try instantiate(Self.fib, tier: .optimized, heapMode: .guarded)
        let baseline = try instantiate(Self.fib, tier: .baseline, heapMode: .guarded)
        let expected = try call(baseline, "sum", [.i32(22)])
        guard case .function(let function)? = optimized.instance.export("sum") else { Issue.record("no export"); return }
        let execution = try Execution(function, arguments: [.i32(22)])
        let (state, yields) = try runYielding(execution)
        guard case .exited(let values) = state else { Issue.record("\(state)"); return }
        #expect(Outcome.values(values) == expected)
        #expect(yields == 3)
    }
}
