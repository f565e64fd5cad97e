import WasmCore

/// Unsigned value ranges of the integer values (the analysis `AddressFolding` uses): each i32
/// and i64 value gets an interval `lo...hi` of the unsigned values it can hold, from constants,
/// zero-extending loads and extensions, and/or masks, shifts, non-wrapping arithmetic, and from
/// the conditions of dominating branches (`i <u n`, `i <=s 499999` on a non-negative `i`, ...),
/// which bound a value in every block the taken edge dominates and, on a loop's back edge, the
/// argument the edge passes to the header.
///
/// Soundness: the state starts at "anything" for every value and each step replaces a range by an
/// over-approximation computed from ranges that already over-approximate, so the state is sound
/// after any number of rounds; rounds only make it tighter (a descending iteration, no widening
/// needed), and the analysis stops after a few.
///
/// A condition on an edge P -> B holds in every block B dominates when B's only predecessor is P
/// (and the branch's two targets differ): every path to such a block crosses that edge after the
/// last definition of the compared values, since their definitions dominate P.
struct Ranges {
    struct Range: Equatable {
        var lo: UInt64
        var hi: UInt64
        static func exactly(_ v: UInt64) -> Range { Range(lo: v, hi: v) }
        func intersect(_ o: Range) -> Range? {
            let l = max(lo, o.lo), h = min(hi, o.hi)
            return l <= h ? Range(lo: l, hi: h) : nil
        }
        func union(_ o: Range) -> Range { Range(lo: min(lo, o.lo), hi: max(hi, o.hi)) }
    }

    let f: IRFunction
    /// The range of each value wherever it is defined (nil: not an integer value).
    private(set) var global: [Range?]
    /// For each block, its conditions: (value, range) pairs that hold in it and the blocks it dominates.
    private var facts: [[(Value, Range)]]
    private let idom: [Int]
    private let children: [[Int]]
    private let preds: [[(block: Int, edge: Int)]]
    /// The ranges of the arguments each edge passes, by block and edge index.
    private var edgeArgs: [[[Range?]]]
    private let constants: [Value: UInt64]
    private var definingInst: [Inst?]

    static func top(_ t: ValueType) -> Range? {
        switch t {
        case .i32: Range(lo: 0, hi: 0xFFFF_FFFF)
        case .i64: Range(lo: 0, hi: .max)
        default: nil
        }
    }

    init(_ f: IRFunction, rounds: Int = 4) {
        self.f = f
        global = f.types.map(Ranges.top)
        idom = Dominators.immediate(f)
        var children = Array(repeating: [Int](), count: f.blocks.count)
        for b in f.blocks.indices where b != 0 && idom[b] >= 0 { children[idom[b]].append(b) }
        self.children = children
        var preds = Array(repeating: [(block: Int, edge: Int)](), count: f.blocks.count)
        for (b, block) in f.blocks.enumerated() {
            for (k, e) in block.terminator.edges.enumerated() { preds[e.target].append((b, k)) }
        }
        self.preds = preds
        edgeArgs = f.blocks.map { $0.terminator.edges.map { e in e.args.map { Ranges.top(f.types[$0.id]) } } }
        constants = f.constants()
        definingInst = Array(repeating: nil, count: f.types.count)
        for block in f.blocks { for inst in block.insts { for r in inst.results { definingInst[r.id] = inst } } }
        facts = Array(repeating: [], count: f.blocks.count)
        for b in f.blocks.indices where b != 0 && preds[b].count == 1 {
            let (p, k) = preds[b][0]
            if case .branch(let c, let t, let e) = f.blocks[p].terminator, t.target != e.target {
                facts[b] = conditionFacts(c, holds: k == 0)
            }
        }
        for _ in 0..<rounds {
            if !round() { break }
        }
    }

    /// Walks the dominator tree with the conditions in scope, calling `visit` for each instruction
    /// with the range of any value at that point.
    func walk(_ visit: (_ block: Int, _ index: Int, _ rangeOf: (Value) -> Range?) -> Void) {
        var scoped = global
        var stack: [(block: Int, entering: Bool, undo: [(Value, Range?)])] = [(0, true, [])]
        while let (b, entering, undo) = stack.popLast() {
            guard entering else {
                for (v, r) in undo.reversed() { scoped[v.id] = r }
                continue
            }
            var log: [(Value, Range?)] = []
            for (v, r) in refined(facts[b], scoped) {
                log.append((v, scoped[v.id]))
                scoped[v.id] = r
            }
            for i in f.blocks[b].insts.indices { visit(b, i) { scoped[$0.id] } }
            stack.append((b, false, log))
            for c in children[b].reversed() { stack.append((c, true, [])) }
        }
    }

