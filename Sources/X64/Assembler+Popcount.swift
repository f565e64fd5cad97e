/// Population count for CPUs without POPCNT, shared by both compiler tiers.
extension Assembler {
    /// Replaces `value` by the number of its set bits (the SWAR count: pairs, nibbles, bytes, then
    /// one multiply to add the bytes up). `temp` and `scratch` are clobbered; the three registers
    /// must differ. Only for CPUs without POPCNT: the instruction is one uop where it exists.
    public mutating func softwarePopcount(_ w: Width, value x: Reg, temp t: Reg, scratch s: Reg) {
        func mask(_ byte: UInt64) -> Int64 {
            Int64(bitPattern: w == .b32 ? (byte * 0x0101_0101) : (byte * 0x0101_0101_0101_0101))
        }
        mov(w, t, x)
        shift(.shr, w, t, imm: 1)
        mov(.b64, s, imm: mask(0x55))
        alu(.and, w, t, s)
        alu(.sub, w, x, t)
        mov(.b64, s, imm: mask(0x33))
        mov(w, t, x)
        alu(.and, w, t, s)
        shift(.shr, w, x, imm: 2)
        alu(.and, w, x, s)
        alu(.add, w, x, t)
        mov(w, t, x)
        shift(.shr, w, t, imm: 4)
        alu(.add, w, x, t)
        mov(.b64, s, imm: mask(0x0F))
        alu(.and, w, x, s)
        mov(.b64, s, imm: mask(0x01))
        imul(w, x, s)
        shift(.shr, w, x, imm: w == .b32 ? 24 : 56)
    }
}
