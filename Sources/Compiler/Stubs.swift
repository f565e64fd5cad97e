import RuntimeABI
import X64

/// The per-module stubs that connect generated code to the runtime. See `CompiledModule` for the
/// calling convention they implement.
enum Stubs {
    /// Most slots an entry may pass (params or results of one function type): far more than any
    /// stack holds, and small enough that `count * 8` cannot overflow.
    static let maxEntrySlots = 1 << 28

    /// `(rdi vmctx, rsi code, rdx slots, rcx count) -> eax trap code`, System V.
    ///
    /// Frame, from `rbp` down: the caller's rbx, r12, r13, r14, r15 (saved: generated code clobbers
    /// all of them but r14/r15), the slots pointer `[rbp-48]` and count `[rbp-56]` (kept in memory,
    /// not in registers, because nothing but rbp, r14 and r15 survives a call into generated code),
    /// then the previous entrySP, which puts rsp on a 16-byte boundary. The slot area below is
    /// rounded to 16 bytes and is checked against the real stack limit before a byte is written:
    /// a signature of tens of thousands of values traps with "call stack exhausted" instead of
    /// copying below the stack.
    static func emitEntryTrampoline(_ asm: inout Assembler, restore: Label) {
        let state = Reg.rbx
        let exhausted = asm.newLabel()
        asm.push(.rbp)
        asm.mov(.b64, .rbp, .rsp)
        asm.push(.rbx)
        asm.push(.r12)
        asm.push(.r13)
        asm.push(.r14)
        asm.push(.r15)
        asm.push(.rdx)
        asm.push(.rcx)
        asm.mov(.b64, .r14, .rdi)
        asm.load(.b64, state, Mem(.r14, Int32(VMContextLayout.executionState)))
        asm.load(.b64, .rax, Mem(state, Int32(ExecutionStateLayout.entrySP)))
        asm.push(.rax)
        asm.store(.b64, Mem(state, Int32(ExecutionStateLayout.entrySP)), .rsp)
        // r11 = rsp - round_up(count * 8, 16), checked against the real limit before use.
        asm.mov(.b64, .rax, .rcx)
        asm.alu(.cmp, .b64, .rax, imm: Int32(maxEntrySlots))
        asm.jcc(.a, exhausted)
        asm.shift(.shl, .b64, .rax, imm: 3)
        asm.alu(.add, .b64, .rax, imm: 15)
        asm.alu(.and, .b64, .rax, imm: -16)
        asm.mov(.b64, .r11, .rsp)
        asm.alu(.sub, .b64, .r11, .rax)
        asm.jcc(.b, exhausted)  // below address 0
        asm.alu(.cmp, .b64, .r11, Mem(.r14, Int32(VMContextLayout.realStackLimit)))
        asm.jcc(.b, exhausted)
        asm.mov(.b64, .rsp, .r11)
        asm.mov(.b64, .r8, .rcx)
        copySlots(&asm, count: .r8, from: { Mem(.rdx, index: $0, scale: 8) }, to: { Mem(.rsp, index: $0, scale: 8) })
        asm.mov(.b64, .rdi, .r14)
        asm.call(.rsi)
        // Only rbp (and r14/r15) survive the call: reload the slots pointer and count from the frame.
        asm.load(.b64, .rdx, Mem(.rbp, -48))
        asm.load(.b64, .r8, Mem(.rbp, -56))
        copySlots(&asm, count: .r8, from: { Mem(.rsp, index: $0, scale: 8) }, to: { Mem(.rdx, index: $0, scale: 8) })
        asm.alu(.xor, .b32, .rax, .rax)
        // The common exit, also reached from the trap exit with eax = trap code. r14 is a vmctx
        // of this store either way (restored by the callee, or the trapping instance's); rbp is
        // not relied on (a trap leaves the trapping frame's there).
        asm.bind(restore)
        asm.load(.b64, state, Mem(.r14, Int32(VMContextLayout.executionState)))
        asm.load(.b64, .rsp, Mem(state, Int32(ExecutionStateLayout.entrySP)))
        asm.pop(.rcx)
        asm.store(.b64, Mem(state, Int32(ExecutionStateLayout.entrySP)), .rcx)
        asm.alu(.add, .b64, .rsp, imm: 16)  // the slots pointer and count
        asm.pop(.r15)
        asm.pop(.r14)
        asm.pop(.r13)
        asm.pop(.r12)
        asm.pop(.rbx)
        asm.pop(.rbp)
        asm.ret()
        // The slot area does not fit: record "call stack exhausted" (no frames to walk; the PC is
        // the callee's entry, so the backtrace names it) and leave through the common exit.
        asm.bind(exhausted)
        asm.store(.b64, Mem(state, Int32(ExecutionStateLayout.trapCode)), imm: Int32(TrapCode.callStackExhausted.rawValue))
        asm.store(.b64, Mem(state, Int32(ExecutionStateLayout.trapPC)), .rsi)
        asm.store(.b64, Mem(state, Int32(ExecutionStateLayout.trapFP)), imm: 0)
        asm.store(.b64, Mem(state, Int32(ExecutionStateLayout.backtraceCount)), imm: 0)
        asm.mov(.b32, .rax, imm: Int64(TrapCode.callStackExhausted.rawValue))
        asm.jmp(restore)
    }

