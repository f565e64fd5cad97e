/// Program positions, liveness and live intervals for the linear-scan allocator.
///
/// Blocks are numbered in layout order. A block's params are defined at its start position;
/// instruction i reads its operands at position p and writes its results at p + 1; the
/// terminator reads at its own position. A value's interval is the hull of every position where
/// it is live (no holes, no splitting): conservative, and simple enough to be obviously right.
struct Liveness {
    var blockStart: [Int] = []
    var blockEnd: [Int] = []
    /// Use position of each instruction, [block][inst].
    var instPosition: [[Int]] = []
    var start: [Int]
    var end: [Int]
    /// Use positions of the calls (every register but `FastCallABI.calleeSaved` is clobbered there).
    var callPositions: [Int] = []
    /// Use positions of the calls to imports (standard ABI), which clobber the callee-saved
    /// registers too. (call_indirect's standard path saves and restores them itself.)
    var clobberPositions: [Int] = []
    /// Compares fused into their block's conditional branch, and shifts fused into their add: they
    /// get no location; their operands are read by the branch or the add.
    var fused: Set<Value>

    /// `importedFunctions`: calls to function indices below it are calls to imports.
    init(_ f: IRFunction, fused: Set<Value>, importedFunctions: Int) {
        self.fused = fused
        let n = f.types.count
        start = Array(repeating: Int.max, count: n)
        end = Array(repeating: -1, count: n)
        var constant = Array(repeating: false, count: n)
        for inst in f.blocks[0].insts { if case .const = inst.op { constant[inst.results[0].id] = true } }
        for block in f.blocks.dropFirst() {
            for inst in block.insts { if case .const = inst.op { constant[inst.results[0].id] = true } }
        }
        // Positions.
        var pos = 0
        for block in f.blocks {
            blockStart.append(pos)
            pos += 2
            var positions: [Int] = []
            for inst in block.insts {
                positions.append(pos)
                if inst.op.isCall { callPositions.append(pos) }
                switch inst.op {
                case .call(let index) where index < importedFunctions: clobberPositions.append(pos)
                default: break
                }
                pos += 2
            }
            instPosition.append(positions)
            blockEnd.append(pos)  // the terminator
            pos += 2
        }
        // Uses and defs per block (constants are rematerialized, never live).
        let words = (n + 63) / 64
        let count = f.blocks.count
        var gen = Array(repeating: [UInt64](repeating: 0, count: words), count: count)
        var kill = gen
        func set(_ bits: inout [UInt64], _ v: Value) { bits[v.id >> 6] |= 1 << UInt64(v.id & 63) }
        func has(_ bits: [UInt64], _ v: Value) -> Bool { bits[v.id >> 6] & (1 << UInt64(v.id & 63)) != 0 }
        var fusedArgs: [Value: [Value]] = [:]
        for block in f.blocks {
            for inst in block.insts where inst.results.count == 1 && fused.contains(inst.results[0]) {
                fusedArgs[inst.results[0]] = inst.args
            }
        }
        func uses(of t: Terminator) -> [Value] {
            var out: [Value] = []
            for v in t.uses {
                if let args = fusedArgs[v] { out += args } else { out.append(v) }
            }
            return out
        }
        for (b, block) in f.blocks.enumerated() {
            func use(_ v: Value) {
                if !constant[v.id] && !has(kill[b], v) { set(&gen[b], v) }
            }
            for p in block.params { set(&kill[b], p) }
            for inst in block.insts {
                if inst.results.count == 1 && fused.contains(inst.results[0]) { continue }
                inst.args.flatMap { fusedArgs[$0] ?? [$0] }.forEach(use)
                for r in inst.results { set(&kill[b], r) }
            }
            uses(of: block.terminator).forEach(use)
        }
        // Backward dataflow to a fixed point.
        var liveIn = Array(repeating: [UInt64](repeating: 0, count: words), count: count)
        var liveOut = liveIn
        let succs = f.blocks.map { $0.terminator.edges.map(\.target) }
        var changed = true
        while changed {
            changed = false
            for b in stride(from: count - 1, through: 0, by: -1) {
                var out = [UInt64](repeating: 0, count: words)
                for s in succs[b] { for w in 0..<words { out[w] |= liveIn[s][w] } }
                var new = out
                for w in 0..<words { new[w] = gen[b][w] | (out[w] & ~kill[b][w]) }
                if new != liveIn[b] || out != liveOut[b] {
                    liveIn[b] = new
                    liveOut[b] = out
                    changed = true
                }
            }
        }
        // Intervals.
        func touch(_ v: Value, _ p: Int) {
            if p < start[v.id] { start[v.id] = p }
            if p > end[v.id] { end[v.id] = p }
        }
        for (b, block) in f.blocks.enumerated() {
            for w in 0..<words {
                var bits = liveIn[b][w]
                while bits != 0 {
                    let v = Value(w * 64 + bits.trailingZeroBitCount)
                    touch(v, blockStart[b])
                    bits &= bits - 1
                }
                bits = liveOut[b][w]
                while bits != 0 {
                    let v = Value(w * 64 + bits.trailingZeroBitCount)
                    touch(v, blockEnd[b])
                    bits &= bits - 1
                }
            }
            for p in block.params { touch(p, blockStart[b]) }
            for (i, inst) in block.insts.enumerated() {
                if inst.results.count == 1 && fused.contains(inst.results[0]) { continue }
                let p = instPosition[b][i]
                for a in inst.args.flatMap({ fusedArgs[$0] ?? [$0] }) where !constant[a.id] { touch(a, p) }
                for r in inst.results { touch(r, p + 1) }
            }
            for v in uses(of: block.terminator) where !constant[v.id] { touch(v, blockEnd[b]) }
        }
    }

    /// Whether the value is live across a call (defined before it and used after it).
    func crossesCall(_ v: Value) -> Bool { crosses(v, callPositions) }

    /// Whether the value is live across a call through the standard ABI.
    func crossesClobberingCall(_ v: Value) -> Bool { crosses(v, clobberPositions) }

    func crosses(_ v: Value, _ callPositions: [Int]) -> Bool {
        let (s, e) = (start[v.id], end[v.id])
        // The first call at or after s.
        var lo = 0, hi = callPositions.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if callPositions[mid] <= s { lo = mid + 1 } else { hi = mid }
        }
        return lo < callPositions.count && callPositions[lo] < e
    }
}
