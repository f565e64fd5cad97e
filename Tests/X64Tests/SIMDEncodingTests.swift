import Testing
@testable import X64

/// Packed SSE2/SSSE3/SSE4.1 encodings (Assembler+SIMD.swift), checked against objdump for every
/// register in each operand position and every memory-operand shape.
@Suite("x86-64 packed SIMD encodings agree with objdump")
struct SIMDEncodingTests {
    static let binary: [(PackedOp, String)] = [
        (.paddb, "paddb"), (.paddw, "paddw"), (.paddd, "paddd"), (.paddq, "paddq"), (.psubb, "psubb"), (.psubw, "psubw"),
        (.psubd, "psubd"), (.psubq, "psubq"), (.pmullw, "pmullw"), (.pmuludq, "pmuludq"), (.pmulhw, "pmulhw"),
        (.pmulhuw, "pmulhuw"), (.pmaddwd, "pmaddwd"), (.paddsb, "paddsb"), (.paddsw, "paddsw"), (.paddusb, "paddusb"),
        (.paddusw, "paddusw"), (.psubsb, "psubsb"), (.psubsw, "psubsw"), (.psubusb, "psubusb"), (.psubusw, "psubusw"),
        (.pminub, "pminub"), (.pmaxub, "pmaxub"), (.pminsw, "pminsw"), (.pmaxsw, "pmaxsw"), (.pavgb, "pavgb"),
        (.pavgw, "pavgw"), (.pand, "pand"), (.pandn, "pandn"), (.por, "por"), (.pxor, "pxor"), (.pcmpeqb, "pcmpeqb"),
        (.pcmpeqw, "pcmpeqw"), (.pcmpeqd, "pcmpeqd"), (.pcmpgtb, "pcmpgtb"), (.pcmpgtw, "pcmpgtw"), (.pcmpgtd, "pcmpgtd"),
        (.packsswb, "packsswb"), (.packuswb, "packuswb"), (.packssdw, "packssdw"), (.punpcklbw, "punpcklbw"),
        (.punpcklwd, "punpcklwd"), (.punpckldq, "punpckldq"), (.punpcklqdq, "punpcklqdq"), (.punpckhbw, "punpckhbw"),
        (.punpckhwd, "punpckhwd"), (.punpckhdq, "punpckhdq"), (.punpckhqdq, "punpckhqdq"), (.psllw, "psllw"),
        (.pslld, "pslld"), (.psllq, "psllq"), (.psrlw, "psrlw"), (.psrld, "psrld"), (.psrlq, "psrlq"), (.psraw, "psraw"),
        (.psrad, "psrad"), (.movdqa, "movdqa"), (.movdqu, "movdqu"),
        (.addps, "addps"), (.addpd, "addpd"), (.subps, "subps"), (.subpd, "subpd"), (.mulps, "mulps"), (.mulpd, "mulpd"),
        (.divps, "divps"), (.divpd, "divpd"), (.minps, "minps"), (.minpd, "minpd"), (.maxps, "maxps"), (.maxpd, "maxpd"),
        (.sqrtps, "sqrtps"), (.sqrtpd, "sqrtpd"), (.andps, "andps"), (.andnps, "andnps"), (.orps, "orps"), (.xorps, "xorps"),
        (.cvtdq2ps, "cvtdq2ps"), (.cvttps2dq, "cvttps2dq"), (.cvtdq2pd, "cvtdq2pd"), (.cvttpd2dq, "cvttpd2dq"),
        (.cvtps2pd, "cvtps2pd"), (.cvtpd2ps, "cvtpd2ps"), (.unpcklps, "unpcklps"), (.unpcklpd, "unpcklpd"), (.movsd, "movsd"),
        (.pshufb, "pshufb"), (.pabsb, "pabsb"), (.pabsw, "pabsw"), (.pabsd, "pabsd"), (.pmulhrsw, "pmulhrsw"),
        (.pmaddubsw, "pmaddubsw"), (.pmovsxbw, "pmovsxbw"), (.pmovsxwd, "pmovsxwd"), (.pmovsxdq, "pmovsxdq"),
        (.pmovzxbw, "pmovzxbw"), (.pmovzxwd, "pmovzxwd"), (.pmovzxdq, "pmovzxdq"), (.pminsb, "pminsb"), (.pminsd, "pminsd"),
        (.pminuw, "pminuw"), (.pminud, "pminud"), (.pmaxsb, "pmaxsb"), (.pmaxsd, "pmaxsd"), (.pmaxuw, "pmaxuw"),
        (.pmaxud, "pmaxud"), (.pmulld, "pmulld"), (.pmuldq, "pmuldq"), (.pcmpeqq, "pcmpeqq"), (.packusdw, "packusdw"),
        (.ptest, "ptest"),
    ]

    static let withImmediate: [(PackedOp, String)] = [
        (.pshufd, "pshufd"), (.pshuflw, "pshuflw"), (.pshufhw, "pshufhw"), (.shufps, "shufps"), (.shufpd, "shufpd"),
        (.roundps, "roundps"), (.roundpd, "roundpd"), (.pblendw, "pblendw"), (.blendps, "blendps"), (.insertps, "insertps"),
        (.palignr, "palignr"),
    ]

    static let sources: [XReg] = [.xmm0, .xmm5, .xmm8, .xmm15]

