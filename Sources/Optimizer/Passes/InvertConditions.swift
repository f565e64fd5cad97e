/// A branch or select on `i32.eqz c` (c an i32) tests `c` itself with its two outcomes swapped,
/// as LLVM's wasm writes `if (!(x < y))` for float compares (`f64.lt`, `i32.eqz`, `br_if`). The
/// compare then has the branch as its only use, so the code generator fuses it into
/// `ucomisd`+`jcc` (or `cmp`+`jcc`) instead of materializing a 0/1 and testing it; the eqz
/// usually dies. Exact: `eqz c` is non-zero exactly when `c` is zero.
enum InvertConditions {
    static func run(_ f: inout IRFunction) {
        var eqzOf: [Value: Value] = [:]
        for block in f.blocks {
            for inst in block.insts {
                if case .unary(.eqz) = inst.op, f.types[inst.args[0].id] == .i32 { eqzOf[inst.results[0]] = inst.args[0] }
            }
        }
        guard !eqzOf.isEmpty else { return }
        for b in f.blocks.indices {
            for i in f.blocks[b].insts.indices {
                guard case .select = f.blocks[b].insts[i].op else { continue }
                var args = f.blocks[b].insts[i].args
                while let c = eqzOf[args[0]] { args = [c, args[2], args[1]] }
                f.blocks[b].insts[i].args = args
            }
            guard case .branch(var c, var t, var e) = f.blocks[b].terminator else { continue }
            while let inner = eqzOf[c] {
                c = inner
                swap(&t, &e)
            }
            f.blocks[b].terminator = .branch(condition: c, then: t, else: e)
        }
    }
}
