import CShoal
import Compiler
import Foundation
import Runtime
import RuntimeABI
import ShoalWASI
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
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(programs)/pressure.wasm")))
        let compiled = try ModuleCompiler.compile(bytes: bytes, heapMode: heapMode)
        let wasi = try WASIContext(WASIConfiguration(arguments: ["pressure"], captureOutput: true))
        let store = Store(heapMode: heapMode)
        let instance = try store.instantiate(compiled, resolver: wasi.resolver())
        guard case .function(let start)? = instance.export("_start") else { throw WASIError("no _start") }
        shoal_entry_set_violations_fatal(0)
        defer { shoal_entry_set_violations_fatal(1) }
        let before = shoal_entry_thread_stats()
        let execution = try Execution(start, arguments: [], stackSize: 4 << 20)
        var exitCode: Int32 = 0
        loop: while true {
            switch try execution.resume() {
            case .exited: break loop
            case .trapped(let trap):
                guard let code = wasi.exitCode else { throw trap }
                exitCode = code
                break loop
            case .parked:
                let ready = DispatchSemaphore(value: 0)
                execution.whenResumable { ready.signal() }
                ready.wait()
            default: continue
            }
        }
        let after = shoal_entry_thread_stats()
        #expect(exitCode == 0)
        #expect(String(decoding: wasi.stdout, as: UTF8.self) == Self.nativeOutput)
        #expect(after.checked > before.checked)
        #expect(after.violations == before.violations)
    }
}
