import Foundation
import Shoal
import Synchronization
import Testing

/// `Tiering.auto`: baseline code at once, the optimizing tier's in the background, new calls on
/// the newest code, running calls finishing on theirs.
@Suite struct TieringTests {
    /// A loop that adds 1..n, and a call out to the host in the middle of it.
    static let module = [UInt8].wat("""
        (module
          (import "host" "pause" (func $pause))
          (func (export "sum") (param $n i32) (result i32) (local $s i32)
            (block $done (loop $next
              (br_if $done (i32.eqz (local.get $n)))
              (local.set $s (i32.add (local.get $s) (local.get $n)))
              (local.set $n (i32.sub (local.get $n) (i32.const 1)))
              (br $next)))
            local.get $s)
          (func (export "pausing") (param $n i32) (result i32)
            call $pause
            (call 1 (local.get $n))))
        """)

    @Test func aModuleStartsOnBaselineCodeAndNewCallsRunOnOptimizedCode() async throws {
        let engine = try makeEngine(linker: Self.noPause) { $0.tier = .auto }
        defer { engine.shutdown() }
        let module = try await engine.compile(Self.module)
        #expect(try await engine.call(module, .invoke("sum", [.i32(100)])).values == [.i32(5050)])
        await module.waitForOptimizedCode()
        #expect(module.tierStats.optimizedFunctions == 2 && module.tierStats.baselineFunctions == 0, "\(module.tierStats)")
        #expect(try await engine.call(module, .invoke("sum", [.i32(1000)])).values == [.i32(500_500)])
        let stats = await engine.compiler.statistics
        #expect(stats.tierUps == 1 && stats.tierUpFailures == 0 && stats.compilations == 1)
        // The cached module is the same one: compiling the bytes again is a hit on optimized code.
        let again = try await engine.compile(Self.module)
        #expect(again.tierStats.optimizedFunctions == 2)
    }

    @Test func aCallRunningWhenTheCodeIsReplacedFinishesOnItsOwnCode() async throws {
        let gate = Gate()
        var linker = Linker()
        linker.defineAsync("host", "pause", FuncType(params: [], results: [])) { _ in
            await gate.wait()
            return []
        }
        // The tier-up starts at the second call: the first is made on baseline code and parks.
        let engine = try makeEngine(linker: linker) { $0.tier = .auto; $0.tierUpAfterCalls = 2 }
        defer { engine.shutdown() }
        let module = try await engine.compile(Self.module)
        async let first = engine.call(module, .invoke("pausing", [.i32(10)]))
        while engine.counts.parked == 0 { try await Task.sleep(for: .milliseconds(1)) }
        #expect(module.tierStats.baselineFunctions == 2)
        // The second call starts the optimizing compile and still runs on baseline code.
        #expect(try await engine.call(module, .invoke("sum", [.i32(4)])).values == [.i32(10)])
        await module.waitForOptimizedCode()
        #expect(module.tierStats.optimizedFunctions == 2 && module.tierStats.baselineFunctions == 0)
        // The first call resumes on the baseline code it started with, which is still mapped.
        gate.open()
        #expect(try await first.values == [.i32(55)])
        #expect(try await engine.call(module, .invoke("pausing", [.i32(20)])).values == [.i32(210)])
        #expect(await engine.compiler.statistics.tierUps == 1)
    }

    @Test func aModuleCalledFewerTimesThanTheThresholdIsNeverCompiledTwice() async throws {
        let engine = try makeEngine(linker: Self.noPause) { $0.tier = .auto; $0.tierUpAfterCalls = 3 }
        defer { engine.shutdown() }
        let module = try await engine.compile(Self.module)
        for n in 1...2 { #expect(try await engine.call(module, .invoke("sum", [.i32(UInt32(n))])).values == [.i32(UInt32(n * (n + 1) / 2))]) }
        await module.waitForOptimizedCode()  // none started: returns at once
        #expect(module.tierStats.baselineFunctions == 2)
        #expect(await engine.compiler.statistics.tierUps == 0)
        _ = try await engine.call(module, .invoke("sum", [.i32(3)]))
        await module.waitForOptimizedCode()
        #expect(module.tierStats.optimizedFunctions == 2)
    }

    @Test func optimizedCodeOnDiskIsUsedAtOnceByTheNextEngine() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("shoal-tiering-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let configure: (inout EngineConfiguration) -> Void = { $0.tier = .auto; $0.cacheDirectory = directory }
        do {
            let engine = try makeEngine(linker: Self.noPause, configure: configure)
            defer { engine.shutdown() }
            let module = try await engine.compile(Self.module)
            await module.waitForOptimizedCode()
            let stats = await engine.compiler.statistics
            #expect(stats.tierUps == 1 && stats.diskWrites == 1)  // the tier-up's entry is written by obtain, not counted here
        }
        let engine = try makeEngine(linker: Self.noPause, configure: configure)
        defer { engine.shutdown() }
        let module = try await engine.compile(Self.module)
        #expect(module.tierStats.optimizedFunctions == 2 || module.tierStats == TierStats(),
                "an artifact from disk carries no statistics; either way it must not be the baseline's: \(module.tierStats)")
        let stats = await engine.compiler.statistics
        #expect(stats.diskHits == 1 && stats.compilations == 0 && stats.tierUps == 0, "\(stats)")
        #expect(try await engine.call(module, .invoke("sum", [.i32(10)])).values == [.i32(55)])
    }

    static var noPause: Linker {
        var linker = Linker()
        linker.define("host", "pause", FuncType(params: [], results: [])) { _, _ in [] }
        return linker
    }
}

/// Opens once; `wait` returns when it is open.
final class Gate: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func wait() async {
        await withCheckedContinuation { continuation in
            let now = state.withLock { s -> Bool in
                if s.open { return true }
                s.waiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }

    func open() {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.open = true
            defer { s.waiters = [] }
            return s.waiters
        }
        for w in waiters { w.resume() }
    }
}
