import Compiler
import RuntimeABI
import Runtime
import Testing

/// A value passed around a loop's back edge gets its block param's register before its first
/// operand's (`LinearScan.hints`), so the back edge needs no moves and its conditional branch goes
/// straight to the header: no move block and `jmp` per iteration. LLVM's shapes: a float
/// reduction `s' = x*y + s` (the param is the second operand, the first add's), and fib's
/// accumulator across a recursive call, kept in a callee-saved register.
@Suite("optimizer loop-carried registers")
struct LoopCarriedRegisterTests {
    /// Two products a step, as matmul's unrolled inner loop: `s' = p1 + (p0 + s)`.
    static let dot = """
        (module (memory 1)
          (func (export "fill") (param $n i32) (local $i i32)
            (loop $l
              (f64.store (i32.shl (local.get $i) (i32.const 3))
                         (f64.add (f64.convert_i32_u (local.get $i)) (f64.const 0.25)))
              (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n)))))
          (func (export "dot") (param $p i32) (param $q i32) (param $n i32) (result i64) (local $s f64)
            (loop $top
              (local.set $s (f64.add
                (f64.mul (f64.load offset=8 (local.get $p)) (f64.load offset=8 (local.get $q)))
                (f64.add (f64.mul (f64.load (local.get $p)) (f64.load (local.get $q))) (local.get $s))))
              (local.set $p (i32.add (local.get $p) (i32.const 16)))
              (local.set $q (i32.add (local.get $q) (i32.const 16)))
              (br_if $top (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
            (i64.reinterpret_f64 (local.get $s))))
        """

    /// fib as LLVM writes it: fib(n-1) added to an accumulator, n -= 2 while n > 1. The recursion
    /// goes through `$step`, so that `InlineSelfCall` (which inlines a direct self-call) leaves
    /// the loop's shape alone.
    static let fib = """
        (module
          (func $step (param $n i32) (result i32) (call $fib (local.get $n)))
          (func $fib (export "fib") (param $n i32) (result i32) (local $acc i32)
          (if (i32.ge_u (local.get $n) (i32.const 2))
            (then
              (loop $top
                (local.set $acc (i32.add (call $step (i32.sub (local.get $n) (i32.const 1))) (local.get $acc)))
                (local.set $n (i32.sub (local.get $n) (i32.const 2)))
                (br_if $top (i32.gt_u (local.get $n) (i32.const 1))))))
          (i32.add (local.get $n) (local.get $acc))))
        """

    /// The instruction after each line that `isTest` matches.
    static func branchesAfter(_ lines: [String], _ isTest: (String) -> Bool) -> [String] {
        zip(lines, lines.dropFirst()).filter { isTest($0.0) }.map(\.1)
    }

    @Test func aFloatReductionsBackEdgeIsItsConditionalBranch() throws {
        guard let lines = disassemble(try machineCode(Self.dot, function: 1)) else { return }
        // The loop's test of n is followed by jne to the header (one per copy of the body), not
        // by je out of the loop, a movaps of s and a jmp back.
        let branches = Self.branchesAfter(lines) { $0.hasPrefix("test ") }
        #expect(!branches.isEmpty && branches.allSatisfy { $0.hasPrefix("jne ") }, "\(lines)")
    }

    @Test func anAccumulatorAcrossACallStaysInItsRegister() throws {
        guard let lines = disassemble(try machineCode(Self.fib, function: 1)) else { return }
        // n > 1 is `cmp e.., 0x1` and `ja` back to the header (twice: a small function gets a
        // copy of its body per entry), with no moves of n and acc on a separate back edge.
        let branches = Self.branchesAfter(lines) { $0.hasPrefix("cmp e") && $0.hasSuffix(",0x1") }
        #expect(branches.count == 2 && branches.allSatisfy { $0.hasPrefix("ja ") }, "\(lines)")
    }

    @Test(arguments: HeapMode.allCases)
    func theLoopsComputeWhatTheBaselineDoes(heapMode: HeapMode) throws {
        for tier in [CompilerTier.baseline, .optimized] {
            let dot = try instantiate(Self.dot, tier: tier, heapMode: heapMode)
            _ = try call(dot, "fill", [.i32(64)])
            // 0.25*8.25 + 1.25*9.25 + ... over i = 0..<8 against i + 8: the exact bits.
            var expected = 0.0
            for i in 0..<8 {
                let a = Double(2 * i) + 0.25, b = Double(2 * i + 16) + 0.25
                let a1 = Double(2 * i + 1) + 0.25, b1 = Double(2 * i + 17) + 0.25
                expected = a1 * b1 + (a * b + expected)
            }
            #expect(try call(dot, "dot", [.i32(0), .i32(128), .i32(8)]) == .values([.i64(expected.bitPattern)]), "\(tier)")
            let fib = try instantiate(Self.fib, tier: tier, heapMode: heapMode)
            for (n, f) in [(0, 0), (1, 1), (2, 1), (10, 55), (24, 46368)] as [(UInt32, UInt32)] {
                #expect(try call(fib, "fib", [.i32(n)]) == .values([.i32(f)]), "\(tier) fib(\(n))")
            }
        }
    }
}
