import Compiler
import Runtime
import RuntimeABI
import Testing
import WasmCore
import WasmText

/// `InlineSelfCall`: a small function's one call to itself becomes a copy of its body, when
/// nothing in it can trap and fuel is off; results, stack exhaustion, yields and fuel stay the
/// baseline's.
@Suite("optimizer self-call inlining")
struct InlineSelfCallTests {
    @Test func fibsCallToItselfBecomesACopyOfItsBody() throws {
        let text = try ir(ShrinkWrapTests.fib)
        // One call left (the copy's), and the copy's loop is a loop header of its own.
        #expect(text.components(separatedBy: "call 0").count == 2, "\(text)")
        #expect(text.components(separatedBy: " loop:").count == 3, "\(text)")
    }

    @Test func aFunctionThatMayTrapKeepsItsCall() throws {
        let wat = """
            (module (memory 1)
              (func $f (param $n i32) (result i32)
                (if (result i32) (i32.lt_u (local.get $n) (i32.const 2)) (then (local.get $n))
                  (else (i32.add (i32.load (local.get $n)) (call $f (i32.sub (local.get $n) (i32.const 1))))))))
            """
        let text = try ir(wat)
        #expect(text.components(separatedBy: "call 0").count == 2, "\(text)")
        #expect(!text.contains(" loop:"), "\(text)")
    }

    static let recursion = """
        (module
          (func $tri (param $n i64) (result i64)
            (if (result i64) (i64.eqz (local.get $n)) (then (i64.const 0))
              (else (i64.add (local.get $n) (call $tri (i64.sub (local.get $n) (i64.const 1)))))))
          (func $forever (param $n i32) (result i32) (call $forever (i32.add (local.get $n) (i32.const 1))))
          (global $g (mut i32) (i32.const 0))
          (func $count (param $n i32)
            (global.set $g (i32.add (global.get $g) (i32.const 1)))
            (if (local.get $n) (then (call $count (i32.sub (local.get $n) (i32.const 1))))))
          (func $runaway (call $runaway))
          (func (export "count") (param i32) (result i32) (call $count (local.get 0)) (global.get $g))
          (func (export "runaway") (call $runaway))
          (func (export "tri") (param i64) (result i64) (call $tri (local.get 0)))
          (func (export "forever") (param i32) (result i32) (call $forever (local.get 0))))
        """

    @Test(arguments: HeapMode.allCases)
    func recursionMatchesTheBaseline(heapMode: HeapMode) throws {
        let baseline = try instantiate(Self.recursion, tier: .baseline, heapMode: heapMode)
        let optimized = try instantiate(Self.recursion, tier: .optimized, heapMode: heapMode)
        for n: UInt64 in [0, 1, 2, 3, 1000, 10_000, 100_000_000] {
            #expect(try call(optimized, "tri", [.i64(n)]) == call(baseline, "tri", [.i64(n)]), "n = \(n)")
        }
        #expect(try call(optimized, "tri", [.i64(100_000_000)]) == .trap(.callStackExhausted))
        #expect(try call(optimized, "forever", [.i32(0)]) == .trap(.callStackExhausted))
        // Calls and global writes without results are copied too (the entry's are, not only its constants).
        #expect(try call(optimized, "runaway", []) == .trap(.callStackExhausted))
        #expect(try call(optimized, "count", [.i32(5)]) == .values([.i32(6)]))
        #expect(try call(optimized, "count", [.i32(100)]) == .values([.i32(6 + 101)]))
        do {
            _ = try optimized.instance.invoke("forever", [.i32(0)])
            Issue.record("no trap")
        } catch let trap as Trap {
            // The innermost frames are all the recursive function's, as without inlining.
            #expect(trap.backtrace.prefix(8).allSatisfy { $0.functionIndex == 1 }, "\(trap.backtrace)")
        }
        let fibBaseline = try instantiate(ShrinkWrapTests.fib, tier: .baseline, heapMode: heapMode)
        let fibOptimized = try instantiate(ShrinkWrapTests.fib, tier: .optimized, heapMode: heapMode)
        for n: UInt32 in [0, 1, 2, 3, 4, 10, 24] {
            #expect(try call(fibOptimized, "fib", [.i32(n)]) == call(fibBaseline, "fib", [.i32(n)]), "fib \(n)")
        }
    }

    @Test func withFuelTheCallStaysAndFuelMatchesTheBaseline() throws {
        var used: [Int64] = []
        var results: [[Value]] = []
        for tier in CompilerTier.allCases {
            let compiled = try ModuleCompiler.compile(bytes: try TextFormat.wat2wasm(ShrinkWrapTests.fib),
                                                      options: CompileOptions(heapMode: .guarded, fuel: true, tier: tier))
            let store = Store(heapMode: .guarded)
            let instance = try store.instantiate(compiled) { _, _ in nil }
            store.setFuel(10_000_000)
            results.append(try instance.invoke("fib", [.i32(20)]))
            used.append(10_000_000 - store.fuel(of: instance))
        }
        #expect(used[0] == used[1])
        #expect(results[0] == results[1])
    }
}
