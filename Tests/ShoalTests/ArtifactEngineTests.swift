import Foundation
import Shoal
import Testing

/// Artifacts through the engine: load, signatures, the grants, and the on-disk compile cache.
@Suite struct ArtifactEngineTests {
    static let program = [UInt8].wat("""
        (module
          (memory 1) (data (i32.const 100) "\\2a")
          (global $g (mut i32) (i32.const 5))
          (func $sq (param i32) (result i32) (i32.mul (local.get 0) (local.get 0)))
          (func (export "f") (param i32) (result i32)
            (global.set $g (i32.add (global.get $g) (i32.load8_u (i32.const 100))))
            (i32.add (call $sq (local.get 0)) (global.get $g))))
        """)

    @Test func anArtifactRunsAsTheModuleItCameFrom() async throws {
        let compiling = try makeEngine()
        defer { compiling.shutdown() }
        let module = try await compiling.compile(Self.program)
        let artifact = try module.artifact()
        let loading = try makeEngine()
        defer { loading.shutdown() }
        let loaded = try await loading.load(artifact: artifact)
        #expect(loaded.digest == module.digest)
        #expect(loaded.machineCode == module.machineCode)
        for x: UInt32 in [0, 3, 1000] {
            let a = try await compiling.call(module, .invoke("f", [.i32(x)]))
            let b = try await loading.call(loaded, .invoke("f", [.i32(x)]))
            #expect(a.values == b.values)
        }
        // The loaded module is in the cache under its source's digest: compiling the source is a hit.
        _ = try await loading.compile(Self.program)
        let stats = await loading.compiler.statistics
        #expect(stats.artifactsLoaded == 1)
        #expect(stats.compilations == 0)
        #expect(stats.cacheHits == 1)
    }

    @Test func signedCodeIsRequiredWhenTheEngineTrustsKeys() async throws {
        let (key, publicKey) = Signing.generateKeyPair()
        let (otherKey, _) = Signing.generateKeyPair()
        let compiling = try makeEngine()
        defer { compiling.shutdown() }
        let module = try await compiling.compile(Self.program)
        let strict = try makeEngine { $0.trustedKeys = [publicKey] }
        defer { strict.shutdown() }
        await #expect(throws: ArtifactError.unsigned) { try await strict.load(artifact: try module.artifact()) }
        await #expect(throws: ArtifactError.badSignature) { try await strict.load(artifact: try module.artifact(signingKey: otherKey)) }
        let loaded = try await strict.load(artifact: try module.artifact(signingKey: key))
        #expect(try await strict.call(loaded, .invoke("f", [.i32(2)])).values == [.i32(51)])
    }

    @Test func theContractIsCheckedAgainstTheEngine() async throws {
        let guarded = try makeEngine { $0.heapMode = .guarded }
        defer { guarded.shutdown() }
        let bounded = try makeEngine()
        defer { bounded.shutdown() }
        let module = try await guarded.compile(Self.program)
        await #expect {
            try await bounded.load(artifact: try module.artifact())
        } throws: { error in
            guard case ArtifactError.heapMismatch = error else { return false }
            return "\(error)".contains("guarded")
        }
        let importing = try await bounded.compile(.wat(#"(module (import "env" "tick" (func)) (func (export "f") call 0))"#))
        await #expect(throws: ArtifactError.importNotGranted(module: "env", name: "tick")) {
            try await bounded.load(artifact: try importing.artifact())
        }
        let granting = try makeEngine { $0.grantedImports = [("env", "tick")] }
        defer { granting.shutdown() }
        _ = try await granting.load(artifact: try importing.artifact())
        let fueled = try makeEngine(fuel: true)
        defer { fueled.shutdown() }
        await #expect {
            try await fueled.load(artifact: try module.artifact())
        } throws: { error in
            if case ArtifactError.heapMismatch = error { return true }  // (guarded is checked first)
            if case ArtifactError.optionsMismatch = error { return true }
            return false
        }
        let plain = try await bounded.compile(Self.program)
        await #expect {
            try await fueled.load(artifact: try plain.artifact())
        } throws: { error in
            guard case ArtifactError.optionsMismatch(let why) = error else { return false }
            return why.contains("fuel")
        }
    }

    @Test func theCompileCacheSurvivesARestartAndRecompilesABadEntry() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("shoal-cache-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let bytes = try Programs.bytes("hello")
        var wasi = WASIConfiguration(arguments: ["hello", "7"], captureOutput: true)
        wasi.stdin = []
        // First process: compiles and writes the artifact.
        let first = try makeEngine { $0.cacheDirectory = directory }
        let expected = try await first.call(try await first.compile(bytes), .wasi(wasi))
        #expect(await first.compiler.statistics.diskWrites == 1)
        first.shutdown()
        // Second: loads it, compiles nothing.
        let second = try makeEngine { $0.cacheDirectory = directory }
        let again = try await second.call(try await second.compile(bytes), .wasi(wasi))
        var stats = await second.compiler.statistics
        #expect(stats.diskHits == 1)
        #expect(stats.compilations == 0)
        #expect(again.stdout == expected.stdout && again.exitStatus == 7)
        second.shutdown()
        // Corrupt the entry: the third refuses it, recompiles, rewrites, and runs correctly.
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".shoal") }
        #expect(files.count == 1)
        let path = directory.appendingPathComponent(files[0])
        var artifact = [UInt8](try Data(contentsOf: path))
        artifact[artifact.count / 2] ^= 0x40
        try Data(artifact).write(to: path)
        let third = try makeEngine { $0.cacheDirectory = directory }
        defer { third.shutdown() }
        let repaired = try await third.call(try await third.compile(bytes), .wasi(wasi))
        stats = await third.compiler.statistics
        #expect(stats.diskRejected == 1)
        #expect(stats.compilations == 1)
        #expect(stats.diskWrites == 1)
        #expect(repaired.stdout == expected.stdout)
    }
}
