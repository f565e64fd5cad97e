import Testing
@testable import X64

/// Encodings checked against objdump over many operand combinations: every register in every
/// slot, every base and index register with each scale and displacement size.
@Suite("x86-64 encodings agree with objdump")
struct EncodingTests {
    static let regs = Reg.all
    static let indexes = Reg.all.filter { $0 != .rsp }
    static let displacements: [Int32] = [0, 8, -8, 127, -128, 128, 0x1234, -0x12345]

    static var memoryOperands: [Mem] {
        var result: [Mem] = []
        for base in regs {
            for disp in displacements { result.append(Mem(base, disp)) }
        }
        for index in indexes {
            for scale: UInt8 in [1, 2, 4, 8] {
                result.append(Mem(.rbx, index: index, scale: scale, disp: 16))
                result.append(Mem(.r13, index: index, scale: scale, disp: 0))
            }
        }
        for base in regs { result.append(Mem(base, index: .r9, scale: 8, disp: -300)) }
        return result
    }

    @Test func registerMoves() throws {
        var batch = EncodingBatch()
        for d in Self.regs {
            for s in Self.regs {
                batch.add("mov \(Names.reg(d, .b64)),\(Names.reg(s, .b64))") { $0.mov(.b64, d, s) }
                batch.add("mov \(Names.reg(d, .b32)),\(Names.reg(s, .b32))") { $0.mov(.b32, d, s) }
            }
        }
        try batch.check()
    }

    @Test func immediateMoves() throws {
        var batch = EncodingBatch()
        for d in Self.regs {
            let r32 = Names.reg(d, .b32), r64 = Names.reg(d, .b64)
            batch.add("mov \(r32),0x0") { $0.mov(.b64, d, imm: 0) }
            batch.add("mov \(r32),0xffffffff") { $0.mov(.b64, d, imm: 0xFFFF_FFFF) }
            batch.add("mov \(r64),0xffffffffffffffff") { $0.mov(.b64, d, imm: -1) }
            batch.add("mov \(r64),0xffffffff80000000") { $0.mov(.b64, d, imm: Int64(Int32.min)) }
            batch.add("movabs \(r64),0x123456789abcdef") { $0.mov(.b64, d, imm: 0x0123_4567_89AB_CDEF) }
            batch.add("movabs \(r64),0x8000000000000000") { $0.mov(.b64, d, imm: Int64.min) }
            batch.add("mov \(r32),0x12345678") { $0.mov(.b32, d, imm: 0x1234_5678) }
        }
        try batch.check()
    }

    @Test func loadsAndStores() throws {
        var batch = EncodingBatch()
        for m in Self.memoryOperands {
            let mt = Names.mem(m)
            for r in [Reg.rax, .rsi, .r9, .r15] {
                batch.add("movzx \(Names.reg(r, .b32)),BYTE PTR \(mt)") { $0.load(.b8, r, m) }
                batch.add("movzx \(Names.reg(r, .b32)),WORD PTR \(mt)") { $0.load(.b16, r, m) }
                batch.add("mov \(Names.reg(r, .b32)),DWORD PTR \(mt)") { $0.load(.b32, r, m) }
                batch.add("mov \(Names.reg(r, .b64)),QWORD PTR \(mt)") { $0.load(.b64, r, m) }
                batch.add("movsx \(Names.reg(r, .b64)),BYTE PTR \(mt)") { $0.loadSignExtended(from: .b8, to: .b64, r, m) }
                batch.add("movsx \(Names.reg(r, .b32)),WORD PTR \(mt)") { $0.loadSignExtended(from: .b16, to: .b32, r, m) }
                batch.add("movsxd \(Names.reg(r, .b64)),DWORD PTR \(mt)") { $0.loadSignExtended(from: .b32, to: .b64, r, m) }
                batch.add("mov QWORD PTR \(mt),\(Names.reg(r, .b64))") { $0.store(.b64, m, r) }
                batch.add("mov WORD PTR \(mt),\(Names.reg(r, .b16))") { $0.store(.b16, m, r) }
                batch.add("lea \(Names.reg(r, .b64)),\(mt)") { $0.lea(.b64, r, m) }
            }
            batch.add("mov DWORD PTR \(mt),0x7b") { $0.store(.b32, m, imm: 123) }
            batch.add("mov QWORD PTR \(mt),0xfffffffffffffff6") { $0.store(.b64, m, imm: -10) }
            batch.add("mov BYTE PTR \(mt),0x5") { $0.store(.b8, m, imm: 5) }
            batch.add("mov WORD PTR \(mt),0x1234") { $0.store(.b16, m, imm: 0x1234) }
        }
        // Byte stores from every register: spl..dil need REX, the others must not change meaning.
        for r in Self.regs {
            let m = Mem(.rdi, 4)
            batch.add("mov BYTE PTR [rdi+0x4],\(Names.reg(r, .b8))") { $0.store(.b8, m, r) }
            batch.add("mov DWORD PTR [rdi+0x4],\(Names.reg(r, .b32))") { $0.store(.b32, m, r) }
        }
        try batch.check()
    }

