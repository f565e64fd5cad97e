/// Packed SSE2/SSSE3/SSE4.1 instructions for WebAssembly SIMD (v128). SSE4.1 (with SSSE3, which
/// every SSE4.1 CPU has) is the floor: the compiler refuses SIMD code on a CPU without it.
///
/// Most packed instructions are `[66|F2|F3] 0F [38|3A] op /r`, so one table-driven entry point,
/// `packed(_:_:_:)`, encodes them; the few with other shapes have their own functions.
public struct PackedOp: Sendable, Hashable {
    let prefix: UInt8?
    let opcode: [UInt8]

    init(_ prefix: UInt8?, _ opcode: UInt8...) {
        self.prefix = prefix
        self.opcode = opcode
    }

    // SSE2 integer (66 0F xx).
    public static let paddb = PackedOp(0x66, 0x0F, 0xFC), paddw = PackedOp(0x66, 0x0F, 0xFD)
    public static let paddd = PackedOp(0x66, 0x0F, 0xFE), paddq = PackedOp(0x66, 0x0F, 0xD4)
    public static let psubb = PackedOp(0x66, 0x0F, 0xF8), psubw = PackedOp(0x66, 0x0F, 0xF9)
    public static let psubd = PackedOp(0x66, 0x0F, 0xFA), psubq = PackedOp(0x66, 0x0F, 0xFB)
    public static let pmullw = PackedOp(0x66, 0x0F, 0xD5), pmuludq = PackedOp(0x66, 0x0F, 0xF4)
    public static let pmulhw = PackedOp(0x66, 0x0F, 0xE5), pmulhuw = PackedOp(0x66, 0x0F, 0xE4)
    public static let pmaddwd = PackedOp(0x66, 0x0F, 0xF5)
    public static let paddsb = PackedOp(0x66, 0x0F, 0xEC), paddsw = PackedOp(0x66, 0x0F, 0xED)
    public static let paddusb = PackedOp(0x66, 0x0F, 0xDC), paddusw = PackedOp(0x66, 0x0F, 0xDD)
    public static let psubsb = PackedOp(0x66, 0x0F, 0xE8), psubsw = PackedOp(0x66, 0x0F, 0xE9)
    public static let psubusb = PackedOp(0x66, 0x0F, 0xD8), psubusw = PackedOp(0x66, 0x0F, 0xD9)
    public static let pminub = PackedOp(0x66, 0x0F, 0xDA), pmaxub = PackedOp(0x66, 0x0F, 0xDE)
    public static let pminsw = PackedOp(0x66, 0x0F, 0xEA), pmaxsw = PackedOp(0x66, 0x0F, 0xEE)
    public static let pavgb = PackedOp(0x66, 0x0F, 0xE0), pavgw = PackedOp(0x66, 0x0F, 0xE3)
    public static let pand = PackedOp(0x66, 0x0F, 0xDB), pandn = PackedOp(0x66, 0x0F, 0xDF)
    public static let por = PackedOp(0x66, 0x0F, 0xEB), pxor = PackedOp(0x66, 0x0F, 0xEF)
    public static let pcmpeqb = PackedOp(0x66, 0x0F, 0x74), pcmpeqw = PackedOp(0x66, 0x0F, 0x75)
    public static let pcmpeqd = PackedOp(0x66, 0x0F, 0x76)
    public static let pcmpgtb = PackedOp(0x66, 0x0F, 0x64), pcmpgtw = PackedOp(0x66, 0x0F, 0x65)
    public static let pcmpgtd = PackedOp(0x66, 0x0F, 0x66)
    public static let packsswb = PackedOp(0x66, 0x0F, 0x63), packuswb = PackedOp(0x66, 0x0F, 0x67)
    public static let packssdw = PackedOp(0x66, 0x0F, 0x6B)
    public static let punpcklbw = PackedOp(0x66, 0x0F, 0x60), punpcklwd = PackedOp(0x66, 0x0F, 0x61)
    public static let punpckldq = PackedOp(0x66, 0x0F, 0x62), punpcklqdq = PackedOp(0x66, 0x0F, 0x6C)
    public static let punpckhbw = PackedOp(0x66, 0x0F, 0x68), punpckhwd = PackedOp(0x66, 0x0F, 0x69)
    public static let punpckhdq = PackedOp(0x66, 0x0F, 0x6A), punpckhqdq = PackedOp(0x66, 0x0F, 0x6D)
    /// Shifts by the count in the low 64 bits of the source register.
    public static let psllw = PackedOp(0x66, 0x0F, 0xF1), pslld = PackedOp(0x66, 0x0F, 0xF2)
    public static let psllq = PackedOp(0x66, 0x0F, 0xF3), psrlw = PackedOp(0x66, 0x0F, 0xD1)
    public static let psrld = PackedOp(0x66, 0x0F, 0xD2), psrlq = PackedOp(0x66, 0x0F, 0xD3)
    public static let psraw = PackedOp(0x66, 0x0F, 0xE1), psrad = PackedOp(0x66, 0x0F, 0xE2)
    public static let movdqa = PackedOp(0x66, 0x0F, 0x6F), movdqu = PackedOp(0xF3, 0x0F, 0x6F)

