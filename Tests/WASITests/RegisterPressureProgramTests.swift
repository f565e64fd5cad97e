import CShoal
import Foundation
import RuntimeABI
import Testing

/// A C program with many values live across calls and deep expressions (Tests/wasi-programs/
/// pressure.c): the shape of real programs (GCC's cc1, SVG tools) that ended with a host write
/// to a guest-chosen address when generated code clobbered registers the entry relied on.
@Suite("register pressure in a real program")
struct RegisterPressureProgramTests {
    /// What the same C source prints when built natively (`gcc -O2 pressure.c && ./a.out`) and
    /// under wasmtime 49: the reference output.
    static let nativeOutput = "6a4b9d0b8697df61 0.084378\n"

    @Test(arguments: HeapMode.allCases)
    func exitsZeroWithTheNativeOutputAndIntactRegisters(heapMode: HeapMode) throws {
        shoal_entry_set_violations_fatal(0)
        defer { shoal_entry_set_violations_fatal(1) }
        let before = shoal_entry_thread_stats()
        let outcome = try runWASI("pressure", heap: heapMode)  // resumes the guest on this thread
        let after = shoal_entry_thread_stats()
        #expect(outcome.exitCode == 0)
        #expect(outcome.stdout == Self.nativeOutput)
        #expect(after.checked > before.checked)
        #expect(after.violations == before.violations)
    }
}
