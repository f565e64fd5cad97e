/// General-purpose integer instructions.
extension Assembler {
    // MARK: Moves

    /// Register to register; `.b32` zero-extends into the upper half.
    public mutating func mov(_ w: Width, _ dst: Reg, _ src: Reg) {
        encode(w: w == .b64, opcode: [0x89], reg: src.id, rm: .reg(dst.id))
    }

    /// `.b32`: the low 32 bits of `imm` (zero-extended). `.b64`: the shortest exact encoding.
    public mutating func mov(_ w: Width, _ dst: Reg, imm: Int64) {
        if w != .b64 || (imm >= 0 && imm <= Int64(UInt32.max)) {
            if dst.high { byte(0x41) }
            byte(0xB8 + dst.low)
            appendLE32(Int32(truncatingIfNeeded: imm))
        } else if imm >= Int64(Int32.min) && imm <= Int64(Int32.max) {
            encode(w: true, opcode: [0xC7], reg: 0, rm: .reg(dst.id), regIsRegister: false)
            appendLE32(Int32(imm))
        } else {
            byte(0x48 | (dst.high ? 1 : 0))
            byte(0xB8 + dst.low)
            appendLE64(imm)
        }
    }

    /// `mov r32, imm32` with a zero immediate, returning where the immediate is for `patch32`.
    public mutating func movImm32Patchable(_ dst: Reg) -> Int {
        if dst.high { byte(0x41) }
        byte(0xB8 + dst.low)
        let position = offset
        appendLE32(0)
        return position
    }

    /// Loads with zero extension: b8/b16 via movzx into the 32-bit register, b32, b64.
    public mutating func load(_ w: Width, _ dst: Reg, _ src: Mem) {
        switch w {
        case .b8: encode(opcode: [0x0F, 0xB6], reg: dst.id, rm: .mem(src))
        case .b16: encode(opcode: [0x0F, 0xB7], reg: dst.id, rm: .mem(src))
        case .b32: encode(opcode: [0x8B], reg: dst.id, rm: .mem(src))
        case .b64: encode(w: true, opcode: [0x8B], reg: dst.id, rm: .mem(src))
        }
    }

    /// movsx/movsxd from b8, b16 or b32 into b32 or b64.
    public mutating func loadSignExtended(from: Width, to: Width, _ dst: Reg, _ src: Mem) {
        switch from {
        case .b8: encode(w: to == .b64, opcode: [0x0F, 0xBE], reg: dst.id, rm: .mem(src))
        case .b16: encode(w: to == .b64, opcode: [0x0F, 0xBF], reg: dst.id, rm: .mem(src))
        case .b32:
            precondition(to == .b64, "movsxd extends to 64 bits")
            encode(w: true, opcode: [0x63], reg: dst.id, rm: .mem(src))
        case .b64: preconditionFailure("nothing to extend")
        }
    }

    public mutating func store(_ w: Width, _ dst: Mem, _ src: Reg) {
        switch w {
        case .b8: encode(opcode: [0x88], reg: src.id, rm: .mem(dst), byteRegs: true)
        case .b16: encode(prefix: 0x66, opcode: [0x89], reg: src.id, rm: .mem(dst))
        case .b32: encode(opcode: [0x89], reg: src.id, rm: .mem(dst))
        case .b64: encode(w: true, opcode: [0x89], reg: src.id, rm: .mem(dst))
        }
    }

    /// Stores an immediate; for `.b64` it is sign-extended from 32 bits.
    public mutating func store(_ w: Width, _ dst: Mem, imm: Int32) {
        switch w {
        case .b8:
            encode(opcode: [0xC6], reg: 0, rm: .mem(dst), regIsRegister: false)
            byte(UInt8(truncatingIfNeeded: imm))
        case .b16:
            encode(prefix: 0x66, opcode: [0xC7], reg: 0, rm: .mem(dst), regIsRegister: false)
            appendLE16(Int16(truncatingIfNeeded: imm))
        case .b32, .b64:
            encode(w: w == .b64, opcode: [0xC7], reg: 0, rm: .mem(dst), regIsRegister: false)
            appendLE32(imm)
        }
    }

