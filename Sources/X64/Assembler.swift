/// An x86-64 assembler: appends machine code for the instructions the compiler needs, with labels
/// and rel32 fixups. Encodings follow the Intel SDM; `Tests/X64Tests` checks them against objdump.
///
/// Every instruction is built by `encode`, which writes, in order: the mandatory prefix (66/F2/F3),
/// REX when needed, the opcode, ModRM, SIB and displacement. Immediates follow.
public struct Assembler: Sendable {
    public private(set) var code: [UInt8] = []
    private var labelOffsets: [Int?] = []
    /// (position of a rel32 field, label): patched so the field holds target - (position + 4).
    private var fixups: [(position: Int, label: Label)] = []
    /// Label id -> symbol, for labels that stand for code outside this assembler (see
    /// `newExternalLabel`). Consulted only in `finish`, for fixups whose label is unbound, so the
    /// common path (`rel32`) is unchanged.
    private var externalSymbols: [Int: Int] = [:]
    /// The rel32 fields that refer to external labels, left for a linker: filled in by `finish`.
    public private(set) var externalFixups: [ExternalFixup] = []

    public init() {
        code.reserveCapacity(4096)
    }

    public var offset: Int { code.count }

    // MARK: Labels

    public mutating func newLabel() -> Label {
        labelOffsets.append(nil)
        return Label(id: labelOffsets.count - 1)
    }

    /// A label for code that is not in this assembler (another function, a shared stub): code can
    /// jump or call to it like any label, it can never be bound, and `finish` reports each rel32
    /// field referring to it as an `ExternalFixup` instead of resolving it. This lets a piece of
    /// code be assembled on its own, at offset 0, and placed later.
    public mutating func newExternalLabel(symbol: Int) -> Label {
        let label = newLabel()
        externalSymbols[label.id] = symbol
        return label
    }

    public mutating func reserveCapacity(_ bytes: Int) { code.reserveCapacity(bytes) }

    public mutating func bind(_ label: Label) {
        precondition(labelOffsets[label.id] == nil, "label \(label.id) bound twice")
        precondition(externalSymbols.isEmpty || externalSymbols[label.id] == nil, "external label \(label.id) bound")
        labelOffsets[label.id] = code.count
    }

    public func isBound(_ label: Label) -> Bool { labelOffsets[label.id] != nil }
    public func labelOffset(_ label: Label) -> Int? { labelOffsets[label.id] }

    /// Appends a rel32 field referring to `label` (resolved now if bound, else in `finish`).
    mutating func rel32(to label: Label) {
        let position = code.count
        if let target = labelOffsets[label.id] {
            appendLE32(Int32(target - (position + 4)))
        } else {
            fixups.append((position, label))
            appendLE32(0)
        }
    }

    /// Resolves the remaining fixups and returns the code. Every referenced label must be bound,
    /// except external labels: their fields stay zero and are listed in `externalFixups`, in the
    /// order they were emitted.
    public mutating func finish() -> [UInt8] {
        for fixup in fixups {
            guard let target = labelOffsets[fixup.label.id] else {
                guard let symbol = externalSymbols[fixup.label.id] else { preconditionFailure("label \(fixup.label.id) never bound") }
                externalFixups.append(ExternalFixup(position: fixup.position, symbol: symbol))
                continue
            }
            patch32(at: fixup.position, Int32(target - (fixup.position + 4)))
        }
        fixups.removeAll()
        return code
    }

    // MARK: Raw bytes

    public mutating func emit(_ bytes: [UInt8]) { code.append(contentsOf: bytes) }

    mutating func byte(_ b: UInt8) { code.append(b) }

    mutating func appendLE32(_ value: Int32) {
        let v = UInt32(bitPattern: value)
        code.append(UInt8(v & 0xFF))
        code.append(UInt8((v >> 8) & 0xFF))
        code.append(UInt8((v >> 16) & 0xFF))
        code.append(UInt8(v >> 24))
    }

    mutating func appendLE16(_ value: Int16) {
        let v = UInt16(bitPattern: value)
        code.append(UInt8(v & 0xFF))
        code.append(UInt8(v >> 8))
    }

    mutating func appendLE64(_ value: Int64) {
        var v = UInt64(bitPattern: value)
        for _ in 0..<8 {
            code.append(UInt8(v & 0xFF))
            v >>= 8
        }
    }

    /// Pads with int3 to a multiple of `n`: padding sits between functions and stubs, where
    /// falling through would be a bug, so it should trap rather than slide.
    public mutating func align(_ n: Int) {
        while code.count % n != 0 { code.append(0xCC) }
    }

    /// Appends `n` bytes of the recommended multi-byte NOPs (Intel SDM, `0F 1F /0` with
    /// 66 prefixes), at most 9 bytes each: padding that code may run through, as before an
    /// aligned loop header that the preceding block falls into.
    public mutating func nops(_ n: Int) {
        var left = n
        while left > 0 {
            let k = min(left, 9)
            code.append(contentsOf: Self.nopEncodings[k - 1])
            left -= k
        }
    }

