/// WebAssembly's float-to-integer truncations, shared by both compiler tiers so that they trap
/// and saturate identically.
extension Assembler {
    /// Loads a float constant into `x`, through the general register `via`.
    public mutating func loadFloatConstant(_ p: Precision, _ value: Double, into x: XReg, via gpr: Reg) {
        if p == .single {
            mov(.b32, gpr, imm: Int64(Float(value).bitPattern))
            movq(.b32, x, gpr)
        } else {
            mov(.b64, gpr, imm: Int64(bitPattern: value.bitPattern))
            movq(.b64, x, gpr)
        }
    }

    /// Truncates the float in `x` (which may be changed) to a `bits`-wide integer in `r`.
    ///
    /// The range checks compare against exactly representable bounds: the result is valid iff
    /// lower < x < upper (or lower <= x when the lower bound is itself the minimum, as for -2^31
    /// in f32 and -2^63). With `traps`, NaN jumps to `invalid` and out of range to `overflow`;
    /// without (the saturating forms), NaN gives 0 and the rest clamps. `constant` and `scratch`
    /// are clobbered. An i32 result is zero-extended.
    public mutating func truncateFloat(_ p: Precision, _ x: XReg, to r: Reg, bits: Int, signed: Bool,
                                       traps: (overflow: Label, invalid: Label)?, constant: XReg, scratch: Reg) {
        let upper: Double = signed ? Self.pow2(bits - 1) : Self.pow2(bits)
        let lower: Double
        let lowerInclusive: Bool
        if !signed {
            lower = -1
            lowerInclusive = false
        } else if bits == 32 && p == .double {
            lower = -Self.pow2(31) - 1
            lowerInclusive = false
        } else {
            lower = -Self.pow2(bits - 1)
            lowerInclusive = true
        }
        let minimum: Int64 = signed ? (bits == 32 ? Int64(Int32.min) : Int64.min) : 0
        let maximum: Int64 = signed ? (bits == 32 ? Int64(Int32.max) : Int64.max) : (bits == 32 ? Int64(UInt32.max) : -1)
        let done = newLabel()
        let tooLow = traps?.overflow ?? newLabel()
        let tooHigh = traps?.overflow ?? newLabel()

        alu(.xor, .b32, r, r)
        ucomis(p, x, x)
        jcc(.p, traps?.invalid ?? done)
        loadFloatConstant(p, lower, into: constant, via: scratch)
        ucomis(p, x, constant)
        jcc(lowerInclusive ? .b : .be, tooLow)
        loadFloatConstant(p, upper, into: constant, via: scratch)
        ucomis(p, x, constant)
        jcc(.ae, tooHigh)
        if signed || bits == 32 {
            // In range: a signed 64-bit conversion is exact for every unsigned 32-bit result too.
            cvtts2si(p, to: signed && bits == 32 ? .b32 : .b64, r, x)
        } else {
            // u64: values from 2^63 up are reduced by 2^63 first, and the top bit put back.
            let small = newLabel()
            loadFloatConstant(p, Self.pow2(63), into: constant, via: scratch)
            ucomis(p, x, constant)
            jcc(.b, small)
            sse(.sub, p, x, constant)
            cvtts2si(p, to: .b64, r, x)
            mov(.b64, scratch, imm: Int64.min)
            alu(.xor, .b64, r, scratch)
            jmp(done)
            bind(small)
            cvtts2si(p, to: .b64, r, x)
        }
        if traps == nil {
            jmp(done)
            bind(tooLow)
            mov(.b64, r, imm: minimum)
            jmp(done)
            bind(tooHigh)
            mov(.b64, r, imm: maximum)
        }
        bind(done)
        if bits == 32 { mov(.b32, r, r) }
    }

    static func pow2(_ n: Int) -> Double { Double(sign: .plus, exponent: n, significand: 1) }
}
