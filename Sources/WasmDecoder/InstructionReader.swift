import WasmCore

/// Decodes the instructions of one function body (or constant expression), one at a time.
///
/// The reader only checks the binary format; typing is the `FunctionValidator`'s job. A compiler
/// drives both in lockstep: `next()` then `validator.validate(_:)` then its own code generation.
public struct InstructionReader: Sendable {
    public var reader: ByteReader
    /// Whether the module has a data count section (`memory.init` and `data.drop` require one).
    public var hasDataCount: Bool
    /// Offset of the instruction most recently returned by `next()`.
    public private(set) var instructionOffset: Int = 0

    public init(reader: ByteReader, hasDataCount: Bool) {
        self.reader = reader
        self.hasDataCount = hasDataCount
    }

    public var isAtEnd: Bool { reader.isAtEnd }
    public var offset: Int { reader.position }

    public mutating func next() throws(WasmError) -> Instruction {
        instructionOffset = reader.position
        let opcode = try reader.readByte()
        switch opcode {
        case 0x00: return .unreachable
        case 0x01: return .nop
        case 0x02: return .block(try readBlockType())
        case 0x03: return .loop(try readBlockType())
        case 0x04: return .if(try readBlockType())
        case 0x05: return .else
        case 0x0B: return .end
        case 0x0C: return .br(try reader.readU32())
        case 0x0D: return .brIf(try reader.readU32())
        case 0x0E:
            let count = try reader.readCount()
            var targets: [UInt32] = []
            targets.reserveCapacity(count)
            for _ in 0..<count { targets.append(try reader.readU32()) }
            return .brTable(targets: targets, defaultTarget: try reader.readU32())
        case 0x0F: return .return
        case 0x10: return .call(try reader.readU32())
        case 0x11:
            let type = try reader.readU32()
            return .callIndirect(typeIndex: type, table: try reader.readU32())
        case 0x1A: return .drop
        case 0x1B: return .select
        case 0x1C:
            let start = reader.position
            let count = try reader.readU32()
            guard count == 1 else { throw .invalid("invalid result arity", at: start) }
            return .selectTyped(try readValueType())
        case 0x20: return .localGet(try reader.readU32())
        case 0x21: return .localSet(try reader.readU32())
        case 0x22: return .localTee(try reader.readU32())
        case 0x23: return .globalGet(try reader.readU32())
        case 0x24: return .globalSet(try reader.readU32())
        case 0x25: return .tableGet(try reader.readU32())
        case 0x26: return .tableSet(try reader.readU32())
        case 0x28...0x35: return .load(LoadOp(rawValue: opcode)!, try readMemArg())
        case 0x36...0x3E: return .store(StoreOp(rawValue: opcode)!, try readMemArg())
        case 0x3F:
            try readZeroByte()
            return .memorySize
        case 0x40:
            try readZeroByte()
            return .memoryGrow
        case 0x41: return .i32Const(try reader.readS32())
        case 0x42: return .i64Const(try reader.readS64())
        case 0x43: return .f32Const(bits: try reader.readU32LE())
        case 0x44: return .f64Const(bits: try reader.readU64LE())
        case 0x45...0xC4: return .numeric(NumericOp(rawValue: UInt16(opcode))!)
        case 0xD0: return .refNull(try readRefType())
        case 0xD1: return .refIsNull
        case 0xD2: return .refFunc(try reader.readU32())
        case 0xFC: return try readMiscellaneous()
        case 0xFD: return try readVector()
        default:
            throw .malformed("illegal opcode \(hex(opcode))", at: instructionOffset)
        }
    }