    @Test func registerForms() throws {
        var batch = EncodingBatch()
        for d in XReg.all {
            for s in Self.sources {
                for (op, n) in Self.binary { batch.add("\(n) \(d),\(s)") { $0.packed(op, d, s) } }
                for (op, n) in Self.withImmediate { batch.add("\(n) \(d),\(s),0x1b") { $0.packed(op, d, s, imm: 0x1B) } }
                for (imm, n) in [(0, "cmpeq"), (1, "cmplt"), (2, "cmple"), (3, "cmpunord"), (4, "cmpneq")] as [(UInt8, String)] {
                    batch.add("\(n)ps \(d),\(s)") { $0.packed(.cmpps, d, s, imm: imm) }
                    batch.add("\(n)pd \(d),\(s)") { $0.packed(.cmppd, d, s, imm: imm) }
                }
                batch.add("movdqa \(d),\(s)") { $0.movdqa(d, s) }
            }
            let shifts: [(Assembler.PackedShift, String)] = [(.psllw, "psllw"), (.pslld, "pslld"), (.psllq, "psllq"), (.psrlw, "psrlw"),
                (.psrld, "psrld"), (.psrlq, "psrlq"), (.psraw, "psraw"), (.psrad, "psrad"), (.pslldq, "pslldq"), (.psrldq, "psrldq")]
            for (op, n) in shifts { batch.add("\(n) \(d),0x7") { $0.packedShift(op, d, imm: 7) } }
            for r in [Reg.rax, .rsp, .rdi, .r8, .r11, .r15] {
                let r32 = Names.reg(r, .b32), r64 = Names.reg(r, .b64)
                batch.add("pmovmskb \(r32),\(d)") { $0.pmovmskb(r, d) }
                batch.add("movmskps \(r32),\(d)") { $0.movmsk(.single, r, d) }
                batch.add("movmskpd \(r32),\(d)") { $0.movmsk(.double, r, d) }
                batch.add("pinsrb \(d),\(r32),0xf") { $0.pinsr(.b8, d, r, lane: 15) }
                batch.add("pinsrw \(d),\(r32),0x7") { $0.pinsr(.b16, d, r, lane: 7) }
                batch.add("pinsrd \(d),\(r32),0x3") { $0.pinsr(.b32, d, r, lane: 3) }
                batch.add("pinsrq \(d),\(r64),0x1") { $0.pinsr(.b64, d, r, lane: 1) }
                batch.add("pextrb \(r32),\(d),0xf") { $0.pextr(.b8, r, d, lane: 15) }
                batch.add("pextrw \(r32),\(d),0x7") { $0.pextr(.b16, r, d, lane: 7) }
                batch.add("pextrd \(r32),\(d),0x3") { $0.pextr(.b32, r, d, lane: 3) }
                batch.add("pextrq \(r64),\(d),0x1") { $0.pextr(.b64, r, d, lane: 1) }
            }
        }
        try batch.check()
    }

    @Test func memoryForms() throws {
        var batch = EncodingBatch()
        for m in EncodingTests.memoryOperands {
            let mem = Names.mem(m)
            batch.add("movdqu xmm3,XMMWORD PTR \(mem)") { $0.movdqu(.xmm3, m) }
            batch.add("movdqu XMMWORD PTR \(mem),xmm12") { $0.movdqu(m, .xmm12) }
            batch.add("movq xmm9,QWORD PTR \(mem)") { $0.movqLoad(.b64, .xmm9, m) }
            batch.add("movd xmm1,DWORD PTR \(mem)") { $0.movqLoad(.b32, .xmm1, m) }
            batch.add("pmovsxbw xmm14,QWORD PTR \(mem)") { $0.packed(.pmovsxbw, .xmm14, m) }
            batch.add("pmovzxdq xmm2,QWORD PTR \(mem)") { $0.packed(.pmovzxdq, .xmm2, m) }
            batch.add("pinsrb xmm4,BYTE PTR \(mem),0x5") { $0.pinsr(.b8, .xmm4, m, lane: 5) }
            batch.add("pinsrw xmm10,WORD PTR \(mem),0x5") { $0.pinsr(.b16, .xmm10, m, lane: 5) }
            batch.add("pinsrd xmm0,DWORD PTR \(mem),0x2") { $0.pinsr(.b32, .xmm0, m, lane: 2) }
            batch.add("pinsrq xmm15,QWORD PTR \(mem),0x1") { $0.pinsr(.b64, .xmm15, m, lane: 1) }
            batch.add("pextrb BYTE PTR \(mem),xmm7,0x9") { $0.pextr(.b8, m, .xmm7, lane: 9) }
            batch.add("pextrw WORD PTR \(mem),xmm8,0x3") { $0.pextr(.b16, m, .xmm8, lane: 3) }
            batch.add("pextrd DWORD PTR \(mem),xmm11,0x1") { $0.pextr(.b32, m, .xmm11, lane: 1) }
            batch.add("pextrq QWORD PTR \(mem),xmm6,0x1") { $0.pextr(.b64, m, .xmm6, lane: 1) }
        }
        try batch.check()
    }

    @Test func ripRelativeConstantLoads() throws {
        var batch = EncodingBatch()
        for d in XReg.all {
            // The label is bound right after the instruction, then 16 bytes on: rel32 = 0, 16 ...
            batch.add("movdqu \(d),XMMWORD PTR [rip+0x0]") {
                let label = $0.newLabel()
                $0.movdqu(d, label)
                $0.bind(label)
            }
        }
        try batch.check()
    }

    @Test func simdFeaturesAreRead() {
        // Every x86-64 CPU this project runs on has them; the compiler refuses SIMD code otherwise.
        #expect(CPUFeatures.hasSSSE3)
        #expect(CPUFeatures.hasSSE41)
    }
}
