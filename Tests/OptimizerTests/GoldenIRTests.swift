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
              v5 = i32.const 6
              v7 = i32.add v0, v5
              return v7

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
              v11 = i32.const 1
              jump block1(v1, v1)
            block1(v5: i32, v6: i32) loop:
              v10 = i32.add v6, v5
              v12 = i32.add v5, v11
              v13 = i32.lt_u v12, v0
              br_if v13, block1(v12, v10), block2()
            block2():
              return v10

            """)
    }

    @Test func commonSubexpressionsAndBranchesOnConstants() throws {
        let text = try ir("""
            (module (func (param i32 i32) (result i32)
              (if (result i32) (i32.const 1)
                (then local.get 0 local.get 1 i32.xor local.get 1 local.get 0 i32.xor i32.sub)
                (else i32.const 7))))
            """)
        #expect(text == """
            block0(v0: i32, v1: i32):
              v6 = i32.xor v0, v1
              v8 = i32.sub v6, v6
              return v8

            """)
    }

    @Test func ifElseMergesThroughBlockParams() throws {
        let text = try ir("""
            (module (func (param i32) (result i32) (local i32)
              (if (local.get 0) (then i32.const 5 local.set 1) (else i32.const 9 local.set 1))
              local.get 1))
            """)
        #expect(text == """
            block0(v0: i32):
              v6 = i32.const 5
              v7 = i32.const 9
              br_if v0, block1(v6), block1(v7)
            block1(v4: i32):
              return v4

            """)
    }

    @Test func unsupportedFunctionsSayWhy() throws {
        #expect(throws: (any Error).self) { try ir("(module (func (result f64) f64.const 1))") }
    }
}