    // SSE/SSE2 floating point.
    public static let addps = PackedOp(nil, 0x0F, 0x58), addpd = PackedOp(0x66, 0x0F, 0x58)
    public static let subps = PackedOp(nil, 0x0F, 0x5C), subpd = PackedOp(0x66, 0x0F, 0x5C)
    public static let mulps = PackedOp(nil, 0x0F, 0x59), mulpd = PackedOp(0x66, 0x0F, 0x59)
    public static let divps = PackedOp(nil, 0x0F, 0x5E), divpd = PackedOp(0x66, 0x0F, 0x5E)
    public static let minps = PackedOp(nil, 0x0F, 0x5D), minpd = PackedOp(0x66, 0x0F, 0x5D)
    public static let maxps = PackedOp(nil, 0x0F, 0x5F), maxpd = PackedOp(0x66, 0x0F, 0x5F)
    public static let sqrtps = PackedOp(nil, 0x0F, 0x51), sqrtpd = PackedOp(0x66, 0x0F, 0x51)
    public static let andps = PackedOp(nil, 0x0F, 0x54), andnps = PackedOp(nil, 0x0F, 0x55)
    public static let orps = PackedOp(nil, 0x0F, 0x56), xorps = PackedOp(nil, 0x0F, 0x57)
    public static let cvtdq2ps = PackedOp(nil, 0x0F, 0x5B), cvttps2dq = PackedOp(0xF3, 0x0F, 0x5B)
    public static let cvtdq2pd = PackedOp(0xF3, 0x0F, 0xE6), cvttpd2dq = PackedOp(0x66, 0x0F, 0xE6)
    public static let cvtps2pd = PackedOp(nil, 0x0F, 0x5A), cvtpd2ps = PackedOp(0x66, 0x0F, 0x5A)
    public static let unpcklps = PackedOp(nil, 0x0F, 0x14), unpcklpd = PackedOp(0x66, 0x0F, 0x14)
    /// movsd xmm, xmm: replaces the low 64 bits only.
    public static let movsd = PackedOp(0xF2, 0x0F, 0x10)

    // SSSE3 (66 0F 38 xx).
    public static let pshufb = PackedOp(0x66, 0x0F, 0x38, 0x00), pabsb = PackedOp(0x66, 0x0F, 0x38, 0x1C)
    public static let pabsw = PackedOp(0x66, 0x0F, 0x38, 0x1D), pabsd = PackedOp(0x66, 0x0F, 0x38, 0x1E)
    public static let pmulhrsw = PackedOp(0x66, 0x0F, 0x38, 0x0B), pmaddubsw = PackedOp(0x66, 0x0F, 0x38, 0x04)

    // SSE4.1 (66 0F 38 xx).
    public static let pmovsxbw = PackedOp(0x66, 0x0F, 0x38, 0x20), pmovsxwd = PackedOp(0x66, 0x0F, 0x38, 0x23)
    public static let pmovsxdq = PackedOp(0x66, 0x0F, 0x38, 0x25), pmovzxbw = PackedOp(0x66, 0x0F, 0x38, 0x30)
    public static let pmovzxwd = PackedOp(0x66, 0x0F, 0x38, 0x33), pmovzxdq = PackedOp(0x66, 0x0F, 0x38, 0x35)
    public static let pminsb = PackedOp(0x66, 0x0F, 0x38, 0x38), pminsd = PackedOp(0x66, 0x0F, 0x38, 0x39)
    public static let pminuw = PackedOp(0x66, 0x0F, 0x38, 0x3A), pminud = PackedOp(0x66, 0x0F, 0x38, 0x3B)
    public static let pmaxsb = PackedOp(0x66, 0x0F, 0x38, 0x3C), pmaxsd = PackedOp(0x66, 0x0F, 0x38, 0x3D)
    public static let pmaxuw = PackedOp(0x66, 0x0F, 0x38, 0x3E), pmaxud = PackedOp(0x66, 0x0F, 0x38, 0x3F)
    public static let pmulld = PackedOp(0x66, 0x0F, 0x38, 0x40), pmuldq = PackedOp(0x66, 0x0F, 0x38, 0x28)
    public static let pcmpeqq = PackedOp(0x66, 0x0F, 0x38, 0x29), packusdw = PackedOp(0x66, 0x0F, 0x38, 0x2B)
    public static let ptest = PackedOp(0x66, 0x0F, 0x38, 0x17)