    @Test func arithmetic() throws {
        var batch = EncodingBatch()
        let names: [ALUOp: String] = [.add: "add", .or: "or", .adc: "adc", .sbb: "sbb", .and: "and", .sub: "sub", .xor: "xor", .cmp: "cmp"]
        for op in ALUOp.allCases {
            let n = names[op]!
            for d in Self.regs {
                for s in [Reg.rax, .rsp, .rdi, .r8, .r12, .r15] {
                    batch.add("\(n) \(Names.reg(d, .b64)),\(Names.reg(s, .b64))") { $0.alu(op, .b64, d, s) }
                    batch.add("\(n) \(Names.reg(s, .b32)),\(Names.reg(d, .b32))") { $0.alu(op, .b32, s, d) }
                }
                batch.add("\(n) \(Names.reg(d, .b32)),0x7f") { $0.alu(op, .b32, d, imm: 127) }
                batch.add("\(n) \(Names.reg(d, .b64)),0xffffffffffffff80") { $0.alu(op, .b64, d, imm: -128) }
                batch.add("\(n) \(Names.reg(d, .b32)),0x12345") { $0.alu(op, .b32, d, imm: 0x12345) }
                batch.add("\(n) \(Names.reg(d, .b64)),0xffffffff80000000") { $0.alu(op, .b64, d, imm: Int32.min) }
                let m = Mem(d, 0x40)
                batch.add("\(n) \(Names.reg(.r10, .b64)),QWORD PTR \(Names.mem(m))") { $0.alu(op, .b64, .r10, m) }
                batch.add("\(n) DWORD PTR \(Names.mem(m)),\(Names.reg(.rcx, .b32))") { $0.alu(op, .b32, m, .rcx) }
                batch.add("\(n) QWORD PTR \(Names.mem(m)),0x1000") { $0.alu(op, .b64, m, imm: 0x1000) }
                batch.add("\(n) BYTE PTR \(Names.mem(m)),0x1") { $0.alu(op, .b8, m, imm: 1) }
            }
        }
        for d in Self.regs {
            for s in [Reg.rbx, .rbp, .r9, .r14] {
                batch.add("imul \(Names.reg(d, .b64)),\(Names.reg(s, .b64))") { $0.imul(.b64, d, s) }
                batch.add("imul \(Names.reg(d, .b32)),\(Names.reg(s, .b32)),0xa") { $0.imul(.b32, d, s, imm: 10) }
                batch.add("imul \(Names.reg(d, .b64)),\(Names.reg(s, .b64)),0x3e8") { $0.imul(.b64, d, s, imm: 1000) }
                batch.add("test \(Names.reg(d, .b64)),\(Names.reg(s, .b64))") { $0.test(.b64, d, s) }
                batch.add("test \(Names.reg(d, .b8)),\(Names.reg(s, .b8))") { $0.test(.b8, d, s) }
                batch.add("xchg \(Names.reg(d, .b64)),\(Names.reg(s, .b64))") { $0.xchg(.b64, d, s) }
            }
            batch.add("test \(Names.reg(d, .b32)),0x100") { $0.test(.b32, d, imm: 0x100) }
            for (op, n) in [(UnaryOp.not, "not"), (.neg, "neg"), (.mul, "mul"), (.imul, "imul"), (.div, "div"), (.idiv, "idiv")] {
                batch.add("\(n) \(Names.reg(d, .b32))") { $0.unary(op, .b32, d) }
                batch.add("\(n) \(Names.reg(d, .b64))") { $0.unary(op, .b64, d) }
            }
            for (op, n) in [(ShiftOp.rol, "rol"), (.ror, "ror"), (.shl, "shl"), (.shr, "shr"), (.sar, "sar")] {
                batch.add("\(n) \(Names.reg(d, .b32)),cl") { $0.shift(op, .b32, d) }
                batch.add("\(n) \(Names.reg(d, .b64)),0x3f") { $0.shift(op, .b64, d, imm: 63) }
            }
            for (op, n) in [(BitCountOp.lzcnt, "lzcnt"), (.tzcnt, "tzcnt"), (.popcnt, "popcnt"), (.bsr, "bsr"), (.bsf, "bsf")] {
                batch.add("\(n) \(Names.reg(d, .b32)),\(Names.reg(.r11, .b32))") { $0.bitCount(op, .b32, d, .r11) }
                batch.add("\(n) \(Names.reg(.rsi, .b64)),\(Names.reg(d, .b64))") { $0.bitCount(op, .b64, .rsi, d) }
            }
            batch.add("bswap \(Names.reg(d, .b64))") { $0.bswap(.b64, d) }
        }
        batch.add("cdq") { $0.cdq() }
        batch.add("cqo") { $0.cqo() }
        try batch.check()
    }

