import ArgumentParser
import Artifacts
import Foundation
import Logging
import Shoal
import ShoalWASI
import WasmDecoder
import WasmText

/// `shoal run`: compiles a module through a Shoal `Engine` and runs it there: one instance, or
/// `--instances N` of them concurrently. The CLI is the embedding API's first user: it does
/// nothing an embedder could not.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",  // spelled out: deriving it from the type name costs a protocol-conformance scan
        abstract: "Compile and run a WebAssembly module (.wasm or .wat), or run a Shoal artifact (from shoal compile).",
        discussion: """
            With --invoke, calls the named export with ARGS parsed by its parameter types and prints its \
            results one per line (i32/i64 as signed decimals, f32/f64 as decimals). Without it, a WASI \
            program runs its entry (the export named "", else _start), after _initialize for a reactor. \
            A trap prints the trap message and a WebAssembly backtrace to stderr and exits with status \
            134, as wasmtime does.

            An artifact runs as compiled: the engine takes its heap mode and fuel setting from the \
            artifact's contract (--heap and --fuel must agree with them), and loads it only after \
            checking it completely. With --require-signed, only an artifact signed by one of the keys runs.
            """
    )

    @Option(help: "The export to call.")
    var invoke: String?

    @Option(name: .customLong("heap"),
            help: "Linear memory protection: guarded (guard pages, no bounds checks) or bounded (explicit checks). Default: guarded, or bounded with --instances (density); an artifact's own.")
    var heapOption: HeapMode?


    @Option(help: "Compiler tier for a module: baseline; optimized (the optimizing tier where it can, the baseline for the rest); or auto (start on baseline code at once, and run new instances on optimized code once a background compile has made it).")
    var tier: Tiering = .baseline

    @Option(help: "Stop the guest after this much fuel (one unit per function call and loop iteration). An artifact must have been compiled with --fuel.")
    var fuel: Int64?

    @Option(help: "Stop the guest after this much wall time, e.g. 500ms, 2s, 1m.")
    var timeout: Duration?

    @Option(help: "Run this many concurrent instances on the scheduler and print a summary (the density stress tool). Guests may import shoal.sleep_ms(i32); {i} in a WASI program's arguments becomes the instance's number (0 to N-1).")
    var instances: Int?

    @Option(help: "With --instances: how many may be alive at once (region slots); the rest wait. Default: all.")
    var slots: Int?

    @Option(name: .customLong("guard-pages"),
            help: "With --instances: guard pages around every slot's stack, context and memory: always (the default; fails, naming the vm.max_map_count needed, if the slots need more memory mappings than it allows), auto (only if they fit) or never (for densities beyond the mapping limit).")
    var guardPages: GuardPages = .always

    @Option(name: .customLong("dir"), help: "Preopen a host directory for a WASI program: HOST or HOST::GUEST.")
    var directories: [String] = []

    @Option(name: .customLong("env"), help: "An environment variable for a WASI program: NAME=VALUE.")
    var environment: [String] = []

    @Option(name: .customLong("tcplisten"), help: "Preopen a listening TCP socket for a WASI program (sock_accept): ADDRESS:PORT.")
    var tcpListen: [String] = []

    @Option(name: .customLong("require-signed"),
            help: ArgumentHelp("Run the artifact only if it is signed by this public key (from shoal keygen); repeatable: any of them.", valueName: "key.pub"))
    var requiredSigners: [String] = []

    @Option(name: .customLong("cache-dir"),
            help: ArgumentHelp("Keep compiled modules in this directory and start from them on later runs (created with mode 0700; refused if others may write to it).", valueName: "dir"))
    var cacheDirectory: String?

    @Argument(help: "The module file (.wasm, .wat) or artifact (.shoal).")
    var file: String

    @Argument(parsing: .captureForPassthrough, help: "Arguments for the function.")
    var arguments: [String] = []

    /// Runs on the calling thread and blocks it until the guest ends (`ShoalMain` calls it on
    /// the main thread, outside the concurrency runtime's pool).
    func run() throws { try options.execute() }

    /// The command line as plain values, for `RunOptions.execute`.
    var options: RunOptions {
        RunOptions(invoke: invoke, heapOption: heapOption, tier: tier, fuel: fuel, timeout: timeout, instances: instances,
                   slots: slots, guardPages: guardPages, directories: directories, environment: environment,
                   tcpListen: tcpListen, requiredSigners: requiredSigners, cacheDirectory: cacheDirectory,
                   file: file, arguments: arguments)
    }
}

