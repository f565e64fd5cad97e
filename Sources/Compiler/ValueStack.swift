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
///   [rbp + 16 + 8*p(i)]   argument i on entry, result i on return (the caller's outgoing area)
///   [rbp + 8]             return address
///   [rbp]                 caller's rbp
///   [rbp - 8]             caller's r14 (vmctx)
///   [rbp - 16]            caller's r15 (memory base)
///   [rbp - 16 - 8*(q(j)+n(j))]                 declared local j (after the params)
///   [rbp - 16 - localBytes - S*(k+1)]          spill slot of the operand at stack depth k
///   [rsp + 8*p(i)]                             outgoing arguments/results of calls made by this function
/// ```
/// Every value takes one 8-byte slot except v128, which takes two (16 bytes, accessed with
/// `movdqu`, so nothing needs 16-byte alignment). `p(i)` and `q(j)` are prefix sums of the slot
/// counts of the values before (`n(j)` is local j's own count): a signature without v128 gets the
/// old `8*i` layout, and caller and callee both compute the offsets from the same `FuncType`
/// (`call_indirect` checks the type first), so they agree. The spill-slot stride `S` is 16 only in
/// functions that may hold a v128 on the operand stack (`mayHoldV128`: a v128 in the module's
/// types or globals, in the function's locals, or a SIMD instruction in its body — see
/// `FunctionCompiler.hasSIMDInstruction`), so code without SIMD keeps its 8-byte slots and
/// exactly the code it had.
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
    /// 8-byte slots of the declared locals (their count, plus one per v128).
    let declaredLocalSlots: Int
    /// Byte offset from rbp of each local when some local is a v128 (nil: the 8-byte formula).
    let localOffsets: [Int32]?
    /// Slot index of each result in the result area when some result is a v128.
    let resultSlots: [Int]?
    /// Bytes per spill slot: 8, or 16 in a function that may hold v128 operands.
    let slotStride: Int

    /// `declaredLocals`: the declared locals' types one by one, needed only when a param or a
    /// local is a v128 (nil otherwise: a function may declare 2^20 locals).
    init(params: [ValueType], results: [ValueType], declaredCount: Int, declaredLocals: [ValueType]?, mayHoldV128: Bool) {
        let declaredLocals = declaredLocals ?? []
        paramCount = params.count
        declaredLocalCount = declaredCount
        slotStride = mayHoldV128 ? 16 : 8
        resultSlots = results.contains(.v128) ? Self.slotIndices(results) : nil
        if params.contains(.v128) || declaredLocals.contains(.v128) {
            var offsets: [Int32] = []
            offsets.reserveCapacity(params.count + declaredLocals.count)
            var at = 0
            for t in params {
                offsets.append(Int32(16 + 8 * at))
                at += t.slotCount
            }
            at = 0
            for t in declaredLocals {
                at += t.slotCount
                offsets.append(Int32(-(16 + 8 * at)))
            }
            localOffsets = offsets
            declaredLocalSlots = at
        } else {
            localOffsets = nil
            declaredLocalSlots = declaredCount
        }
    }

    /// The slot index of each value of `types` laid out one after another.
    static func slotIndices(_ types: [ValueType]) -> [Int] {
        var at = 0
        return types.map { t in
            defer { at += t.slotCount }
            return at
        }
    }

    static func slotCount(_ types: [ValueType]) -> Int { types.reduce(0) { $0 + $1.slotCount } }

    func local(_ index: Int) -> Mem {
        if let localOffsets { return Mem(.rbp, localOffsets[index]) }
        if index < paramCount { return Mem(.rbp, Int32(16 + 8 * index)) }
        return Mem(.rbp, Int32(-(16 + 8 * (index - paramCount + 1))))
    }

    /// The lowest address of the declared locals (where zeroing starts).
    var declaredLocalsBase: Mem { Mem(.rbp, Int32(-(16 + 8 * declaredLocalSlots))) }

    func slot(_ depth: Int) -> Mem { Mem(.rbp, Int32(-(16 + 8 * declaredLocalSlots + slotStride * (depth + 1)))) }

    func result(_ index: Int) -> Mem { Mem(.rbp, Int32(16 + 8 * (resultSlots?[index] ?? index))) }

    /// Outgoing value at slot index `slotIndex` (see `slotIndices`).
    func outgoing(_ slotIndex: Int) -> Mem { Mem(.rsp, Int32(8 * slotIndex)) }

    /// Bytes below the saved registers, rounded so that rsp stays 16-byte aligned.
    func frameSize(maxDepth: Int, maxOutgoing: Int) -> Int {
        (8 * (declaredLocalSlots + maxOutgoing) + slotStride * maxDepth + 15) & ~15
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

    /// 8-byte slots a value of this type takes in memory: two for v128 (see `FrameLayout`).
    var slotCount: Int { self == .v128 ? 2 : 1 }
}