    @Test func extensionsAndConditions() throws {
        var batch = EncodingBatch()
        for d in Self.regs {
            for s in Self.regs {
                batch.add("movzx \(Names.reg(d, .b32)),\(Names.reg(s, .b8))") { $0.movzx(from: .b8, d, s) }
                batch.add("movsx \(Names.reg(d, .b64)),\(Names.reg(s, .b8))") { $0.movsx(from: .b8, to: .b64, d, s) }
            }
            batch.add("movzx \(Names.reg(d, .b32)),\(Names.reg(.r12, .b16))") { $0.movzx(from: .b16, d, .r12) }
            batch.add("movsx \(Names.reg(d, .b32)),\(Names.reg(.rbp, .b16))") { $0.movsx(from: .b16, to: .b32, d, .rbp) }
            batch.add("movsxd \(Names.reg(d, .b64)),\(Names.reg(.rdi, .b32))") { $0.movsx(from: .b32, to: .b64, d, .rdi) }
            for c in Condition.allCases {
                let n = Names.conditions[Int(c.rawValue)]
                batch.add("set\(n) \(Names.reg(d, .b8))") { $0.setcc(c, d) }
                batch.add("cmov\(n) \(Names.reg(d, .b64)),\(Names.reg(.r13, .b64))") { $0.cmov(c, .b64, d, .r13) }
            }
        }
        try batch.check()
    }

    @Test func sse() throws {
        var batch = EncodingBatch()
        let ops: [(SSEOp, String)] = [(.sqrt, "sqrt"), (.add, "add"), (.mul, "mul"), (.sub, "sub"), (.min, "min"), (.div, "div"), (.max, "max")]
        let bitOps: [(SSEBitOp, String)] = [(.and, "and"), (.andn, "andn"), (.or, "or"), (.xor, "xor")]
        for d in XReg.all {
            for s in [XReg.xmm0, .xmm7, .xmm8, .xmm15] {
                for (op, n) in ops {
                    batch.add("\(n)ss \(d),\(s)") { $0.sse(op, .single, d, s) }
                    batch.add("\(n)sd \(s),\(d)") { $0.sse(op, .double, s, d) }
                }
                for (op, n) in bitOps {
                    batch.add("\(n)ps \(d),\(s)") { $0.sseBit(op, .single, d, s) }
                    batch.add("\(n)pd \(d),\(s)") { $0.sseBit(op, .double, d, s) }
                }
                batch.add("ucomiss \(d),\(s)") { $0.ucomis(.single, d, s) }
                batch.add("ucomisd \(d),\(s)") { $0.ucomis(.double, d, s) }
                batch.add("movaps \(d),\(s)") { $0.fmov(d, s) }
                batch.add("cvtss2sd \(d),\(s)") { $0.cvts2s(to: .double, d, s) }
                batch.add("cvtsd2ss \(d),\(s)") { $0.cvts2s(to: .single, d, s) }
                batch.add("roundss \(d),\(s),0x9") { $0.round(.single, d, s, mode: 9) }
                batch.add("roundsd \(d),\(s),0xb") { $0.round(.double, d, s, mode: 11) }
                batch.add("pxor \(d),\(s)") { $0.pxor(d, s) }
            }
            for r in [Reg.rax, .rsp, .r8, .r15] {
                batch.add("movd \(d),\(Names.reg(r, .b32))") { $0.movq(.b32, d, r) }
                batch.add("movq \(d),\(Names.reg(r, .b64))") { $0.movq(.b64, d, r) }
                batch.add("movd \(Names.reg(r, .b32)),\(d)") { $0.movq(.b32, r, d) }
                batch.add("movq \(Names.reg(r, .b64)),\(d)") { $0.movq(.b64, r, d) }
                batch.add("cvtsi2ss \(d),\(Names.reg(r, .b32))") { $0.cvtsi2s(.single, from: .b32, d, r) }
                batch.add("cvtsi2sd \(d),\(Names.reg(r, .b64))") { $0.cvtsi2s(.double, from: .b64, d, r) }
                batch.add("cvttss2si \(Names.reg(r, .b64)),\(d)") { $0.cvtts2si(.single, to: .b64, r, d) }
                batch.add("cvttsd2si \(Names.reg(r, .b32)),\(d)") { $0.cvtts2si(.double, to: .b32, r, d) }
            }
        }
        for m in Self.memoryOperands {
            batch.add("movss xmm3,DWORD PTR \(Names.mem(m))") { $0.fload(.single, .xmm3, m) }
            batch.add("movsd xmm12,QWORD PTR \(Names.mem(m))") { $0.fload(.double, .xmm12, m) }
            batch.add("movss DWORD PTR \(Names.mem(m)),xmm9") { $0.fstore(.single, m, .xmm9) }
            batch.add("movsd QWORD PTR \(Names.mem(m)),xmm0") { $0.fstore(.double, m, .xmm0) }
        }
        try batch.check()
    }

