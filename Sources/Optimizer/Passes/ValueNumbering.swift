/// Common subexpression elimination over the dominator tree (GVN without the
/// partial-redundancy part): a pure instruction computing what a dominating one already
/// computed from the same operands reuses its result. Global reads, memory.size and table.size are not
/// merged (a store, call or table.grow in between may change them).
enum ValueNumbering {
    struct Key: Hashable {
        let op: Op
        let args: [Value]
    }

    static func run(_ f: inout IRFunction) {
        let idom = Dominators.immediate(f)
        var children = Array(repeating: [Int](), count: f.blocks.count)
        for b in f.blocks.indices where b != 0 && idom[b] >= 0 { children[idom[b]].append(b) }
        var map: [Value: Value] = [:]
        var table: [Key: Value] = [:]
        // Depth-first over the dominator tree with an undo log per scope.
        var stack: [(block: Int, entering: Bool, undo: [Key])] = [(0, true, [])]
        while let (b, entering, undo) = stack.popLast() {
            guard entering else {
                for key in undo { table[key] = nil }
                continue
            }
            var added: [Key] = []
            var kept: [Inst] = []
            for var inst in f.blocks[b].insts {
                inst.args = inst.args.map { map[$0] ?? $0 }
                if inst.op.isPure, inst.results.count == 1, mergeable(inst.op) {
                    var args = inst.args
                    if case .binary(let op) = inst.op, op.isCommutative, args[1] < args[0] { args.swapAt(0, 1) }
                    let key = Key(op: inst.op, args: args)
                    if let existing = table[key], f.types[existing.id] == f.types[inst.results[0].id] {
                        map[inst.results[0]] = existing
                        continue
                    }
                    table[key] = inst.results[0]
                    added.append(key)
                }
                kept.append(inst)
            }
            f.blocks[b].insts = kept
            stack.append((b, false, added))
            for c in children[b].reversed() { stack.append((c, true, [])) }
        }
        f.substitute(map)
    }

    static func mergeable(_ op: Op) -> Bool {
        switch op {
        case .globalGet, .memorySize, .tableSize, .const: false
        default: true
        }
    }
}

/// Immediate dominators (Cooper, Harvey and Kennedy's iterative algorithm); -1 for the entry.
enum Dominators {
    static func immediate(_ f: IRFunction) -> [Int] {
        let n = f.blocks.count
        // Reverse postorder.
        var order: [Int] = []
        var visited = Array(repeating: false, count: n)
        var stack: [(Int, Int)] = [(0, 0)]
        visited[0] = true
        while let (b, i) = stack.popLast() {
            let edges = f.blocks[b].terminator.edges
            if i < edges.count {
                stack.append((b, i + 1))
                let t = edges[i].target
                if !visited[t] {
                    visited[t] = true
                    stack.append((t, 0))
                }
            } else {
                order.append(b)
            }
        }
        order.reverse()
        var rpo = Array(repeating: -1, count: n)
        for (i, b) in order.enumerated() { rpo[b] = i }
        let preds = f.predecessors()
        var idom = Array(repeating: -1, count: n)
        idom[0] = 0
        func intersect(_ a: Int, _ b: Int) -> Int {
            var (x, y) = (a, b)
            while x != y {
                while rpo[x] > rpo[y] { x = idom[x] }
                while rpo[y] > rpo[x] { y = idom[y] }
            }
            return x
        }
        var changed = true
        while changed {
            changed = false
            for b in order where b != 0 {
                var new = -1
                for p in preds[b] where idom[p] >= 0 {
                    new = new < 0 ? p : intersect(p, new)
                }
                if new >= 0, idom[b] != new {
                    idom[b] = new
                    changed = true
                }
            }
        }
        idom[0] = -1
        return idom
    }
}
