import Foundation
import Shoal
import Testing

/// The compile service: one compilation per distinct input, a bounded cache.
@Suite struct CompileServiceTests {
    @Test func concurrentRequestsForTheSameBytesCompileOnce() async throws {
        let engine = try makeEngine()
        defer { engine.shutdown() }
        let bytes = try Programs.bytes("cppio")  // large enough that the requests overlap
        let digests = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<50 { group.addTask { try await engine.compile(bytes).digest } }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(digests.count == 1)
        let stats = await engine.compiler.statistics
        #expect(stats.compilations == 1)
        #expect(stats.cacheHits + stats.joinedInFlight == 49)
    }

    @Test func runCompilesOnDemandAndLaterCallsHitTheCache() async throws {
        let engine = try makeEngine()
        defer { engine.shutdown() }
        let bytes = [UInt8].wat("(module (func (export \"seven\") (result i32) i32.const 7))")
        for _ in 0..<3 {
            #expect(try await engine.run(bytes: bytes, .invoke("seven")).values == [.i32(7)])
        }
        let stats = await engine.compiler.statistics
        #expect(stats.compilations == 1)
        #expect(stats.cacheHits == 2)
    }

    @Test func theCacheKeepsAtMostItsCapacityLeastRecentlyUsedFirst() async throws {
        let engine = try makeEngine { $0.compiledModuleCacheCapacity = 2 }
        defer { engine.shutdown() }
        func module(_ n: Int) -> [UInt8] { .wat("(module (func (export \"n\") (result i32) i32.const \(n)))") }
        _ = try await engine.compile(module(1))
        _ = try await engine.compile(module(2))
        _ = try await engine.compile(module(1))  // 1 is now the most recent
        _ = try await engine.compile(module(3))  // evicts 2
        #expect(await engine.compiler.cachedCount == 2)
        _ = try await engine.compile(module(1))  // still cached
        var stats = await engine.compiler.statistics
        #expect(stats.compilations == 3)
        #expect(stats.evictions == 1)
        _ = try await engine.compile(module(2))  // compiled again
        stats = await engine.compiler.statistics
        #expect(stats.compilations == 4)
    }

    @Test func failuresAreReportedAndNotCached() async throws {
        let engine = try makeEngine()
        defer { engine.shutdown() }
        let bad = [UInt8].wat("(module (func (result i32) i64.const 1))")
        for _ in 0..<2 {
            await #expect(throws: ShoalError.self) { try await engine.compile(bad) }
        }
        #expect(await engine.compiler.statistics.failures == 2)
    }
}

/// Functions of one module compile in parallel on `compileThreads` threads, to the same bytes.
@Suite struct ParallelCompileThroughTheEngineTests {
    @Test(arguments: [HeapMode.bounded, .guarded])
    func compileThreadsDoNotChangeAByte(heap: HeapMode) async throws {
        var modules: [[UInt8]] = []
        for threads in [1, 2, 4] {
            let engine = try makeEngine(slots: 1) {
                $0.compileThreads = threads
                $0.heapMode = heap
            }
            defer { engine.shutdown() }
            for program in ["cppio", "pressure", "hello"] {
                let module = try await engine.compile(try Programs.bytes(program))
                modules.append(module.machineCode + module.functionCodeSizes.flatMap { withUnsafeBytes(of: $0) { Array($0) } })
            }
        }
        #expect(modules[0..<3] == modules[3..<6])
        #expect(modules[0..<3] == modules[6..<9])
        // And code from several threads runs.
        let engine = try makeEngine { $0.compileThreads = 4; $0.heapMode = heap }
        defer { engine.shutdown() }
        var wasi = WASIConfiguration(arguments: ["pressure"], captureOutput: true)
        wasi.stdin = []
        let result = try await engine.call(try await engine.compile(try Programs.bytes("pressure")), .wasi(wasi))
        #expect(result.exitStatus == 0)
        #expect(result.stdoutText == "6a4b9d0b8697df61 0.084378\n")
    }
}