    /// One descending round; whether anything got tighter.
    private mutating func round() -> Bool {
        var changed = false
        var scoped = global
        var stack: [(block: Int, entering: Bool, undo: [(Value, Range?)])] = [(0, true, [])]
        while let (b, entering, undo) = stack.popLast() {
            guard entering else {
                for (v, r) in undo.reversed() { scoped[v.id] = r }
                continue
            }
            let block = f.blocks[b]
            if b != 0 {
                for (k, p) in block.params.enumerated() {
                    var r: Range? = nil
                    var any = false
                    for (pb, e) in preds[b] {
                        guard let a = edgeArgs[pb][e][k] else { r = nil; any = false; break }
                        r = r.map { $0.union(a) } ?? a
                        any = true
                    }
                    // A block without predecessors is unreachable: keep whatever it had.
                    if any, let r, let old = global[p.id], let new = old.intersect(r), new != old {
                        global[p.id] = new
                        scoped[p.id] = new
                        changed = true
                    }
                }
                for (k, bound) in inductionBounds(b) {
                    let p = block.params[k]
                    if let old = global[p.id], let new = old.intersect(bound), new != old {
                        global[p.id] = new
                        scoped[p.id] = new
                        changed = true
                    }
                }
            }
            var log: [(Value, Range?)] = []
            for (v, r) in refined(facts[b], scoped) {
                log.append((v, scoped[v.id]))
                scoped[v.id] = r
            }
            for inst in block.insts {
                guard inst.results.count == 1, let old = global[inst.results[0].id] else { continue }
                let r = transfer(inst, scoped)
                if let new = old.intersect(r), new != old {
                    global[inst.results[0].id] = new
                    scoped[inst.results[0].id] = new
                    changed = true
                }
            }
            for (k, e) in block.terminator.edges.enumerated() {
                var edgeFacts: [Value: Range] = [:]
                if case .branch(let c, let t, let el) = block.terminator, t.target != el.target {
                    for (v, r) in refined(conditionFacts(c, holds: k == 0), scoped) { edgeFacts[v] = r }
                }
                edgeArgs[b][k] = e.args.map { edgeFacts[$0] ?? scoped[$0.id] }
            }
            stack.append((b, false, log))
            for c in children[b].reversed() { stack.append((c, true, [])) }
        }
        return changed
    }

    /// Bounds on a loop header's params from its induction variables, for a header with one back
    /// edge: params the back edge passes `param + s` (a constant step 0 < s < 2^(N-1)).
    /// - A counter `p` whose back edge is taken while `p + s != n` (LLVM's exit test) stays below
    ///   n: with s = 1 when it enters below n, otherwise when it enters at one constant e < n with
    ///   s dividing n - e (it meets n exactly, never steps over it): p in e...n-s.
    /// - A counter whose range (so far) is lo...hi, with hi + s not wrapping, goes round at most
    ///   (hi - lo) / s times per entry, since it grows by s each time; so does every other
    ///   induction variable q of the loop, which then stays within its entry range's lo and
    ///   hi + trips * s (if that does not wrap).
    private func inductionBounds(_ b: Int) -> [Int: Range] {
        let params = f.blocks[b].params
        guard !params.isEmpty else { return [:] }
        func dominated(_ x: Int) -> Bool {
            var x = x
            while x >= 0 {
                if x == b { return true }
                x = idom[x]
            }
            return false
        }
        let backs = preds[b].filter { dominated($0.block) }
        guard backs.count == 1 else { return [:] }
        let (pb, pe) = backs[0]
        let entries = preds[b].filter { !dominated($0.block) }
        guard !entries.isEmpty else { return [:] }
        let backArgs = f.blocks[pb].terminator.edges[pe].args
        var steps: [Int: UInt64] = [:]
        for (k, p) in params.enumerated() {
            guard let top = Ranges.top(f.types[p.id]), let def = definingInst[backArgs[k].id], case .binary(.add) = def.op else { continue }
            let other: Value
            if def.args[0] == p { other = def.args[1] } else if def.args[1] == p { other = def.args[0] } else { continue }
            guard let bits = constants[other] else { continue }
            let step = bits & top.hi
            if step > 0, step <= top.hi / 2 { steps[k] = step }
        }
        guard !steps.isEmpty else { return [:] }
        func entryRange(_ k: Int) -> Range? {
            var r: Range? = nil
            for (eb, ee) in entries {
                guard let a = edgeArgs[eb][ee][k] else { return nil }
                r = r.map { $0.union(a) } ?? a
            }
            return r
        }
        var bounds: [Int: Range] = [:]
        var trips: UInt64? = nil
        for (k, step) in steps {
            let p = params[k]
            guard let top = Ranges.top(f.types[p.id]), var r = global[p.id], let entry = entryRange(k) else { continue }
            if let n = exitValue(pb, edge: pe, testing: backArgs[k]), entry.hi < n {
                let bound: Range? = step == 1 ? Range(lo: entry.lo, hi: n - 1)
                    : entry.lo == entry.hi && (n - entry.lo) % step == 0 ? Range(lo: entry.lo, hi: n - step) : nil
                if let bound, let tighter = r.intersect(bound) {
                    r = tighter
                    bounds[k] = r
                }
            }
            if r.hi <= top.hi - step {
                let t = (r.hi - r.lo) / step
                trips = min(trips ?? t, t)
            }
        }
        guard let trips else { return bounds }
        for (k, step) in steps {
            let p = params[k]
            guard let top = Ranges.top(f.types[p.id]), let entry = entryRange(k) else { continue }
            let (span, o1) = trips.multipliedReportingOverflow(by: step)
            let (hi, o2) = entry.hi.addingReportingOverflow(span)
            guard !o1, !o2, hi <= top.hi else { continue }
            let bound = Range(lo: entry.lo, hi: hi)
            bounds[k] = bounds[k].map { $0.intersect(bound) ?? $0 } ?? bound
        }
        return bounds
    }

