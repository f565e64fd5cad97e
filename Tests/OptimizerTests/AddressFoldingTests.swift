import Runtime
import RuntimeABI
import Testing

/// `AddressFolding` with `Ranges`: an i32 `x + c` feeding an access becomes part of the access's
/// offset only where the ranges prove the add does not wrap (or wraps for every x, for a negative
/// c), so every access reads, writes and traps as the baseline's does. Adversarial cases sit at
/// the wrap boundary in both heap modes; golden IR and code shapes show what folds.
@Suite("optimizer address folding")
struct AddressFoldingTests {
    /// Memory of one page with bytes 0..255 repeating from 0; each function guards an access
    /// with a condition that bounds (or fails to bound) its address arithmetic.
    static let wat = """
        (module
          (memory 1)
          (func $fill (local $i i32)
            (loop $l
              (i32.store8 (local.get $i) (local.get $i))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br_if $l (i32.lt_u (local.get $i) (i32.const 65536)))))
          (start $fill)
          ;; x <u 0xFFFFFFF0: x + 8 cannot wrap: folded to offset=12.
          (func (export "below") (param $x i32) (result i32)
            (if (result i32) (i32.lt_u (local.get $x) (i32.const 0xFFFFFFF0))
              (then (i32.load offset=4 (i32.add (local.get $x) (i32.const 8))))
              (else (i32.const -1))))
          ;; x <u 0xFFFFFFF9 allows x = 0xFFFFFFF8, where x + 8 wraps to 0: not folded.
          (func (export "wraps") (param $x i32) (result i32)
            (if (result i32) (i32.lt_u (local.get $x) (i32.const 0xFFFFFFF9))
              (then (i32.load offset=4 (i32.add (local.get $x) (i32.const 8))))
              (else (i32.const -1))))
          ;; x >=u 16: x - 16 never wraps; with offset 16 the access is at x: folded to offset=0.
          (func (export "minus") (param $x i32) (result i32)
            (if (result i32) (i32.ge_u (local.get $x) (i32.const 16))
              (then (i32.load16_u offset=16 (i32.add (local.get $x) (i32.const -16))))
              (else (i32.const -1))))
          ;; x >=u 16 but offset 4 < 16: not folded.
          (func (export "minusSmallOffset") (param $x i32) (result i32)
            (if (result i32) (i32.ge_u (local.get $x) (i32.const 16))
              (then (i32.load8_u offset=4 (i32.add (local.get $x) (i32.const -16))))
              (else (i32.const -1))))
          ;; x >=u 11: x - 16 wraps for x < 16 (to a valid low address): not folded.
          (func (export "minusWraps") (param $x i32) (result i32)
            (if (result i32) (i32.gt_u (local.get $x) (i32.const 10))
              (then (i32.load8_u offset=20 (i32.add (local.get $x) (i32.const -16))))
              (else (i32.const -1))))
          ;; x >s 100 is 101..0x7FFFFFFF: x + 4 cannot wrap; large x traps either way.
          (func (export "signed") (param $x i32) (result i32)
            (if (result i32) (i32.gt_s (local.get $x) (i32.const 100))
              (then (i32.load8_u (i32.add (local.get $x) (i32.const 4))))
              (else (i32.const -1))))
          ;; A mask bounds x: (x & 0xFFFF) + 0x7FFF0000 never wraps (and is out of bounds).
          (func (export "masked") (param $x i32) (result i32)
            (i32.load8_u offset=0x10 (i32.add (i32.and (local.get $x) (i32.const 0xFFFF)) (i32.const 0xFFF0))))
          (func (export "maskedFar") (param $x i32) (result i32)
            (i32.load8_u (i32.add (i32.and (local.get $x) (i32.const 0xFFFF)) (i32.const 0x7FFF0000))))
          ;; offset + c at the 2^31 - 1 limit folds; beyond it does not.
          (func (export "offsetLimit") (param $x i32) (result i32)
            (if (result i32) (i32.lt_u (local.get $x) (i32.const 0x100))
              (then (i32.load8_u offset=0x7FFFFF00 (i32.add (local.get $x) (i32.const 0xFF))))
              (else (i32.const -1))))
          (func (export "offsetBeyond") (param $x i32) (result i32)
            (if (result i32) (i32.lt_u (local.get $x) (i32.const 0x100))
              (then (i32.load8_u offset=0x7FFFFF00 (i32.add (local.get $x) (i32.const 0x100))))
              (else (i32.const -1))))
          ;; A store: x <u 65536 - 8 + 1 ... the last in-bounds byte, and one past it.
          (func (export "store") (param $x i32) (result i32)
            (if (result i32) (i32.le_u (local.get $x) (i32.const 65535))
              (then (i32.store16 offset=1 (i32.add (local.get $x) (i32.const 1)) (i32.const 0xABCD))
                    (i32.load16_u offset=2 (local.get $x)))
              (else (i32.const -1))))
          ;; A sieve-shaped loop: j from 2i by i while j <u bound; writes j + 1024.
          (func (export "sieve") (param $i i32) (param $bound i32) (result i32) (local $j i32) (local $sum i32)
            (if (i32.gt_u (local.get $i) (i32.const 30000)) (then (return (i32.const -1))))
            (if (i32.eqz (local.get $i)) (then (return (i32.const -2))))
            (local.set $j (i32.shl (local.get $i) (i32.const 1)))
            (loop $l
              (i32.store8 (i32.add (local.get $j) (i32.const 1024)) (i32.const 1))
              (local.set $sum (i32.add (local.get $sum) (i32.load8_u offset=3 (i32.add (local.get $j) (i32.const 1024)))))
              (local.set $j (i32.add (local.get $j) (local.get $i)))
              (br_if $l (i32.lt_u (local.get $j) (local.get $bound))))
            (local.get $sum))
          ;; The same loop with a constant bound: folded.
          (func (export "sieveConst") (param $i i32) (result i32) (local $j i32) (local $sum i32)
            (if (i32.gt_u (local.get $i) (i32.const 30000)) (then (return (i32.const -1))))
            (if (i32.eqz (local.get $i)) (then (return (i32.const -2))))
            (local.set $j (i32.shl (local.get $i) (i32.const 1)))
            (loop $l
              (i32.store8 (i32.add (local.get $j) (i32.const 100)) (i32.const 2))
              (local.set $sum (i32.add (local.get $sum) (i32.load8_u offset=3 (i32.add (local.get $j) (i32.const 100)))))
              (local.set $j (i32.add (local.get $j) (local.get $i)))
              (br_if $l (i32.lt_u (local.get $j) (i32.const 64510))))
            (local.get $sum)))
        """

