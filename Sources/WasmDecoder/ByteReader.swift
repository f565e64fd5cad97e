import WasmCore

/// A cursor over a module binary that never reads outside `position..<limit`.
///
/// `limit` is the end of the section (or function body) being read, so a section cannot read into its
/// neighbour. Every read is bounds-checked and fails with the spec's wording: "unexpected end" when the
/// module itself ends, "unexpected end of section or function" when only the enclosing section does.
/// LEB128 decoding follows the spec's rules exactly: at most ceil(N/7) bytes ("integer representation
/// too long") and no set bits beyond N in the last byte ("integer too large").
public struct ByteReader: Sendable {
    public let bytes: [UInt8]
    public var position: Int
    public var limit: Int

    public init(bytes: [UInt8], position: Int = 0, limit: Int? = nil) {
        self.bytes = bytes
        self.position = position
        self.limit = limit ?? bytes.count
    }

    public var isAtEnd: Bool { position >= limit }
    public var remaining: Int { limit - position }

    @inline(__always)
    func endError(at offset: Int) -> WasmError {
        .malformed(limit == bytes.count ? "unexpected end" : "unexpected end of section or function", at: offset)
    }

    @inline(__always)
    public mutating func readByte() throws(WasmError) -> UInt8 {
        guard position < limit else { throw endError(at: position) }
        let b = bytes[position]
        position += 1
        return b
    }

    public mutating func readBytes(_ count: Int) throws(WasmError) -> Range<Int> {
        guard count <= remaining else { throw endError(at: position) }
        let range = position..<(position + count)
        position += count
        return range
    }

    @inline(__always)
    public mutating func readU32() throws(WasmError) -> UInt32 {
        // Fast path: one byte.
        if position < limit {
            let b = bytes[position]
            if b < 0x80 {
                position += 1
                return UInt32(b)
            }
        }
        return UInt32(truncatingIfNeeded: try readUnsigned(bits: 32))
    }

    public mutating func readU64() throws(WasmError) -> UInt64 { try readUnsigned(bits: 64) }

    public mutating func readS32() throws(WasmError) -> Int32 {
        Int32(truncatingIfNeeded: try readSigned(bits: 32))
    }

    public mutating func readS64() throws(WasmError) -> Int64 { try readSigned(bits: 64) }

    /// A signed 33-bit integer, as used by block types.
    public mutating func readS33() throws(WasmError) -> Int64 { try readSigned(bits: 33) }

    mutating func readUnsigned(bits: Int) throws(WasmError) -> UInt64 {
        let start = position
        var result: UInt64 = 0
        var shift = 0
        while true {
            let b = try readByte()
            let payload = UInt64(b & 0x7F)
            if shift + 7 >= bits {
                // Last allowed byte: a continuation bit means too many bytes; payload bits beyond `bits`
                // must be zero.
                if b & 0x80 != 0 { throw .malformed("integer representation too long", at: start) }
                let usable = bits - shift
                if usable < 7 && payload >> UInt64(usable) != 0 {
                    throw .malformed("integer too large", at: start)
                }
                return result | (payload << UInt64(shift))
            }
            result |= payload << UInt64(shift)
            if b & 0x80 == 0 { return result }
            shift += 7
        }
    }

    mutating func readSigned(bits: Int) throws(WasmError) -> Int64 {
        let start = position
        var result: Int64 = 0
        var shift = 0
        while true {
            let b = try readByte()
            let payload = Int64(b & 0x7F)
            if shift + 7 >= bits {
                if b & 0x80 != 0 { throw .malformed("integer representation too long", at: start) }
                // The unused high bits of the last byte must all equal the sign bit.
                let usable = bits - shift  // 1...7 payload bits carry the value, including its sign
                if usable < 7 {
                    let signAndUnused = payload >> Int64(usable - 1)
                    let allOnes = Int64((1 << (7 - usable + 1)) - 1)
                    if signAndUnused != 0 && signAndUnused != allOnes {
                        throw .malformed("integer too large", at: start)
                    }
                }
                result |= payload << Int64(shift)
                let total = shift + 7
                if total < 64 { result = (result << Int64(64 - total)) >> Int64(64 - total) }
                return result
            }
            result |= payload << Int64(shift)
            shift += 7
            if b & 0x80 == 0 {
                if shift < 64 { result = (result << Int64(64 - shift)) >> Int64(64 - shift) }
                return result
            }
        }
    }

    public mutating func readU32LE() throws(WasmError) -> UInt32 {
        let r = try readBytes(4)
        var v: UInt32 = 0
        for i in r.reversed() { v = v << 8 | UInt32(bytes[i]) }
        return v
    }

    public mutating func readU64LE() throws(WasmError) -> UInt64 {
        let r = try readBytes(8)
        var v: UInt64 = 0
        for i in r.reversed() { v = v << 8 | UInt64(bytes[i]) }
        return v
    }

    /// A length-prefixed UTF-8 name.
    public mutating func readName() throws(WasmError) -> String {
        let start = position
        let length = Int(try readU32())
        guard length <= remaining else { throw .malformed("length out of bounds", at: start) }
        let range = try readBytes(length)
        guard let s = UTF8Validation.decode(bytes[range]) else {
            throw .malformed("malformed UTF-8 encoding", at: range.lowerBound)
        }
        return s
    }

    /// A vector length, checked against what is left so that a hostile count cannot make us allocate.
    public mutating func readCount(minimumElementSize: Int = 1) throws(WasmError) -> Int {
        let start = position
        let n = Int(try readU32())
        if n > remaining / max(minimumElementSize, 1) && n > 0 {
            throw .malformed(limit == bytes.count ? "unexpected end" : "length out of bounds", at: start)
        }
        return n
    }
}

/// Strict UTF-8 validation as the spec defines it: no overlongs, no surrogates, nothing above U+10FFFF.
enum UTF8Validation {
    static func decode(_ bytes: ArraySlice<UInt8>) -> String? {
        var i = bytes.startIndex
        let end = bytes.endIndex
        while i < end {
            let b0 = bytes[i]
            if b0 < 0x80 { i += 1; continue }
            let need: Int
            let minimum: UInt32
            var cp: UInt32
            switch b0 {
            case 0xC2...0xDF: need = 1; minimum = 0x80; cp = UInt32(b0 & 0x1F)
            case 0xE0...0xEF: need = 2; minimum = 0x800; cp = UInt32(b0 & 0x0F)
            case 0xF0...0xF4: need = 3; minimum = 0x10000; cp = UInt32(b0 & 0x07)
            default: return nil
            }
            guard end - i > need else { return nil }
            for k in 1...need {
                let c = bytes[i + k]
                guard c & 0xC0 == 0x80 else { return nil }
                cp = cp << 6 | UInt32(c & 0x3F)
            }
            if cp < minimum || cp > 0x10FFFF || (0xD800...0xDFFF).contains(cp) { return nil }
            i += need + 1
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