    /// n, when block `pb`'s edge `edge` is taken exactly while `v != n` (a constant).
    private func exitValue(_ pb: Int, edge: Int, testing v: Value) -> UInt64? {
        guard case .branch(let c, let t, let e) = f.blocks[pb].terminator, t.target != e.target,
              let def = definingInst[c.id], case .compare(var op) = def.op else { return nil }
        var (x, y) = (def.args[0], def.args[1])
        if y == v { swap(&x, &y); op = op.swapped }
        guard x == v, let bits = constants[y], let top = Ranges.top(f.types[v.id]) else { return nil }
        if edge != 0 { op = op.negated }
        return op == .ne ? bits & top.hi : nil
    }

    /// Intersects each fact with the current range of its value (an empty intersection means the
    /// block cannot run; the range is then left as it was).
    private func refined(_ facts: [(Value, Range)], _ scoped: [Range?]) -> [(Value, Range)] {
        facts.compactMap { v, r in scoped[v.id].flatMap { $0.intersect(r) }.map { (v, $0) } }
    }

    /// What `condition` being non-zero (`holds`) or zero says about values, as ranges that do not
    /// depend on other ranges (so they can be computed once): comparisons with a constant, and the
    /// condition itself.
    private func conditionFacts(_ c: Value, holds: Bool) -> [(Value, Range)] {
        var out: [(Value, Range)] = [(c, holds ? Range(lo: 1, hi: 0xFFFF_FFFF) : .exactly(0))]
        guard let inst = definingInst[c.id] else { return out }
        switch inst.op {
        case .unary(.eqz):
            let x = inst.args[0]
            if let top = Ranges.top(f.types[x.id]) {
                out.append((x, holds ? .exactly(0) : Range(lo: 1, hi: top.hi)))
            }
        case .compare(var op):
            var (x, y) = (inst.args[0], inst.args[1])
            if constants[x] != nil, constants[y] == nil {
                swap(&x, &y)
                op = op.swapped
            }
            guard let bits = constants[y], let top = Ranges.top(f.types[x.id]) else { break }
            let k = bits & top.hi
            if !holds { op = op.negated }
            let signMin = top.hi / 2 + 1  // the smallest negative value's bits
            let r: Range? = switch op {
            case .eq: .exactly(k)
            case .ne: nil
            case .ltU: k == 0 ? nil : Range(lo: 0, hi: k - 1)
            case .leU: Range(lo: 0, hi: k)
            case .gtU: k == top.hi ? nil : Range(lo: k + 1, hi: top.hi)
            case .geU: Range(lo: k, hi: top.hi)
            // Signed bounds that are intervals of the unsigned bits: above a non-negative constant.
            case .gtS: k < signMin - 1 ? Range(lo: k + 1, hi: signMin - 1) : nil
            case .geS: k < signMin ? Range(lo: k, hi: signMin - 1) : nil
            case .ltS, .leS: nil
            }
            if let r { out.append((x, r)) }
        default: break
        }
        return out
    }