/// What `shoal run` was asked to do, as plain values: read from the command line by
/// ArgumentParser (`Run`), or for the common shapes by `RunOptions(quickParsing:)`, which skips
/// ArgumentParser's reflection-driven setup (most of the command's fixed cost; see
/// Docs/ARCHITECTURE.md). Either way the run is this type's `execute()`.
struct RunOptions: Sendable {
    var invoke: String?
    var heapOption: HeapMode?
    var tier: Tiering = .baseline
    var fuel: Int64?
    var timeout: Duration?
    var instances: Int?
    var slots: Int?
    var guardPages: GuardPages = .always
    var directories: [String] = []
    var environment: [String] = []
    var tcpListen: [String] = []
    var requiredSigners: [String] = []
    var cacheDirectory: String?
    var file: String
    var arguments: [String] = []

    var heap: HeapMode { heapOption ?? (instances == nil ? .guarded : .bounded) }

    /// Runs the module as the options say, on the calling thread, which waits for the engine: an
    /// artifact is loaded here, the guest runs on the engine's worker, and nothing starts the
    /// concurrency runtime's thread pool (compiling a module from source still goes through the
    /// compile service's tasks). Call it only from a thread outside that pool.
    func execute() throws {
        // An artifact is not read here: its contract (a few hundred bytes) configures the engine,
        // and the engine reads and verifies the file once, mapping its code in place.
        let peeked: ArtifactContract?
        do {
            peeked = try ArtifactContract.peek(atPath: file)
        } catch let error as ArtifactError {
            throw fail("\(file): \(error)")
        } catch {
            peeked = nil  // unreadable: readInput below says why
        }
        let isArtifact = peeked != nil
        let bytes = isArtifact ? [] : try readInput(file)
        // The memory the module declares sizes the engine's slots (a single run gets room for
        // its maximum; many instances get their initial size, for density).
        let declared: (min: Int, max: Int?)
        var heap = self.heap, fuelCounting = fuel != nil
        if isArtifact {
            let contract = try artifactContract(peeked!)
            heap = contract.options.heapMode
            fuelCounting = contract.options.fuel
            declared = (Int(contract.heap?.initialPages ?? 0), contract.heap?.maximumPages.map { Int($0) })
        } else if !requiredSigners.isEmpty {
            throw fail("--require-signed: only artifacts can be signed, and \(file) is a module; compile it with shoal compile --sign KEY")
        } else {
            declared = try declaredMemory(bytes)
        }
        var configuration = EngineConfiguration()
        configuration.heapMode = heap
        configuration.fuel = fuelCounting
        configuration.tier = tier
        configuration.trustedKeys = try trustedKeys()
        if let cacheDirectory, !isArtifact {
            let prepared = CacheDirectory.prepare(cacheDirectory)
            if let problem = prepared.problem { FileHandle.standardError.write(Data("warning: --cache-dir: \(problem); running without the cache\n".utf8)) }
            configuration.cacheDirectory = prepared.url
        }
        if let instances {
            guard instances > 0 else { throw ValidationError("--instances must be positive") }
            configuration.slots = slots ?? instances
            configuration.memoryPages = max(declared.min, 1)
            configuration.stackSize = 256 * 1024
            configuration.admission = .queue(limit: instances)
            configuration.guardPages = guardPages
        } else {
            configuration.threads = 1
            configuration.slots = 1
            configuration.memoryPages = min(max(declared.max ?? 65_536, declared.min, 1), 65_536)
            configuration.stackSize = 8 << 20
        }
        var logger = Logger(label: "shoal")
        logger.logLevel = .warning
        let creation = DispatchTime.now().uptimeNanoseconds
        let engine = try Engine(configuration, linker: instances == nil ? Linker() : RunMany.linker, logger: logger)
        let creationMs = Double(DispatchTime.now().uptimeNanoseconds - creation) / 1e6
        defer { engine.shutdown() }
        let module: Shoal.Module
        do {
            module = isArtifact ? try engine.loadSynchronously(artifactAt: file) : try blockingWait { try await engine.compile(bytes) }
        } catch ShoalError.invalidModule(let message) {
            throw fail("\(file): \(message)")
        } catch let error as ArtifactError {
            throw fail("\(file): \(error)")
        }
        let call = try makeCall(module)
        if let instances {
            let status = try RunMany.run(engine, module, call, instances: instances, creationMs: creationMs)
            if status != 0 { throw ExitCode(status) }
            return
        }
        let result: CallResult
        do {
            result = try engine.callSynchronously(module, call)
        } catch {
            throw fail("\(error)")
        }
        switch result.outcome {
        case .returned(let values):
            if invoke != nil || !module.importsWASI { for value in values { print(ValueText.format(value)) } }
        case .exited(let code):
            if code != 0 { throw ExitCode(code) }
        case .trapped(let trap) where trap.code == .interrupted && timeout != nil:
            throw fail("time limit of \(timeout!.text) exceeded; the guest was stopped", status: 124)
        case .trapped(let trap):
            throw fail(Self.trapReport(trap), status: 134)
        }
    }