    @Test(arguments: HeapMode.allCases)
    func foldedAccessesReadWriteAndTrapAsTheBaselineDoes(heapMode: HeapMode) throws {
        let edges: [UInt32] = [0, 1, 2, 7, 8, 15, 16, 17, 100, 101, 255, 256, 65519, 65520, 65523, 65524, 65527, 65528,
                               65530, 65531, 65532, 65533, 65534, 65535, 65536, 65537, 0x7FFF_FFFB, 0x7FFF_FFFC, 0x7FFF_FFFF,
                               0x8000_0000, 0xFFFF_FFEF, 0xFFFF_FFF0, 0xFFFF_FFF6, 0xFFFF_FFF7, 0xFFFF_FFF8, 0xFFFF_FFF9,
                               0xFFFF_FFFC, 0xFFFF_FFFF]
        let names = ["below", "wraps", "minus", "minusSmallOffset", "minusWraps", "signed", "masked", "maskedFar",
                     "offsetLimit", "offsetBeyond", "store"]
        for name in names {
            // A fresh pair per function: "store" writes.
            let baseline = try instantiate(Self.wat, tier: .baseline, heapMode: heapMode)
            let optimized = try instantiate(Self.wat, tier: .optimized, heapMode: heapMode)
            for x in edges {
                #expect(try call(baseline, name, [.i32(x)]) == call(optimized, name, [.i32(x)]), "\(name)(\(x))")
            }
        }
        let baseline = try instantiate(Self.wat, tier: .baseline, heapMode: heapMode)
        let optimized = try instantiate(Self.wat, tier: .optimized, heapMode: heapMode)
        #expect(optimized.compiled.tierStats.optimizedFunctions == 14)
        for i: UInt32 in [0, 1, 2, 3, 7, 1000, 16000, 29999, 30000, 30001, 0xFFFF_FFFF] {
            for bound: UInt32 in [0, 100, 64510, 64512, 64513, 65000, 0xFFFF_FFFF] {
                #expect(try call(baseline, "sieve", [.i32(i), .i32(bound)]) == call(optimized, "sieve", [.i32(i), .i32(bound)]),
                        "sieve(\(i), \(bound))")
            }
            #expect(try call(baseline, "sieveConst", [.i32(i)]) == call(optimized, "sieveConst", [.i32(i)]), "sieveConst(\(i))")
        }
    }

    @Test func whatFolds() throws {
        func accesses(_ name: String) throws -> [String] {
            let index = try #require(Self.exports.firstIndex(of: name)) + 1  // after $fill
            return try ir(Self.wat, function: index).split(separator: "\n").map(String.init)
                .filter { $0.contains("Load") || $0.contains("Store") }
                .map { $0.trimmingCharacters(in: .whitespaces) }
        }
        // The access's address is the add's operand (a param: v0) or still the add.
        #expect(try accesses("below") == ["v4 = i32Load offset=12 v0"])
        #expect(try accesses("wraps").first?.hasSuffix("i32Load offset=4 v5") == true)
        #expect(try accesses("minus") == ["v4 = i32Load16U v0"])
        #expect(try accesses("minusSmallOffset").first?.contains("offset=4 v") == true)
        #expect(try accesses("minusSmallOffset").first?.hasSuffix(" v0") == false)
        #expect(try accesses("minusWraps").first?.hasSuffix(" v0") == false)
        #expect(try accesses("signed") == ["v4 = i32Load8U offset=4 v0"])
        // Folds that would turn a short displacement into a 32-bit one are left alone.
        #expect(try accesses("masked").first?.contains("offset=16 ") == true)
        #expect(try accesses("maskedFar").first?.contains("offset") == false)
        #expect(try accesses("offsetLimit") == ["v4 = i32Load8U offset=2147483647 v0"])
        #expect(try accesses("offsetBeyond").first?.contains("offset=2147483392 ") == true)
        #expect(try accesses("sieve").allSatisfy { !$0.contains("offset=1024") })
        #expect(try accesses("sieveConst").count == 2)
        #expect(try accesses("sieveConst") == ["i32Store8 offset=100 v10, v6", "v12 = i32Load8U offset=103 v10"])
    }

    static let exports = ["below", "wraps", "minus", "minusSmallOffset", "minusWraps", "signed", "masked", "maskedFar",
                          "offsetLimit", "offsetBeyond", "store", "sieve", "sieveConst"]

    @Test func aSieveLoopStoresThroughOneAddressingMode() throws {
        let wat = """
            (module (memory 16) (func (param $i i32) (local $j i32)
              (if (i32.gt_u (local.get $i) (i32.const 499999)) (then (return)))
              (local.set $j (i32.shl (local.get $i) (i32.const 1)))
              (loop $l
                (i32.store8 (i32.add (local.get $j) (i32.const 64)) (i32.const 1))
                (local.set $j (i32.add (local.get $j) (local.get $i)))
                (br_if $l (i32.lt_u (local.get $j) (i32.const 1000000))))))
            """
        guard let lines = disassemble(try machineCode(wat)) else { return }
        #expect(lines.contains { $0.hasPrefix("mov BYTE PTR [r15+") && $0.contains("+0x40],0x1") }, "\(lines)")
        #expect(!lines.contains { $0.hasPrefix("lea ") && $0.contains("+0x40]") }, "\(lines)")
    }
}

