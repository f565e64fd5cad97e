import CShoal
import Compiler
import Foundation
import Logging
import Runtime
import RuntimeABI
import Scheduler
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
        // The program runs on a scheduler of its own with one worker thread, where the canaries
        // are fatal (a clobbered register aborts the process with a register dump); the worker's
        // own counters, read on that thread when the call ends, show they were checked.
        var configuration = SchedulerConfiguration(slots: 1, heapMode: heapMode, memoryPages: 256, stackSize: 4 << 20, threads: 1)
        configuration.guardPages = .auto
        var logger = Logger(label: "shoal.pressure")
        logger.logLevel = .warning
        let scheduler = try Scheduler(configuration, logger: logger)
        defer { scheduler.shutdown() }
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(programs)/pressure.wasm")))
        let module = try LoadedModule(try ModuleCompiler.compile(bytes: bytes, heapMode: heapMode))
        let wasi = try WASIContext(WASIConfiguration(arguments: ["pressure"], captureOutput: true))
        let names = WASIContext.importedNames(of: module.compiled.module)
        final class Box: @unchecked Sendable {  // written by the completion before `done` is signalled
            var result: Result<[Value], any Error>?
            var stats = shoal_entry_stats()
        }
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        scheduler.submit(module, entry: "_start", imports: {
            wasi.hostFunctions(named: names).map { HostImport(module: WASIContext.moduleName, name: $0.key, function: $0.value) }
        }) { result in
            box.result = result
            box.stats = shoal_entry_thread_stats()  // the worker's: it ran every entry of this call
            done.signal()
        }
        done.wait()
        switch box.result! {
        case .success: break
        case .failure(let trap as Trap): #expect((trap.underlying as? WASIExit)?.code == 0, "\(trap)")
        case .failure(let error): Issue.record("\(error)")
        }
        #expect(String(decoding: wasi.stdout, as: UTF8.self) == Self.nativeOutput)
        #expect(box.stats.checked > 0)
        #expect(box.stats.violations == 0)
    }
}
