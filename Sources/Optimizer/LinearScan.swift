import X64

/// Where a value lives for its whole life.
enum Location: Equatable {
    case none
    case reg(Reg)
    /// f32 and f64 values.
    case xreg(XReg)
    /// Spill slot k: [rbp - 16 - 8*(k+1)].
    case slot(Int)
    /// A constant, rematerialized (or used as an immediate) wherever it is read.
    case imm(UInt64)
}

/// Linear-scan register allocation (Poletto and Sarkar) over the whole function, on the
/// intervals of `Liveness`. A value live across a call lives in a callee-saved register
/// (`FastCallABI.calleeSaved`) when one is free and every call it crosses preserves them (direct
/// calls within the module and builtins do; imports and call_indirect do not), else in a spill
/// slot. Other values prefer the caller-saved registers. When the registers run out, the interval
/// that ends last is spilled. Spilled values keep their slot for their whole life, so the code
/// needs no moves between allocation decisions.
struct LinearScan {
    /// The registers values live in, in order of preference for values that cross no call.
    /// rax, rcx, rdx and r11 are the code generator's scratch registers (divisions, shift counts,
    /// spilled operands); r14, r15, rbp and rsp are pinned.
    static let allocatable: [Reg] = [.rsi, .rdi, .r8, .r9, .r10, .rbx, .r12, .r13]
    /// xmm14 and xmm15 are the float scratch registers.
    static let allocatableXMMs: [XReg] = (0..<14).map { XReg(id: UInt8($0)) }

    var locations: [Location]
    var slotCount = 0

    init(_ f: IRFunction, _ live: Liveness) {
        locations = Array(repeating: .none, count: f.types.count)
        for (v, bits) in f.constants() { locations[v.id] = .imm(bits) }
        let (hints, fixed) = Self.hints(f)
        var order: [Value] = []
        for id in 0..<f.types.count where live.end[id] >= 0 && locations[id] == .none && !live.fused.contains(Value(id)) {
            order.append(Value(id))
        }
        order.sort { (live.start[$0.id], $0.id) < (live.start[$1.id], $1.id) }
        // Registers by class: ids 0-15 are general-purpose, 16-31 XMM.
        var free = Set(Self.allocatable.map { Int($0.id) } + Self.allocatableXMMs.map { 16 + Int($0.id) })
        let calleeSaved = FastCallABI.calleeSaved.map { Int($0.id) }
        var active: [(end: Int, value: Value, reg: Int)] = []
        for v in order {
            let s = live.start[v.id], e = live.end[v.id]
            let isFloat = f.types[v.id] == .f32 || f.types[v.id] == .f64
            active.removeAll { a in
                if a.end < s { free.insert(a.reg); return true }
                return false
            }
            if live.crossesCall(v) {
                // Only a callee-saved register survives a call, and none survives an import call;
                // there are no callee-saved XMM registers.
                let candidates = (isFloat || live.crossesClobberingCall(v)) ? [] : calleeSaved
                let hinted = hints[v.id].compactMap { Self.registerID(locations[$0.id]) }
                if let id = (hinted + candidates).first(where: { candidates.contains($0) && free.contains($0) }) {
                    free.remove(id)
                    locations[v.id] = Self.location(id)
                    active.append((e, v, id))
                } else if let victim = active.indices.filter({ candidates.contains(active[$0].reg) })
                            .max(by: { (active[$0].end, -live.start[active[$0].value.id]) < (active[$1].end, -live.start[active[$1].value.id]) }),
                          (active[victim].end, -live.start[active[victim].value.id]) > (e, -s) {
                    // As below: of the values wanting a callee-saved register, the one that ends
                    // last goes to a slot, and of those ending together the one live longest (a
                    // loop's running value, defined in the loop and carried out of it, should
                    // not round-trip through memory for a count read once per outer iteration).
                    let taken = active.remove(at: victim)
                    locations[taken.value.id] = .slot(slotCount)
                    slotCount += 1
                    locations[v.id] = Self.location(taken.reg)
                    active.append((e, v, taken.reg))
                } else {
                    locations[v.id] = .slot(slotCount)
                    slotCount += 1
                }
                continue
            }
            var chosen = fixed[v.id].flatMap { free.contains($0) && ($0 >= 16) == isFloat ? $0 : nil }
                ?? Self.mostHinted(hints[v.id].compactMap { Self.registerID(locations[$0.id]) }) { free.contains($0) && ($0 >= 16) == isFloat }
            if chosen == nil {
                chosen = isFloat ? Self.allocatableXMMs.map { 16 + Int($0.id) }.first { free.contains($0) }
                    : Self.allocatable.map { Int($0.id) }.first { free.contains($0) }
            }
            if let id = chosen {
                free.remove(id)
                locations[v.id] = Self.location(id)
                active.append((e, v, id))
                continue
            }
            // No register: spill whichever of the active intervals of the class and this one ends last.
            let victim = active.indices.filter { (active[$0].reg >= 16) == isFloat }.max { active[$0].end < active[$1].end }
            if let victim, active[victim].end > e {
                let taken = active.remove(at: victim)
                locations[taken.value.id] = .slot(slotCount)
                slotCount += 1
                locations[v.id] = Self.location(taken.reg)
                active.append((e, v, taken.reg))
            } else {
                locations[v.id] = .slot(slotCount)
                slotCount += 1
            }
        }
    }