    // With an immediate byte (use `packed(_:_:_:imm:)`).
    public static let pshufd = PackedOp(0x66, 0x0F, 0x70), pshuflw = PackedOp(0xF2, 0x0F, 0x70)
    public static let pshufhw = PackedOp(0xF3, 0x0F, 0x70)
    public static let shufps = PackedOp(nil, 0x0F, 0xC6), shufpd = PackedOp(0x66, 0x0F, 0xC6)
    public static let cmpps = PackedOp(nil, 0x0F, 0xC2), cmppd = PackedOp(0x66, 0x0F, 0xC2)
    public static let roundps = PackedOp(0x66, 0x0F, 0x3A, 0x08), roundpd = PackedOp(0x66, 0x0F, 0x3A, 0x09)
    public static let pblendw = PackedOp(0x66, 0x0F, 0x3A, 0x0E), blendps = PackedOp(0x66, 0x0F, 0x3A, 0x0C)
    public static let insertps = PackedOp(0x66, 0x0F, 0x3A, 0x21), palignr = PackedOp(0x66, 0x0F, 0x3A, 0x0F)
}

/// The lane width of `pinsr*`/`pextr*`.
public enum LaneWidth: Sendable, CaseIterable { case b8, b16, b32, b64 }

extension Assembler {
    private mutating func encodePacked(_ op: PackedOp, reg: UInt8, rm: RM) {
        let opcode: Opcode = switch op.opcode.count {
        case 2: [op.opcode[0], op.opcode[1]]
        default: [op.opcode[0], op.opcode[1], op.opcode[2]]
        }
        encode(prefix: op.prefix, opcode: opcode, reg: reg, rm: rm)
    }

    /// `op dst, src` (register source).
    public mutating func packed(_ op: PackedOp, _ dst: XReg, _ src: XReg) {
        encodePacked(op, reg: dst.id, rm: .reg(src.id))
    }

    /// `op dst, m128` (memory source; SSE needs it 16-byte aligned for most ops: use only with
    /// aligned constants or ops that allow unaligned sources).
    public mutating func packed(_ op: PackedOp, _ dst: XReg, _ src: Mem) {
        encodePacked(op, reg: dst.id, rm: .mem(src))
    }

    /// `op dst, src, imm8`.
    public mutating func packed(_ op: PackedOp, _ dst: XReg, _ src: XReg, imm: UInt8) {
        encodePacked(op, reg: dst.id, rm: .reg(src.id))
        byte(imm)
    }

    /// movdqu xmm, m128 (no alignment needed).
    public mutating func movdqu(_ dst: XReg, _ src: Mem) {
        packed(.movdqu, dst, src)
    }

    /// movdqu xmm, [rip + label]: a 16-byte constant placed in the code (no immediate may follow a
    /// rip-relative operand in this encoder: the displacement is relative to its own end).
    public mutating func movdqu(_ dst: XReg, _ label: Label) {
        encodePacked(.movdqu, reg: dst.id, rm: .label(label))
    }

    /// movdqu m128, xmm.
    public mutating func movdqu(_ dst: Mem, _ src: XReg) {
        encode(prefix: 0xF3, opcode: [0x0F, 0x7F], reg: src.id, rm: .mem(dst))
    }

    /// movdqa xmm, xmm (a whole-register copy).
    public mutating func movdqa(_ dst: XReg, _ src: XReg) {
        packed(.movdqa, dst, src)
    }

