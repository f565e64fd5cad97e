import WasmCore

/// Evaluates instructions whose operands are constants, applies the identities that make an
/// operation a copy or a constant (x + 0, x * 1, x & -1, shifts by 0, x - x, x ^ x, ...), and turns branches, tables and
/// selects on constants into their one outcome. Operations that may trap are left alone.
enum ConstantFolding {
    static func run(_ f: inout IRFunction) {
        var known = f.constants()
        var byKey: [String: Value] = [:]
        for (v, bits) in known { byKey["\(f.types[v.id]):\(bits)"] = v }
        var newConsts: [Inst] = []
        func constant(_ t: ValueType, _ bits: UInt64) -> Value {
            let bits = t == .i32 ? bits & 0xFFFF_FFFF : bits
            if let v = byKey["\(t):\(bits)"] { return v }
            let v = f.newValue(t)
            newConsts.append(Inst(op: .const(bits), args: [], results: [v]))
            byKey["\(t):\(bits)"] = v
            known[v] = bits
            return v
        }
        var changed = true
        while changed {
            changed = false
            var map: [Value: Value] = [:]
            for b in f.blocks.indices {
                var kept: [Inst] = []
                for inst in f.blocks[b].insts {
                    if let v = fold(inst, f.types, known, constant: constant) {
                        map[inst.results[0]] = v
                        changed = true
                    } else {
                        kept.append(inst)
                    }
                }
                f.blocks[b].insts = kept
                switch f.blocks[b].terminator {
                case .branch(let c, let t, let e):
                    if let bits = known[c] {
                        f.blocks[b].terminator = .jump(bits != 0 ? t : e)
                        changed = true
                    }
                case .table(let i, let targets, let d):
                    if let bits = known[i] {
                        f.blocks[b].terminator = .jump(bits < UInt64(targets.count) ? targets[Int(bits)] : d)
                        changed = true
                    }
                default: break
                }
            }
            f.blocks[0].insts = newConsts + f.blocks[0].insts
            newConsts = []
            f.substitute(map)
        }
    }

    /// The value that replaces `inst`'s result, if it folds.
    static func fold(_ inst: Inst, _ types: [ValueType], _ known: [Value: UInt64],
                     constant: (ValueType, UInt64) -> Value) -> Value? {
        guard inst.results.count == 1 else { return nil }
        let t = types[inst.results[0].id]
        switch inst.op {
        case .binary(let op):
            let (a, b) = (inst.args[0], inst.args[1])
            let w = types[a.id] == .i32 ? 32 : 64
            if let x = known[a], let y = known[b] {
                guard let r = evaluate(op, x, y, width: w) else { return nil }
                return constant(t, r)
            }
            if a == b {
                switch op {
                case .sub, .xor: return constant(t, 0)
                case .and, .or: return a
                default: break
                }
            }
            if let y = known[b] {
                let ones: UInt64 = w == 32 ? 0xFFFF_FFFF : ~0
                switch (op, y) {
                case (.add, 0), (.sub, 0), (.or, 0), (.xor, 0), (.shl, _), (.shrS, _), (.shrU, _), (.rotl, _), (.rotr, _):
                    if op == .add || op == .sub || op == .or || op == .xor || y & UInt64(w - 1) == 0 { return a }
                case (.mul, 1): return a
                case (.and, ones): return a
                case (.mul, 0), (.and, 0): return b
                default: break
                }
            }
            if let x = known[a], op.isCommutative {
                let ones: UInt64 = w == 32 ? 0xFFFF_FFFF : ~0
                switch (op, x) {
                case (.add, 0), (.or, 0), (.xor, 0), (.mul, 1), (.and, ones): return b
                case (.mul, 0), (.and, 0): return a
                default: break
                }
            }
            return nil
        case .compare(let op):
            guard let x = known[inst.args[0]], let y = known[inst.args[1]] else { return nil }
            return constant(.i32, compare(op, x, y, width: types[inst.args[0].id] == .i32 ? 32 : 64) ? 1 : 0)
        case .unary(let op):
            guard let x = known[inst.args[0]] else { return nil }
            return constant(t, unary(op, x, width: types[inst.args[0].id] == .i32 ? 32 : 64))
        case .select:
            guard let c = known[inst.args[0]] else { return inst.args[1] == inst.args[2] ? inst.args[1] : nil }
            return c & 0xFFFF_FFFF != 0 ? inst.args[1] : inst.args[2]
        default:
            return nil
        }
    }

