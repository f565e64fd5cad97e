import WasmCore
import WasmDecoder
import X64

/// v128 constants, memory accesses, splats, lanes, shuffles and swizzles.
///
/// v128 values live in XMM registers (the XMM class, like f32/f64) or in 16-byte spill slots
/// (see `FrameLayout`); they are never `Location.imm`: a `v128.const` is materialized at once.
/// SSE4.1 is the floor (with SSSE3, which every SSE4.1 CPU has): `requireSIMDSupport` refuses a
/// function that may hold a v128 on a CPU without it, with a `CompileError`.
extension FunctionCompiler {
    static func requireSIMDSupport(function: Int) throws {
        guard CPUFeatures.hasSSE41, CPUFeatures.hasSSSE3 else {
            throw CompileError("SIMD (v128) code needs a CPU with SSE4.1 and SSSE3; this one lacks "
                               + (CPUFeatures.hasSSE41 ? "SSSE3" : CPUFeatures.hasSSSE3 ? "SSE4.1" : "both"), function: function)
        }
    }

    /// Writes a 128-bit constant into `x`: all zeros and all ones from the register itself, any
    /// other value loaded from the function's constant pool.
    mutating func materializeV128(_ v: V128, into x: XReg) {
        if v.low == 0 && v.high == 0 {
            asm.pxor(x, x)
        } else if v.low == .max && v.high == .max {
            asm.packed(.pcmpeqd, x, x)
        } else {
            let label: Label
            if let known = constantPool[v] {
                label = known
            } else {
                label = asm.newLabel()
                constantPool[v] = label
            }
            asm.movdqu(x, label)
        }
    }

    /// The constant pool after the code (and the trap stubs), 16-byte aligned, in a fixed order so
    /// that the code is the same on every compile. Never executed: nothing falls through to it.
    mutating func emitConstantPool() {
        guard !constantPool.isEmpty else { return }
        asm.align(16)
        for (value, label) in constantPool.sorted(by: { $0.value.id < $1.value.id }) {
            asm.bind(label)
            asm.emit(value.bytes)
        }
    }

    /// A constant with `value` in each lane of `bits` width (8, 16, 32 or 64), into `x`.
    mutating func materializeSplat(_ value: UInt64, bits: Int, into x: XReg) {
        var word: UInt64 = 0
        let mask: UInt64 = bits == 64 ? .max : (1 << UInt64(bits)) - 1
        for i in stride(from: 0, to: 64, by: bits) { word |= (value & mask) << UInt64(i) }
        materializeV128(V128(low: word, high: word), into: x)
    }

    mutating func emitV128Const(_ v: V128) {
        let x = allocXMM()
        materializeV128(v, into: x)
        pushXMM(.v128, x)
    }

    // MARK: Memory

    mutating func emitSIMDLoad(_ op: SIMDLoadOp, _ memarg: MemArg) {
        let x = allocXMM()  // before the address and the mark: a spill here is not the access
        let index = popGPR()
        let size = op == .v128Load ? 16 : 1 << op.naturalAlignment
        let mem = effectiveAddress(index: index, offset: memarg.offset, size: size)
        markHeapAccess()
        switch op {
        case .v128Load: asm.movdqu(x, mem)
        case .v128Load8x8S: asm.packed(.pmovsxbw, x, mem)
        case .v128Load8x8U: asm.packed(.pmovzxbw, x, mem)
        case .v128Load16x4S: asm.packed(.pmovsxwd, x, mem)
        case .v128Load16x4U: asm.packed(.pmovzxwd, x, mem)
        case .v128Load32x2S: asm.packed(.pmovsxdq, x, mem)
        case .v128Load32x2U: asm.packed(.pmovzxdq, x, mem)
        case .v128Load8Splat:
            asm.pinsr(.b8, x, mem, lane: 0)
            broadcastLane0(.b8, x)
        case .v128Load16Splat:
            asm.pinsr(.b16, x, mem, lane: 0)
            broadcastLane0(.b16, x)
        case .v128Load32Splat:
            asm.movqLoad(.b32, x, mem)
            broadcastLane0(.b32, x)
        case .v128Load64Splat:
            asm.movqLoad(.b64, x, mem)
            broadcastLane0(.b64, x)
        case .v128Load32Zero: asm.movqLoad(.b32, x, mem)
        case .v128Load64Zero: asm.movqLoad(.b64, x, mem)
        }
        free(index)
        pushXMM(.v128, x)
    }

    mutating func emitSIMDStore(_ memarg: MemArg) {
        let (value, index, mem) = popVectorAccess(size: 16, memarg)
        asm.movdqu(mem, value)
        free(value)
        free(index)
    }

    mutating func emitLoadLane(_ op: SIMDLaneMemoryOp, _ memarg: MemArg, lane: UInt8) {
        let (vector, index, mem) = popVectorAccess(size: 1 << Int(op.rawValue), memarg)
        asm.pinsr(laneWidth(op), vector, mem, lane: lane)
        free(index)
        pushXMM(.v128, vector)
    }

    mutating func emitStoreLane(_ op: SIMDLaneMemoryOp, _ memarg: MemArg, lane: UInt8) {
        let (vector, index, mem) = popVectorAccess(size: 1 << Int(op.rawValue), memarg)
        asm.pextr(laneWidth(op), mem, vector, lane: lane)
        free(index)
        free(vector)
    }