/// `InvertConditions` and the float constant pool: a branch on `eqz` of a float compare is one
/// ucomis+jcc, and float constants are loaded rip-relative; results as the baseline's.
@Suite("optimizer float conditions and constants")
struct FloatConditionTests {
    static let wat = """
        (module
          (func (export "count") (param $x f64) (param $y f32) (result i32) (local $n i32)
            (loop $l
              (if (i32.eqz (f64.lt (local.get $x) (f64.const 4.0)))
                (then (return (local.get $n))))
              (local.set $x (f64.add (f64.mul (local.get $x) (f64.const 1.5)) (f64.const 0.25)))
              (local.set $y (f32.sub (local.get $y) (f32.const -2.5)))
              (local.set $n (i32.add (local.get $n)
                (i32.add (i32.const 1) (i32.and (i32.trunc_sat_f32_s (local.get $y)) (i32.const 255)))))
              (br_if $l (i32.lt_u (local.get $n) (i32.const 1000000))))
            (i32.const -1))
          (func (export "pick") (param $a i32) (param $b i32) (param $c i32) (result i32)
            (select (local.get $a) (local.get $b) (i32.eqz (i32.eqz (i32.eqz (local.get $c))))))
          (func (export "consts") (param $x f32) (result f64)
            (f64.add (f64.promote_f32 (f32.mul (local.get $x) (f32.const 0.1))) (f64.const -0.0))))
        """

