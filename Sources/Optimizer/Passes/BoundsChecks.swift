/// Redundant bounds-check removal for bounded heaps. An access of `size` bytes at
/// `address + offset` that has run proves `address + offset + size <= memory size`, and memory
/// never shrinks, so the proof holds in all code the access dominates: a later access to the same
/// address value that ends no further needs no check. (Checks are never hoisted or widened: an
/// earlier trap than the program's would be observable in memory.)
enum BoundsChecks {
    /// Accesses, as `block << 32 | instruction index`, whose check a dominating access makes redundant.
    static func redundant(_ f: IRFunction) -> Set<Int> {
        let idom = Dominators.immediate(f)
        var children = Array(repeating: [Int](), count: f.blocks.count)
        for b in f.blocks.indices where b != 0 && idom[b] >= 0 { children[idom[b]].append(b) }
        var proven: [Value: UInt64] = [:]
        var out: Set<Int> = []
        var stack: [(block: Int, entering: Bool, undo: [(Value, UInt64?)])] = [(0, true, [])]
        while let (b, entering, undo) = stack.popLast() {
            guard entering else {
                for (v, previous) in undo.reversed() { proven[v] = previous }
                continue
            }
            var log: [(Value, UInt64?)] = []
            for (i, inst) in f.blocks[b].insts.enumerated() {
                let offset: UInt32, size: Int
                switch inst.op {
                case .load(let op, let o): (offset, size) = (o, 1 << op.naturalAlignment)
                case .store(let op, let o): (offset, size) = (o, 1 << op.naturalAlignment)
                default: continue
                }
                let address = inst.args[0]
                let end = UInt64(offset) + UInt64(size)
                if let known = proven[address], end <= known, offset <= UInt32(Int32.max) {
                    out.insert(b << 32 | i)
                } else {
                    log.append((address, proven[address]))
                    proven[address] = max(proven[address] ?? 0, end)
                }
            }
            stack.append((b, false, log))
            for c in children[b].reversed() { stack.append((c, true, [])) }
        }
        return out
    }
}
