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
}
