/// SSE2 and SSE4.1 scalar floating point.
extension Assembler {
    private static func scalarPrefix(_ p: Precision) -> UInt8 { p == .single ? 0xF3 : 0xF2 }

    /// movss/movsd xmm, m (loads zero the rest of the register).
    public mutating func fload(_ p: Precision, _ dst: XReg, _ src: Mem) {
        encode(prefix: Self.scalarPrefix(p), opcode: [0x0F, 0x10], reg: dst.id, rm: .mem(src))
    }

    /// movss/movsd xmm, [rip + label]: a constant placed in the code.
    public mutating func fload(_ p: Precision, _ dst: XReg, _ label: Label) {
        encode(prefix: Self.scalarPrefix(p), opcode: [0x0F, 0x10], reg: dst.id, rm: .label(label))
    }

    public mutating func fstore(_ p: Precision, _ dst: Mem, _ src: XReg) {
        encode(prefix: Self.scalarPrefix(p), opcode: [0x0F, 0x11], reg: src.id, rm: .mem(dst))
    }

    /// movaps: copies the whole register (no partial-register dependency, unlike movss).
    public mutating func fmov(_ dst: XReg, _ src: XReg) {
        encode(opcode: [0x0F, 0x28], reg: dst.id, rm: .reg(src.id))
    }

    /// movd (b32) / movq (b64) from a general-purpose register.
    public mutating func movq(_ w: Width, _ dst: XReg, _ src: Reg) {
        encode(prefix: 0x66, w: w == .b64, opcode: [0x0F, 0x6E], reg: dst.id, rm: .reg(src.id))
    }

    /// movd (b32) / movq (b64) to a general-purpose register.
    public mutating func movq(_ w: Width, _ dst: Reg, _ src: XReg) {
        encode(prefix: 0x66, w: w == .b64, opcode: [0x0F, 0x7E], reg: src.id, rm: .reg(dst.id))
    }

    public mutating func sse(_ op: SSEOp, _ p: Precision, _ dst: XReg, _ src: XReg) {
        encode(prefix: Self.scalarPrefix(p), opcode: [0x0F, op.rawValue], reg: dst.id, rm: .reg(src.id))
    }

    /// andps/andpd, andnps/andnpd, orps/orpd, xorps/xorpd.
    public mutating func sseBit(_ op: SSEBitOp, _ p: Precision, _ dst: XReg, _ src: XReg) {
        encode(prefix: p == .double ? 0x66 : nil, opcode: [0x0F, op.rawValue], reg: dst.id, rm: .reg(src.id))
    }

    public mutating func ucomis(_ p: Precision, _ a: XReg, _ b: XReg) {
        encode(prefix: p == .double ? 0x66 : nil, opcode: [0x0F, 0x2E], reg: a.id, rm: .reg(b.id))
    }

    /// cvtsi2ss/cvtsi2sd from a 32- or 64-bit signed integer.
    public mutating func cvtsi2s(_ p: Precision, from w: Width, _ dst: XReg, _ src: Reg) {
        encode(prefix: Self.scalarPrefix(p), w: w == .b64, opcode: [0x0F, 0x2A], reg: dst.id, rm: .reg(src.id))
    }

    /// cvttss2si/cvttsd2si: truncating conversion to a 32- or 64-bit signed integer.
    public mutating func cvtts2si(_ p: Precision, to w: Width, _ dst: Reg, _ src: XReg) {
        encode(prefix: Self.scalarPrefix(p), w: w == .b64, opcode: [0x0F, 0x2C], reg: dst.id, rm: .reg(src.id))
    }

    /// cvtss2sd (to double) / cvtsd2ss (to single).
    public mutating func cvts2s(to p: Precision, _ dst: XReg, _ src: XReg) {
        encode(prefix: p == .double ? 0xF3 : 0xF2, opcode: [0x0F, 0x5A], reg: dst.id, rm: .reg(src.id))
    }

    /// roundss/roundsd (SSE4.1). Mode 0 nearest-even, 1 floor, 2 ceil, 3 truncate; +8 suppresses
    /// the precision exception.
    public mutating func round(_ p: Precision, _ dst: XReg, _ src: XReg, mode: UInt8) {
        encode(prefix: 0x66, opcode: [0x0F, 0x3A, p == .single ? 0x0A : 0x0B], reg: dst.id, rm: .reg(src.id))
        byte(mode)
    }

    public mutating func pxor(_ dst: XReg, _ src: XReg) {
        encode(prefix: 0x66, opcode: [0x0F, 0xEF], reg: dst.id, rm: .reg(src.id))
    }
}
