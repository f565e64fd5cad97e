import Testing
@testable import X64

/// `Assembler.nops`: padding that code may run through must decode as NOPs only, of exactly the
/// length asked for, whatever that length.
@Suite("multi-byte NOP padding")
struct NopPaddingTests {
    @Test func everyLengthIsNopsOnly() throws {
        for n in 1...70 {
            var asm = Assembler()
            asm.nops(n)
            asm.ret()
            #expect(asm.code.count == n + 1)
            let lines = try Objdump.disassemble(asm.code)
            #expect(lines.last == "ret", "n = \(n): \(lines)")
            #expect(lines.dropLast().allSatisfy { $0.hasPrefix("nop") || $0.hasPrefix("xchg ax,ax") }, "n = \(n): \(lines)")
            #expect(lines.count - 1 == (n + 8) / 9, "n = \(n): at most 9 bytes a NOP: \(lines)")
        }
    }
}
