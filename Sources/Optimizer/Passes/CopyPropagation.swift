/// Removes block params that receive one value on every incoming edge (or themselves, around a
/// loop): the trivial phis of Braun et al. Every use of such a param becomes a use of that value.
/// Repeats until none is left, since removing one can make another trivial.
enum CopyPropagation {
    static func run(_ f: inout IRFunction) {
        while true {
            var map: [Value: Value] = [:]
            var removed: [Int: Set<Int>] = [:]  // block -> param indices
            var incoming = Array(repeating: [Edge](), count: f.blocks.count)
            for block in f.blocks { for e in block.terminator.edges { incoming[e.target].append(e) } }
            for b in f.blocks.indices where b != 0 {
                for (k, p) in f.blocks[b].params.enumerated() {
                    var only: Value?
                    var trivial = true
                    for e in incoming[b] {
                        let arg = e.args[k]
                        if arg == p || arg == only { continue }
                        if only == nil { only = arg } else { trivial = false; break }
                    }
                    if trivial, let only {
                        map[p] = only
                        removed[b, default: []].insert(k)
                    }
                }
            }
            if map.isEmpty { return }
            for (b, ks) in removed {
                f.blocks[b].params = f.blocks[b].params.enumerated().filter { !ks.contains($0.offset) }.map(\.element)
            }
            for b in f.blocks.indices {
                f.blocks[b].terminator.mapEdges { e in
                    if let ks = removed[e.target] {
                        e.args = e.args.enumerated().filter { !ks.contains($0.offset) }.map(\.element)
                    }
                }
            }
            f.substitute(map)
        }
    }
}
