import WasmCore
import X64

/// The register calling convention of direct calls between functions of one module compiled by
/// the optimizing tier (the "fast entry"). Caller and callee share the instance, so r14 (vmctx)
/// and r15 (memory base) are already right and are neither passed nor saved.
///
/// - Integer and reference params go in `intRegs` in order, f32/f64 params in `floatRegs`; the
///   rest go on the stack, in the caller's outgoing area ([rsp + 8*k] at the call, [rbp + 16 + 8*k]
///   in the callee), numbered in param order. Results come back the same way (the same register
///   lists; overflow results in the same outgoing area).
/// - `calleeSaved` survive the call: a fast-entry body saves those it uses. Every other
///   allocatable register is clobbered (r14, r15 and rbp survive, as in the standard ABI).
/// - Signatures with v128 have no fast entry (the optimizing tier compiles neither side).
///
/// A function compiled by the baseline gets an adapter as its fast entry (`ModuleLinker`), so a
/// caller need not know which tier compiled its callee.
public struct FastCallABI: Sendable, Equatable {
    /// Where one param or result goes.
    public enum Place: Sendable, Equatable {
        case reg(Reg)
        case xreg(XReg)
        /// Overflow slot k: [rsp + 8*k] in the caller at the call.
        case stack(Int)
    }

    public static let intRegs: [Reg] = [.rdi, .rsi, .r8, .r9, .r10]
    public static let floatRegs: [XReg] = (0..<8).map { XReg(id: UInt8($0)) }
    public static let calleeSaved: [Reg] = [.rbx, .r12, .r13]

    public let params: [Place]
    public let results: [Place]

    public init(_ type: FuncType) {
        params = Self.places(type.params)
        results = Self.places(type.results)
    }

    /// The stack slots the caller's outgoing area needs for this signature.
    public var stackSlots: Int { max(Self.stackCount(params), Self.stackCount(results)) }

    /// Whether a function of this type has a fast entry.
    public static func applies(to type: FuncType) -> Bool { !(type.params + type.results).contains(.v128) }

    static func places(_ types: [ValueType]) -> [Place] {
        var ints = 0, floats = 0, stack = 0
        return types.map { t in
            if t == .f32 || t == .f64 {
                if floats < floatRegs.count { floats += 1; return .xreg(floatRegs[floats - 1]) }
            } else if ints < intRegs.count {
                ints += 1
                return .reg(intRegs[ints - 1])
            }
            stack += 1
            return .stack(stack - 1)
        }
    }

    static func stackCount(_ places: [Place]) -> Int {
        places.reduce(0) { count, p in if case .stack = p { count + 1 } else { count } }
    }

    /// The link symbol of defined function `index`'s fast entry (`LinkSymbol`, Compiler): negative,
    /// beside 0 (the trap exit) and 1 + i (standard entries).
    public static func symbol(definedIndex index: Int) -> Int { -(index + 1) }
}
