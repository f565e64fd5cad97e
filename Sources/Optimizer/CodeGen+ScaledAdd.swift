import WasmCore
import X64

/// `x << k` (k = 1...3) whose only use is an add in the same block is folded into that add as
/// the scaled index of a `lea`, the way array indexing (`base + i*4`, table lookups in crc32,
/// operand stacks in interpreters) comes out of LLVM's wasm. A 32-bit `lea` truncates its result
/// to 32 bits, so the fold is exact i32 (and i64) arithmetic: it needs none of the range facts a
/// fold into a memory operand's address would. The shift is fused like a compare into a branch:
/// it gets no location, and `Liveness` keeps its operand live up to the add.
extension CodeGen {
    /// The shifts that can be folded into their add: a constant amount of 1-3, one use, and that
    /// use an add later in the same block.
    static func fusableShifts(_ f: IRFunction) -> Set<Value> {
        let constants = f.constants()
        var useCount = Array(repeating: 0, count: f.types.count)
        for block in f.blocks {
            for inst in block.insts { for a in inst.args { useCount[a.id] += 1 } }
            for v in block.terminator.uses { useCount[v.id] += 1 }
        }
        var out: Set<Value> = []
        for block in f.blocks {
            var shifts: Set<Value> = []
            for inst in block.insts {
                if case .binary(.add) = inst.op {
                    // One per add: the other operand must have a location of its own.
                    if let a = inst.args.first(where: shifts.contains) { out.insert(a) }
                }
                guard case .binary(.shl) = inst.op, let r = inst.results.first, useCount[r.id] == 1,
                      let amount = constants[inst.args[1]], scale(amount, f.types[r.id]) != nil,
                      constants[inst.args[0]] == nil else { continue }
                shifts.insert(r)
            }
        }
        return out
    }

    /// 2, 4 or 8 for a shift amount (taken modulo the width, as wasm does) of 1, 2 or 3.
    static func scale(_ amount: UInt64, _ type: ValueType) -> UInt8? {
        let k = amount & (type == .i32 ? 31 : 63)
        return (1...3).contains(k) ? UInt8(1) << UInt8(k) : nil
    }

    /// Emits `d = (x << k) + other` for a fused shift `s` as a `lea`: `[other + x*scale]`, or for a
    /// constant `other`, `d = other` then `[d + x*scale]` (the encoder has no base-less form).
    mutating func emitScaledAdd(_ s: Value, plus other: Value, _ w: Width, into d: Reg) {
        let (x, scale) = fusedShifts[s]!
        let index = reg(x, .rax)
        if let c = imm32(other), index != d {
            asm.mov(.b64, d, imm: Int64(c))
            asm.lea(w, d, Mem(d, index: index, scale: scale))
        } else if imm32(other) == nil, case .reg(let y) = loc[other.id] {
            asm.lea(w, d, Mem(y, index: index, scale: scale))
        } else {
            load(other, into: .rcx)
            asm.lea(w, d, Mem(.rcx, index: index, scale: scale))
        }
    }
}
