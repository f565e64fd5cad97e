import Artifacts
import Compiler
import Crypto
import Foundation
import Runtime
import RuntimeABI
import Testing
import WasmCore
import WasmText

/// An artifact decodes to exactly what was encoded, and the decoded module runs like the original.
@Suite("artifacts: round trip")
struct RoundTripTests {
    /// Both heap modes, and fuel counting (which changes the code).
    static let optionSets: [CompileOptions] = [
        CompileOptions(heapMode: .guarded), CompileOptions(heapMode: .bounded),
        CompileOptions(heapMode: .guarded, fuel: true), CompileOptions(heapMode: .bounded, fuel: true),
    ]

    static func roundTrip(_ compiled: CompiledModule, _ bytes: [UInt8], _ what: String,
                          key: Curve25519.Signing.PrivateKey? = nil) throws -> CompiledModule {
        let artifact = try Artifact.encode(compiled, sourceSHA256: sha256(bytes), signingKey: key)
        var requirements = LoadRequirements()
        requirements.heapMode = compiled.heapMode
        requirements.fuel = compiled.options.fuel
        if let key { requirements.trustedKeys = [Array(key.publicKey.rawRepresentation)] }
        let decoded = try Artifact.decode(artifact, requirements: requirements)
        #expect(decoded.isSigned == (key != nil), "\(what)")
        #expect(decoded.byteCount == artifact.count)
        #expect(decoded.contract == ArtifactContract(compiled, sourceSHA256: sha256(bytes)), "\(what): contract")
        #expect(decoded.sections.map(\.section) == ArtifactFormat.Section.allCases)
        #expect(decoded.sections.last!.offset % ArtifactFormat.codeAlignment == 0, "\(what): code page-aligned")
        expectSame(compiled, decoded.compiled, what)
        // Encoding the decoded module again gives the same file (unsigned: deterministic).
        if key == nil {
            #expect(try Artifact.encode(decoded.compiled, sourceSHA256: sha256(bytes)) == artifact, "\(what): re-encoding")
        }
        return decoded.compiled
    }

    @Test("every test program and kernel, both heap modes, with and without fuel")
    func programsAndKernels() throws {
        let files = wasmFiles(["Tests/wasi-programs", "Bench/kernels"])
        #expect(files.count >= 29, "the test programs (18) and kernels (11) are checked in")
        let key = Curve25519.Signing.PrivateKey()
        var kernelsRun = 0, named = 0
        for file in files {
            let bytes = read(file)
            if try !ModuleCompiler.compile(bytes: bytes, options: Self.optionSets[0]).module.functionNames.isEmpty { named += 1 }
            for options in Self.optionSets {
                let what = "\(file) \(options)"
                let compiled = try ModuleCompiler.compile(bytes: bytes, options: options)
                let decoded = try Self.roundTrip(compiled, bytes, what)
                if options == Self.optionSets[0] { _ = try Self.roundTrip(compiled, bytes, what + " signed", key: key) }
                // Instantiate the decoded module (WASI imports stubbed: nothing runs unless there is a
                // start function, and these programs have none).
                let store = Store(heapMode: options.heapMode)
                #expect(compiled.module.start == nil)
                let instance = try store.instantiate(decoded, resolver: stubImports(decoded.module))
                if file.hasPrefix("Bench/kernels") {
                    let original = try store.instantiate(compiled) { _, _ in nil }
                    for n: UInt32 in [1, 7] {
                        let expected = try original.invoke("run", [.i32(n)])
                        #expect(try instance.invoke("run", [.i32(n)]) == expected, "\(what) run(\(n))")
                    }
                    kernelsRun += 1
                }
            }
        }
        #expect(kernelsRun == 11 * Self.optionSets.count)
        #expect(named > 0, "some modules carry function names (the name section)")
        print("round trip: \(files.count) modules x \(Self.optionSets.count) option sets, \(named) with function names")
    }

    @Test("an optimized artifact keeps its tier and per-tier counts; counts that do not match the code are refused")
    func optimizedTier() throws {
        // fib is all scalar code; the second module has a v128 function, which the optimizing tier
        // leaves to the baseline (a fallback reason in the counts).
        let simd = try TextFormat.wat2wasm("""
            (module
              (func (export "scalar") (param i32) (result i32) local.get 0 i32.const 1 i32.add)
              (func (export "lanes") (param i32) (result i32) local.get 0 i32x4.splat i32x4.extract_lane 3))
            """)
        for (bytes, what) in [(read("Bench/kernels/fib.wasm"), "fib"), (simd, "simd")] {
            for heapMode in [HeapMode.guarded, .bounded] {
                let options = CompileOptions(heapMode: heapMode, tier: .optimized)
                let compiled = try ModuleCompiler.compile(bytes: bytes, options: options)
                let decoded = try Self.roundTrip(compiled, bytes, "\(what) \(heapMode) optimized")
                #expect(decoded.options.tier == .optimized)
                #expect(decoded.tierStats == compiled.tierStats)
                #expect(decoded.tierStats.optimizedFunctions >= 1)
                if what == "simd" {
                    #expect(decoded.tierStats.baselineFunctions == 1 && decoded.tierStats.fallbackReasons.count == 1)
                }
            }
        }
        // Counts that do not add up to the functions, or optimized functions in a baseline artifact.
        let fib = read("Bench/kernels/fib.wasm")
        var inflated = try ModuleCompiler.compile(bytes: fib, options: CompileOptions(tier: .optimized))
        inflated.tierStats.optimizedFunctions += 1
        var claimed = try ModuleCompiler.compile(bytes: fib, options: CompileOptions(tier: .baseline))
        claimed.tierStats.optimizedFunctions = 1
        claimed.tierStats.baselineFunctions -= 1
        for bad in [inflated, claimed] {
            let artifact = try Artifact.encode(bad, sourceSHA256: sha256(fib))
            let error = refusal { () throws(ArtifactError) in try Artifact.decode(artifact) }
            #expect(error.map(errorClass) == "malformed")
            #expect("\(error.map { String(describing: $0) } ?? "")".contains("tier counts"))
        }
    }