    static func signed(_ x: UInt64, _ w: Int) -> Int64 {
        w == 32 ? Int64(Int32(truncatingIfNeeded: x)) : Int64(bitPattern: x)
    }

    static func evaluate(_ op: BinaryOp, _ x: UInt64, _ y: UInt64, width w: Int) -> UInt64? {
        let mask: UInt64 = w == 32 ? 0xFFFF_FFFF : ~0
        let s = y & UInt64(w - 1)
        let r: UInt64
        switch op {
        case .add: r = x &+ y
        case .sub: r = x &- y
        case .mul: r = x &* y
        case .and: r = x & y
        case .or: r = x | y
        case .xor: r = x ^ y
        case .shl: r = x << s
        case .shrU: r = (x & mask) >> s
        case .shrS: r = UInt64(bitPattern: signed(x, w) >> Int64(s))
        case .rotl: r = s == 0 ? x : ((x << s) | ((x & mask) >> (UInt64(w) - s)))
        case .rotr: r = s == 0 ? x : (((x & mask) >> s) | (x << (UInt64(w) - s)))
        case .divU:
            guard y & mask != 0 else { return nil }
            r = (x & mask) / (y & mask)
        case .remU:
            guard y & mask != 0 else { return nil }
            r = (x & mask) % (y & mask)
        case .divS, .remS:
            let a = signed(x, w), b = signed(y, w)
            let minimum: Int64 = w == 32 ? Int64(Int32.min) : Int64.min
            guard b != 0, !(op == .divS && a == minimum && b == -1) else { return nil }
            if b == -1 { r = op == .divS ? UInt64(bitPattern: 0 &- a) : 0 } else {
                r = UInt64(bitPattern: op == .divS ? a / b : a % b)
            }
        }
        return r & mask
    }

    static func compare(_ op: CompareOp, _ x: UInt64, _ y: UInt64, width w: Int) -> Bool {
        let mask: UInt64 = w == 32 ? 0xFFFF_FFFF : ~0
        let (ux, uy) = (x & mask, y & mask)
        let (sx, sy) = (signed(x, w), signed(y, w))
        switch op {
        case .eq: return ux == uy
        case .ne: return ux != uy
        case .ltS: return sx < sy
        case .ltU: return ux < uy
        case .gtS: return sx > sy
        case .gtU: return ux > uy
        case .leS: return sx <= sy
        case .leU: return ux <= uy
        case .geS: return sx >= sy
        case .geU: return ux >= uy
        }
    }

    static func unary(_ op: UnaryOp, _ x: UInt64, width w: Int) -> UInt64 {
        let mask: UInt64 = w == 32 ? 0xFFFF_FFFF : ~0
        let v = x & mask
        switch op {
        case .eqz: return v == 0 ? 1 : 0
        case .clz: return w == 32 ? UInt64(UInt32(v).leadingZeroBitCount) : UInt64(v.leadingZeroBitCount)
        case .ctz: return w == 32 ? UInt64(UInt32(v).trailingZeroBitCount) : UInt64(v.trailingZeroBitCount)
        case .popcnt: return UInt64(v.nonzeroBitCount)
        case .extend8S: return UInt64(bitPattern: Int64(Int8(truncatingIfNeeded: v))) & mask
        case .extend16S: return UInt64(bitPattern: Int64(Int16(truncatingIfNeeded: v))) & mask
        case .extend32S: return UInt64(bitPattern: Int64(Int32(truncatingIfNeeded: v)))
        case .wrap: return v & 0xFFFF_FFFF
        case .extendI32S: return UInt64(bitPattern: Int64(Int32(truncatingIfNeeded: v)))
        case .extendI32U: return v & 0xFFFF_FFFF
        }
    }
}
