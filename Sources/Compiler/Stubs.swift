import RuntimeABI
import X64

/// The per-module stubs that connect generated code to the runtime. See `CompiledModule` for the
/// calling convention they implement.
enum Stubs {
    /// `(rdi vmctx, rsi code, rdx slots, rcx count) -> eax trap code`, System V.
    ///
    /// Frame after the pushes: rbp, rbx, r12, r13, r14, r15, then the previous entrySP, which puts
    /// rsp back on a 16-byte boundary; the slot area below it is rounded to 16 bytes too.
    static func emitEntryTrampoline(_ asm: inout Assembler, restore: Label) {
        let state = Reg.rbx
        asm.push(.rbp)
        asm.mov(.b64, .rbp, .rsp)
        asm.push(.rbx)
        asm.push(.r12)
        asm.push(.r13)
        asm.push(.r14)
        asm.push(.r15)
        asm.mov(.b64, .r14, .rdi)
        asm.mov(.b64, .r12, .rdx)
        asm.mov(.b64, .r13, .rcx)
        asm.load(.b64, state, Mem(.r14, Int32(VMContextLayout.executionState)))
        asm.load(.b64, .rax, Mem(state, Int32(ExecutionStateLayout.entrySP)))
        asm.push(.rax)
        asm.store(.b64, Mem(state, Int32(ExecutionStateLayout.entrySP)), .rsp)
        // rsp -= round_up(count * 8, 16)
        asm.mov(.b64, .rax, .r13)
        asm.shift(.shl, .b64, .rax, imm: 3)
        asm.alu(.add, .b64, .rax, imm: 15)
        asm.alu(.and, .b64, .rax, imm: -16)
        asm.alu(.sub, .b64, .rsp, .rax)
        copySlots(&asm, from: { Mem(.r12, index: $0, scale: 8) }, to: { Mem(.rsp, index: $0, scale: 8) })
        asm.mov(.b64, .rdi, .r14)
        asm.call(.rsi)
        copySlots(&asm, from: { Mem(.rsp, index: $0, scale: 8) }, to: { Mem(.r12, index: $0, scale: 8) })
        asm.alu(.xor, .b32, .rax, .rax)
        // The common exit, also reached from the trap exit with eax = trap code. r14 is a vmctx
        // of this store either way (restored by the callee, or the trapping instance's).
        asm.bind(restore)
        asm.load(.b64, state, Mem(.r14, Int32(VMContextLayout.executionState)))
        asm.load(.b64, .rsp, Mem(state, Int32(ExecutionStateLayout.entrySP)))
        asm.pop(.rcx)
        asm.store(.b64, Mem(state, Int32(ExecutionStateLayout.entrySP)), .rcx)
        asm.pop(.r15)
        asm.pop(.r14)
        asm.pop(.r13)
        asm.pop(.r12)
        asm.pop(.rbx)
        asm.pop(.rbp)
        asm.ret()
    }

    /// for rcx in 0..<r13 { to[rcx] = from[rcx] } using rax.
    private static func copySlots(_ asm: inout Assembler, from: (Reg) -> Mem, to: (Reg) -> Mem) {
        let loop = asm.newLabel()
        let done = asm.newLabel()
        asm.alu(.xor, .b32, .rcx, .rcx)
        asm.bind(loop)
        asm.alu(.cmp, .b64, .rcx, .r13)
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

    /// Called like a WebAssembly function with a host context in rdi instead of a vmctx; calls the
    /// context's entry with (context, caller vmctx, args-and-results) and traps on a non-zero result.
    static func emitHostStub(_ asm: inout Assembler, trapExit: Label) {
        let trap = asm.newLabel()
        asm.push(.rbp)
        asm.mov(.b64, .rbp, .rsp)
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
