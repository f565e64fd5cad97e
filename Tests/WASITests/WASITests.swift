import Compiler
import Foundation
import Runtime
import RuntimeABI
import Scheduler
import ShoalWASI
import Testing

/// The C programs in Tests/wasi-programs (built by its build.sh with clang-16 and wasi-libc; the
/// .wasm files are committed), run through Shoal's WASI layer on the real io_uring.
let programs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("wasi-programs").path

struct Outcome {
    var exitCode: Int32
    var stdout: String
    var stderr: String
}

func runWASI(_ program: String, arguments: [String] = [], environment: [(String, String)] = [],
             preopens: [(host: String, guest: String)] = []) throws -> Outcome {
    let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(programs)/\(program).wasm")))
    let compiled = try ModuleCompiler.compile(bytes: bytes, heapMode: .bounded)
    let wasi = try WASIContext(WASIConfiguration(arguments: [program] + arguments, environment: environment, preopens: preopens,
                                                 captureOutput: true))
    let store = Store(heapMode: .bounded)
    let instance = try store.instantiate(compiled, resolver: wasi.resolver())
    guard case .function(let start)? = instance.export("_start") else { throw WASIError("no _start") }
    let execution = try Execution(start, arguments: [], stackSize: 4 << 20)
    var code: Int32 = 0
    loop: while true {
        switch try execution.resume() {
        case .exited: break loop
        case .trapped(let trap):
            guard let exit = wasi.exitCode else { throw trap }
            code = exit
            break loop
        case .parked:
            let ready = DispatchSemaphore(value: 0)
            execution.whenResumable { ready.signal() }
            ready.wait()
        default: continue
        }
    }
    return Outcome(exitCode: code, stdout: String(decoding: wasi.stdout, as: UTF8.self), stderr: String(decoding: wasi.stderr, as: UTF8.self))
}

@Suite("WASI preview1 on io_uring")
struct WASITests {
    @Test func argumentsEnvironmentStreamsAndExitCode() throws {
        let outcome = try runWASI("hello", arguments: ["one", "two", "5"], environment: [("GREETING", "hi there")])
        #expect(outcome.exitCode == 5)
        #expect(outcome.stdout == "hello from wasi\narg 1: one\narg 2: two\narg 3: 5\nGREETING=hi there\n")
        #expect(outcome.stderr == "to stderr\n")
    }

    @Test func filesStayInsideTheirPreopenedDirectory() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("shoal-wasi-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let outcome = try runWASI("files", preopens: [(directory.path, "/sandbox")])
        #expect(outcome.exitCode == 0, "\(outcome.stderr)")
        #expect(outcome.stdout == "read 13 bytes from offset 5: one\nline two\nsize 18\nescape: refused\n")
        #expect(try String(contentsOf: directory.appendingPathComponent("out.txt"), encoding: .utf8) == "line one\nline two\n")
    }

    @Test func clocksRandomAndSleep() throws {
        let outcome = try runWASI("clocks", arguments: ["50"])
        #expect(outcome.stdout == "slept long enough; random ok\n")
    }

    @Test func tenThousandInstancesSleepOneSecondEach() async throws {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(programs)/sleep.wasm")))
        let module = try LoadedModule(try ModuleCompiler.compile(bytes: bytes, heapMode: .bounded))
        let pages = Int(module.compiled.module.memories.first?.limits.min ?? 2)
        var configuration = SchedulerConfiguration(slots: 10_000, memoryPages: pages, stackSize: 256 * 1024, threads: 2)
        configuration.instanceImports = {
            let wasi = try WASIContext(WASIConfiguration(arguments: ["sleep", "1000"], captureOutput: true))
            return wasi.hostFunctions.map { HostImport(module: WASIContext.moduleName, name: $0.key, function: $0.value) }
        }
        let scheduler = try Scheduler(configuration)
        defer { scheduler.shutdown() }
        let start = ContinuousClock.now
        let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<10_000 {
                group.addTask {
                    do {
                        _ = try await scheduler.run(module, entry: "_start")
                        return true
                    } catch let trap as Trap where trap.code == .hostError && trap.message == "exit(0)" {
                        return true  // wasi-libc's _start ends with proc_exit(0)
                    }
                }
            }
            var ok = 0
            for try await success in group where success { ok += 1 }
            return ok
        }
        let elapsed = ContinuousClock.now - start
        #expect(outcomes == 10_000)
        #expect(elapsed < .seconds(10), "took \(elapsed)")
        print("10,000 instances, each sleeping 1 s in poll_oneoff: \(elapsed)")
    }
}
