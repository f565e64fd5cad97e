/// One level of inlining of a small function's single call to itself: the call becomes a copy
/// of the function's body (its own call to itself stays a call). Recursion such as fib's
/// (`acc += fib(n - 1)` in a loop, half of all calls returning at once for n < 2) then makes
/// half as many calls, and the copy's base case is a branch instead of a call, a frame and a
/// return.
///
/// Exact, under these conditions: the function's only call is the one to itself, and nothing
/// in it can trap (no memory access, division, trapping conversion, table or builtin access,
/// unreachable), so the copy neither traps nor calls anything whose trap would record a
/// backtrace without the inlined frame; the real calls keep their stack checks, so running out
/// of stack still traps (after twice the recursion depth: the depth is the embedder's limit,
/// not wasm's), and its backtrace is this function's frames, cut at the innermost 65 either
/// way. The copy's loops keep their yield checks (they stay loop headers). Not with fuel, which
/// counts function entries (`OptimizingCompiler.ir` does not run it then).
enum InlineSelfCall {
    /// Functions of at most this many instructions (the copy doubles them).
    static let maxInstructions = 20

    static func run(_ f: inout IRFunction, selfIndex: Int) {
        guard let (b, i) = site(f, selfIndex: selfIndex) else { return }
        let original = f.blocks
        let n = original.count
        // New layout: blocks 0...b, the copy of every block, the continuation, then b+1..<n.
        func moved(_ x: Int) -> Int { x <= b ? x : x + n + 1 }
        let copyBase = b + 1
        let continuation = b + 1 + n
        let call = original[b].insts[i]
        var map: [Value: Value] = [:]
        for (p, a) in zip(original[0].params, call.args) { map[p] = a }
        for block in original.dropFirst() {
            for p in block.params { map[p] = f.newValue(f.types[p.id]) }
        }
        for block in original {
            for inst in block.insts { for r in inst.results { map[r] = f.newValue(f.types[r.id]) } }
        }
        // The entry's constants dominate the call: the copy uses them instead of its own.
        let shared = original[0].insts.filter { if case .const = $0.op { true } else { false } }
        for inst in shared { map[inst.results[0]] = inst.results[0] }
        var copies: [Block] = []
        for (c, block) in original.enumerated() {
            var copy = Block()
            copy.params = c == 0 ? [] : block.params.map { map[$0]! }
            copy.isLoopHeader = block.isLoopHeader
            let own = c == 0 ? block.insts.filter { if case .const = $0.op { false } else { true } } : block.insts
            copy.insts = own.map { Inst(op: $0.op, args: $0.args.map { map[$0] ?? $0 }, results: $0.results.map { map[$0]! }) }
            if case .ret(let values) = block.terminator {
                copy.terminator = .jump(Edge(target: continuation, args: values.map { map[$0] ?? $0 }))
            } else {
                copy.terminator = block.terminator
                copy.terminator.mapUses { map[$0] ?? $0 }
                copy.terminator.mapEdges { $0.target += copyBase }
            }
            copies.append(copy)
        }
        var rest = Block()
        rest.params = call.results
        rest.insts = Array(original[b].insts[(i + 1)...])
        rest.terminator = original[b].terminator
        rest.terminator.mapEdges { $0.target = moved($0.target) }
        var outside = original
        for k in outside.indices { outside[k].terminator.mapEdges { $0.target = moved($0.target) } }
        outside[b].insts = Array(outside[b].insts[..<i])
        outside[b].terminator = .jump(Edge(target: copyBase, args: []))
        f.blocks = Array(outside[...b]) + copies + [rest] + Array(outside[(b + 1)...])
    }

    /// The block and index of the function's one call, if it is to itself and the function
    /// qualifies: small, no other call, nothing that may trap, the entry not a branch target.
    static func site(_ f: IRFunction, selfIndex: Int) -> (block: Int, index: Int)? {
        var site: (Int, Int)?
        var count = 0
        for (b, block) in f.blocks.enumerated() {
            for (i, inst) in block.insts.enumerated() {
                count += 1
                switch inst.op {
                case .call(let index) where index == selfIndex:
                    guard site == nil else { return nil }
                    site = (b, i)
                case .const, .compare, .unary, .select, .globalGet, .globalSet: break
                case .binary(let op) where !op.mayTrap: break
                case .float(let op) where !Op.trappingTruncations.contains(op): break
                default: return nil
                }
            }
            switch block.terminator {
            case .trap: return nil
            default: break
            }
            if block.terminator.edges.contains(where: { $0.target == 0 }) { return nil }
        }
        return count <= maxInstructions ? site : nil
    }
}
