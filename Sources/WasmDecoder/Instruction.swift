import WasmCore

/// The alignment (log2) and offset immediates of a memory access.
public struct MemArg: Sendable, Hashable {
    public var align: UInt32
    public var offset: UInt32
    public init(align: UInt32, offset: UInt32) {
        self.align = align
        self.offset = offset
    }
}

/// One decoded instruction with its immediates.
///
/// Numeric and SIMD operators without immediates are grouped under `numeric` and `simd` with their own
/// opcode enums, which carry their operand signatures; everything else has its own case.
public enum Instruction: Sendable, Hashable {
    // Control
    case unreachable
    case nop
    case block(BlockType)
    case loop(BlockType)
    case `if`(BlockType)
    case `else`
    case end
    case br(UInt32)
    case brIf(UInt32)
    case brTable(targets: [UInt32], defaultTarget: UInt32)
    case `return`
    case call(UInt32)
    case callIndirect(typeIndex: UInt32, table: UInt32)
    // Reference
    case refNull(RefType)
    case refIsNull
    case refFunc(UInt32)
    // Parametric
    case drop
    case select
    case selectTyped(ValueType)
    // Variable
    case localGet(UInt32)
    case localSet(UInt32)
    case localTee(UInt32)
    case globalGet(UInt32)
    case globalSet(UInt32)
    // Table
    case tableGet(UInt32)
    case tableSet(UInt32)
    case tableInit(element: UInt32, table: UInt32)
    case elemDrop(UInt32)
    case tableCopy(destination: UInt32, source: UInt32)
    case tableGrow(UInt32)
    case tableSize(UInt32)
    case tableFill(UInt32)
    // Memory
    case load(LoadOp, MemArg)
    case store(StoreOp, MemArg)
    case memorySize
    case memoryGrow
    case memoryInit(UInt32)
    case dataDrop(UInt32)
    case memoryCopy
    case memoryFill
    // Numeric
    case i32Const(Int32)
    case i64Const(Int64)
    case f32Const(bits: UInt32)
    case f64Const(bits: UInt64)
    case numeric(NumericOp)
    // Vector (0xFD prefix)
    case v128Const(V128)
    case i8x16Shuffle(V128)
    case simd(SIMDOp)
    case simdLoad(SIMDLoadOp, MemArg)
    case simdStore(MemArg)
    case simdExtractLane(SIMDLaneOp, lane: UInt8)
    case simdReplaceLane(SIMDLaneOp, lane: UInt8)
    case simdLoadLane(SIMDLaneMemoryOp, MemArg, lane: UInt8)
    case simdStoreLane(SIMDLaneMemoryOp, MemArg, lane: UInt8)
}

/// Scalar loads, by opcode.
public enum LoadOp: UInt8, Sendable, Hashable, CaseIterable {
    case i32Load = 0x28, i64Load, f32Load, f64Load
    case i32Load8S, i32Load8U, i32Load16S, i32Load16U
    case i64Load8S, i64Load8U, i64Load16S, i64Load16U, i64Load32S, i64Load32U

    public var resultType: ValueType {
        switch self {
        case .i32Load, .i32Load8S, .i32Load8U, .i32Load16S, .i32Load16U: .i32
        case .f32Load: .f32
        case .f64Load: .f64
        default: .i64
        }
    }

    /// log2 of the access width in bytes: the largest alignment the validator accepts.
    public var naturalAlignment: UInt32 {
        switch self {
        case .i32Load8S, .i32Load8U, .i64Load8S, .i64Load8U: 0
        case .i32Load16S, .i32Load16U, .i64Load16S, .i64Load16U: 1
        case .i32Load, .f32Load, .i64Load32S, .i64Load32U: 2
        case .i64Load, .f64Load: 3
        }
    }
}

/// Scalar stores, by opcode.
public enum StoreOp: UInt8, Sendable, Hashable, CaseIterable {
    case i32Store = 0x36, i64Store, f32Store, f64Store
    case i32Store8, i32Store16, i64Store8, i64Store16, i64Store32

    public var valueType: ValueType {
        switch self {
        case .i32Store, .i32Store8, .i32Store16: .i32
        case .f32Store: .f32
        case .f64Store: .f64
        default: .i64
        }
    }

    public var naturalAlignment: UInt32 {
        switch self {
        case .i32Store8, .i64Store8: 0
        case .i32Store16, .i64Store16: 1
        case .i32Store, .f32Store, .i64Store32: 2
        case .i64Store, .f64Store: 3
        }
    }
}

/// Operand and result types of an operator that takes no immediates: one or two operands of the same
/// type (three for `v128.bitselect`), one result.
public struct OperatorSignature: Sendable, Hashable {
    public var operands: [ValueType]
    public var result: ValueType
    public init(_ operands: [ValueType], _ result: ValueType) {
        self.operands = operands
        self.result = result
    }
}
