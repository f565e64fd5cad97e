/// Control-flow cleanup: drops unreachable blocks, sends branches past empty blocks that only
/// jump on, and merges a block into its only predecessor when that predecessor jumps to it.
/// Loop headers stay blocks of their own (the yield and fuel checks are theirs).
enum SimplifyCFG {
    static func run(_ f: inout IRFunction) {
        var changed = true
        while changed {
            changed = false
            changed = bypassForwarders(&f) || changed
            changed = mergeStraightLines(&f) || changed
            removeUnreachable(&f)
        }
    }

    /// Blocks with no params and no instructions that just jump: their predecessors jump on directly.
    static func bypassForwarders(_ f: inout IRFunction) -> Bool {
        var forward: [Int: Edge] = [:]
        for (b, block) in f.blocks.enumerated() where b != 0 && !block.isLoopHeader && block.params.isEmpty && block.insts.isEmpty {
            if case .jump(let e) = block.terminator, e.target != b { forward[b] = e }
        }
        guard !forward.isEmpty else { return false }
        var changed = false
        for b in f.blocks.indices {
            f.blocks[b].terminator.mapEdges { e in
                var hops = 0
                while let next = forward[e.target], e.args.isEmpty, hops < 8 {
                    e = next
                    hops += 1
                    changed = true
                }
            }
        }
        return changed
    }

    /// A block whose only predecessor ends with a jump to it becomes the tail of that predecessor.
    static func mergeStraightLines(_ f: inout IRFunction) -> Bool {
        var changed = false
        var preds = f.predecessors()
        for a in f.blocks.indices {
            while case .jump(let e) = f.blocks[a].terminator, e.target != a, e.target != 0,
                  !f.blocks[e.target].isLoopHeader, preds[e.target].count == 1 {
                let b = e.target
                var map: [Value: Value] = [:]
                for (p, arg) in zip(f.blocks[b].params, e.args) { map[p] = arg }
                f.blocks[a].insts += f.blocks[b].insts
                f.blocks[a].terminator = f.blocks[b].terminator
                f.blocks[b].insts = []
                f.blocks[b].params = []
                f.blocks[b].terminator = .trap(.unreachable)
                f.substitute(map)
                preds = f.predecessors()
                changed = true
            }
        }
        return changed
    }

    /// Keeps the blocks reachable from the entry, in their order.
    static func removeUnreachable(_ f: inout IRFunction) {
        var reached = Array(repeating: false, count: f.blocks.count)
        var work = [0]
        reached[0] = true
        while let b = work.popLast() {
            for e in f.blocks[b].terminator.edges where !reached[e.target] {
                reached[e.target] = true
                work.append(e.target)
            }
        }
        guard reached.contains(false) else { return }
        var map = Array(repeating: -1, count: f.blocks.count)
        var kept: [Block] = []
        for b in f.blocks.indices where reached[b] {
            map[b] = kept.count
            kept.append(f.blocks[b])
        }
        f.blocks = kept
        for b in f.blocks.indices { f.blocks[b].terminator.mapEdges { $0.target = map[$0.target] } }
    }
}
