import Foundation
import Logging
import ServiceLifecycle
import Shoal
import Testing

/// The embedding API, used as an embedder uses it: `import Shoal` and nothing else.
@Suite struct EngineTests {
    static let add = [UInt8].wat("""
        (module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))
        """)

    @Test func callsAnExportAndReturnsTypedValues() async throws {
        let engine = try makeEngine()
        defer { engine.shutdown() }
        let module = try await engine.compile(Self.add)
        let result = try await engine.call(module, .invoke("add", [.i32(40), .i32(2)]))
        guard case .returned(let values) = result.outcome else { Issue.record("\(result.outcome)"); return }
        #expect(values == [.i32(42)])
        #expect(module.functionType(of: "add") == FuncType(params: [.i32, .i32], results: [.i32]))
    }

    @Test func wrongCallsAreRefusedBeforeTheyRun() async throws {
        let engine = try makeEngine()
        defer { engine.shutdown() }
        let module = try await engine.compile(Self.add)
        await #expect(throws: ShoalError.noSuchExport("sub")) { try await engine.call(module, .invoke("sub")) }
        await #expect(throws: ShoalError.self) { try await engine.call(module, .invoke("add", [.i32(1)])) }
        await #expect(throws: ShoalError.self) { try await engine.call(module, .invoke("add", [.i64(1), .i32(1)])) }
        await #expect(throws: ShoalError.self) { try await engine.call(module, .invoke("add", [.i32(1), .i32(1)], limits: Limits(fuel: 10))) }
        await #expect(throws: ShoalError.self) { try await engine.compile([0, 0x61, 0x73, 0x6d, 9, 0, 0, 0]) }
        let unlinked = try await engine.compile(.wat(#"(module (import "env" "f" (func)) (func (export "g") call 0))"#))
        await #expect(throws: ShoalError.self) { try await engine.call(unlinked, .invoke("g")) }
    }

    @Test func aTrapComesBackWithItsCodeAndBacktrace() async throws {
        let engine = try makeEngine()
        defer { engine.shutdown() }
        let module = try await engine.compile(.wat("""
            (module
              (func $inner (unreachable))
              (func $middle (call $inner))
              (func (export "outer") (call $middle)))
            """))
        let result = try await engine.call(module, .invoke("outer"))
        let trap = try #require(result.trap)
        #expect(trap.code == .unreachable)
        #expect(trap.backtrace.map(\.functionIndex) == [0, 1, 2])  // innermost first
        #expect(result.exitStatus == 134)
    }

    @Test func exitCodesAreOutcomesNotErrors() async throws {
        let engine = try makeEngine()
        defer { engine.shutdown() }
        let hello = try await engine.compile(try Programs.bytes("hello"))
        for code: Int32 in [0, 3, 77] {
            var wasi = WASIConfiguration(arguments: ["hello", "\(code)"], environment: [("GREETING", "hi")], captureOutput: true)
            wasi.stdin = []
            let result = try await engine.call(hello, .wasi(wasi))
            guard case .exited(let status) = result.outcome else {
                // A program whose main returns 0 may return from _start rather than exit.
                #expect(code == 0, "\(result.outcome)")
                continue
            }
            #expect(status == code)
            #expect(result.stdoutText.contains("hi"))
        }
    }

    @Test func aHostErrorCarriesTheSwiftError() async throws {
        struct QuotaExceeded: Error, Equatable { let tenant: String }
        var linker = Linker()
        linker.define("env", "charge", FuncType(params: [.i32], results: [])) { _, _ in throw QuotaExceeded(tenant: "t-17") }
        let engine = try makeEngine(linker: linker)
        defer { engine.shutdown() }
        let module = try await engine.compile(.wat("""
            (module (import "env" "charge" (func $charge (param i32)))
              (func (export "run") (call $charge (i32.const 5))))
            """))
        let trap = try #require(try await engine.call(module, .invoke("run")).trap)
        #expect(trap.code == .hostError)
        #expect(trap.underlying as? QuotaExceeded == QuotaExceeded(tenant: "t-17"))
    }

    @Test func syncAndAsyncHostFunctionsPerEngineAndPerCall() async throws {
        var engineLinker = Linker()
        engineLinker.define("env", "base", FuncType(params: [], results: [.i32])) { _, _ in [.i32(1000)] }
        engineLinker.defineAsync("env", "double", FuncType(params: [.i32], results: [.i32])) { arguments in
            try await Task.sleep(for: .milliseconds(2))
            guard case .i32(let v) = arguments[0] else { return [.i32(0)] }
            return [.i32(v * 2)]
        }
        let engine = try makeEngine(linker: engineLinker)
        defer { engine.shutdown() }
        let module = try await engine.compile(.wat("""
            (module
              (import "env" "base" (func $base (result i32)))
              (import "env" "double" (func $double (param i32) (result i32)))
              (func (export "f") (param i32) (result i32) (i32.add (call $base) (call $double (local.get 0)))))
            """))
        #expect(try await engine.call(module, .invoke("f", [.i32(21)])).values == [.i32(1042)])
        // A call's own definition replaces the engine's for that call only.
        var mine = Linker()
        mine.define("env", "base", FuncType(params: [], results: [.i32])) { _, _ in [.i32(7)] }
        #expect(try await engine.call(module, Call(entry: "f", arguments: [.i32(1)], linker: mine)).values == [.i32(9)])
        #expect(try await engine.call(module, .invoke("f", [.i32(1)])).values == [.i32(1002)])
    }

    @Test func anAsyncHostFunctionReadsAndWritesMemoryOnlyOnTheFiber() async throws {
        var linker = Linker()
        // upper(ptr, len): the bytes are read in `prepare`, transformed while the guest is
        // parked, written back in `finish`.
        linker.defineAsync("env", "upper", FuncType(params: [.i32, .i32], results: [.i32]),
                           prepare: { caller, args -> (UInt32, [UInt8]) in
                               guard case .i32(let p) = args[0], case .i32(let n) = args[1], let bytes = caller.read(p, count: n) else {
                                   throw ShoalError.invalidCall("bad pointer")
                               }
                               return (p, bytes)
                           },
                           run: { input in (input.0, input.1.map { $0 >= 97 && $0 <= 122 ? $0 - 32 : $0 }) },
                           finish: { caller, output in [.i32(caller.write(output.0, output.1) ? 1 : 0)] })
        let engine = try makeEngine(linker: linker)
        defer { engine.shutdown() }
        let module = try await engine.compile(.wat("""
            (module (import "env" "upper" (func $upper (param i32 i32) (result i32)))
              (memory 1) (data (i32.const 16) "shoal")
              (func (export "f") (result i32 i32)
                (call $upper (i32.const 16) (i32.const 5))
                (i32.load8_u (i32.const 16))))
            """))
        #expect(try await engine.call(module, .invoke("f")).values == [.i32(1), .i32(83)])  // 'S'
    }

    @Test func limitsStopTheGuest() async throws {
        let engine = try makeEngine(fuel: true)
        defer { engine.shutdown() }
        let spin = try await engine.compile(.wat("(module (func (export \"spin\") (loop (br 0))))"))
        let outOfFuel = try await engine.call(spin, .invoke("spin", limits: Limits(fuel: 10_000)))
        #expect(outOfFuel.trap?.code == .outOfFuel)
        let outOfTime = try await engine.call(spin, .invoke("spin", limits: Limits(wallTime: .milliseconds(50))))
        #expect(outOfTime.trap?.code == .interrupted)
        let grow = try await engine.compile(.wat("""
            (module (memory 1) (func (export "grow") (result i32) (memory.grow (i32.const 10))))
            """))
        #expect(try await engine.call(grow, .invoke("grow", limits: Limits(memoryPages: 4))).values == [.i32(UInt32(bitPattern: -1))])
        #expect(try await engine.call(grow, .invoke("grow")).values == [.i32(1)])
    }

    @Test func overloadIsAnError() async throws {
        let engine = try makeEngine(slots: 1, admission: .refuse)
        defer { engine.shutdown() }
        let spin = try await engine.compile(.wat("(module (func (export \"spin\") (loop (br 0))))"))
        let running = Task { try await engine.call(spin, .invoke("spin", limits: Limits(wallTime: .seconds(30)))) }
        while engine.counts.live == 0 { try await Task.sleep(for: .milliseconds(1)) }
        await #expect(throws: ShoalError.self) { try await engine.call(spin, .invoke("spin")) }
        running.cancel()
        await #expect(throws: CancellationError.self) { try await running.value }
    }
}

/// The engine as a swift-service-lifecycle service: it serves until graceful shutdown, then stops.
@Suite struct EngineServiceTests {
    @Test func gracefulShutdownStopsTheEngine() async throws {
        let engine = try makeEngine()
        var logger = Logger(label: "shoal.tests")
        logger.logLevel = .warning
        let group = ServiceGroup(configuration: .init(services: [engine], logger: logger))
        let running = Task { try await group.run() }
        let module = try await engine.compile(EngineTests.add)
        #expect(try await engine.call(module, .invoke("add", [.i32(1), .i32(2)])).values == [.i32(3)])
        await group.triggerGracefulShutdown()
        try await running.value
        await #expect(throws: ShoalError.shutDown) { try await engine.call(module, .invoke("add", [.i32(1), .i32(2)])) }
    }
}