    /// Stores a 64-bit constant: as a sign-extended imm32 when it fits, else through `scratch`,
    /// since no x86 store takes a 64-bit immediate.
    public mutating func store64(_ dst: Mem, imm value: Int64, via scratch: Reg) {
        if value >= Int64(Int32.min) && value <= Int64(Int32.max) {
            store(.b64, dst, imm: Int32(value))
        } else {
            mov(.b64, scratch, imm: value)
            store(.b64, dst, scratch)
        }
    }

    public mutating func lea(_ w: Width, _ dst: Reg, _ src: Mem) {
        encode(w: w == .b64, opcode: [0x8D], reg: dst.id, rm: .mem(src))
    }

    /// `lea dst, [rip + label]`: the label's absolute address.
    public mutating func lea(_ dst: Reg, _ label: Label) {
        encode(w: true, opcode: [0x8D], reg: dst.id, rm: .label(label))
    }

    /// movzx from b8/b16 into the 32-bit `dst`.
    public mutating func movzx(from: Width, _ dst: Reg, _ src: Reg) {
        precondition(from == .b8 || from == .b16)
        encode(opcode: [0x0F, from == .b8 ? 0xB6 : 0xB7], reg: dst.id, rm: .reg(src.id), byteRegs: from == .b8, regIsRegister: false)
    }

    /// movsx/movsxd between registers, from b8/b16/b32 to b32/b64.
    public mutating func movsx(from: Width, to: Width, _ dst: Reg, _ src: Reg) {
        switch from {
        case .b8: encode(w: to == .b64, opcode: [0x0F, 0xBE], reg: dst.id, rm: .reg(src.id), byteRegs: true, regIsRegister: false)
        case .b16: encode(w: to == .b64, opcode: [0x0F, 0xBF], reg: dst.id, rm: .reg(src.id))
        case .b32:
            precondition(to == .b64, "movsxd extends to 64 bits")
            encode(w: true, opcode: [0x63], reg: dst.id, rm: .reg(src.id))
        case .b64: preconditionFailure("nothing to extend")
        }
    }

    // MARK: Arithmetic and logic

    public mutating func alu(_ op: ALUOp, _ w: Width, _ dst: Reg, _ src: Reg) {
        encode(w: w == .b64, opcode: [op.rawValue << 3 | 0x01], reg: src.id, rm: .reg(dst.id))
    }

    public mutating func alu(_ op: ALUOp, _ w: Width, _ dst: Reg, imm: Int32) {
        if Self.fitsInt8(imm) {
            encode(w: w == .b64, opcode: [0x83], reg: op.rawValue, rm: .reg(dst.id), regIsRegister: false)
            byte(UInt8(bitPattern: Int8(imm)))
        } else {
            encode(w: w == .b64, opcode: [0x81], reg: op.rawValue, rm: .reg(dst.id), regIsRegister: false)
            appendLE32(imm)
        }
    }

    public mutating func alu(_ op: ALUOp, _ w: Width, _ dst: Reg, _ src: Mem) {
        encode(w: w == .b64, opcode: [op.rawValue << 3 | 0x03], reg: dst.id, rm: .mem(src))
    }

    public mutating func alu(_ op: ALUOp, _ w: Width, _ dst: Mem, _ src: Reg) {
        encode(w: w == .b64, opcode: [op.rawValue << 3 | 0x01], reg: src.id, rm: .mem(dst))
    }

    public mutating func alu(_ op: ALUOp, _ w: Width, _ dst: Mem, imm: Int32) {
        switch w {
        case .b8:
            encode(opcode: [0x80], reg: op.rawValue, rm: .mem(dst), regIsRegister: false)
            byte(UInt8(truncatingIfNeeded: imm))
        case .b16:
            if Self.fitsInt8(imm) {
                encode(prefix: 0x66, opcode: [0x83], reg: op.rawValue, rm: .mem(dst), regIsRegister: false)
                byte(UInt8(bitPattern: Int8(imm)))
            } else {
                encode(prefix: 0x66, opcode: [0x81], reg: op.rawValue, rm: .mem(dst), regIsRegister: false)
                appendLE16(Int16(truncatingIfNeeded: imm))
            }
        case .b32, .b64:
            if Self.fitsInt8(imm) {
                encode(w: w == .b64, opcode: [0x83], reg: op.rawValue, rm: .mem(dst), regIsRegister: false)
                byte(UInt8(bitPattern: Int8(imm)))
            } else {
                encode(w: w == .b64, opcode: [0x81], reg: op.rawValue, rm: .mem(dst), regIsRegister: false)
                appendLE32(imm)
            }
        }
    }

