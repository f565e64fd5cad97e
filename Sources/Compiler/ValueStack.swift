import WasmCore
import X64

/// Where a value on the compiler's operand stack lives at this point of the generated code.
///
/// `slot` means the value's canonical spill slot, which is fixed by its depth on the stack (see
/// `FrameLayout`), so that every path into a control-flow merge agrees on where values are.
enum Location: Equatable {
    case imm(UInt64)
    case gpr(Reg)
    case xmm(XReg)
    case slot
}

/// One operand of the WebAssembly value stack, as the single-pass compiler tracks it.
struct StackEntry {
    var type: ValueType
    var location: Location
}

/// A small set of registers, by hardware number.
struct RegisterSet {
    var bits: UInt16

    init(_ ids: [UInt8]) {
        bits = 0
        for id in ids { bits |= 1 << id }
    }

    func contains(_ id: UInt8) -> Bool { bits & (1 << id) != 0 }
    mutating func insert(_ id: UInt8) { bits |= 1 << id }
    mutating func remove(_ id: UInt8) { bits &= ~(1 << id) }
    /// The lowest-numbered member.
    var first: UInt8? { bits == 0 ? nil : UInt8(bits.trailingZeroBitCount) }
}

/// Which registers the compiler allocates, and which it keeps for itself.
///
/// `r14` (vmctx) and `r15` (memory base) are pinned for the whole function; `rbp`/`rsp` frame it;
/// `r11` and `xmm15` are scratch registers that are never allocated, so any code sequence may use
/// them without asking.
enum Registers {
    static let allocatableGPRs: [Reg] = [.rax, .rcx, .rdx, .rbx, .rsi, .rdi, .r8, .r9, .r10, .r12, .r13]
    static let allocatableXMMs: [XReg] = [.xmm0, .xmm1, .xmm2, .xmm3, .xmm4, .xmm5, .xmm6, .xmm7,
                                          .xmm8, .xmm9, .xmm10, .xmm11, .xmm12, .xmm13, .xmm14]
    static let vmctx = Reg.r14
    static let memoryBase = Reg.r15
    static let scratch = Reg.r11
    static let scratchXMM = XReg.xmm15
}

/// The stack frame of a compiled function.
///
/// ```
///   [rbp + 16 + 8*i]   argument i on entry, result i on return (the caller's outgoing area)
///   [rbp + 8]          return address
///   [rbp]              caller's rbp
///   [rbp - 8]          caller's r14 (vmctx)
///   [rbp - 16]         caller's r15 (memory base)
///   [rbp - 16 - 8*(j+1)]               declared local j (after the params)
///   [rbp - 16 - 8*L - 8*(k+1)]         spill slot of the operand at stack depth k
///   [rsp + 8*i]                        outgoing arguments/results of calls made by this function
/// ```
/// The frame size is known only at the end of the function and is patched into the prologue.
struct FrameLayout {
    /// Largest frame the prologue's `sub rsp, imm32` and the frame's 32-bit displacements can
    /// address. No real stack is this large, so a function this big could only ever trap with
    /// "call stack exhausted"; it is refused at compile time instead, with a clear error.
    static let maxFrameSize = 1 << 30
    /// Most params or results of one function signature (their slots are addressed with 32-bit
    /// displacements from rbp and rsp).
    static let maxSignatureValues = 1 << 24

    let paramCount: Int
    let declaredLocalCount: Int

    func local(_ index: Int) -> Mem {
        if index < paramCount { return Mem(.rbp, Int32(16 + 8 * index)) }
        return Mem(.rbp, Int32(-(16 + 8 * (index - paramCount + 1))))
    }

    func slot(_ depth: Int) -> Mem { Mem(.rbp, Int32(-(16 + 8 * declaredLocalCount + 8 * (depth + 1)))) }

    func result(_ index: Int) -> Mem { Mem(.rbp, Int32(16 + 8 * index)) }

    func outgoing(_ index: Int) -> Mem { Mem(.rsp, Int32(8 * index)) }

    /// Bytes below the saved registers, rounded so that rsp stays 16-byte aligned.
    func frameSize(maxDepth: Int, maxOutgoing: Int) -> Int {
        (8 * (declaredLocalCount + maxDepth + maxOutgoing) + 15) & ~15
    }
}

extension ValueType {
    /// Whether values of this type live in general-purpose registers (else in XMM registers).
    var isGPRClass: Bool {
        switch self {
        case .i32, .i64, .funcref, .externref: true
        case .f32, .f64, .v128: false
        }
    }
}
