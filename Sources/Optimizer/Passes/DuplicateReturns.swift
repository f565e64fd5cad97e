/// Tail duplication of small return blocks: a block that only computes a little and returns, and
/// that several edges reach, becomes one copy per edge, with the edge's args in place of its
/// params. A merge such as `return n + acc` reached with `acc = 0` from an early exit folds to
/// `return n` there (`ConstantFolding` runs after this), and each path returns without the edge's
/// moves and the jump to a shared block. It also lets the code generator restore the callee-saved
/// registers only on the returns that follow their save (`CodeGen+ShrinkWrap.swift`): a shared
/// return would be reached both with and without it.
///
enum DuplicateReturns {
    /// At most this many instructions in a block that is copied, and this many copies of it.
    static let maxInstructions = 4
    static let maxCopies = 4

    static func run(_ f: inout IRFunction) {
        var incoming = Array(repeating: [(from: Int, edge: Int)](), count: f.blocks.count)
        for (b, block) in f.blocks.enumerated() {
            for (k, e) in block.terminator.edges.enumerated() { incoming[e.target].append((b, k)) }
        }
        let copied = f.blocks.indices.map { r in
            let block = f.blocks[r]
            guard r != 0, !block.isLoopHeader, case .ret = block.terminator else { return false }
            return (2...maxCopies).contains(incoming[r].count) && block.insts.count <= maxInstructions
                && !block.insts.contains { $0.op.isCall }
        }
        guard copied.contains(true) else { return }
        // The new layout: a copy reached from a block on no cycle right after that block (the
        // values it returns are then live only there, not across the code between: intervals
        // are hulls), the others in the original's place.
        var after = Array(repeating: [(from: Int, edge: Int, original: Int)](), count: f.blocks.count)
        var inPlace = Array(repeating: [(from: Int, edge: Int, original: Int)](), count: f.blocks.count)
        for r in f.blocks.indices where copied[r] {
            for s in incoming[r] {
                if onCycle(s.from, f) { inPlace[r].append((s.from, s.edge, r)) } else { after[s.from].append((s.from, s.edge, r)) }
            }
            // The block laid out just before keeps falling through to its copy.
            inPlace[r] = inPlace[r].filter { $0.from == r - 1 } + inPlace[r].filter { $0.from != r - 1 }
        }
        var newIndex = Array(repeating: -1, count: f.blocks.count)
        var copyIndex: [Int: Int] = [:]  // from << 32 | edge -> new block
        var layout: [(original: Int, edge: Edge?)] = []
        func place(_ copies: [(from: Int, edge: Int, original: Int)]) {
            for c in copies {
                copyIndex[c.from << 32 | c.edge] = layout.count
                layout.append((c.original, f.blocks[c.from].terminator.edges[c.edge]))
            }
        }
        for b in f.blocks.indices {
            if copied[b] {
                place(inPlace[b])
            } else {
                newIndex[b] = layout.count
                layout.append((b, nil))
            }
            place(after[b])
        }
        var blocks: [Block] = []
        for (original, edge) in layout {
            guard let edge else {
                blocks.append(f.blocks[original])
                continue
            }
            blocks.append(copy(f.blocks[original], passing: edge.args, in: &f))
        }
        for b in blocks.indices {
            guard layout[b].edge == nil else { continue }
            let from = layout[b].original
            var k = 0
            blocks[b].terminator.mapEdges { e in
                if let c = copyIndex[from << 32 | k] {
                    e = Edge(target: c, args: [])
                } else {
                    e.target = newIndex[e.target]
                }
                k += 1
            }
        }
        f.blocks = blocks
    }

    /// Whether block `b` can reach itself.
    static func onCycle(_ b: Int, _ f: IRFunction) -> Bool {
        var seen = Array(repeating: false, count: f.blocks.count)
        var work = f.blocks[b].terminator.edges.map(\.target)
        while let x = work.popLast() {
            if x == b { return true }
            if seen[x] { continue }
            seen[x] = true
            work += f.blocks[x].terminator.edges.map(\.target)
        }
        return false
    }

    /// `block` with its params replaced by `args` and fresh results for its instructions.
    static func copy(_ block: Block, passing args: [Value], in f: inout IRFunction) -> Block {
        var map: [Value: Value] = [:]
        for (p, a) in zip(block.params, args) { map[p] = a }
        var out = Block()
        for inst in block.insts {
            let results = inst.results.map { r in
                let v = f.newValue(f.types[r.id])
                map[r] = v
                return v
            }
            out.insts.append(Inst(op: inst.op, args: inst.args.map { map[$0] ?? $0 }, results: results))
        }
        out.terminator = block.terminator
        out.terminator.mapUses { map[$0] ?? $0 }
        return out
    }
}