    mutating func readMiscellaneous() throws(WasmError) -> Instruction {
        let sub = try reader.readU32()
        switch sub {
        case 0...7: return .numeric(NumericOp(rawValue: 0xFC00 | UInt16(sub))!)
        case 8:
            let segment = try reader.readU32()
            try readZeroByte()
            try requireDataCount()
            return .memoryInit(segment)
        case 9:
            let segment = try reader.readU32()
            try requireDataCount()
            return .dataDrop(segment)
        case 10:
            try readZeroByte()
            try readZeroByte()
            return .memoryCopy
        case 11:
            try readZeroByte()
            return .memoryFill
        case 12:
            let element = try reader.readU32()
            return .tableInit(element: element, table: try reader.readU32())
        case 13: return .elemDrop(try reader.readU32())
        case 14:
            let destination = try reader.readU32()
            return .tableCopy(destination: destination, source: try reader.readU32())
        case 15: return .tableGrow(try reader.readU32())
        case 16: return .tableSize(try reader.readU32())
        case 17: return .tableFill(try reader.readU32())
        default: throw .malformed("illegal opcode 0xfc \(sub)", at: instructionOffset)
        }
    }

    mutating func readVector() throws(WasmError) -> Instruction {
        let sub = try reader.readU32()
        switch sub {
        case 0...10, 92, 93: return .simdLoad(SIMDLoadOp(rawValue: sub)!, try readMemArg())
        case 11: return .simdStore(try readMemArg())
        case 12: return .v128Const(try readV128())
        case 13: return .i8x16Shuffle(try readV128())
        case 21...34:
            let lane = try reader.readByte()
            let ops: [SIMDLaneOp] = [.i8x16S, .i8x16U, .i8x16, .i16x8S, .i16x8U, .i16x8, .i32x4, .i32x4, .i64x2, .i64x2,
                                     .f32x4, .f32x4, .f64x2, .f64x2]
            let op = ops[Int(sub - 21)]
            let isReplace = [23, 26, 28, 30, 32, 34].contains(sub)
            return isReplace ? .simdReplaceLane(op, lane: lane) : .simdExtractLane(op, lane: lane)
        case 84...91:
            let op = SIMDLaneMemoryOp(rawValue: UInt8((sub - 84) % 4))!
            let memarg = try readMemArg()
            let lane = try reader.readByte()
            return sub < 88 ? .simdLoadLane(op, memarg, lane: lane) : .simdStoreLane(op, memarg, lane: lane)
        default:
            guard let op = SIMDOp(rawValue: sub) else {
                throw .malformed("illegal opcode 0xfd \(sub)", at: instructionOffset)
            }
            return .simd(op)
        }
    }

    mutating func readV128() throws(WasmError) -> V128 {
        let low = try reader.readU64LE()
        return V128(low: low, high: try reader.readU64LE())
    }

    mutating func readMemArg() throws(WasmError) -> MemArg {
        let start = reader.position
        let align = try reader.readU32()
        // An alignment of 2^32 or more cannot be expressed; bit 6 (multi-memory) is not WebAssembly 2.0.
        guard align < 32 else { throw .malformed("malformed memop flags", at: start) }
        return MemArg(align: align, offset: try reader.readU32())
    }

    mutating func readZeroByte() throws(WasmError) {
        let start = reader.position
        guard try reader.readByte() == 0 else { throw .malformed("zero byte expected", at: start) }
    }

    func requireDataCount() throws(WasmError) {
        guard hasDataCount else { throw .malformed("data count section required", at: instructionOffset) }
    }

    mutating func readBlockType() throws(WasmError) -> BlockType {
        let start = reader.position
        guard reader.position < reader.limit else { throw reader.endError(at: start) }
        let b = reader.bytes[reader.position]
        if b == 0x40 {
            reader.position += 1
            return .empty
        }
        if let t = ValueType(rawValue: b) {
            reader.position += 1
            return .value(t)
        }
        let index = try reader.readS33()
        guard index >= 0 else { throw .malformed("malformed value type", at: start) }
        return .typeIndex(UInt32(clamping: index))
    }

    mutating func readValueType() throws(WasmError) -> ValueType {
        let start = reader.position
        guard let t = ValueType(rawValue: try reader.readByte()) else {
            throw .malformed("malformed value type", at: start)
        }
        return t
    }

    mutating func readRefType() throws(WasmError) -> RefType {
        let start = reader.position
        guard let t = RefType(rawValue: try reader.readByte()) else {
            throw .malformed("malformed reference type", at: start)
        }
        return t
    }
}

func hex(_ b: UInt8) -> String { "0x" + String(b, radix: 16) }