    /// movq xmm, m64 (zeroes the upper half) / movd xmm, m32 (zeroes the rest).
    public mutating func movqLoad(_ w: Width, _ dst: XReg, _ src: Mem) {
        if w == .b64 {
            encode(prefix: 0xF3, opcode: [0x0F, 0x7E], reg: dst.id, rm: .mem(src))
        } else {
            encode(prefix: 0x66, opcode: [0x0F, 0x6E], reg: dst.id, rm: .mem(src))
        }
    }

    /// Shifts by an immediate: psllw/pslld/psllq, psrlw/psrld/psrlq, psraw/psrad, pslldq/psrldq.
    public enum PackedShift: Sendable, CaseIterable { case psllw, pslld, psllq, psrlw, psrld, psrlq, psraw, psrad, pslldq, psrldq }

    public mutating func packedShift(_ op: PackedShift, _ reg: XReg, imm: UInt8) {
        let (opcode, ext): (UInt8, UInt8) = switch op {
        case .psrlw: (0x71, 2)
        case .psraw: (0x71, 4)
        case .psllw: (0x71, 6)
        case .psrld: (0x72, 2)
        case .psrad: (0x72, 4)
        case .pslld: (0x72, 6)
        case .psrlq: (0x73, 2)
        case .psrldq: (0x73, 3)
        case .psllq: (0x73, 6)
        case .pslldq: (0x73, 7)
        }
        encode(prefix: 0x66, opcode: [0x0F, opcode], reg: ext, rm: .reg(reg.id), regIsRegister: false)
        byte(imm)
    }

    /// pmovmskb r32, xmm: one bit per byte's sign.
    public mutating func pmovmskb(_ dst: Reg, _ src: XReg) {
        encode(prefix: 0x66, opcode: [0x0F, 0xD7], reg: dst.id, rm: .reg(src.id))
    }

    /// movmskps (single) / movmskpd (double) r32, xmm.
    public mutating func movmsk(_ p: Precision, _ dst: Reg, _ src: XReg) {
        encode(prefix: p == .double ? 0x66 : nil, opcode: [0x0F, 0x50], reg: dst.id, rm: .reg(src.id))
    }

    /// pinsrb/pinsrw/pinsrd/pinsrq xmm, r, imm8.
    public mutating func pinsr(_ w: LaneWidth, _ dst: XReg, _ src: Reg, lane: UInt8) {
        pinsrEncode(w, dst, .reg(src.id), lane: lane)
    }

    /// pinsrb/pinsrw/pinsrd/pinsrq xmm, m, imm8.
    public mutating func pinsr(_ w: LaneWidth, _ dst: XReg, _ src: Mem, lane: UInt8) {
        pinsrEncode(w, dst, .mem(src), lane: lane)
    }

    private mutating func pinsrEncode(_ w: LaneWidth, _ dst: XReg, _ rm: RM, lane: UInt8) {
        let opcode: Opcode = switch w {
        case .b8: [0x0F, 0x3A, 0x20]
        case .b16: [0x0F, 0xC4]  // SSE2's pinsrw, outside the 0F 3A map
        case .b32, .b64: [0x0F, 0x3A, 0x22]
        }
        encode(prefix: 0x66, w: w == .b64, opcode: opcode, reg: dst.id, rm: rm)  // REX.W: pinsrq
        byte(lane)
    }

    /// pextrb/pextrw/pextrd/pextrq r, xmm, imm8 (b8/b16 zero-extend into the 32-bit register).
    public mutating func pextr(_ w: LaneWidth, _ dst: Reg, _ src: XReg, lane: UInt8) {
        pextrEncode(w, .reg(dst.id), src, lane: lane)
    }

    /// pextrb/pextrw/pextrd/pextrq m, xmm, imm8.
    public mutating func pextr(_ w: LaneWidth, _ dst: Mem, _ src: XReg, lane: UInt8) {
        pextrEncode(w, .mem(dst), src, lane: lane)
    }

    private mutating func pextrEncode(_ w: LaneWidth, _ rm: RM, _ src: XReg, lane: UInt8) {
        let opcode: Opcode = switch w {
        case .b8: [0x0F, 0x3A, 0x14]
        case .b16: [0x0F, 0x3A, 0x15]  // SSE4.1's form: unlike 0F C5, it can store to memory
        case .b32, .b64: [0x0F, 0x3A, 0x16]
        }
        encode(prefix: 0x66, w: w == .b64, opcode: opcode, reg: src.id, rm: rm)  // REX.W: pextrq
        byte(lane)
    }
}
