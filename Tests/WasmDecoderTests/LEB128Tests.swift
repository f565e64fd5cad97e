import Testing
import WasmCore
import WasmDecoder

@Suite("LEB128")
struct LEB128Tests {
    enum Kind { case u32, s32, s33, s64, u64 }

    /// Reads one integer of `kind` from `bytes`, which it must consume entirely.
    func read(_ bytes: [UInt8], _ kind: Kind) -> Result<Int64, WasmError> {
        var r = ByteReader(bytes: bytes)
        do throws(WasmError) {
            let v: Int64 =
                switch kind {
                case .u32: Int64(try r.readU32())
                case .s32: Int64(try r.readS32())
                case .s33: try r.readS33()
                case .s64: try r.readS64()
                case .u64: Int64(bitPattern: try r.readU64())
                }
            return r.isAtEnd ? .success(v) : .failure(.malformed("trailing bytes", at: r.position))
        } catch {
            return .failure(error)
        }
    }

    func message<T>(_ result: Result<T, WasmError>) -> String? {
        if case .failure(let e) = result { return e.message }
        return nil
    }

    @Test func unsigned32() throws {
        #expect(try read([0x00], .u32).get() == 0)
        #expect(try read([0x7F], .u32).get() == 127)
        #expect(try read([0x80, 0x01], .u32).get() == 128)
        #expect(try read([0xFF, 0xFF, 0xFF, 0xFF, 0x0F], .u32).get() == Int64(UInt32.max))
        // Overlong but within five bytes is allowed.
        #expect(try read([0x80, 0x80, 0x80, 0x80, 0x00], .u32).get() == 0)
        #expect(message(read([0x80, 0x80, 0x80, 0x80, 0x10], .u32)) == "integer too large")
        #expect(message(read([0x80, 0x80, 0x80, 0x80, 0x80, 0x00], .u32)) == "integer representation too long")
        #expect(message(read([0x80], .u32)) == "unexpected end")
    }

    @Test func signed32() throws {
        #expect(try read([0x7F], .s32).get() == -1)
        #expect(try read([0x3F], .s32).get() == 63)
        #expect(try read([0x40], .s32).get() == -64)
        #expect(try read([0x80, 0x80, 0x80, 0x80, 0x78], .s32).get() == Int64(Int32.min))
        #expect(try read([0xFF, 0xFF, 0xFF, 0xFF, 0x07], .s32).get() == Int64(Int32.max))
        #expect(try read([0xFF, 0xFF, 0xFF, 0xFF, 0x7F], .s32).get() == -1)
        // Unused bits must repeat the sign bit.
        #expect(message(read([0xFF, 0xFF, 0xFF, 0xFF, 0x0F], .s32)) == "integer too large")
        #expect(message(read([0x80, 0x80, 0x80, 0x80, 0x70], .s32)) == "integer too large")
        #expect(message(read([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F], .s32)) == "integer representation too long")
    }

    @Test func signed64() throws {
        let min: [UInt8] = Array(repeating: 0x80, count: 9) + [0x7F]
        let max: [UInt8] = Array(repeating: 0xFF, count: 9) + [0x00]
        #expect(try read(min, .s64).get() == Int64.min)
        #expect(try read(max, .s64).get() == Int64.max)
        #expect(message(read(Array(repeating: 0xFF, count: 9) + [0x01], .s64)) == "integer too large")
        #expect(message(read(Array(repeating: 0x80, count: 9) + [0x70], .s64)) == "integer too large")
        #expect(message(read(Array(repeating: 0x80, count: 10) + [0x00], .s64)) == "integer representation too long")
    }

    @Test func unsigned64AndSigned33() throws {
        #expect(try read(Array(repeating: 0xFF, count: 9) + [0x01], .u64).get() == -1)
        #expect(message(read(Array(repeating: 0xFF, count: 9) + [0x03], .u64)) == "integer too large")
        // s33 holds every u32 type index and -64 (0x40, the empty block type).
        #expect(try read([0xFF, 0xFF, 0xFF, 0xFF, 0x0F], .s33).get() == Int64(UInt32.max))
        #expect(try read([0x40], .s33).get() == -64)
        #expect(message(read([0xFF, 0xFF, 0xFF, 0xFF, 0x4F], .s33)) == "integer too large")
    }

    @Test func sectionLimitIsRespected() {
        var r = ByteReader(bytes: [0x80, 0x01, 0x05], position: 0, limit: 1)
        #expect(throws: WasmError.malformed("unexpected end of section or function", at: 1)) {
            _ = try r.readU32()
        }
    }
}