    /// The memory a module (binary or text) declares: (minimum, maximum) pages.
    func declaredMemory(_ bytes: [UInt8]) throws -> (min: Int, max: Int?) {
        do {
            let memory = try ModuleDecoder.decode(try TextFormat.binary(from: bytes), validateFunctions: false).memories.first?.limits
            return (Int(memory?.min ?? 0), memory?.max.map { Int($0) })
        } catch let error as TextFormat.ParseError {
            // Neither a binary module (no "\0asm" header) nor WebAssembly text: say both.
            throw fail("\(file) is not a WebAssembly module: it has no binary header (\"\\0asm\"), and as WebAssembly text: \(error)")
        } catch {
            throw fail("\(file): \(error)")
        }
    }

    /// Prints `error: MESSAGE` to stderr and returns the exit code to throw.
    func fail(_ message: String, status: Int32 = 1) -> ExitCode { failure(message, status: status) }

    /// The call the flags describe. A WASI program gets FILE and ARGS as its arguments (with
    /// --invoke, ARGS are the function's instead), --env, --dir and --tcplisten, and the host's
    /// standard streams for a single run; with --instances each instance reads an empty stdin (they
    /// would race for the host's bytes, each reading what another tenant was sent) and writes to
    /// the process's stdout and stderr as it goes. Another module's ARGS are its entry's.
    func makeCall(_ module: Shoal.Module) throws -> Call {
        // What to run: --invoke, a WASI entry, a reactor's _initialize, or (none of them) nothing
        // but instantiation and the start function.
        let exported = Set(module.exports.map(\.name))
        let entry = invoke ?? module.wasiEntry ?? (exported.contains("_initialize") ? "_initialize" : nil)
        var values: [Value] = []
        let functionArguments = module.importsWASI && invoke == nil ? [] : arguments
        if let entry {
            guard let type = module.functionType(of: entry) else { throw fail("no exported function named \(entry)") }
            guard type.params.count == functionArguments.count else {
                throw fail("\(entry) takes \(type.params.count) arguments, got \(functionArguments.count)")
            }
            for (t, text) in zip(type.params, functionArguments) {
                guard let v = ValueText.parse(text, as: t) else { throw fail("cannot read \"\(text)\" as \(t)") }
                values.append(v)
            }
        } else if !functionArguments.isEmpty {
            throw fail("\(file) has nothing to call with arguments (no --invoke, no _start)")
        }
        var wasi: WASIConfiguration?
        if module.importsWASI {
            var c = try wasiConfiguration(arguments: invoke == nil ? arguments : [])
            if instances != nil {
                c.sharedListeners = try tcpListen.map { try WASIContext.listen($0) }
                c.standardInput = .bytes([])
            } else {
                c.tcpListeners = tcpListen
            }
            wasi = c
        }
        let limits = Limits(wallTime: timeout.map { .nanoseconds(Int64($0.nanoseconds)) }, fuel: fuel)
        return Call(entry: entry, arguments: values, limits: limits, wasi: wasi)
    }