    /// The range of `inst`'s single result from its operands' ranges.
    private func transfer(_ inst: Inst, _ scoped: [Range?]) -> Range {
        let t = f.types[inst.results[0].id]
        guard let top = Ranges.top(t) else { return Range(lo: 0, hi: .max) }
        func arg(_ i: Int) -> Range { scoped[inst.args[i].id] ?? Ranges.top(f.types[inst.args[i].id]) ?? Range(lo: 0, hi: .max) }
        let bits = top.hi == 0xFFFF_FFFF ? 32 : 64
        func ones(below x: UInt64) -> UInt64 {  // the smallest 2^n - 1 >= x
            x == 0 ? 0 : (UInt64.max >> UInt64(x.leadingZeroBitCount))
        }
        switch inst.op {
        case .const(let v): return .exactly(bits == 32 ? v & 0xFFFF_FFFF : v)
        case .compare, .unary(.eqz): return Range(lo: 0, hi: 1)
        case .unary(.clz), .unary(.ctz), .unary(.popcnt): return Range(lo: 0, hi: UInt64(bits))
        case .unary(.extendI32U): return arg(0)
        case .unary(.wrap):
            let a = arg(0)
            return a.hi <= 0xFFFF_FFFF ? a : top
        case .unary(.extendI32S):
            let a = arg(0)
            return a.hi <= 0x7FFF_FFFF ? a : top
        case .select: return arg(1).union(arg(2))
        case .load(let op, _):
            switch op {
            case .i32Load8U, .i64Load8U: return Range(lo: 0, hi: 0xFF)
            case .i32Load16U, .i64Load16U: return Range(lo: 0, hi: 0xFFFF)
            case .i64Load32U: return Range(lo: 0, hi: 0xFFFF_FFFF)
            default: return top
            }
        case .binary(let op):
            let a = arg(0), b = arg(1)
            let amount = constants[inst.args[1]].map { $0 & UInt64(bits - 1) }
            switch op {
            case .add:
                let (h, o) = a.hi.addingReportingOverflow(b.hi)
                return o || h > top.hi ? top : Range(lo: a.lo + b.lo, hi: h)
            case .sub:
                return a.lo >= b.hi ? Range(lo: a.lo - b.hi, hi: a.hi - b.lo) : top
            case .mul:
                let (h, o) = a.hi.multipliedReportingOverflow(by: b.hi)
                return o || h > top.hi ? top : Range(lo: a.lo * b.lo, hi: h)
            case .and: return Range(lo: 0, hi: min(a.hi, b.hi))
            case .or: return Range(lo: max(a.lo, b.lo), hi: ones(below: max(a.hi, b.hi)))
            case .xor: return Range(lo: 0, hi: ones(below: max(a.hi, b.hi)))
            case .shl:
                guard let s = amount, s == 0 || a.hi <= top.hi >> s else { return top }
                return Range(lo: a.lo << s, hi: a.hi << s)
            case .shrU:
                guard let s = amount else { return Range(lo: 0, hi: a.hi) }
                return Range(lo: a.lo >> s, hi: a.hi >> s)
            case .shrS:
                // A non-negative operand shifts like shr_u.
                guard let s = amount, a.hi <= top.hi >> 1 else { return top }
                return Range(lo: a.lo >> s, hi: a.hi >> s)
            case .divU: return Range(lo: 0, hi: a.hi)
            case .remU: return b.hi == 0 ? top : Range(lo: 0, hi: min(a.hi, b.hi - 1))
            default: return top
            }
        default: return top
        }
    }
}

extension CompareOp {
    /// The comparison with its operands swapped (`a < b` is `b > a`).
    var swapped: CompareOp {
        switch self {
        case .eq, .ne: self
        case .ltS: .gtS
        case .ltU: .gtU
        case .gtS: .ltS
        case .gtU: .ltU
        case .leS: .geS
        case .leU: .geU
        case .geS: .leS
        case .geU: .leU
        }
    }

    /// The comparison that holds exactly when this one does not.
    var negated: CompareOp {
        switch self {
        case .eq: .ne
        case .ne: .eq
        case .ltS: .geS
        case .ltU: .geU
        case .gtS: .leS
        case .gtU: .leU
        case .leS: .gtS
        case .leU: .gtU
        case .geS: .ltS
        case .geU: .ltU
        }
    }
}