    /// The register hinted most often among those `usable`, the earliest hinted on a tie: a
    /// result of `acc + x` carried around a loop is hinted both by the operand `acc` and by the
    /// loop param `acc` arrives in, and taking that register leaves the back edge without a move.
    static func mostHinted(_ ids: [Int], _ usable: (Int) -> Bool) -> Int? {
        var best: (id: Int, count: Int)?
        for id in ids where usable(id) {
            let count = ids.reduce(0) { $0 + ($1 == id ? 1 : 0) }
            if count > (best?.count ?? 0) { best = (id, count) }
        }
        return best?.id
    }

    static func location(_ id: Int) -> Location { id < 16 ? .reg(Reg(id: UInt8(id))) : .xreg(XReg(id: UInt8(id - 16))) }

    static func registerID(_ l: Location) -> Int? {
        switch l {
        case .reg(let r): Int(r.id)
        case .xreg(let x): 16 + Int(x.id)
        default: nil
        }
    }

    /// Preferences: a block param and the args passed to it want each other's register, listed
    /// first; an instruction's result wants its first operand's register (two-address x86), or
    /// either operand's for a commutative one. The register hinted most often wins (`mostHinted`),
    /// the earliest listed on a tie. Fixed ones: the function's params, call args and results,
    /// and returned values want their register in the fast-entry convention (`FastCallABI`).
    static func hints(_ f: IRFunction) -> (values: [[Value]], fixed: [Int: Int]) {
        var hints = Array(repeating: [Value](), count: f.types.count)
        // Edge partners come first: a loop's back edge without moves branches straight to the
        // header, where an operand's register saves at most the move in front of the instruction.
        var edgeHints = Array(repeating: [Value](), count: f.types.count)
        var fixed: [Int: Int] = [:]
        func prefer(_ values: [Value], _ places: [FastCallABI.Place]) {
            for (v, place) in zip(values, places) where fixed[v.id] == nil {
                switch place {
                case .reg(let r): fixed[v.id] = Int(r.id)
                case .xreg(let x): fixed[v.id] = 16 + Int(x.id)
                case .stack: break
                }
            }
        }
        let own = FastCallABI.places(f.blocks[0].params.map { f.types[$0.id] })
        prefer(f.blocks[0].params, own)
        let returned = FastCallABI.places(f.resultTypes)
        for block in f.blocks {
            for inst in block.insts {
                switch inst.op {
                case .binary(let op) where op.isCommutative:
                    // Either operand's register takes the result without a move.
                    hints[inst.results[0].id] += inst.args
                case .binary, .unary, .float: if let a = inst.args.first { hints[inst.results[0].id].append(a) }
                case .select: hints[inst.results[0].id].append(inst.args[1])
                case .call:
                    prefer(inst.results, FastCallABI.places(inst.results.map { f.types[$0.id] }))
                    prefer(inst.args, FastCallABI.places(inst.args.map { f.types[$0.id] }))
                default: break
                }
            }
            if case .ret(let values) = block.terminator { prefer(values, returned) }
            for e in block.terminator.edges {
                for (p, a) in zip(f.blocks[e.target].params, e.args) {
                    edgeHints[p.id].append(a)
                    edgeHints[a.id].append(p)
                }
            }
        }
        return (zip(edgeHints, hints).map { $0 + $1 }, fixed)
    }
}
