import Testing
@testable import X64

/// External labels let a function be assembled on its own and placed later: `finish` resolves
/// the assembler's own labels and lists, instead of resolving, the fields that refer to external
/// ones (their bytes stay zero for the linker).
@Suite("external labels")
struct ExternalLabelTests {
    @Test func fixupsAreReportedNotResolved() {
        var asm = Assembler()
        let callee = asm.newExternalLabel(symbol: 7)
        let exit = asm.newExternalLabel(symbol: 0)
        let local = asm.newLabel()
        asm.call(callee)      // e8 rel32: field at 1
        asm.jcc(.e, local)    // 0f 84 rel32: field at 7
        asm.jmp(exit)         // e9 rel32: field at 12
        asm.bind(local)
        asm.call(callee)      // field at 17
        asm.ret()
        let code = asm.finish()
        #expect(asm.externalFixups == [ExternalFixup(position: 1, symbol: 7), ExternalFixup(position: 12, symbol: 0),
                                       ExternalFixup(position: 17, symbol: 7)])
        #expect(code[0] == 0xE8 && code[1..<5].allSatisfy { $0 == 0 })
        #expect(Array(code[7..<11]) == [5, 0, 0, 0], "the local label is resolved: jcc's end (11) + 5 = 16")
        #expect(code[11] == 0xE9 && code[12..<16].allSatisfy { $0 == 0 })
        #expect(code.count == 22)
    }
}
