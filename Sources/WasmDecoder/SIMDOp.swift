import WasmCore

/// Vector operators without immediates (prefix 0xFD), by sub-opcode.
public enum SIMDOp: UInt32, Sendable, Hashable, CaseIterable {
    case i8x16Swizzle = 14
    case i8x16Splat, i16x8Splat, i32x4Splat, i64x2Splat, f32x4Splat, f64x2Splat
    case i8x16Eq = 35, i8x16Ne, i8x16LtS, i8x16LtU, i8x16GtS, i8x16GtU, i8x16LeS, i8x16LeU, i8x16GeS, i8x16GeU
    case i16x8Eq, i16x8Ne, i16x8LtS, i16x8LtU, i16x8GtS, i16x8GtU, i16x8LeS, i16x8LeU, i16x8GeS, i16x8GeU
    case i32x4Eq, i32x4Ne, i32x4LtS, i32x4LtU, i32x4GtS, i32x4GtU, i32x4LeS, i32x4LeU, i32x4GeS, i32x4GeU
    case f32x4Eq, f32x4Ne, f32x4Lt, f32x4Gt, f32x4Le, f32x4Ge
    case f64x2Eq, f64x2Ne, f64x2Lt, f64x2Gt, f64x2Le, f64x2Ge
    case v128Not, v128And, v128Andnot, v128Or, v128Xor, v128Bitselect, v128AnyTrue
    case f32x4DemoteF64x2Zero = 94, f64x2PromoteLowF32x4
    case i8x16Abs, i8x16Neg, i8x16Popcnt, i8x16AllTrue, i8x16Bitmask, i8x16NarrowI16x8S, i8x16NarrowI16x8U
    case f32x4Ceil, f32x4Floor, f32x4Trunc, f32x4Nearest
    case i8x16Shl, i8x16ShrS, i8x16ShrU, i8x16Add, i8x16AddSatS, i8x16AddSatU, i8x16Sub, i8x16SubSatS, i8x16SubSatU
    case f64x2Ceil, f64x2Floor
    case i8x16MinS, i8x16MinU, i8x16MaxS, i8x16MaxU
    case f64x2Trunc
    case i8x16AvgrU
    case i16x8ExtaddPairwiseI8x16S, i16x8ExtaddPairwiseI8x16U, i32x4ExtaddPairwiseI16x8S, i32x4ExtaddPairwiseI16x8U
    case i16x8Abs, i16x8Neg, i16x8Q15mulrSatS, i16x8AllTrue, i16x8Bitmask, i16x8NarrowI32x4S, i16x8NarrowI32x4U
    case i16x8ExtendLowI8x16S, i16x8ExtendHighI8x16S, i16x8ExtendLowI8x16U, i16x8ExtendHighI8x16U
    case i16x8Shl, i16x8ShrS, i16x8ShrU, i16x8Add, i16x8AddSatS, i16x8AddSatU, i16x8Sub, i16x8SubSatS, i16x8SubSatU
    case f64x2Nearest
    case i16x8Mul, i16x8MinS, i16x8MinU, i16x8MaxS, i16x8MaxU
    case i16x8AvgrU = 155
    case i16x8ExtmulLowI8x16S, i16x8ExtmulHighI8x16S, i16x8ExtmulLowI8x16U, i16x8ExtmulHighI8x16U
    case i32x4Abs = 160, i32x4Neg
    case i32x4AllTrue = 163, i32x4Bitmask
    case i32x4ExtendLowI16x8S = 167, i32x4ExtendHighI16x8S, i32x4ExtendLowI16x8U, i32x4ExtendHighI16x8U
    case i32x4Shl, i32x4ShrS, i32x4ShrU, i32x4Add
    case i32x4Sub = 177
    case i32x4Mul = 181, i32x4MinS, i32x4MinU, i32x4MaxS, i32x4MaxU, i32x4DotI16x8S
    case i32x4ExtmulLowI16x8S = 188, i32x4ExtmulHighI16x8S, i32x4ExtmulLowI16x8U, i32x4ExtmulHighI16x8U
    case i64x2Abs = 192, i64x2Neg
    case i64x2AllTrue = 195, i64x2Bitmask
    case i64x2ExtendLowI32x4S = 199, i64x2ExtendHighI32x4S, i64x2ExtendLowI32x4U, i64x2ExtendHighI32x4U
    case i64x2Shl, i64x2ShrS, i64x2ShrU, i64x2Add
    case i64x2Sub = 209
    case i64x2Mul = 213, i64x2Eq, i64x2Ne, i64x2LtS, i64x2GtS, i64x2LeS, i64x2GeS
    case i64x2ExtmulLowI32x4S, i64x2ExtmulHighI32x4S, i64x2ExtmulLowI32x4U, i64x2ExtmulHighI32x4U
    case f32x4Abs = 224, f32x4Neg
    case f32x4Sqrt = 227, f32x4Add, f32x4Sub, f32x4Mul, f32x4Div, f32x4Min, f32x4Max, f32x4Pmin, f32x4Pmax
    case f64x2Abs = 236, f64x2Neg
    case f64x2Sqrt = 239, f64x2Add, f64x2Sub, f64x2Mul, f64x2Div, f64x2Min, f64x2Max, f64x2Pmin, f64x2Pmax
    case i32x4TruncSatF32x4S, i32x4TruncSatF32x4U, f32x4ConvertI32x4S, f32x4ConvertI32x4U
    case i32x4TruncSatF64x2SZero, i32x4TruncSatF64x2UZero, f64x2ConvertLowI32x4S, f64x2ConvertLowI32x4U

