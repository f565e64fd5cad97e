import Compiler
import Runtime
import RuntimeABI
import Testing

/// The shape of the optimizing tier's code for small functions (objdump, when installed).
@Suite("optimizer code shape")
struct DisassemblyTests {
    static let countLoop = """
        (module (func (param $n i32) (result i32) (local $i i32) (local $sum i32)
          (loop $top
            local.get $sum local.get $i i32.add local.set $sum
            local.get $i i32.const 1 i32.add local.tee $i
            local.get $n i32.lt_u br_if $top)
          local.get $sum))
        """

    @Test func aCompareAndBranchBecomeCmpAndJcc() throws {
        guard let lines = disassemble(try machineCode(Self.countLoop)) else { return }
        // The loop's i < n is one cmp and one jb back to the header: no setcc, no test of a 0/1 value.
        #expect(!lines.contains { $0.hasPrefix("set") }, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("cmp e") && !$0.contains("rsp") }, "\(lines)")
        #expect(lines.filter { $0.hasPrefix("jb ") }.count >= 2, "\(lines)")  // the stack check and the back edge
    }

    @Test func aDominatingAccessMakesLaterChecksOfTheSameAddressRedundant() throws {
        // offset=8 is checked (end 12); offset=4 (end 8) is covered by it; offset=12 (end 16) is not.
        let wat = """
            (module (memory 1) (func (param i32) (result i32)
              local.get 0 i32.load offset=8
              local.get 0 i32.load offset=4 i32.add
              local.get 0 i32.load offset=12 i32.add))
            """
        guard let lines = disassemble(try machineCode(wat, heapMode: .bounded)) else { return }
        // Two checks per copy of the body (a function this small has one per entry).
        #expect(lines.filter { $0.hasPrefix("cmp r11,QWORD PTR [r14+0x8]") }.count == 4, "\(lines)")
    }

    @Test func aFloatCompareAndBranchBecomeUcomisAndJcc() throws {
        let wat = """
            (module (func (param $x f64) (result i32) (local $n i32)
              (loop $top
                (local.set $x (f64.mul (local.get $x) (f64.const 1.5)))
                (local.set $n (i32.add (local.get $n) (i32.const 1)))
                (br_if $top (f64.le (local.get $x) (f64.const 1000))))
              local.get $n))
            """
        guard let lines = disassemble(try machineCode(wat)) else { return }
        #expect(lines.contains { $0.hasPrefix("ucomisd") }, "\(lines)")
        #expect(!lines.contains { $0.hasPrefix("set") }, "\(lines)")
    }

    /// `x / (y | 1)`, as hash loops write it: the divisor cannot be zero, so there is no zero test
    /// in front of the div; `x / y` keeps its test.
    static let divisions = """
        (module
          (func (export "odd") (param i64 i64) (result i64)
            (i64.div_u (local.get 0) (i64.or (local.get 1) (i64.const 1))))
          (func (export "any") (param i64 i64) (result i64)
            (i64.div_u (local.get 0) (local.get 1))))
        """

    @Test func aDivisorOredWithAConstantIsNotTestedForZero() throws {
        guard let odd = disassemble(try machineCode(Self.divisions, function: 0)),
              let any = disassemble(try machineCode(Self.divisions, function: 1)) else { return }
        #expect(odd.contains { $0.hasPrefix("div ") } && !odd.contains { $0.hasPrefix("test rcx,rcx") }, "\(odd)")
        #expect(any.contains { $0.hasPrefix("test rcx,rcx") }, "\(any)")
    }

    @Test(arguments: HeapMode.allCases)
    func divisionsByOredDivisorsMatchTheBaseline(heapMode: HeapMode) throws {
        for tier in [CompilerTier.baseline, .optimized] {
            let m = try instantiate(Self.divisions, tier: tier, heapMode: heapMode)
            #expect(try call(m, "odd", [.i64(100), .i64(0)]) == .values([.i64(100)]), "\(tier)")
            #expect(try call(m, "odd", [.i64(100), .i64(6)]) == .values([.i64(14)]), "\(tier)")
            #expect(try call(m, "odd", [.i64(.max), .i64(.max - 1)]) == .values([.i64(1)]), "\(tier)")
            #expect(try call(m, "any", [.i64(1), .i64(0)]) == .trap(.integerDivideByZero), "\(tier)")
        }
    }

    @Test func localsLiveInRegisters() throws {
        guard let lines = disassemble(try machineCode(Self.countLoop)) else { return }
        // No local is loaded from or stored to the frame (rbp - x): only the param load at the
        // standard entry ([rbp+0x10]), the result store of the standard return, and the return's
        // test of which entry was taken ([rbp-0x8]) touch memory.
        #expect(!lines.contains { $0.contains("[rbp-") && !$0.hasPrefix("lea rsp") && !$0.hasPrefix("cmp QWORD PTR [rbp-0x8],0x0") }, "\(lines)")
        #expect(lines.filter { $0.contains("[rbp+0x10]") }.count == 2, "\(lines)")
    }

    @Test func anAddOfTwoLiveValuesIsALea() throws {
        let wat = """
            (module (func (param i32 i32) (result i32 i32)
              local.get 0 local.get 1 i32.add
              local.get 0 local.get 1 i32.sub))
            """
        guard let lines = disassemble(try machineCode(wat)) else { return }
        #expect(lines.contains { $0.hasPrefix("lea e") || $0.hasPrefix("lea r") && $0.contains("d,[") }, "\(lines)")
    }

    @Test func boundedHeapsCheckEveryAccessAndGuardedOnesDoNot() throws {
        let wat = "(module (memory 1) (func (param i32) (result i32) local.get 0 i32.load offset=8))"
        guard let guarded = disassemble(try machineCode(wat, heapMode: .guarded)),
              let bounded = disassemble(try machineCode(wat, heapMode: .bounded)) else { return }
        #expect(guarded.contains { $0.hasPrefix("mov e") && $0.contains("[r15+") && $0.contains("+0x8]") }, "\(guarded)")
        #expect(!guarded.contains { $0.contains("[r14+0x8]") }, "\(guarded)")
        #expect(bounded.contains { $0.hasPrefix("cmp r11,QWORD PTR [r14+0x8]") }, "\(bounded)")
    }
}