    static let provider = """
        (module
          (global (export "g") i32 (i32.const 40))
          (global (export "gm") (mut i64) (i64.const 7))
          (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))
        """

    static let consumer = """
        (module $consumer
          (import "p" "add" (func $add (param i32 i32) (result i32)))
          (import "p" "g" (global $g i32))
          (import "p" "gm" (global $gm (mut i64)))
          (type $ii (func (param i32) (result i32)))
          (table $t 8 16 funcref)
          (table $r 2 externref)
          (memory (export "mem") 1 3)
          (global $counter (mut i32) (global.get $g))
          (global $f (mut f64) (f64.const 2.5))
          (global $fr funcref (ref.func $double))
          (elem (table $t) (i32.const 1) func $double $triple)
          (elem $passive func $triple $double)
          (elem declare func $square)
          (data (i32.const 16) "active bytes")
          (data $passive "passive data \\00\\01\\ff")
          (func $double (type $ii) local.get 0 i32.const 2 i32.mul)
          (func $triple (type $ii) local.get 0 i32.const 3 i32.mul)
          (func $square (param i32) (result i32) local.get 0 local.get 0 i32.mul)
          (func $init
            global.get $counter i32.const 2 i32.add global.set $counter
            (table.init $t $passive (i32.const 4) (i32.const 0) (i32.const 2))
            (memory.init $passive (i32.const 100) (i32.const 0) (i32.const 16)))
          (start $init)
          (func (export "counter") (result i32) global.get $counter)
          (func (export "call") (param i32 i32) (result i32) local.get 1 local.get 0 call_indirect $t (type $ii))
          (func (export "load") (param i32) (result i32) local.get 0 i32.load8_u)
          (func (export "sum") (param i32) (result i32) local.get 0 global.get $g call $add)
          (func (export "bump") (result i64) global.get $gm i64.const 1 i64.add global.set $gm global.get $gm)
          (func (export "f") (result f64) global.get $f)
          (func (export "size") (result i32) table.size $t)
          (func (export "ref") (param i32) (result i32) local.get 0 ref.func $square drop call $square))
        """

    @Test("text modules: tables, elements, globals (imported too), passive data, start, names", arguments: Self.optionSets)
    func textModules(options: CompileOptions) throws {
        try onLargeStack {
            let providerBytes = try TextFormat.wat2wasm(Self.provider)
            let consumerBytes = try TextFormat.wat2wasm(Self.consumer)
            let providerCompiled = try ModuleCompiler.compile(bytes: providerBytes, options: options)
            let compiled = try ModuleCompiler.compile(bytes: consumerBytes, options: options)
            #expect(compiled.module.start != nil && !compiled.module.elements.isEmpty && compiled.module.data.count == 2)
            let decodedProvider = try Self.roundTrip(providerCompiled, providerBytes, "provider \(options)")
            let decoded = try Self.roundTrip(compiled, consumerBytes, "consumer \(options)")
            let key = Curve25519.Signing.PrivateKey()
            _ = try Self.roundTrip(compiled, consumerBytes, "consumer \(options) signed", key: key)

            // The original pair and the decoded pair, in separate stores, answer the same.
            // (A store frees its instances when it goes: both stay alive for the whole test.)
            func instantiate(_ store: Store, _ p: CompiledModule, _ c: CompiledModule) throws -> Instance {
                let provider = try store.instantiate(p) { _, _ in nil }
                return try store.instantiate(c) { module, name in module == "p" ? provider.export(name) : nil }
            }
            let originalStore = Store(heapMode: options.heapMode), artifactStore = Store(heapMode: options.heapMode)
            let original = try instantiate(originalStore, providerCompiled, compiled)
            let fromArtifact = try instantiate(artifactStore, decodedProvider, decoded)
            let calls: [(String, [Value])] = [
                ("counter", []), ("call", [.i32(1), .i32(5)]), ("call", [.i32(2), .i32(5)]), ("call", [.i32(4), .i32(5)]),
                ("call", [.i32(5), .i32(5)]), ("load", [.i32(16)]), ("load", [.i32(100)]), ("load", [.i32(115)]),
                ("sum", [.i32(2)]), ("bump", []), ("bump", []), ("f", []), ("size", []), ("ref", [.i32(9)]),
            ]
            for (name, arguments) in calls {
                let expected = try original.invoke(name, arguments)
                #expect(try fromArtifact.invoke(name, arguments) == expected, "\(name)(\(arguments)) \(options)")
            }
            #expect(try fromArtifact.invoke("counter", []) == [.i32(42)])
            #expect(try fromArtifact.invoke("call", [.i32(4), .i32(5)]) == [.i32(15)], "table.init from the passive segment")
            #expect(try fromArtifact.invoke("load", [.i32(115)]) == [.i32(0xff)], "memory.init from the passive segment")
            // A call that traps traps the same way.
            #expect(throws: Trap.self) { try fromArtifact.invoke("call", [.i32(0), .i32(1)]) }
            withExtendedLifetime((originalStore, artifactStore)) {}
        }
    }
}
