import X64

/// Unsigned division and remainder by a constant without `div`.
///
/// A 64-bit `div` costs tens of cycles (35-90 on many x86 cores) while a widening `mul` costs
/// three or four, and LLVM leaves `x % 1000003` to the engine because wasm has no multiply-high.
/// Cranelift and V8 both rewrite a constant divisor into a multiply by its reciprocal; this is the
/// same rewrite (Granlund and Montgomery, "Division by Invariant Integers using Multiplication",
/// 1994; Hacker's Delight 10-8), for div_u and rem_u. A zero divisor still goes through
/// `emitDivRem`, which traps; signed division keeps `idiv`.
extension CodeGen {
    /// How `x / d` (N-bit, unsigned) is computed for one constant `d`.
    enum UnsignedDivisor: Equatable {
        /// d = 2^k: x >> k.
        case shift(UInt8)
        /// mulhi(x, m) >> s, when some m < 2^N has an error small enough for every x < 2^N.
        case multiply(m: UInt64, s: UInt8)
        /// t = mulhi(x, m); (((x - t) >> 1) + t) >> s: the N+1-bit magic, for every other d.
        case multiplyAdd(m: UInt64, s: UInt8)

        /// The plan for `d` at `bits` (32 or 64), or nil when `div` is kept (d = 0, or d has its top
        /// bit set, where the quotient is 0 or 1 and a compare would do, but is not worth a form).
        init?(_ d: UInt64, bits: Int) {
            guard d != 0, d < (UInt64(1) << (bits - 1)) else { return nil }
            if d & (d - 1) == 0 {
                self = .shift(UInt8(d.trailingZeroBitCount))
                return
            }
            // l = ceil(log2 d); 2^(l-1) < d < 2^l.
            let l = 64 - (d - 1).leadingZeroBitCount
            // The smallest s with m = ceil(2^(N+s) / d) < 2^N and m*d - 2^(N+s) <= 2^s
            // (Granlund-Montgomery theorem 4.2: then floor(x*m / 2^(N+s)) = floor(x / d)).
            for s in 0..<l {
                guard let m = Self.ceilPow2Over(d, exponent: bits + s, bits: bits) else { continue }
                let error = Self.errorOf(m, d, exponent: bits + s, bits: bits)
                if let error, error <= (UInt64(1) << s) {
                    self = .multiply(m: m, s: UInt8(s))
                    return
                }
            }
            // m' = floor(2^N * (2^l - d) / d) + 1, which fits in N bits since 2^l - d < d.
            let high = (UInt64(1) << l) - d
            let m: UInt64
            if bits == 64 {
                m = d.dividingFullWidth((high: high, low: 0)).quotient &+ 1
            } else {
                m = ((high << 32) / d) + 1
            }
            self = .multiplyAdd(m: m, s: UInt8(l - 1))
        }

        /// ceil(2^exponent / d) if it is below 2^bits (exponent < bits + l, so 2^(exponent-bits) < d).
        static func ceilPow2Over(_ d: UInt64, exponent: Int, bits: Int) -> UInt64? {
            let q: UInt64, r: UInt64
            if bits == 64 {
                (q, r) = d.dividingFullWidth((high: UInt64(1) << (exponent - 64), low: 0))
            } else {
                (q, r) = ((UInt64(1) << exponent) / d, (UInt64(1) << exponent) % d)
            }
            let m = r == 0 ? q : q &+ 1
            if r != 0 && q == UInt64.max { return nil }
            return bits == 64 || m <= 0xFFFF_FFFF ? m : nil
        }

        /// m*d - 2^exponent, or nil if it does not fit in 64 bits (then it is too large anyway).
        static func errorOf(_ m: UInt64, _ d: UInt64, exponent: Int, bits: Int) -> UInt64? {
            let (high, low) = m.multipliedFullWidth(by: d)
            if bits == 64 {
                // 2^exponent = (high: 1 << (exponent-64), low: 0); m*d >= it by construction.
                let top = UInt64(1) << (exponent - 64)
                return high == top ? low : nil
            }
            guard high == 0 else { return nil }
            return low - (UInt64(1) << exponent)
        }
    }

