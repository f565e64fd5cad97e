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
        let engine = try makeEngine(linker: linker) { $0.tier = .auto }
        defer { engine.shutdown() }
        // 300 more functions make the background compile take far longer than the first call
        // takes to reach its pause, so the call starts on baseline code.
        let module = try await engine.compile(Self.bigModule)
        async let first = engine.call(module, .invoke("pausing", [.i32(10)]))
        while engine.counts.parked == 0 { try await Task.sleep(for: .milliseconds(1)) }
        #expect(module.tierStats.baselineFunctions > 0, "the call did not start on baseline code")
        await module.waitForOptimizedCode()
        #expect(module.tierStats.baselineFunctions == 0)
        gate.open()
        #expect(try await first.values == [.i32(55)])
        #expect(try await engine.call(module, .invoke("pausing", [.i32(20)])).values == [.i32(210)])
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

    static let bigModule: [UInt8] = {
        var text = String(decoding: module, as: UTF8.self)
        text.removeLast()  // the module's closing parenthesis
        for i in 0..<300 {
            text += "(func (param i32) (result i32) (local i32) local.get 0 i32.const \(i) i32.mul local.tee 1 local.get 0 i32.add)\n"
        }
        return Array((text + ")").utf8)
    }()

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