    static let nopEncodings: [[UInt8]] = [
        [0x90],
        [0x66, 0x90],
        [0x0F, 0x1F, 0x00],
        [0x0F, 0x1F, 0x40, 0x00],
        [0x0F, 0x1F, 0x44, 0x00, 0x00],
        [0x66, 0x0F, 0x1F, 0x44, 0x00, 0x00],
        [0x0F, 0x1F, 0x80, 0x00, 0x00, 0x00, 0x00],
        [0x0F, 0x1F, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
        [0x66, 0x0F, 0x1F, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
    ]

    public mutating func patch32(at position: Int, _ value: Int32) {
        let v = UInt32(bitPattern: value)
        code[position] = UInt8(v & 0xFF)
        code[position + 1] = UInt8((v >> 8) & 0xFF)
        code[position + 2] = UInt8((v >> 16) & 0xFF)
        code[position + 3] = UInt8(v >> 24)
    }

    // MARK: The encoder

    /// The r/m operand of an instruction.
    enum RM {
        case reg(UInt8)
        case mem(Mem)
        /// rip-relative to a label: [rip + rel32].
        case label(Label)
    }

    /// Encodes `[prefix] [REX] opcode ModRM [SIB] [disp]`.
    /// - `reg` is the ModRM reg field: a register number or an opcode extension.
    /// - `byteRegs`: the instruction has 8-bit register operands; numbers 4-7 then mean spl, bpl,
    ///   sil, dil, which exist only with a REX prefix (without one they are ah, ch, dh, bh).
    ///   `regIsRegister` says whether the reg field names a register (not an extension).
    mutating func encode(prefix: UInt8? = nil, w: Bool = false, opcode: Opcode, reg: UInt8, rm: RM,
                         byteRegs: Bool = false, regIsRegister: Bool = true) {
        if let prefix { byte(prefix) }
        var rex: UInt8 = 0
        if w { rex |= 0x08 }
        if reg >= 8 { rex |= 0x04 }
        switch rm {
        case .reg(let r):
            if r >= 8 { rex |= 0x01 }
            if byteRegs && (4...7).contains(r) { rex |= 0x40 }
        case .mem(let m):
            if m.base.high { rex |= 0x01 }
            if let index = m.index, index.high { rex |= 0x02 }
        case .label:
            break
        }
        if byteRegs && regIsRegister && (4...7).contains(reg) { rex |= 0x40 }
        if rex != 0 { byte(0x40 | rex) }
        for i in 0..<Int(opcode.count) { byte(opcode[i]) }
        let regBits = (reg & 7) << 3
        switch rm {
        case .reg(let r):
            byte(0xC0 | regBits | (r & 7))
        case .label(let label):
            byte(0x00 | regBits | 0b101)
            rel32(to: label)
        case .mem(let m):
            let needsSIB = m.index != nil || m.base.low == 4
            let mod: UInt8
            if m.disp == 0 && m.base.low != 5 {
                mod = 0b00
            } else if m.disp >= -128 && m.disp <= 127 {
                mod = 0b01
            } else {
                mod = 0b10
            }
            if needsSIB {
                byte(mod << 6 | regBits | 0b100)
                let scaleBits: UInt8 = switch m.scale {
                case 1: 0
                case 2: 1
                case 4: 2
                default: 3
                }
                let indexBits = m.index?.low ?? 0b100
                byte(scaleBits << 6 | indexBits << 3 | m.base.low)
            } else {
                byte(mod << 6 | regBits | m.base.low)
            }
            if mod == 0b01 {
                byte(UInt8(bitPattern: Int8(m.disp)))
            } else if mod == 0b10 {
                appendLE32(m.disp)
            }
        }
    }

    static func fitsInt8(_ v: Int32) -> Bool { v >= -128 && v <= 127 }
}

/// A rel32 field that refers to an external label: the linker writes target - (position + 4)
/// there once it knows where this code and the symbol's code are placed.
public struct ExternalFixup: Hashable, Sendable {
    /// Offset of the 4-byte field in the assembler's code.
    public let position: Int
    /// What the label stands for, as given to `newExternalLabel`.
    public let symbol: Int

    public init(position: Int, symbol: Int) {
        self.position = position
        self.symbol = symbol
    }
}

/// One to three opcode bytes, stored inline: an array literal per instruction would allocate.
struct Opcode: ExpressibleByArrayLiteral {
    let bytes: (UInt8, UInt8, UInt8)
    let count: UInt8

    init(arrayLiteral elements: UInt8...) {
        precondition((1...3).contains(elements.count))
        bytes = (elements[0], elements.count > 1 ? elements[1] : 0, elements.count > 2 ? elements[2] : 0)
        count = UInt8(elements.count)
    }

    subscript(i: Int) -> UInt8 { i == 0 ? bytes.0 : i == 1 ? bytes.1 : bytes.2 }
}