    public var signature: OperatorSignature {
        let s = Signatures.self
        switch self {
        case .i8x16Splat, .i16x8Splat, .i32x4Splat: return s.unary(.i32, .v128)
        case .i64x2Splat: return s.unary(.i64, .v128)
        case .f32x4Splat: return s.unary(.f32, .v128)
        case .f64x2Splat: return s.unary(.f64, .v128)
        case .v128Bitselect: return OperatorSignature(s.threeV128, .v128)
        case .v128AnyTrue, .i8x16AllTrue, .i8x16Bitmask, .i16x8AllTrue, .i16x8Bitmask, .i32x4AllTrue, .i32x4Bitmask,
            .i64x2AllTrue, .i64x2Bitmask:
            return s.unary(.v128, .i32)
        case .i8x16Shl, .i8x16ShrS, .i8x16ShrU, .i16x8Shl, .i16x8ShrS, .i16x8ShrU, .i32x4Shl, .i32x4ShrS, .i32x4ShrU,
            .i64x2Shl, .i64x2ShrS, .i64x2ShrU:
            return OperatorSignature(s.v128AndI32, .v128)
        case .v128Not, .f32x4DemoteF64x2Zero, .f64x2PromoteLowF32x4, .i8x16Abs, .i8x16Neg, .i8x16Popcnt,
            .f32x4Ceil, .f32x4Floor, .f32x4Trunc, .f32x4Nearest, .f64x2Ceil, .f64x2Floor, .f64x2Trunc, .f64x2Nearest,
            .i16x8ExtaddPairwiseI8x16S, .i16x8ExtaddPairwiseI8x16U, .i32x4ExtaddPairwiseI16x8S,
            .i32x4ExtaddPairwiseI16x8U, .i16x8Abs, .i16x8Neg, .i16x8ExtendLowI8x16S, .i16x8ExtendHighI8x16S,
            .i16x8ExtendLowI8x16U, .i16x8ExtendHighI8x16U, .i32x4Abs, .i32x4Neg, .i32x4ExtendLowI16x8S,
            .i32x4ExtendHighI16x8S, .i32x4ExtendLowI16x8U, .i32x4ExtendHighI16x8U, .i64x2Abs, .i64x2Neg,
            .i64x2ExtendLowI32x4S, .i64x2ExtendHighI32x4S, .i64x2ExtendLowI32x4U, .i64x2ExtendHighI32x4U,
            .f32x4Abs, .f32x4Neg, .f32x4Sqrt, .f64x2Abs, .f64x2Neg, .f64x2Sqrt, .i32x4TruncSatF32x4S,
            .i32x4TruncSatF32x4U, .f32x4ConvertI32x4S, .f32x4ConvertI32x4U, .i32x4TruncSatF64x2SZero,
            .i32x4TruncSatF64x2UZero, .f64x2ConvertLowI32x4S, .f64x2ConvertLowI32x4U:
            return s.unary(.v128, .v128)
        default:
            return OperatorSignature(s.twoV128, .v128)
        }
    }
}

/// Vector loads with a memory argument and no lane (prefix 0xFD, sub-opcodes 0-10 and 92-93).
public enum SIMDLoadOp: UInt32, Sendable, Hashable, CaseIterable {
    case v128Load = 0
    case v128Load8x8S, v128Load8x8U, v128Load16x4S, v128Load16x4U, v128Load32x2S, v128Load32x2U
    case v128Load8Splat, v128Load16Splat, v128Load32Splat, v128Load64Splat
    case v128Load32Zero = 92, v128Load64Zero

    public var naturalAlignment: UInt32 {
        switch self {
        case .v128Load: 4
        case .v128Load8Splat: 0
        case .v128Load16Splat: 1
        case .v128Load32Splat, .v128Load32Zero: 2
        default: 3
        }
    }
}

/// `extract_lane` and `replace_lane`, named by shape (sub-opcodes 21-34).
public enum SIMDLaneOp: Sendable, Hashable, CaseIterable {
    case i8x16S, i8x16U, i8x16, i16x8S, i16x8U, i16x8, i32x4, i64x2, f32x4, f64x2

    public var laneCount: UInt8 {
        switch self {
        case .i8x16S, .i8x16U, .i8x16: 16
        case .i16x8S, .i16x8U, .i16x8: 8
        case .i32x4, .f32x4: 4
        case .i64x2, .f64x2: 2
        }
    }

    public var scalarType: ValueType {
        switch self {
        case .i64x2: .i64
        case .f32x4: .f32
        case .f64x2: .f64
        default: .i32
        }
    }
}

/// `load*_lane` and `store*_lane`, by lane width (sub-opcodes 84-91).
public enum SIMDLaneMemoryOp: UInt8, Sendable, Hashable, CaseIterable {
    case lane8 = 0, lane16, lane32, lane64

    public var naturalAlignment: UInt32 { UInt32(rawValue) }
    public var laneCount: UInt8 { 16 >> rawValue }
}
