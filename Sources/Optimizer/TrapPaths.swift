import RuntimeABI
import X64

/// The out-of-line code at the end of every compiled function: the trap stubs and the slow paths
/// of the yield and fuel checks. Both tiers use it, because the runtime relies on its shape
/// whichever tier compiled a function: a stub puts the trap code in esi and its own address in
/// rdx and jumps to the module's trap exit, and it lies inside the function's code so that the
/// PC names the function.
///
/// Labels are made on first use: a function gets a stub only for the traps it can raise.
public struct TrapPaths {
    var labels: [TrapCode: Label] = [:]
    /// Out-of-line yield and fuel paths: where each starts and where it returns to.
    var slowPaths: [(kind: SlowPath, label: Label, resume: Label)] = []
    enum SlowPath { case yield, fuel }
    /// The stub for a trap whose code a builtin returned in eax.
    var dynamic: Label?

    public init() {}

    /// The stub for `code`.
    public mutating func label(_ code: TrapCode, _ asm: inout Assembler) -> Label {
        if let label = labels[code] { return label }
        let label = asm.newLabel()
        labels[code] = label
        return label
    }

    /// Branches to the trap path when eax (a builtin's result) is non-zero; the trap code is eax.
    public mutating func trapIfEAXNonZero(_ asm: inout Assembler) {
        let label = dynamic ?? asm.newLabel()
        dynamic = label
        asm.test(.b32, .rax, .rax)
        asm.jcc(.ne, label)
    }

    /// `cmp rsp, [vmctx.stackLimit]; jb slow`. The limit is the stack's real limit, or the maximum
    /// when the runtime asks for a yield; the slow path tells the two apart.
    public mutating func emitYieldCheck(_ asm: inout Assembler, vmctx: Reg) {
        let slow = asm.newLabel()
        let resume = asm.newLabel()
        asm.alu(.cmp, .b64, .rsp, Mem(vmctx, Int32(VMContextLayout.stackLimit)))
        asm.jcc(.b, slow)
        asm.bind(resume)
        slowPaths.append((.yield, slow, resume))
    }

    /// `sub qword [vmctx.fuel], 1; jl slow`: one unit of fuel per function entry and loop iteration.
    public mutating func emitFuelCheck(_ asm: inout Assembler, vmctx: Reg) {
        let slow = asm.newLabel()
        let resume = asm.newLabel()
        asm.alu(.sub, .b64, Mem(vmctx, Int32(VMContextLayout.fuel)), imm: 1)
        asm.jcc(.l, slow)
        asm.bind(resume)
        slowPaths.append((.fuel, slow, resume))
    }

    /// Emits the slow paths, then the stubs (in trap-code order, so that the same function
    /// always gets the same code). `callBuiltin` calls a builtin that takes only the vmctx,
    /// saving whatever the tier keeps in registers at a check.
    public mutating func emit(_ asm: inout Assembler, vmctx: Reg, trapExit: Label,
                              callBuiltin: (Builtin, inout Assembler) -> Void) {
        for path in slowPaths {
            asm.bind(path.label)
            switch path.kind {
            case .yield:
                // Below the real limit: overflow. Otherwise a yield was requested.
                asm.alu(.cmp, .b64, .rsp, Mem(vmctx, Int32(VMContextLayout.realStackLimit)))
                let overflow = label(.callStackExhausted, &asm)
                asm.jcc(.b, overflow)
                callBuiltin(.yield, &asm)
            case .fuel:
                callBuiltin(.outOfFuel, &asm)
            }
            trapIfEAXNonZero(&asm)
            asm.jmp(path.resume)
        }
        for (code, label) in labels.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            asm.bind(label)
            if code == .callStackExhausted { asm.mov(.b64, .rsp, .rbp) }  // back onto the good stack
            asm.mov(.b32, .rsi, imm: Int64(code.rawValue))
            asm.lea(.rdx, label)
            asm.jmp(trapExit)
        }
        if let label = dynamic {
            asm.bind(label)
            asm.mov(.b32, .rsi, .rax)
            asm.lea(.rdx, label)
            asm.jmp(trapExit)
        }
    }
}
