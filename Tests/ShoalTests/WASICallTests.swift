import Foundation
import Shoal
import Testing

/// WASI programs through the engine: per-call standard streams, isolation between calls.
@Suite struct WASICallTests {
    @Test func aThousandConcurrentCallsEachSeeOnlyTheirOwnStdinAndStdout() async throws {
        let engine = try makeEngine(slots: 256)
        defer { engine.shutdown() }
        let cat = try await engine.compile(try Programs.bytes("cat"))
        let calls = 1_000
        let mismatches = try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 0..<calls {
                group.addTask {
                    // Each call's input is distinct and long enough to take several reads.
                    let input = Array("call \(i): ".utf8) + [UInt8](repeating: UInt8(i % 251), count: 5_000 + i)
                    var wasi = WASIConfiguration(arguments: ["cat"], captureOutput: true)
                    wasi.stdin = input
                    let result = try await engine.call(cat, .wasi(wasi))
                    return result.stdout == input && result.exitStatus == 0 && result.stderr.isEmpty ? 0 : 1
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(mismatches == 0)
    }

    @Test func stdoutStreamsToAnAsyncSequenceAndStdinFromOne() async throws {
        let engine = try makeEngine()
        defer { engine.shutdown() }
        let cat = try await engine.compile(try Programs.bytes("cat"))
        // Input arrives in chunks, produced while the guest runs; output is consumed as written,
        // through a buffer far smaller than the total, so the guest must wait for its reader.
        let chunks = (0..<200).map { i in [UInt8](repeating: UInt8(i), count: 1_000 + i) }
        let input = AsyncStream<[UInt8]> { continuation in
            Task {
                for c in chunks {
                    continuation.yield(c)
                    await Task.yield()
                }
                continuation.finish()
            }
        }
        let output = WASIOutputStream(bufferLimit: 8_192)
        var wasi = WASIConfiguration(arguments: ["cat"])
        wasi.standardInput = .stream(WASIInputStream(input))
        wasi.standardOutput = .stream(output)
        async let collected = output.collect()
        let result = try await engine.call(cat, .wasi(wasi))
        #expect(result.exitStatus == 0)
        #expect(await collected == chunks.flatMap { $0 })
        #expect(result.stdout.isEmpty)  // streamed, not captured
    }

    @Test func aCallWithoutAWASIConfigurationSeesNothingOfTheHost() async throws {
        let engine = try makeEngine()
        defer { engine.shutdown() }
        let hello = try await engine.compile(try Programs.bytes("hello"))
        let result = try await engine.call(hello, Call())
        #expect(result.exitStatus == 0)
        // Output is captured, not written to the host's stdout; no arguments, no environment.
        #expect(result.stdoutText == "hello from wasi\nGREETING=(unset)\n")
        #expect(result.stderrText == "to stderr\n")
    }
}