    @Test(arguments: HeapMode.allCases)
    func resultsMatchTheBaseline(heapMode: HeapMode) throws {
        let baseline = try instantiate(Self.wat, tier: .baseline, heapMode: heapMode)
        let optimized = try instantiate(Self.wat, tier: .optimized, heapMode: heapMode)
        let xs: [Double] = [-1e300, -3, 0, 1, 3.9999, 4, 4.5, .infinity, -.infinity, .nan]
        let ys: [Float] = [0, 1, -7, 1e30, .nan]
        for x in xs {
            for y in ys {
                #expect(try call(baseline, "count", [.f64(bits: x.bitPattern), .f32(bits: y.bitPattern)])
                        == call(optimized, "count", [.f64(bits: x.bitPattern), .f32(bits: y.bitPattern)]), "count(\(x), \(y))")
            }
        }
        for c: UInt32 in [0, 1, 2, 0xFFFF_FFFF] {
            #expect(try call(baseline, "pick", [.i32(5), .i32(6), .i32(c)]) == call(optimized, "pick", [.i32(5), .i32(6), .i32(c)]))
        }
        for y in ys {
            #expect(try call(baseline, "consts", [.f32(bits: y.bitPattern)]) == call(optimized, "consts", [.f32(bits: y.bitPattern)]))
        }
    }

    @Test func aBranchOnANegatedFloatCompareIsUcomisAndJcc() throws {
        let text = try ir(Self.wat)
        #expect(!text.contains("eqz"), "\(text)")
        guard let lines = disassemble(try machineCode(Self.wat)) else { return }
        #expect(!lines.contains { $0.hasPrefix("set") }, "\(lines)")
        #expect(!lines.contains { $0.hasPrefix("movabs ") }, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("movsd ") && $0.contains("[rip+") }, "\(lines)")
    }
}

/// br_table with a jump table (at least `jumpTableMinimum` targets) and with a search, edges with
/// and without moves, indices in range, at the end, past it and far past it.
@Suite("optimizer br_table")
struct JumpTableTests {
    static let wat = """
        (module
          (func (export "big") (param $i i32) (param $n i32) (result i32) (local $acc i32) (local $k i32)
            (loop $top
              (block $d (block $b5 (block $b4 (block $b3 (block $b2 (block $b1 (block $b0
                (br_table $b0 $b1 $b2 $b3 $b4 $b5 $b1 $b0 $d (local.get $i)))
                (local.set $acc (i32.add (local.get $acc) (i32.const 1))) (br $d))
                (local.set $acc (i32.mul (local.get $acc) (i32.const 3))) (br $d))
                (local.set $acc (i32.xor (local.get $acc) (i32.const 0x55))) (br $d))
                (local.set $k (local.get $acc)) (br $d))
                (return (i32.const 99)))
                (local.set $acc (i32.sub (local.get $acc) (i32.const 7))))
              (local.set $i (i32.rem_u (i32.add (i32.mul (local.get $i) (i32.const 5)) (i32.const 3)) (i32.const 11)))
              (local.set $n (i32.sub (local.get $n) (i32.const 1)))
              (br_if $top (local.get $n)))
            (i32.add (local.get $acc) (local.get $k)))
          (func (export "small") (param $i i32) (result i32)
            (block $b2 (block $b1 (block $b0 (br_table $b0 $b1 $b2 (local.get $i))) (return (i32.const 10))) (return (i32.const 11)))
            (i32.const 12))
          (func (export "values") (param $i i32) (result i32)
            (block $x (result i32) (block $y (result i32) (block $z (result i32)
              (br_table $x $y $z $y $x $z (i32.const 40) (local.get $i)))
              (i32.const 1) (i32.add)) (i32.const 2) (i32.add)) (i32.const 3) (i32.add)))
        """

    @Test(arguments: HeapMode.allCases)
    func targetsMatchTheBaseline(heapMode: HeapMode) throws {
        let baseline = try instantiate(Self.wat, tier: .baseline, heapMode: heapMode)
        let optimized = try instantiate(Self.wat, tier: .optimized, heapMode: heapMode)
        let indices: [UInt32] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 100, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF]
        for i in indices {
            for n: UInt32 in [1, 2, 17] {
                #expect(try call(baseline, "big", [.i32(i), .i32(n)]) == call(optimized, "big", [.i32(i), .i32(n)]), "big(\(i), \(n))")
            }
            #expect(try call(baseline, "small", [.i32(i)]) == call(optimized, "small", [.i32(i)]), "small(\(i))")
            #expect(try call(baseline, "values", [.i32(i)]) == call(optimized, "values", [.i32(i)]), "values(\(i))")
        }
    }

    @Test func aLargeTableIsAnIndirectJump() throws {
        guard let lines = disassemble(try machineCode(Self.wat)) else { return }
        #expect(lines.contains { $0.hasPrefix("jmp rax") }, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("movsxd rax,DWORD PTR [rcx+") && $0.hasSuffix("*4]") }, "\(lines)")
    }
}
