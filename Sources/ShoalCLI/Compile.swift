import ArgumentParser
import Artifacts
import Foundation
import Logging
import Optimizer
import RuntimeABI
import Shoal
import WasmDecoder
import WasmText

/// `shoal compile IN -o OUT`: compiles a module to an artifact (`wasmtime compile`'s counterpart,
/// `.shoal` for `.cwasm`) through an `Engine`, so the CLI stays on the embedding API: the engine's
/// heap mode and fuel setting are the artifact's, and `shoal run` configures its engine from them.
struct Compile: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compile",  // spelled out: deriving it from the type name costs a protocol-conformance scan
        abstract: "Compile a WebAssembly module (.wasm or .wat) to a Shoal artifact.",
        discussion: """
            The artifact holds the machine code for this machine's CPU features, the module, and a \
            contract (heap mode and size, fuel, imports, versions) that `shoal run` and \
            Engine.load(artifact:) check before mapping any code. Prints nothing on success.
            """
    )

    @Option(name: .shortAndLong, help: "The artifact to write. Default: FILE with its extension replaced by .shoal.")
    var output: String?

    @Option(help: "Linear memory protection the code is compiled for: guarded (guard pages, no bounds checks) or bounded (explicit checks).")
    var heap: HeapMode = .guarded

    @Option(help: "Compiler tier: baseline, or optimized (the optimizing tier where it can, the baseline for the rest).")
    var tier: CompilerTier = .baseline

    @Flag(help: "Print how many functions each tier compiled, and why the optimizing tier left the others.")
    var stats = false

    @Flag(name: .customLong("dump-ir"), help: "Print the optimizing tier's IR (after its passes) of every function it supports, and write no artifact.")
    var dumpIR = false

    @Flag(help: "Compile fuel counting in, so that `shoal run --fuel N` can limit the artifact.")
    var fuel = false

    @Option(name: .customLong("sign"), help: ArgumentHelp("Sign the artifact with this private key (from `shoal keygen`).", valueName: "keyfile"))
    var signingKeyFile: String?

    @Argument(help: "The module file.")
    var file: String

    /// FILE with its extension (if any) replaced by `.shoal`.
    var outputPath: String {
        if let output { return output }
        let url = URL(fileURLWithPath: file)
        return url.pathExtension.isEmpty ? file + ".shoal" : url.deletingPathExtension().appendingPathExtension("shoal").path
    }

    func run() async throws {
        let bytes = try readInput(file)
        if ArtifactFormat.looksLikeArtifact(bytes) { throw failure("\(file) is already a Shoal artifact") }
        if dumpIR {
            try printIR(bytes)
            return
        }
        var key: [UInt8]?
        if let signingKeyFile {
            if signingKeyFile.hasSuffix(".pub") {
                throw failure("\(signingKeyFile) looks like a public key; --sign takes the private key (the .key file)")
            }
            do {
                key = try Signing.readKey(at: signingKeyFile)
            } catch ShoalError.invalidCall(let message) {
                throw failure("--sign: \(message)")
            }
        }
        var configuration = EngineConfiguration()
        configuration.heapMode = heap
        configuration.fuel = fuel
        configuration.tier = tier == .optimized ? .optimized : .baseline
        configuration.threads = 1
        configuration.slots = 1
        configuration.stackSize = 64 * 1024
        var logger = Logger(label: "shoal")
        logger.logLevel = .warning
        let engine = try Engine(configuration, logger: logger)
        defer { engine.shutdown() }
        let artifact: [UInt8]
        do {
            let module = try await engine.compile(bytes)
            if stats { printTierStats(module.tierStats) }
            artifact = try module.artifact(signingKey: key)
        } catch ShoalError.invalidModule(let message) {
            throw failure("\(file): \(message)")
        } catch {
            throw failure("\(file): \(error)")
        }
        guard FileManager.default.createFile(atPath: outputPath, contents: Data(artifact)) else {
            throw failure("cannot write \(outputPath)")
        }
    }
}

extension Compile {
    /// `--dump-ir`: each defined function's IR after the passes, or why the tier leaves it.
    func printIR(_ bytes: [UInt8]) throws {
        let binary = try TextFormat.binary(from: bytes)
        let module = try ModuleDecoder.decode(binary, validateFunctions: false)
        let context = OptimizerContext(module: module, context: module.validationContext, layout: VMContextLayout(module: module),
                                       options: CompileOptions(heapMode: heap, fuel: fuel, tier: .optimized))
        for defined in module.functionBodies.indices {
            let index = module.importedFunctionCount + defined
            print("function \(index):")
            do {
                print(try OptimizingCompiler.ir(context, functionIndex: index), terminator: "")
                let code = try OptimizingCompiler.compile(context, functionIndex: index).code
                print("code: " + code.map { String(format: "%02x", $0) }.joined())
            } catch {
                print("  (baseline: \(error))")
            }
        }
    }
}