    /// for rcx in 0..<count { to[rcx] = from[rcx] } using rax and rcx.
    private static func copySlots(_ asm: inout Assembler, count: Reg, from: (Reg) -> Mem, to: (Reg) -> Mem) {
        let loop = asm.newLabel()
        let done = asm.newLabel()
        asm.alu(.xor, .b32, .rcx, .rcx)
        asm.bind(loop)
        asm.alu(.cmp, .b64, .rcx, count)
        asm.jcc(.ae, done)
        asm.load(.b64, .rax, from(.rcx))
        asm.store(.b64, to(.rcx), .rax)
        asm.alu(.add, .b64, .rcx, imm: 1)
        asm.jmp(loop)
        asm.bind(done)
    }

    /// esi = trap code, rdx = trapping PC, r14 = the trapping instance's vmctx. Records the trap
    /// (and the backtrace, while the frames exist), then unwinds to the entry trampoline.
    static func emitTrapExit(_ asm: inout Assembler, trapExit: Label, restore: Label) {
        asm.bind(trapExit)
        asm.mov(.b64, .rcx, .rbp)
        asm.mov(.b64, .rdi, .r14)
        asm.alu(.and, .b64, .rsp, imm: -16)
        asm.load(.b64, .rax, Mem(.r14, Int32(VMContextLayout.builtins)))
        asm.call(Mem(.rax, Int32(8 * Builtin.recordTrap.rawValue)))
        asm.load(.b64, .rbx, Mem(.r14, Int32(VMContextLayout.executionState)))
        asm.load(.b32, .rax, Mem(.rbx, Int32(ExecutionStateLayout.trapCode)))
        asm.jmp(restore)
    }

    /// Called like a WebAssembly function with a host context in rdi instead of a vmctx. Tries the
    /// context's inline entry first, if it has one, with (inline target, the caller's memory base
    /// and size, args-and-results): when that returns true the call is done. Otherwise calls the
    /// context's entry with (context, caller vmctx, args-and-results) and traps on a non-zero
    /// result. rsp is 16-byte aligned at both calls (8 below it at entry, then rbp, then two
    /// words around the first call).
    static func emitHostStub(_ asm: inout Assembler, trapExit: Label) {
        let trap = asm.newLabel()
        let regular = asm.newLabel()
        asm.push(.rbp)
        asm.mov(.b64, .rbp, .rsp)
        asm.load(.b64, .rax, Mem(.rdi, Int32(HostContextLayout.inlineEntry)))
        asm.test(.b64, .rax, .rax)
        asm.jcc(.e, regular)
        asm.test(.b64, .r14, .r14)
        asm.jcc(.e, regular)
        asm.push(.rdi)
        asm.push(.rdi)
        asm.load(.b64, .rdi, Mem(.rdi, Int32(HostContextLayout.inlineTarget)))
        asm.load(.b64, .rsi, Mem(.r14, Int32(VMContextLayout.memoryBase)))
        asm.load(.b64, .rdx, Mem(.r14, Int32(VMContextLayout.memorySize)))
        asm.lea(.b64, .rcx, Mem(.rbp, 16))
        asm.call(.rax)
        asm.pop(.rdi)
        asm.pop(.rdi)
        asm.test(.b8, .rax, .rax)
        asm.jcc(.e, regular)
        asm.alu(.xor, .b32, .rax, .rax)
        asm.pop(.rbp)
        asm.ret()
        asm.bind(regular)
        asm.mov(.b64, .rsi, .r14)
        asm.lea(.b64, .rdx, Mem(.rbp, 16))
        asm.call(Mem(.rdi, Int32(HostContextLayout.entry)))
        asm.test(.b32, .rax, .rax)
        asm.jcc(.ne, trap)
        asm.pop(.rbp)
        asm.ret()
        asm.bind(trap)
        asm.mov(.b32, .rsi, .rax)
        asm.lea(.rdx, trap)
        asm.jmp(trapExit)
    }
}