    /// Pops a vector and the address below it, for an access of `size` bytes, and marks the
    /// heap access here: the caller's next instruction must be the access itself, since a fault
    /// is accepted only at the marked offset. The caller frees the index after the access.
    mutating func popVectorAccess(size: Int, _ memarg: MemArg) -> (vector: XReg, index: Reg, mem: Mem) {
        let vector = popXMM()
        let index = popGPR()
        let mem = effectiveAddress(index: index, offset: memarg.offset, size: size)
        markHeapAccess()
        return (vector, index, mem)
    }

    func laneWidth(_ op: SIMDLaneMemoryOp) -> LaneWidth {
        switch op {
        case .lane8: .b8
        case .lane16: .b16
        case .lane32: .b32
        case .lane64: .b64
        }
    }

    func laneWidth(_ op: SIMDLaneOp) -> LaneWidth {
        switch op {
        case .i8x16, .i8x16S, .i8x16U: .b8
        case .i16x8, .i16x8S, .i16x8U: .b16
        case .i32x4, .f32x4: .b32
        case .i64x2, .f64x2: .b64
        }
    }

    // MARK: Splats and lanes

    mutating func emitSplat(_ op: SIMDOp) {
        let width: LaneWidth = switch op {
        case .i8x16Splat: .b8
        case .i16x8Splat: .b16
        case .i32x4Splat, .f32x4Splat: .b32
        default: .b64  // i64x2, f64x2
        }
        if op == .f32x4Splat || op == .f64x2Splat {  // the scalar is in lane 0 already
            let x = popXMM()
            broadcastLane0(width, x)
            pushXMM(.v128, x)
            return
        }
        let r = popGPR()
        let x = allocXMM()
        asm.movq(width == .b64 ? .b64 : .b32, x, r)
        broadcastLane0(width, x)
        free(r)
        pushXMM(.v128, x)
    }

    /// Copies lane 0 of `x` to every lane of `width`: the end of every splat, whether its scalar
    /// came from a register or from memory.
    mutating func broadcastLane0(_ width: LaneWidth, _ x: XReg) {
        switch width {
        case .b8:
            asm.pxor(Registers.scratchXMM, Registers.scratchXMM)
            asm.packed(.pshufb, x, Registers.scratchXMM)  // index 0 for every byte
        case .b16:
            asm.packed(.pshuflw, x, x, imm: 0)
            asm.packed(.pshufd, x, x, imm: 0)
        case .b32: asm.packed(.pshufd, x, x, imm: 0)
        case .b64: asm.packed(.punpcklqdq, x, x)
        }
    }

    mutating func emitExtractLane(_ op: SIMDLaneOp, lane: UInt8) {
        let x = popXMM()
        switch op {
        case .f32x4:
            if lane != 0 { asm.packed(.pshufd, x, x, imm: lane) }
            pushXMM(.f32, x)
            return
        case .f64x2:
            if lane != 0 { asm.packed(.pshufd, x, x, imm: 0xEE) }
            pushXMM(.f64, x)
            return
        default: break
        }
        let r = allocGPR()
        asm.pextr(laneWidth(op), r, x, lane: lane)  // pextrb and pextrw zero-extend
        switch op {
        case .i8x16S: asm.movsx(from: .b8, to: .b32, r, r)
        case .i16x8S: asm.movsx(from: .b16, to: .b32, r, r)
        default: break
        }
        free(x)
        pushGPR(op.scalarType, r)
    }

    mutating func emitReplaceLane(_ op: SIMDLaneOp, lane: UInt8) {
        switch op {
        case .f32x4:
            let s = popXMM()
            let x = popXMM()
            asm.packed(.insertps, x, s, imm: lane << 4)
            free(s)
            pushXMM(.v128, x)
        case .f64x2:
            let s = popXMM()
            let x = popXMM()
            if lane == 0 {
                asm.packed(.movsd, x, s)  // merges the low 64 bits
            } else {
                asm.packed(.unpcklpd, x, s)
            }
            free(s)
            pushXMM(.v128, x)
        default:
            let r = popGPR()
            let x = popXMM()
            asm.pinsr(laneWidth(op), x, r, lane: lane)
            free(r)
            pushXMM(.v128, x)
        }
    }

    // MARK: Shuffles

    /// `i8x16.shuffle`: one pshufb per source with a constant index vector (0x80 zeroes a byte),
    /// then or.
    mutating func emitShuffle(_ lanes: V128) {
        let b = popXMM()
        let a = popXMM()
        let indices = lanes.bytes
        func pack(_ bytes: [UInt8]) -> V128 {
            var low: UInt64 = 0, high: UInt64 = 0
            for i in 0..<8 {
                low |= UInt64(bytes[i]) << UInt64(8 * i)
                high |= UInt64(bytes[i + 8]) << UInt64(8 * i)
            }
            return V128(low: low, high: high)
        }
        materializeV128(pack(indices.map { $0 < 16 ? $0 : 0x80 }), into: Registers.scratchXMM)
        asm.packed(.pshufb, a, Registers.scratchXMM)
        materializeV128(pack(indices.map { $0 >= 16 ? $0 - 16 : 0x80 }), into: Registers.scratchXMM)
        asm.packed(.pshufb, b, Registers.scratchXMM)
        asm.packed(.por, a, b)
        free(b)
        pushXMM(.v128, a)
    }

    /// `i8x16.swizzle`: pshufb zeroes a byte only when its index has the top bit set, so indices
    /// 16-127 are pushed up to 0x80 and above with a saturating add of 0x70.
    mutating func emitSwizzle() {
        let s = popXMM()
        let a = popXMM()
        materializeSplat(0x70, bits: 8, into: Registers.scratchXMM)
        asm.packed(.paddusb, s, Registers.scratchXMM)
        asm.packed(.pshufb, a, s)
        free(s)
        pushXMM(.v128, a)
    }
}
