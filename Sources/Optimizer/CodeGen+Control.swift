import RuntimeABI
import WasmCore
import X64

extension CodeGen {
    mutating func emitTerminator(_ t: Terminator, block b: Int) {
        let next = b + 1 < f.blocks.count ? b + 1 : nil
        switch t {
        case .jump(let e):
            emitEdge(e, from: b)
            if e.target != next { asm.jmp(labels[e.target]) }
        case .branch(let c, let thenEdge, let elseEdge):
            let cc: Condition
            if let def = fusedFloat[c] {
                let lhs = xreg(def.lhs, Self.floatA)
                let rhs = xreg(def.rhs, Self.floatB)
                asm.ucomis(precision(def.lhs), lhs, rhs)
                cc = def.cc
            } else if let def = fusedDefs[c] {
                if let rhs = def.rhs {
                    cc = emitCompare(def.op, def.lhs, rhs)
                } else {
                    let x = reg(def.lhs, .rax)
                    asm.test(width(def.lhs), x, x)
                    cc = .e
                }
            } else {
                let x = reg(c, .rax)
                asm.test(.b32, x, x)
                cc = .ne
            }
            emitConditional(cc, thenEdge, elseEdge, next: next, from: b)
        case .table(let index, let targets, let defaultEdge):
            // The index where it is, or in rax; either way it stays intact up to the jump.
            var idx = Reg.rax
            if targets.count >= Self.jumpTableMinimum { idx = reg(index, .rax) } else { load(index, into: .rax) }
            var stubs: [Int: Label] = [:]  // first edge number -> its stub
            let edges = targets + [defaultEdge]
            // Edges equal in target and args share one stub.
            var canonical: [Int] = []
            var firstWith: [String: Int] = [:]
            for (i, e) in edges.enumerated() {
                let key = "\(e.target):" + e.args.map { String($0.id) }.joined(separator: ",")
                if let j = firstWith[key] {
                    canonical.append(j)
                } else {
                    firstWith[key] = i
                    canonical.append(i)
                    stubs[i] = asm.newLabel()
                }
            }
            let ids = canonical
            // An edge without moves needs no stub: it goes straight to its block.
            for (i, _) in stubs where !edgeHasCode(edges[i], from: b) { stubs[i] = labels[edges[i].target] }
            let defaultStub = stubs[ids[edges.count - 1]]!
            asm.alu(.cmp, .b32, idx, imm: Int32(truncatingIfNeeded: targets.count))
            asm.jcc(.ae, defaultStub)
            if targets.count >= Self.jumpTableMinimum {
                // A jump table after the code: rel32 entries from the table's start.
                let table = asm.newLabel()
                asm.lea(.rcx, table)
                asm.loadSignExtended(from: .b32, to: .b64, .rax, Mem(.rcx, index: idx, scale: 4))
                asm.alu(.add, .b64, .rax, .rcx)
                asm.jmp(.rax)
                jumpTables.append((table, ids.prefix(targets.count).map { stubs[$0]! }))
            } else {
                asm.decisionTree(index: idx, keys: ids, range: 0..<targets.count, stubs: stubs)
            }
            for (i, stub) in stubs.sorted(by: { $0.key < $1.key }) where stub != labels[edges[i].target] {
                asm.bind(stub)
                emitEdge(edges[i], from: b)
                asm.jmp(labels[edges[i].target])
            }
        case .ret(let values):
            emitReturn(values, restores: saves.restores[b])
        case .trap(let code):
            asm.jmp(trapLabel(code))
        }
    }

    /// A two-way branch on flags `cc`, putting each edge's code (moves, saves) only on its own
    /// path and falling through to the next block where it can.
    mutating func emitConditional(_ cc: Condition, _ thenEdge: Edge, _ elseEdge: Edge, next: Int?, from b: Int) {
        let thenCode = edgeHasCode(thenEdge, from: b)
        let elseCode = edgeHasCode(elseEdge, from: b)
        if let next, deferEdge(cc, thenEdge, elseEdge, thenCode, elseCode, next: next, from: b) { return }
        if !thenCode && (elseEdge.target == next || elseCode || thenEdge.target != next) {
            asm.jcc(cc, labels[thenEdge.target])
            emitEdge(elseEdge, from: b)
            if elseEdge.target != next { asm.jmp(labels[elseEdge.target]) }
        } else if !elseCode {
            asm.jcc(cc.inverted, labels[elseEdge.target])
            emitEdge(thenEdge, from: b)
            if thenEdge.target != next { asm.jmp(labels[thenEdge.target]) }
        } else {
            let skip = asm.newLabel()
            asm.jcc(cc.inverted, skip)
            emitEdge(thenEdge, from: b)
            asm.jmp(labels[thenEdge.target])
            asm.bind(skip)
            emitEdge(elseEdge, from: b)
            if elseEdge.target != next { asm.jmp(labels[elseEdge.target]) }
        }
    }

    /// One edge goes to the next block without code, the other, with code, to the block after
    /// it, and the next block never falls through (it returns or traps, as an early return
    /// does): the branch goes to the other edge's code placed just before its block, so
    /// neither path takes a jump (`if (n < 2) return n;` then a loop).
    mutating func deferEdge(_ cc: Condition, _ thenEdge: Edge, _ elseEdge: Edge, _ thenCode: Bool, _ elseCode: Bool,
                            next: Int, from b: Int) -> Bool {
        guard next + 1 < f.blocks.count, pendingStubs[next + 1] == nil else { return false }
        switch f.blocks[next].terminator {
        case .ret, .trap: break
        default: return false
        }
        if thenEdge.target == next && !thenCode && elseEdge.target == next + 1 && elseCode {
            let stub = asm.newLabel()
            asm.jcc(cc.inverted, stub)
            pendingStubs[next + 1] = (stub, elseEdge, b)
        } else if elseEdge.target == next && !elseCode && thenEdge.target == next + 1 && thenCode {
            let stub = asm.newLabel()
            asm.jcc(cc, stub)
            pendingStubs[next + 1] = (stub, thenEdge, b)
        } else {
            return false
        }
        return true
    }

    /// br_tables with at least this many targets jump through a table; smaller ones search.
    static let jumpTableMinimum = 4

    /// The jump tables, 4-byte aligned after the code: each entry the distance from the table's
    /// start to its target, filled in once every label is bound.
    mutating func emitJumpTables() {
        guard !jumpTables.isEmpty else { return }
        asm.align(4)
        for (table, entries) in jumpTables {
            asm.bind(table)
            let start = asm.offset
            asm.emit(Array(repeating: 0, count: 4 * entries.count))
            pendingTableEntries.append((start, entries))
        }
    }

    /// Fills in the jump tables' entries (every label is bound by now).
    mutating func patchJumpTables() {
        for (start, entries) in pendingTableEntries {
            for (k, label) in entries.enumerated() {
                asm.patch32(at: start + 4 * k, Int32(asm.labelOffset(label)! - start))
            }
        }
    }
}