    @Test func controlFlowAndLabels() throws {
        var batch = EncodingBatch()
        let back = batch.asm.newLabel()
        batch.asm.bind(back)  // offset 0
        let forward = batch.asm.newLabel()
        for r in Self.regs {
            batch.add("push \(Names.reg(r, .b64))") { $0.push(r) }
            batch.add("pop \(Names.reg(r, .b64))") { $0.pop(r) }
            batch.add("call \(Names.reg(r, .b64))") { $0.call(r) }
            batch.add("jmp \(Names.reg(r, .b64))") { $0.jmp(r) }
            let m = Mem(r, 24)
            batch.add("call QWORD PTR \(Names.mem(m))") { $0.call(m) }
            batch.add("jmp QWORD PTR \(Names.mem(m))") { $0.jmp(m) }
        }
        batch.add("jmp 0x0") { $0.jmp(back) }
        for c in Condition.allCases {
            batch.add("j\(Names.conditions[Int(c.rawValue)]) 0x0") { $0.jcc(c, back) }
        }
        batch.add("call 0x0") { $0.call(back) }
        // Forward references: their targets are known only once the label is bound below.
        var forwardTexts: [Int] = []
        forwardTexts.append(batch.expected.count)
        batch.add("jmp FORWARD") { $0.jmp(forward) }
        forwardTexts.append(batch.expected.count)
        batch.add("jne FORWARD") { $0.jcc(.ne, forward) }
        forwardTexts.append(batch.expected.count)
        batch.add("call FORWARD") { $0.call(forward) }
        forwardTexts.append(batch.expected.count)
        batch.add("lea rax,[rip+0x0]") { $0.lea(.rax, forward) }  // displacement patched below
        batch.add("ret") { $0.ret() }
        batch.add("ud2") { $0.ud2() }
        batch.add("int3") { $0.int3() }
        batch.add("nop") { $0.nop() }
        batch.add("push 0x1234") { $0.push(imm: 0x1234) }
        let target = batch.asm.offset
        batch.asm.bind(forward)
        batch.add("nop") { $0.nop() }
        let hex = "0x" + String(target, radix: 16)
        for i in forwardTexts.dropLast() { batch.expected[i] = batch.expected[i].replacingOccurrences(of: "FORWARD", with: hex) }
        // lea rax,[rip+disp]: disp = target - end of the lea (ret, ud2, int3, nop, push = 10 bytes).
        batch.expected[forwardTexts.last!] = "lea rax,[rip+0xa]"
        try batch.check()
        #expect(batch.asm.labelOffset(forward) == target)
    }

    @Test func cpuFeaturesAreRead() {
        // Every x86-64 CPU this project targets (and CI's) has these; the point is that CPUID runs.
        #expect(CPUFeatures.hasSSE41)
        #expect(CPUFeatures.hasPOPCNT)
        _ = CPUFeatures.hasLZCNT
        _ = CPUFeatures.hasBMI1
    }
}
