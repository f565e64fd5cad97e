/// A general-purpose 64-bit register, by hardware number (0 = rax ... 15 = r15).
public struct Reg: Hashable, Sendable, CustomStringConvertible {
    public let id: UInt8
    public init(id: UInt8) {
        precondition(id < 16, "no general-purpose register \(id)")
        self.id = id
    }
    /// The three low bits that go into ModRM/SIB; the fourth goes into REX.
    var low: UInt8 { id & 7 }
    var high: Bool { id >= 8 }

    public var description: String {
        ["rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"][Int(id)]
    }

    public static let rax = Reg(id: 0), rcx = Reg(id: 1), rdx = Reg(id: 2), rbx = Reg(id: 3)
    public static let rsp = Reg(id: 4), rbp = Reg(id: 5), rsi = Reg(id: 6), rdi = Reg(id: 7)
    public static let r8 = Reg(id: 8), r9 = Reg(id: 9), r10 = Reg(id: 10), r11 = Reg(id: 11)
    public static let r12 = Reg(id: 12), r13 = Reg(id: 13), r14 = Reg(id: 14), r15 = Reg(id: 15)
    public static let all: [Reg] = (0..<16).map { Reg(id: UInt8($0)) }
}

/// An SSE register, xmm0 ... xmm15.
public struct XReg: Hashable, Sendable, CustomStringConvertible {
    public let id: UInt8
    public init(id: UInt8) {
        precondition(id < 16, "no XMM register \(id)")
        self.id = id
    }
    public var description: String { "xmm\(id)" }

    public static let xmm0 = XReg(id: 0), xmm1 = XReg(id: 1), xmm2 = XReg(id: 2), xmm3 = XReg(id: 3)
    public static let xmm4 = XReg(id: 4), xmm5 = XReg(id: 5), xmm6 = XReg(id: 6), xmm7 = XReg(id: 7)
    public static let xmm8 = XReg(id: 8), xmm9 = XReg(id: 9), xmm10 = XReg(id: 10), xmm11 = XReg(id: 11)
    public static let xmm12 = XReg(id: 12), xmm13 = XReg(id: 13), xmm14 = XReg(id: 14), xmm15 = XReg(id: 15)
    public static let all: [XReg] = (0..<16).map { XReg(id: UInt8($0)) }
}

/// Operand size of an integer instruction.
public enum Width: Sendable {
    case b8, b16, b32, b64
}

/// x86 condition codes, in encoding order (the low nibble of Jcc, SETcc and CMOVcc).
public enum Condition: UInt8, Sendable, CaseIterable {
    case o = 0, no, b, ae, e, ne, be, a, s, ns, p, np, l, ge, le, g

    /// The condition that holds exactly when this one does not.
    public var inverted: Condition { Condition(rawValue: rawValue ^ 1)! }
}

/// A memory operand: `[base + index*scale + disp]`.
public struct Mem: Hashable, Sendable {
    public var base: Reg
    public var index: Reg?
    public var scale: UInt8
    public var disp: Int32

    public init(_ base: Reg, _ disp: Int32 = 0) {
        self.base = base
        self.index = nil
        self.scale = 1
        self.disp = disp
    }

    public init(_ base: Reg, index: Reg, scale: UInt8 = 1, disp: Int32 = 0) {
        precondition(index != .rsp, "rsp cannot be an index register")
        precondition([1, 2, 4, 8].contains(scale), "scale must be 1, 2, 4 or 8")
        self.base = base
        self.index = index
        self.scale = scale
        self.disp = disp
    }
}

/// A position in the code, bound once; jumps and calls to it are patched when it is known.
public struct Label: Hashable, Sendable {
    public let id: Int
}

public enum ALUOp: UInt8, Sendable, CaseIterable { case add = 0, or = 1, adc = 2, sbb = 3, and = 4, sub = 5, xor = 6, cmp = 7 }
public enum ShiftOp: UInt8, Sendable, CaseIterable { case rol = 0, ror = 1, shl = 4, shr = 5, sar = 7 }
/// The F6/F7 group: the ModRM reg field selects the operation.
public enum UnaryOp: UInt8, Sendable, CaseIterable { case not = 2, neg = 3, mul = 4, imul = 5, div = 6, idiv = 7 }
public enum BitCountOp: Sendable, CaseIterable { case lzcnt, tzcnt, popcnt, bsr, bsf }
/// Scalar single (ss) or double (sd) precision; ps/pd for the bitwise operations.
public enum Precision: Sendable, CaseIterable { case single, double }
public enum SSEOp: UInt8, Sendable, CaseIterable { case sqrt = 0x51, add = 0x58, mul = 0x59, sub = 0x5C, min = 0x5D, div = 0x5E, max = 0x5F }
public enum SSEBitOp: UInt8, Sendable, CaseIterable { case and = 0x54, andn = 0x55, or = 0x56, xor = 0x57 }