    /// The WASI world that --dir and --env describe, with the host's standard streams.
    func wasiConfiguration(arguments: [String]) throws -> WASIConfiguration {
        var preopens: [(host: String, guest: String)] = []
        for d in directories {
            let parts = d.components(separatedBy: "::")
            preopens.append((parts[0], parts.count > 1 ? parts[1] : parts[0]))
        }
        var env: [(String, String)] = []
        for e in environment {
            guard let eq = e.firstIndex(of: "=") else { throw fail("--env wants NAME=VALUE, got \(e)", status: 2) }
            env.append((String(e[..<eq]), String(e[e.index(after: eq)...])))
        }
        return WASIConfiguration(arguments: [file] + arguments, environment: env, preopens: preopens)
    }

    /// A trap as `shoal run` prints it: the message, then the WebAssembly backtrace.
    static func trapReport(_ trap: Trap) -> String {
            var message = "trap: \(trap.message)\nwasm backtrace:"
            // Runs of the same frame (deep recursion) are printed once with a count.
            var i = 0
            let frames = trap.backtrace
            while i < frames.count {
                var j = i + 1
                while j < frames.count && frames[j] == frames[i] { j += 1 }
                message += "\n  \(i): func[\(frames[i].functionIndex)]" + (frames[i].name.map { " \($0)" } ?? "")
                if j - i > 1 { message += "  (repeated \(j - i) times)" }
                i = j
            }
            if frames.count >= 65 { message += "\n  ... (the backtrace keeps the innermost 65 frames)" }
            return message
    }
}

extension HeapMode: ExpressibleByArgument {}
extension CompilerTier: ExpressibleByArgument {}
extension Tiering: ExpressibleByArgument {}
extension GuardPages: ExpressibleByArgument {}

/// A wall-clock duration from the command line: a number with ms, s or m (500ms, 2s, 1.5m).
struct Duration: ExpressibleByArgument, Sendable {
    let nanoseconds: UInt64
    let text: String

    init?(argument: String) {
        let units: [(String, Double)] = [("ms", 1e6), ("s", 1e9), ("m", 60e9)]
        for (suffix, scale) in units where argument.hasSuffix(suffix) {
            guard let value = Double(argument.dropLast(suffix.count)), value >= 0, value * scale < 1e18 else { return nil }
            nanoseconds = UInt64(value * scale)
            text = argument
            return
        }
        return nil
    }
}

/// Command-line text for values, as wasmtime prints and reads them.
enum ValueText {
    static func parse(_ text: String, as type: ValueType) -> Value? {
        switch type {
        case .i32:
            if let v = Int32(text) { return .i32(UInt32(bitPattern: v)) }
            return UInt32(text).map { .i32($0) }
        case .i64:
            if let v = Int64(text) { return .i64(UInt64(bitPattern: v)) }
            return UInt64(text).map { .i64($0) }
        case .f32: return Float(text).map { .f32(bits: $0.bitPattern) }
        case .f64: return Double(text).map { .f64(bits: $0.bitPattern) }
        default: return nil
        }
    }

    static func format(_ value: Value) -> String {
        switch value {
        case .i32(let v): "\(Int32(bitPattern: v))"
        case .i64(let v): "\(Int64(bitPattern: v))"
        case .f32(let bits): "\(Float(bitPattern: bits))"
        case .f64(let bits): "\(Double(bitPattern: bits))"
        case .funcref(let r): r == nil ? "ref.null func" : "ref.func"
        case .externref(let r): r.map { "ref.extern \($0)" } ?? "ref.null extern"
        case .v128: "\(value)"
        }
    }
}
