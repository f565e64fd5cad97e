import X64

/// Where the fast entry's callee-saved registers are saved and restored (shrink-wrapping). A
/// function that uses rbx/r12/r13 only on some paths, such as a recursive function whose base
/// case returns at once, saves them on the way into the first block that dominates every use,
/// and restores them only at the returns that block dominates; the other returns never touched
/// them. Without such a block (or when it would run more than once, inside a loop) the fast
/// entry saves them and every return restores them, as before.
///
/// Exact for every way out: a return restores exactly when the save ran on every path to it
/// (it is dominated by the save block) and no path to it ran the save otherwise (the save
/// block's entering edges come from blocks it cannot reach, and a return it reaches is one it
/// dominates). A trap unwinds to the entry trampoline, which restores the host's registers from
/// its own frame, and the yield and fuel slow paths keep every allocatable register themselves;
/// neither reads the save slots.
struct SavePlacement {
    /// The block whose entering edges (from the blocks it does not dominate) save the registers,
    /// before the edge's moves; 0: the fast entry saves them.
    let block: Int
    /// Per block: whether its `ret` restores the registers (the save block dominates it).
    let restores: [Bool]

    /// `saved`: the registers the fast entry must keep for its caller. Calls to functions below
    /// `importedFunctions`, and call_indirect, go through the standard ABI, whose callees may
    /// clobber all of them.
    init(_ f: IRFunction, locations: [Location], live: Liveness, saved: [Reg], importedFunctions: Int) {
        let n = f.blocks.count
        let needs = Self.blocksTouching(saved, f, locations: locations, live: live, importedFunctions: importedFunctions)
        let idom = Dominators.immediate(f)
        func dominates(_ s: Int, _ b: Int) -> Bool {
            var x = b
            while x > 0 && x != s { x = idom[x] }
            return x == s
        }
        var s = -1
        for b in 0..<n where needs[b] {
            guard s >= 0 else { s = b; continue }
            while !dominates(s, b) { s = idom[s] }
        }
        s = max(s, 0)
        let preds = f.predecessors()
        while s != 0 && !Self.isValid(s, f, preds: preds, dominates: dominates) { s = idom[s] }
        block = s
        restores = (0..<n).map { dominates(s, $0) }
    }

    /// Whether saving on the edges entering `s` and restoring at the returns it dominates is
    /// exact: no entering edge can follow the save, and no return is reached both ways.
    static func isValid(_ s: Int, _ f: IRFunction, preds: [[Int]], dominates: (Int, Int) -> Bool) -> Bool {
        var reached = Array(repeating: false, count: f.blocks.count)
        var work = f.blocks[s].terminator.edges.map(\.target)
        while let x = work.popLast() {
            if reached[x] { continue }
            reached[x] = true
            work += f.blocks[x].terminator.edges.map(\.target)
        }
        for p in preds[s] where !dominates(s, p) && reached[p] { return false }
        for (b, block) in f.blocks.enumerated() {
            guard case .ret = block.terminator, reached[b] || b == s else { continue }
            if !dominates(s, b) { return false }
        }
        return true
    }

    /// The blocks where a register of `saved` may hold a value of the function (its interval,
    /// a hull, overlaps the block), or where a standard-ABI call may clobber them.
    static func blocksTouching(_ saved: [Reg], _ f: IRFunction, locations: [Location], live: Liveness, importedFunctions: Int) -> [Bool] {
        let n = f.blocks.count
        var needs = Array(repeating: false, count: n)
        for (id, location) in locations.enumerated() {
            guard case .reg(let r) = location, saved.contains(r), live.end[id] >= 0 else { continue }
            // Blocks are numbered in position order: from the first that ends at or after the start.
            var lo = 0, hi = n
            while lo < hi {
                let mid = (lo + hi) / 2
                if live.blockEnd[mid] < live.start[id] { lo = mid + 1 } else { hi = mid }
            }
            var b = lo
            while b < n && live.blockStart[b] <= live.end[id] {
                needs[b] = true
                b += 1
            }
        }
        for (b, block) in f.blocks.enumerated() where !needs[b] {
            needs[b] = block.insts.contains { inst in
                switch inst.op {
                case .call(let index): index < importedFunctions
                case .callIndirect: true
                default: false
                }
            }
        }
        return needs
    }
}
