import Testing

/// The IR after the passes for small functions: what SSA construction, copy propagation,
/// constant folding, value numbering and dead code removal leave.
@Suite("optimizer IR")
struct GoldenIRTests {
    @Test func localsBecomeValuesAndConstantsFold() throws {
        let text = try ir("""
            (module (func (param i32) (result i32) (local i32)
              i32.const 2 i32.const 3 i32.mul local.set 1
              local.get 0 local.get 1 i32.add
              i32.const 0 i32.add))
            """)
        #expect(text == """
            block0(v0: i32):
              v1 = i32.const 6
              v2 = i32.add v0, v1
              return v2

            """)
    }

    @Test func aCountingLoopKeepsOnlyTheMergingLocals() throws {
        // $unused is set in the loop but never read: its block param is dead and goes.
        let text = try ir("""
            (module (func (param $n i32) (result i32) (local $i i32) (local $sum i32) (local $unused i32)
              (loop $top
                local.get $sum local.get $i i32.add local.set $sum
                local.get $i local.set $unused
                local.get $i i32.const 1 i32.add local.tee $i
                local.get $n i32.lt_u br_if $top)
              local.get $sum))
            """)
        #expect(text == """
            block0(v0: i32):
              v1 = i32.const 0
              v2 = i32.const 1
              jump block1(v1, v1)
            block1(v3: i32, v4: i32) loop:
              v5 = i32.add v4, v3
              v6 = i32.add v3, v2
              v7 = i32.lt_u v6, v0
              br_if v7, block1(v6, v5), block2()
            block2():
              return v5

            """)
    }

    @Test func commonSubexpressionsAndBranchesOnConstants() throws {
        // (a ^ b) and (b ^ a) are one value; their difference is 0; the else arm is dead.
        let text = try ir("""
            (module (func (param i32 i32) (result i32)
              (if (result i32) (i32.const 1)
                (then local.get 0 local.get 1 i32.xor local.get 1 local.get 0 i32.xor i32.sub)
                (else i32.const 7))))
            """)
        #expect(text == """
            block0(v0: i32, v1: i32):
              v2 = i32.const 0
              return v2

            """)
    }

    @Test func ifElseMergesThroughBlockParams() throws {
        let text = try ir("""
            (module (func (param i32) (result i32) (local i32)
              (if (local.get 0) (then i32.const 5 local.set 1) (else i32.const 9 local.set 1))
              (loop $l (br_if $l (i32.eqz (local.get 1))))
              local.get 1))
            """)
        #expect(text == """
            block0(v0: i32):
              v1 = i32.const 5
              v2 = i32.const 9
              br_if v0, block1(v1), block1(v2)
            block1(v3: i32):
              jump block2()
            block2() loop:
              br_if v3, block3(), block2()
            block3():
              return v3

            """)
    }

    @Test func aSmallReturnBlockIsCopiedIntoEachEdge() throws {
        // The merge returns v3 from either arm: each arm returns its constant itself.
        let text = try ir("""
            (module (func (param i32) (result i32) (local i32)
              (if (local.get 0) (then i32.const 5 local.set 1) (else i32.const 9 local.set 1))
              local.get 1))
            """)
        #expect(text == """
            block0(v0: i32):
              v1 = i32.const 5
              v2 = i32.const 9
              br_if v0, block1(), block2()
            block1():
              return v1
            block2():
              return v2

            """)
    }

    @Test func anEarlyReturnFoldsTheMergeItSkips() throws {
        // fib as clang -O2 writes it: `n < 2 ? n : loop { acc += fib(n - 1); n -= 2 }` then
        // `return n + acc`; the early return passes acc = 0, so its copy returns n.
        let text = try ir("""
            (module (func $fib (param $n i32) (result i32) (local $acc i32)
              (block $done
                (br_if $done (i32.lt_u (local.get $n) (i32.const 2)))
                (loop $top
                  (local.set $acc (i32.add (call $fib (i32.add (local.get $n) (i32.const -1))) (local.get $acc)))
                  (local.set $n (i32.add (local.get $n) (i32.const -2)))
                  (br_if $top (i32.gt_u (local.get $n) (i32.const 1)))))
              (i32.add (local.get $n) (local.get $acc))))
            """)
        #expect(text.contains("""
              br_if v6, block1(), block2(v0, v1)
            block1():
              return v0
            block2(v7: i32, v8: i32) loop:
            """), "\(text)")
    }

    @Test func aLoadInALoopAndACallStayInOrder() throws {
        let text = try ir("""
            (module (memory 1) (func $f (param i32) (result i32) local.get 0)
              (func (param $p i32) (param $n i32) (result i32) (local $acc i32)
                (block $done (loop $top
                  (br_if $done (i32.eqz (local.get $n)))
                  (local.set $acc (i32.add (local.get $acc) (i32.load offset=4 (local.get $p))))
                  (local.set $p (i32.add (local.get $p) (i32.const 4)))
                  (local.set $n (i32.sub (local.get $n) (i32.const 1)))
                  (br $top)))
                (call $f (local.get $acc))))
            """, function: 1)
        #expect(text == """
            block0(v0: i32, v1: i32):
              v2 = i32.const 0
              v3 = i32.const 4
              v4 = i32.const 1
              jump block1(v0, v1, v2)
            block1(v5: i32, v6: i32, v7: i32) loop:
              br_if v6, block2(), block3()
            block2():
              v8 = i32Load offset=4 v5
              v9 = i32.add v7, v8
              v10 = i32.add v5, v3
              v11 = i32.sub v6, v4
              jump block1(v10, v11, v9)
            block3():
              v12 = call 0 v7
              return v12

            """)
    }

    @Test func floatsAreValuesToo() throws {
        let text = try ir("""
            (module (func (param f64 f64) (result f64)
              local.get 0 local.get 1 f64.mul local.get 1 local.get 0 f64.mul f64.add f64.sqrt))
            """)
        #expect(text == """
            block0(v0: f64, v1: f64):
              v2 = f64Mul v0, v1
              v3 = f64Mul v1, v0
              v4 = f64Add v2, v3
              v5 = f64Sqrt v4
              return v5

            """)
    }

    @Test func referencesAndTables() throws {
        let text = try ir("""
            (module (table 2 funcref) (func $f) (elem declare func $f)
              (func (param i32) (result i32)
                (table.set 0 (local.get 0) (ref.func $f))
                (ref.is_null (table.get 0 (local.get 0)))
                (table.size 0) i32.add))
            """, function: 1)
        #expect(text == """
            block0(v0: i32):
              v1 = ref.func 0
              table.set 0 v0, v1
              v2 = table.get 0 v0
              v3 = i32.eqz v2
              v4 = table.size 0
              v5 = i32.add v3, v4
              return v5

            """)
    }

    @Test func unsupportedFunctionsSayWhy() throws {
        #expect(throws: (any Error).self) { try ir("(module (func (result v128) v128.const i32x4 0 0 0 0))") }
        #expect(throws: (any Error).self) { try ir("(module (func (param v128)))") }
    }
}
