import Testing
import Compiler
import Foundation
import Optimizer
import Runtime
import RuntimeABI
import WasmCore
import WasmDecoder
import WasmText

/// Loop headers padded to 64-byte lines (`LoopAlignment`): where the padding goes, and that code
/// running through it (and yielding at the padded headers) computes what the baseline does.
@Suite("optimizer loop alignment")
struct LoopAlignmentTests {
    /// Bench/kernels/sieve.c's shape: a fill per round, then a nest of two small loops.
    static let sieve = """
        (module (memory (export "memory") 17)
          (func (export "run") (param $n i32) (result i32) (local $r i32) (local $i i32) (local $j i32) (local $count i32)
            (block $done
              (br_if $done (i32.eqz (local.get $n)))
              (loop $round
                (memory.fill (i32.const 1024) (i32.const 0) (i32.const 100000))
                (local.set $count (i32.const 0))
                (local.set $i (i32.const 2))
                (loop $outer
                  (block $next
                    (br_if $next (i32.load8_u offset=1024 (local.get $i)))
                    (local.set $count (i32.add (local.get $count) (i32.const 1)))
                    (br_if $next (i32.gt_u (local.get $i) (i32.const 49999)))
                    (local.set $j (i32.shl (local.get $i) (i32.const 1)))
                    (loop $inner
                      (i32.store8 (i32.add (local.get $j) (i32.const 1024)) (i32.const 1))
                      (br_if $inner (i32.lt_u (local.tee $j (i32.add (local.get $j) (local.get $i))) (i32.const 100000)))))
                  (br_if $outer (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 100000))))
                (br_if $round (i32.ne (local.tee $r (i32.add (local.get $r) (i32.const 1))) (local.get $n)))))
            (local.get $count)))
        """

    static func compiled(_ wat: String) throws -> OptimizingCompiler.Output {
        let module = try ModuleDecoder.decode(try TextFormat.wat2wasm(wat), validateFunctions: false)
        let context = OptimizerContext(module: module, context: module.validationContext, layout: VMContextLayout(module: module),
                                       options: CompileOptions(heapMode: .guarded, tier: .optimized))
        return try OptimizingCompiler.compile(context, functionIndex: 0)
    }

    @Test func aLoopNestThatStraddlesALineGetsItsHeaderOnALineBoundary() throws {
        let output = try Self.compiled(Self.sieve)
        #expect(output.alignment == 64)
        guard let lines = disassembleWithOffsets(output.code) else { return }
        // A loop header starts with the yield check; a padded one is preceded by NOPs and starts
        // a 64-byte line (the function itself starts on one).
        let padded = lines.indices.filter { i in
            i > 0 && lines[i].text.hasPrefix("cmp rsp,QWORD PTR [r14+0x10]") && lines[i - 1].text.hasPrefix("nop")
        }
        #expect(!padded.isEmpty, "\(lines)")
        for i in padded { #expect(lines[i].offset % 64 == 0, "\(lines[(i - 3)...(i + 1)])") }
    }

    @Test func aFunctionWithoutLoopsKeepsItsSixteenByteAlignmentAndNoNops() throws {
        let output = try Self.compiled("(module (func (param i32) (result i32) local.get 0 i32.const 3 i32.mul))")
        #expect(output.alignment == 16)
        guard let lines = disassembleWithOffsets(output.code) else { return }
        #expect(!lines.contains { $0.text.hasPrefix("nop") }, "\(lines)")
    }

    @Test(arguments: [HeapMode.guarded, .bounded])
    func paddedLoopsComputeWhatTheBaselineDoes(heapMode: HeapMode) throws {
        let baseline = try instantiate(Self.sieve, tier: .baseline, heapMode: heapMode)
        let optimized = try instantiate(Self.sieve, tier: .optimized, heapMode: heapMode)
        for n: UInt32 in [0, 1, 3] {
            #expect(try call(optimized, "run", [.i32(n)]) == call(baseline, "run", [.i32(n)]))
        }
        #expect(try call(optimized, "run", [.i32(1)]) == .values([.i32(9592)]))  // primes below 100,000
    }

    @Test func aYieldAtAPaddedHeaderResumesThere() throws {
        let optimized = try instantiate(Self.sieve, tier: .optimized, heapMode: .guarded)
        guard case .function(let function)? = optimized.instance.export("run") else { Issue.record("no export"); return }
        let execution = try Execution(function, arguments: [.i32(2)])
        let (state, yields) = try runYielding(execution, yieldRequests: 50)
        guard case .exited(let values) = state else { Issue.record("\(state)"); return }
        #expect(Outcome.values(values) == .values([.i32(9592)]))
        #expect(yields == 50)
    }
}