    public mutating func test(_ w: Width, _ a: Reg, _ b: Reg) {
        if w == .b8 {
            encode(opcode: [0x84], reg: b.id, rm: .reg(a.id), byteRegs: true)
        } else {
            encode(w: w == .b64, opcode: [0x85], reg: b.id, rm: .reg(a.id))
        }
    }

    public mutating func test(_ w: Width, _ a: Reg, imm: Int32) {
        encode(w: w == .b64, opcode: [0xF7], reg: 0, rm: .reg(a.id), regIsRegister: false)
        appendLE32(imm)
    }

    public mutating func imul(_ w: Width, _ dst: Reg, _ src: Reg) {
        encode(w: w == .b64, opcode: [0x0F, 0xAF], reg: dst.id, rm: .reg(src.id))
    }

    public mutating func imul(_ w: Width, _ dst: Reg, _ src: Reg, imm: Int32) {
        if Self.fitsInt8(imm) {
            encode(w: w == .b64, opcode: [0x6B], reg: dst.id, rm: .reg(src.id))
            byte(UInt8(bitPattern: Int8(imm)))
        } else {
            encode(w: w == .b64, opcode: [0x69], reg: dst.id, rm: .reg(src.id))
            appendLE32(imm)
        }
    }

    /// not, neg, mul, imul, div, idiv on a register (F7 group).
    public mutating func unary(_ op: UnaryOp, _ w: Width, _ reg: Reg) {
        encode(w: w == .b64, opcode: [0xF7], reg: op.rawValue, rm: .reg(reg.id), regIsRegister: false)
    }

    /// Sign-extends eax into edx.
    public mutating func cdq() { byte(0x99) }
    /// Sign-extends rax into rdx.
    public mutating func cqo() { emit([0x48, 0x99]) }

    /// Shift or rotate by cl.
    public mutating func shift(_ op: ShiftOp, _ w: Width, _ reg: Reg) {
        encode(w: w == .b64, opcode: [0xD3], reg: op.rawValue, rm: .reg(reg.id), regIsRegister: false)
    }

    public mutating func shift(_ op: ShiftOp, _ w: Width, _ reg: Reg, imm: UInt8) {
        encode(w: w == .b64, opcode: [0xC1], reg: op.rawValue, rm: .reg(reg.id), regIsRegister: false)
        byte(imm)
    }

    public mutating func bitCount(_ op: BitCountOp, _ w: Width, _ dst: Reg, _ src: Reg) {
        let (prefix, opcode): (UInt8?, UInt8) = switch op {
        case .lzcnt: (0xF3, 0xBD)
        case .tzcnt: (0xF3, 0xBC)
        case .popcnt: (0xF3, 0xB8)
        case .bsr: (nil, 0xBD)
        case .bsf: (nil, 0xBC)
        }
        encode(prefix: prefix, w: w == .b64, opcode: [0x0F, opcode], reg: dst.id, rm: .reg(src.id))
    }

    /// Sets the low byte of `dst` to 0 or 1.
    public mutating func setcc(_ cond: Condition, _ dst: Reg) {
        encode(opcode: [0x0F, 0x90 + cond.rawValue], reg: 0, rm: .reg(dst.id), byteRegs: true, regIsRegister: false)
    }

    public mutating func cmov(_ cond: Condition, _ w: Width, _ dst: Reg, _ src: Reg) {
        encode(w: w == .b64, opcode: [0x0F, 0x40 + cond.rawValue], reg: dst.id, rm: .reg(src.id))
    }

    public mutating func xchg(_ w: Width, _ a: Reg, _ b: Reg) {
        encode(w: w == .b64, opcode: [0x87], reg: b.id, rm: .reg(a.id))
    }

    public mutating func bswap(_ w: Width, _ reg: Reg) {
        var rex: UInt8 = 0
        if w == .b64 { rex |= 0x08 }
        if reg.high { rex |= 0x01 }
        if rex != 0 { byte(0x40 | rex) }
        emit([0x0F, 0xC8 + reg.low])
    }
}
