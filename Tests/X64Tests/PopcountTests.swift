import Glibc
import Testing
@testable import X64

/// The SWAR population count both tiers emit on CPUs without POPCNT. No CPU this runs on lacks the
/// instruction, so the sequence is assembled into a tiny function and run here directly.
@Suite struct PopcountTests {
    /// Maps `code` executable for the duration of `body`, as a C function `UInt64 -> UInt64`.
    static func withFunction(_ code: [UInt8], _ body: (@convention(c) (UInt64) -> UInt64) -> Void) throws {
        let size = 4096
        let page = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let page, page != MAP_FAILED else { throw MapError() }
        defer { munmap(page, size) }
        code.withUnsafeBytes { page.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        guard mprotect(page, size, PROT_READ | PROT_EXEC) == 0 else { throw MapError() }
        body(unsafeBitCast(page, to: (@convention(c) (UInt64) -> UInt64).self))
    }

    struct MapError: Error {}

    static func popcountFunction(_ w: Width) -> [UInt8] {
        var asm = Assembler()
        asm.mov(.b64, .rax, .rdi)
        asm.softwarePopcount(w, value: .rax, temp: .rcx, scratch: .rdx)
        asm.ret()
        return asm.code
    }

    static let samples: [UInt64] = [
        0, 1, 2, 3, 0x80, 0xFF, 0x8000_0000, 0xFFFF_FFFF, 0x1_0000_0000, 0x5555_5555_5555_5555,
        0xAAAA_AAAA_AAAA_AAAA, 0x8000_0000_0000_0001, 0x0123_4567_89AB_CDEF, .max, .max - 1,
    ]

    @Test func countsThe64BitValue() throws {
        try Self.withFunction(Self.popcountFunction(.b64)) { count in
            for x in Self.samples { #expect(count(x) == UInt64(x.nonzeroBitCount), "popcount64(\(x))") }
        }
    }

    /// The 32-bit form looks at the low half only and leaves a zero-extended count.
    @Test func countsTheLow32Bits() throws {
        try Self.withFunction(Self.popcountFunction(.b32)) { count in
            for x in Self.samples {
                #expect(count(x) == UInt64(UInt32(truncatingIfNeeded: x).nonzeroBitCount), "popcount32(\(x))")
            }
        }
    }
}
