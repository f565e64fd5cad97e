/// Removes pure instructions whose results nothing uses, and block params that only feed
/// themselves (a local updated in a loop and never read). Instructions that may trap, store or
/// call stay, whether or not their results are used.
enum DeadCode {
    static func run(_ f: inout IRFunction) {
        enum Def { case inst(Int, Int), param(Int, Int) }
        var defs: [Def?] = Array(repeating: nil, count: f.types.count)
        var incoming = Array(repeating: [Edge](), count: f.blocks.count)
        var live = Array(repeating: false, count: f.types.count)
        var work: [Value] = []
        func mark(_ v: Value) {
            if !live[v.id] {
                live[v.id] = true
                work.append(v)
            }
        }
        for (b, block) in f.blocks.enumerated() {
            for (k, p) in block.params.enumerated() { defs[p.id] = .param(b, k) }
            for (i, inst) in block.insts.enumerated() {
                for r in inst.results { defs[r.id] = .inst(b, i) }
                if !inst.op.isPure { inst.args.forEach(mark) }
            }
            for e in block.terminator.edges { incoming[e.target].append(e) }
            switch block.terminator {
            case .branch(let c, _, _): mark(c)
            case .table(let i, _, _): mark(i)
            case .ret(let values): values.forEach(mark)
            case .jump, .trap: break
            }
        }
        for p in f.blocks[0].params { mark(p) }  // the function's params stay
        while let v = work.popLast() {
            switch defs[v.id] {
            case .inst(let b, let i): f.blocks[b].insts[i].args.forEach(mark)
            case .param(let b, let k): for e in incoming[b] { mark(e.args[k]) }
            case nil: break
            }
        }
        let paramsBefore = f.blocks.map(\.params)
        for b in f.blocks.indices {
            f.blocks[b].insts.removeAll { inst in inst.op.isPure && !inst.results.contains { live[$0.id] } }
            if b != 0 { f.blocks[b].params.removeAll { !live[$0.id] } }
        }
        for b in f.blocks.indices {
            f.blocks[b].terminator.mapEdges { e in
                e.args = zip(e.args, paramsBefore[e.target]).filter { live[$0.1.id] }.map(\.0)
            }
        }
    }
}
