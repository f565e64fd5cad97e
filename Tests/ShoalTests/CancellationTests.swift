import Foundation
import Shoal
import Testing

/// Cancelling the task that made a call stops its instance, wherever it is.
@Suite struct CancellationTests {
    @Test func cancellingARunningCallStopsIt() async throws {
        let engine = try makeEngine()
        defer { engine.shutdown() }
        let spin = try await engine.compile(.wat("(module (func (export \"spin\") (loop (br 0))))"))
        let call = Task { try await engine.call(spin, .invoke("spin")) }
        while engine.counts.live == 0 { try await Task.sleep(for: .milliseconds(1)) }
        call.cancel()
        await #expect(throws: CancellationError.self) { try await call.value }
        while engine.counts.live > 0 { try await Task.sleep(for: .milliseconds(1)) }  // the slot comes back
    }

    @Test func cancellingAParkedCallStopsIt() async throws {
        var linker = Linker()
        // Never completes (until the test ends): the guest stays parked in it.
        linker.defineAsync("env", "wait", FuncType(params: [], results: [])) { _ in
            try await Task.sleep(for: .seconds(3600))
            return []
        }
        let engine = try makeEngine(linker: linker)
        defer { engine.shutdown() }
        let module = try await engine.compile(.wat("(module (import \"env\" \"wait\" (func $w)) (func (export \"f\") (call $w)))"))
        let call = Task { try await engine.call(module, .invoke("f")) }
        while engine.counts.parked == 0 { try await Task.sleep(for: .milliseconds(1)) }
        call.cancel()
        await #expect(throws: CancellationError.self) { try await call.value }
        #expect(engine.counts.parked == 0)
        while engine.counts.live > 0 { try await Task.sleep(for: .milliseconds(1)) }
    }

    @Test func cancellingAWASIProgramWaitingOnStdinStopsIt() async throws {
        let engine = try makeEngine()
        defer { engine.shutdown() }
        let cat = try await engine.compile(try Programs.bytes("cat"))
        let (input, continuation) = AsyncStream<[UInt8]>.makeStream()
        continuation.yield(Array("first".utf8))  // then nothing: the guest waits for more
        var wasi = WASIConfiguration(arguments: ["cat"], captureOutput: true)
        wasi.standardInput = .stream(WASIInputStream(input))
        let call = Task { try await engine.call(cat, .wasi(wasi)) }
        while engine.counts.parked == 0 { try await Task.sleep(for: .milliseconds(1)) }
        call.cancel()
        await #expect(throws: CancellationError.self) { try await call.value }
        continuation.finish()
    }
}
