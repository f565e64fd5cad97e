/// Stack, jumps, calls and traps.
extension Assembler {
    public mutating func push(_ reg: Reg) {
        if reg.high { byte(0x41) }
        byte(0x50 + reg.low)
    }

    public mutating func pop(_ reg: Reg) {
        if reg.high { byte(0x41) }
        byte(0x58 + reg.low)
    }

    public mutating func push(imm: Int32) {
        byte(0x68)
        appendLE32(imm)
    }

    public mutating func ret() { byte(0xC3) }

    /// Always the rel32 form: one size for every jump keeps fixups simple.
    public mutating func jmp(_ label: Label) {
        byte(0xE9)
        rel32(to: label)
    }

    public mutating func jcc(_ cond: Condition, _ label: Label) {
        emit([0x0F, 0x80 + cond.rawValue])
        rel32(to: label)
    }

    public mutating func call(_ label: Label) {
        byte(0xE8)
        rel32(to: label)
    }

    public mutating func jmp(_ reg: Reg) {
        encode(opcode: [0xFF], reg: 4, rm: .reg(reg.id), regIsRegister: false)
    }

    public mutating func jmp(_ mem: Mem) {
        encode(opcode: [0xFF], reg: 4, rm: .mem(mem), regIsRegister: false)
    }

    public mutating func call(_ reg: Reg) {
        encode(opcode: [0xFF], reg: 2, rm: .reg(reg.id), regIsRegister: false)
    }

    public mutating func call(_ mem: Mem) {
        encode(opcode: [0xFF], reg: 2, rm: .mem(mem), regIsRegister: false)
    }

    public mutating func ud2() { emit([0x0F, 0x0B]) }
    public mutating func int3() { byte(0xCC) }
    public mutating func nop() { byte(0x90) }

    /// br_table without a jump table, for both tiers: jumps to `stubs[keys[index]]` for an
    /// `index` (a 32-bit register) in `range`, by a binary search of compares that collapses runs
    /// of indices sharing a key, so that many targets with few distinct stubs cost few branches.
    /// An empty range emits nothing: the caller's bounds check already went to the default.
    public mutating func decisionTree<Key: Hashable>(index: Reg, keys: [Key], range: Range<Int>, stubs: [Key: Label]) {
        guard !range.isEmpty else { return }
        let first = keys[range.lowerBound]
        if keys[range].allSatisfy({ $0 == first }) {
            jmp(stubs[first]!)
            return
        }
        let mid = (range.lowerBound + range.upperBound) / 2
        let upper = newLabel()
        alu(.cmp, .b32, index, imm: Int32(mid))
        jcc(.ae, upper)
        decisionTree(index: index, keys: keys, range: range.lowerBound..<mid, stubs: stubs)
        bind(upper)
        decisionTree(index: index, keys: keys, range: mid..<range.upperBound, stubs: stubs)
    }
}