    /// Emits div_u/rem_u of `a` by the constant `d` and returns the register holding the result
    /// (rax, rcx or rdx), or nil to leave the operation to `emitDivRem`. Uses only scratch
    /// registers: x in rcx, the high product in rdx, the quotient in rdx or rax, r11 for a wide d.
    mutating func emitUnsignedDivByConstant(_ a: Value, _ d: UInt64, _ w: Width, remainder: Bool) -> Reg? {
        let bits = w == .b32 ? 32 : 64
        guard let plan = UnsignedDivisor(d, bits: bits) else { return nil }
        load(a, into: .rcx)
        let q: Reg
        switch plan {
        case .shift(let k):
            if remainder {
                guard d - 1 <= UInt64(Int32.max) else {
                    asm.mov(.b64, Self.scratch, imm: Int64(bitPattern: d - 1))
                    asm.alu(.and, w, .rcx, Self.scratch)
                    return .rcx
                }
                asm.alu(.and, w, .rcx, imm: Int32(d - 1))
                return .rcx
            }
            asm.mov(.b64, .rax, .rcx)
            if k > 0 { asm.shift(.shr, w, .rax, imm: k) }
            return .rax
        case .multiply(let m, let s):
            asm.mov(w, .rax, imm: Int64(bitPattern: m))
            asm.unary(.mul, w, .rcx)  // rdx = high half of x * m
            if s > 0 { asm.shift(.shr, w, .rdx, imm: s) }
            q = .rdx
        case .multiplyAdd(let m, let s):
            asm.mov(w, .rax, imm: Int64(bitPattern: m))
            asm.unary(.mul, w, .rcx)
            asm.mov(w, .rax, .rcx)
            asm.alu(.sub, w, .rax, .rdx)
            asm.shift(.shr, w, .rax, imm: 1)
            asm.alu(.add, w, .rax, .rdx)
            if s > 0 { asm.shift(.shr, w, .rax, imm: s) }
            q = .rax
        }
        guard remainder else { return q }
        // x - q*d: d < 2^(N-1) here, so an imm32 is exact whenever d fits one.
        if d <= UInt64(Int32.max) {
            asm.imul(w, q, q, imm: Int32(d))
        } else {
            asm.mov(.b64, Self.scratch, imm: Int64(bitPattern: d))
            asm.imul(w, q, Self.scratch)
        }
        asm.alu(.sub, w, .rcx, q)
        return .rcx
    }
}

/// Signed division and remainder by a positive power of two without `idiv`: the round-toward-zero
/// bias (2^k - 1 for a negative dividend, from its sign bits) is added before an arithmetic shift,
/// as every compiler does for `(lo + hi) / 2`. Such a divisor can neither be zero nor -1, so there
/// is nothing to trap on.
extension CodeGen {
    /// k when `b` is the constant 2^k with 1 <= k <= N-2 (a positive power of two above 1).
    func signedPowerOfTwoDivisor(_ b: Value, _ w: Width) -> UInt8? {
        guard case .imm(let bits) = loc[b.id] else { return nil }
        let d = w == .b32 ? Int64(Int32(truncatingIfNeeded: bits)) : Int64(bitPattern: bits)
        guard d > 1, d & (d - 1) == 0 else { return nil }
        return UInt8(d.trailingZeroBitCount)
    }

    /// Emits div_s/rem_s of `a` by 2^k and returns the register holding the result (rax or rcx).
    mutating func emitSignedDivByPowerOfTwo(_ a: Value, _ k: UInt8, _ w: Width, remainder: Bool) -> Reg {
        let n: UInt8 = w == .b32 ? 32 : 64
        load(a, into: .rcx)
        asm.mov(.b64, .rax, .rcx)
        if k > 1 { asm.shift(.sar, w, .rax, imm: n - 1) }
        asm.shift(.shr, w, .rax, imm: n - k)  // the bias: 2^k - 1 if x < 0, else 0
        asm.alu(.add, w, .rax, .rcx)
        guard remainder else {
            asm.shift(.sar, w, .rax, imm: k)
            return .rax
        }
        // x - ((x + bias) & -2^k)
        let mask = Int64(-1) << Int64(k)
        if mask >= Int64(Int32.min) {
            asm.alu(.and, w, .rax, imm: Int32(mask))
        } else {
            asm.mov(.b64, Self.scratch, imm: mask)
            asm.alu(.and, w, .rax, Self.scratch)
        }
        asm.alu(.sub, w, .rcx, .rax)
        return .rcx
    }
}
