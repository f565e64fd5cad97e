import Compiler
import Foundation
import Logging
import Runtime
import RuntimeABI
import Scheduler
import ShoalWASI
import Testing
import WasmCore
import WasmText

/// sched_yield really yields: the calling instance parks and the others queued run first.
@Suite struct SchedYieldTests {
    @Test func twoInstancesOnOneWorkerTakeTurnsAtEachYield() throws {
        let bytes = try TextFormat.wat2wasm("""
            (module
              (import "wasi_snapshot_preview1" "sched_yield" (func $yield (result i32)))
              (import "env" "mark" (func $mark (param i32)))
              (memory (export "memory") 1)
              (func (export "run") (param $id i32) (local $i i32)
                (loop $again
                  (call $mark (local.get $id))
                  (drop (call $yield))
                  (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                  (br_if $again (i32.lt_u (i32.const 5))))))
            """)
        let module = try LoadedModule(try ModuleCompiler.compile(bytes: bytes, heapMode: .bounded))
        final class Log: @unchecked Sendable {  // appended to on the one worker thread; read after both calls end
            let lock = NSLock()
            var marks: [UInt32] = []
        }
        let log = Log()
        // Instance 1's first mark waits until instance 2 has been submitted too: on a loaded
        // machine the test thread can be descheduled between the two submissions, and instance 1
        // would yield with nobody queued and run to its end first.
        let bothSubmitted = DispatchSemaphore(value: 0)
        let mark = HostImport(module: "env", name: "mark", function: Function(HostFunction(type: FuncType(params: [.i32], results: [])) { _, args in
            guard case .i32(let id) = args[0] else { return [] }
            let first = log.lock.withLock { () -> Bool in
                log.marks.append(id)
                return log.marks.count == 1
            }
            if first { bothSubmitted.wait() }
            return []
        }))
        var configuration = SchedulerConfiguration(slots: 2, heapMode: .bounded, memoryPages: 1, threads: 1)
        configuration.guardPages = .auto
        var logger = Logger(label: "shoal.sched-yield")
        logger.logLevel = .warning
        let scheduler = try Scheduler(configuration, logger: logger)
        defer { scheduler.shutdown() }
        let done = DispatchSemaphore(value: 0)
        for id: UInt32 in [1, 2] {
            scheduler.submit(module, entry: "run", arguments: [.i32(id)], imports: {
                let wasi = try WASIContext(WASIConfiguration(captureOutput: true))
                return [mark] + wasi.hostFunctions(named: ["sched_yield"]).map {
                    HostImport(module: WASIContext.moduleName, name: $0.key, function: $0.value)
                }
            }) { result in
                if case .failure(let error) = result { Issue.record("\(error)") }
                done.signal()
            }
        }
        bothSubmitted.signal()
        done.wait()
        done.wait()
        let marks = log.lock.withLock { log.marks }
        #expect(marks.count == 10)
        // The second instance ran before the first got past its first yield.
        #expect(marks.prefix(2) == [1, 2], "\(marks)")
        #expect(marks.firstIndex(of: 2)! < marks.lastIndex(of: 1)!, "\(marks)")
    }
}
