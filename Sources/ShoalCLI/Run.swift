import ArgumentParser
import Compiler
import Foundation
import IOUring
import Runtime
import RuntimeABI
import Scheduler
import ShoalWASI
import SpecRunner
import WasmCore
import WasmText

/// `shoal run --invoke NAME FILE [ARGS...]`: compiles a module, instantiates it and calls an export.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compile and run a WebAssembly module (.wasm or .wat).",
        discussion: """
            With --invoke, calls the named export with ARGS parsed by its parameter types and prints its
            results one per line (i32/i64 as signed decimals, f32/f64 as decimals). Without it, a WASI
            program runs its entry (the export named "", else _start), after _initialize for a reactor.
            A trap prints the trap message and a WebAssembly backtrace to stderr and exits with status
            134, as wasmtime does.
            """
    )

    @Option(help: "The export to call.")
    var invoke: String?

    @Option(name: .customLong("heap"),
            help: "Linear memory protection: guarded (guard pages, no bounds checks) or bounded (explicit checks). Default: guarded, or bounded with --instances (density).")
    var heapOption: HeapMode?

    var heap: HeapMode { heapOption ?? (instances == nil ? .guarded : .bounded) }

    @Option(help: "Stop the guest after this much fuel (one unit per function call and loop iteration).")
    var fuel: Int64?

    @Option(help: "Stop the guest after this much wall time, e.g. 500ms, 2s, 1m.")
    var timeout: Duration?

    @Option(help: "Run this many concurrent instances on the scheduler and print a summary (the density stress tool). Guests may import shoal.sleep_ms(i32).")
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

    @Argument(help: "The module file.")
    var file: String

    @Argument(parsing: .captureForPassthrough, help: "Arguments for the function.")
    var arguments: [String] = []

    func run() throws {
        guard let data = FileManager.default.contents(atPath: file) else {
            let reason = FileManager.default.fileExists(atPath: file) ? "it cannot be read" : "no such file"
            FileHandle.standardError.write(Data("error: cannot open \(file): \(reason)\n".utf8))
            throw ExitCode(1)
        }
        let bytes: [UInt8]
        let compiled: CompiledModule
        do {
            bytes = try TextFormat.binary(from: Array(data))
        } catch {
            // Neither a binary module (no "\0asm" header) nor WebAssembly text: say both.
            FileHandle.standardError.write(Data("""
                error: \(file) is not a WebAssembly module: it has no binary header ("\\0asm"), and as \
                WebAssembly text: \(error)\n
                """.utf8))
            throw ExitCode(1)
        }
        do {
            compiled = try ModuleCompiler.compile(bytes: bytes, options: CompileOptions(heapMode: heap, fuel: fuel != nil))
        } catch {
            FileHandle.standardError.write(Data("error: \(file): \(error)\n".utf8))
            throw ExitCode(1)
        }
        let exportNames = Set(compiled.module.exports.filter { $0.kind == .function }.map(\.name))
        // A WASI program's entry, as wasmtime's CLI finds it: the export named "" if there is
        // one, else _start. A reactor's _initialize runs first. A module with none of them (and
        // no --invoke) only instantiates, runs its start function and exits 0.
        let wasiEntry = exportNames.contains("") ? "" : exportNames.contains("_start") ? "_start" : nil
        let isWASI = compiled.module.imports.contains { $0.module == WASIContext.moduleName }
        if instances == nil, invoke == nil ? (wasiEntry != nil || exportNames.contains("_initialize") || isWASI) : isWASI {
            // With --invoke (a WASI module only), ARGS are the function's, parsed by its types,
            // and its results are printed; the program's own arguments are just FILE.
            var values: [Value] = []
            if let invoke {
                let type = try Self.exportType(compiled.module, invoke)
                guard type.params.count == arguments.count else {
                    throw ValidationError("\(invoke) takes \(type.params.count) arguments, got \(arguments.count)")
                }
                for (t, text) in zip(type.params, arguments) {
                    guard let v = ValueText.parse(text, as: t) else { throw ValidationError("cannot read \"\(text)\" as \(t)") }
                    values.append(v)
                }
            }
            let code = LargeStack.run { () -> Result<Int32, RunError> in
                let configuration: WASIConfiguration
                switch Self.wasiConfiguration(file: file, arguments: invoke == nil ? arguments : [], directories: directories,
                                              environment: environment) {
                case .success(var c):
                    c.tcpListeners = tcpListen
                    configuration = c
                case .failure(let error): return .failure(error)
                }
                return Self.runWASI(compiled, configuration: configuration, entry: invoke ?? wasiEntry,
                                    initialize: exportNames.contains("_initialize"), arguments: values, printResults: invoke != nil,
                                    heap: heap, limits: Limits(fuel: fuel, timeout: timeout))
            }
            switch code {
            case .success(let status): if status != 0 { throw ExitCode(status) }
            case .failure(let error):
                FileHandle.standardError.write(Data("error: \(error.message)\n".utf8))
                throw ExitCode(error.exitCode)
            }
            return
        }
        guard let name = invoke ?? wasiEntry else {
            // As wasmtime: a module with nothing to run is instantiated (its start function runs)
            // and exits 0.
            let outcome = LargeStack.run { () -> Result<[String], RunError> in
                Self.execute(compiled, export: nil, arguments: [], heap: heap, limits: Limits(fuel: fuel, timeout: timeout))
            }
            if case .failure(let error) = outcome {
                FileHandle.standardError.write(Data("error: \(error.message)\n".utf8))
                throw ExitCode(error.exitCode)
            }
            return
        }
        if let instances {
            guard instances > 0 else { throw ValidationError("--instances must be positive") }
            let loaded = try LoadedModule(compiled)
            if invoke == nil, compiled.module.imports.contains(where: { $0.module == WASIContext.moduleName }) {
                // N instances of a WASI command, configured by the same flags as a single run
                // (--dir, --env, arguments). Each gets its own context (its own preopened
                // descriptors); listeners are shared. Standard output and error are the
                // process's, written as the guests write them — nothing is held in memory.
                var wasi: WASIConfiguration
                switch Self.wasiConfiguration(file: file, arguments: arguments, directories: directories, environment: environment) {
                case .success(let c): wasi = c
                case .failure(let error):
                    FileHandle.standardError.write(Data("error: \(error.message)\n".utf8))
                    throw ExitCode(error.exitCode)
                }
                wasi.sharedListeners = try tcpListen.map { try WASIContext.listen($0) }
                // Not the host's stdin: instances would race for its bytes, each reading what
                // another tenant was sent. Each guest reads an empty standard input.
                wasi.stdin = []
                let shared = wasi
                let needed = WASIContext.importedNames(of: compiled.module)
                let code = try RunMany.run(loaded: loaded, entry: name, arguments: [], instances: instances, slots: slots ?? instances,
                                           heap: heap, guardPages: guardPages, limits: InstanceLimits(fuel: fuel, wallTime: timeout.map { Swift.Duration.nanoseconds(Int64($0.nanoseconds)) })) {
                    try WASIContext(shared).hostFunctions(named: needed).map {
                        HostImport(module: WASIContext.moduleName, name: $0.key, function: $0.value)
                    }
                }
                if code != 0 { throw ExitCode(code) }
                return
            }
            let type = try Self.exportType(compiled.module, name)
            guard type.params.count == arguments.count else {
                throw ValidationError("\(name) takes \(type.params.count) arguments, got \(arguments.count)")
            }
            var values: [Value] = []
            for (t, text) in zip(type.params, arguments) {
                guard let v = ValueText.parse(text, as: t) else { throw ValidationError("cannot read \"\(text)\" as \(t)") }
                values.append(v)
            }
            let code = try RunMany.run(loaded: loaded, entry: name, arguments: values, instances: instances, slots: slots ?? instances,
                                       heap: heap, guardPages: guardPages, limits: InstanceLimits(fuel: fuel, wallTime: timeout.map { Swift.Duration.nanoseconds(Int64($0.nanoseconds)) }))
            if code != 0 { throw ExitCode(code) }
            return
        }
        let limits = Limits(fuel: fuel, timeout: timeout)
        let outcome = LargeStack.run { () -> Result<[String], RunError> in
            Self.execute(compiled, export: name, arguments: arguments, heap: heap, limits: limits)
        }
        switch outcome {
        case .success(let lines):
            for line in lines { print(line) }
        case .failure(let error):
            FileHandle.standardError.write(Data("error: \(error.message)\n".utf8))
            throw ExitCode(error.exitCode)
        }
    }

    struct RunError: Error {
        var message: String
        var exitCode: Int32
    }

    /// The WASI configuration that --dir, --env and the arguments describe: one function, so a
    /// single run and every instance of --instances see the same thing.
    static func wasiConfiguration(file: String, arguments: [String], directories: [String],
                                  environment: [String]) -> Result<WASIConfiguration, RunError> {
        var preopens: [(host: String, guest: String)] = []
        for d in directories {
            let parts = d.components(separatedBy: "::")
            preopens.append((parts[0], parts.count > 1 ? parts[1] : parts[0]))
        }
        var env: [(String, String)] = []
        for e in environment {
            guard let eq = e.firstIndex(of: "=") else { return .failure(RunError(message: "--env wants NAME=VALUE, got \(e)", exitCode: 2)) }
            env.append((String(e[..<eq]), String(e[e.index(after: eq)...])))
        }
        return .success(WASIConfiguration(arguments: [file] + arguments, environment: env, preopens: preopens))
    }

    /// Runs a WASI command's `_start` on a fiber; its exit code is the guest's proc_exit code.
    /// The module's start function runs first on the same fiber, so --timeout (and --fuel)
    /// apply from its first instruction.
    /// `arguments` go to the entry; with `printResults`, its results are printed one per line
    /// (--invoke).
    static func runWASI(_ compiled: CompiledModule, configuration: WASIConfiguration, entry: String? = "_start", initialize: Bool = false,
                        arguments: [Value] = [], printResults: Bool = false, heap: HeapMode, limits: Limits) -> Result<Int32, RunError> {
        do {
            let wasi = try WASIContext(configuration)
            let store = Store(heapMode: heap)
            if let fuel = limits.fuel { store.initialFuel = fuel }
            let instance = try store.instantiate(compiled, runningStart: false, resolver: wasi.resolver())
            // What runs, in order, on fibers of the same instance: the start function (first, on
            // the first fiber), a reactor's _initialize, the entry.
            var calls: [Function] = []
            for name in [initialize ? "_initialize" : nil, entry].compactMap({ $0 }) {
                guard case .function(let function)? = instance.export(name) else {
                    return .failure(RunError(message: "no exported function named \(name)", exitCode: 1))
                }
                calls.append(function)
            }
            var first = instance.startFunction
            if calls.isEmpty, let start = first {
                calls = [start]
                first = nil
            }
            // This thread drives the guest, so it owns a worker ring, as a scheduler worker does:
            // the guest's I/O is submitted to it and its completions are run here, with no hand-off.
            let ring = try? Ring.worker()
            Ring.setCurrent(ring)
            defer {
                Ring.setCurrent(nil)
                ring?.close()
            }
            for (i, function) in calls.enumerated() {
                let isEntry = entry != nil && i == calls.count - 1
                let execution = try Execution(function, arguments: isEntry ? arguments : [], stackSize: 8 << 20, first: i == 0 ? first : nil)
                switch drive(execution, wasi: wasi, ring: ring, limits: limits) {
                case .success(.returned(let results)):
                    if isEntry, printResults { for value in results { print(ValueText.format(value)) } }
                case .success(.exited(let code)): return .success(code)
                case .failure(let error): return .failure(error)
                }
            }
            return .success(0)
        } catch {
            return .failure(RunError(message: "\(error)", exitCode: 1))
        }
    }

    /// Runs one execution of a WASI instance to its end: its results when it returned, the exit
    /// code when the guest exited (proc_exit), or the error (a trap, with its backtrace; the time limit).
    enum Ending {
        case returned([Value])
        case exited(Int32)
    }

    static func drive(_ execution: Execution, wasi: WASIContext, ring: Ring?, limits: Limits) -> Result<Ending, RunError> {
        do {
            let deadline = limits.timeout.map { Deadline(after: $0, execution: execution, ring: ring) }
            defer { deadline?.cancel() }
            func timedOut() -> Result<Ending, RunError> {
                execution.cancel()
                return .failure(RunError(message: "time limit of \(limits.timeout!.text) exceeded; the guest was stopped", exitCode: 124))
            }
            while true {
                switch try execution.resume() {
                case .exited(let results): return .success(.returned(results))
                case .trapped(let trap):
                    if let code = wasi.exitCode { return .success(.exited(code)) }
                    return .failure(RunError(message: trapReport(trap), exitCode: 134))
                case .parked:
                    // Waiting for I/O on this thread's ring: sleep in it until the completion has
                    // run — or until the deadline, which wakes the ring.
                    while !execution.isResumable, deadline?.passed != true, let ring, ring.inFlight > 0 { ring.wait() }
                    if !execution.isResumable, deadline?.passed != true {  // (no ring of our own: the shared ring's thread delivers)
                        let ready = DispatchSemaphore(value: 0)
                        execution.whenResumable { ready.signal() }
                        deadline?.onPass { ready.signal() }
                        ready.wait()
                    }
                    if deadline?.passed == true { return timedOut() }
                case .yielded:
                    if deadline?.passed == true { return timedOut() }
                default: continue
                }
            }
        } catch {
            return .failure(RunError(message: "\(error)", exitCode: 1))
        }
    }

    /// --timeout for a single run: when it passes, the running guest is asked to yield and a
    /// guest parked in I/O is woken (its ring, or whoever waits in `onPass`), so the driving
    /// loop sees `passed` and stops it — whether it computes, sleeps or waits for a connection.
    /// The timer's handler runs under `lock` and does nothing once `cancel()` has returned, so it
    /// never touches the ring after the run has closed it.
    final class Deadline: @unchecked Sendable {  // state under `lock`
        private let timer = DispatchSource.makeTimerSource(queue: .global())
        private let lock = NSLock()
        private var hasPassed = false
        private var cancelled = false
        private var waiter: (@Sendable () -> Void)?

        init(after timeout: Duration, execution: Execution, ring: Ring?) {
            timer.schedule(deadline: .now() + .nanoseconds(Int(timeout.nanoseconds)))
            timer.setEventHandler { [self] in
                let waiter = lock.withLock { () -> (@Sendable () -> Void)? in
                    guard !cancelled else { return nil }
                    hasPassed = true
                    execution.requestYield()
                    ring?.wake()
                    defer { self.waiter = nil }
                    return self.waiter
                }
                waiter?()
            }
            timer.resume()
        }

        var passed: Bool { lock.withLock { hasPassed } }

        /// Calls `body` when the deadline passes (at once if it has).
        func onPass(_ body: @escaping @Sendable () -> Void) {
            let now = lock.withLock { () -> Bool in
                if hasPassed { return true }
                waiter = body
                return false
            }
            if now { body() }
        }

        func cancel() {
            lock.withLock { cancelled = true }
            timer.cancel()
        }
    }

    static func exportType(_ module: Module, _ name: String) throws -> FuncType {
        guard let export = module.exports.first(where: { $0.name == name && $0.kind == .function }) else {
            throw ValidationError("no exported function named \(name)")
        }
        var index = Int(export.index)
        for imp in module.imports {
            if case .function(let t) = imp.descriptor {
                if index == 0 { return module.types[Int(t)] }
                index -= 1
            }
        }
        return module.types[Int(module.functionTypeIndices[index])]
    }

    struct Limits {
        var fuel: Int64?
        var timeout: Duration?
    }

    /// Calls `name` (nil: nothing but the start function) and returns its results as text.
    static func execute(_ compiled: CompiledModule, export name: String?, arguments: [String], heap: HeapMode, limits: Limits)
        -> Result<[String], RunError>
    {
        let store = Store(heapMode: heap)
        if let fuel = limits.fuel { store.initialFuel = fuel }
        do {
            // The start function runs first on the call's fiber (not here), under the same limits.
            let instance = try store.instantiate(compiled, runningStart: false) { module, field in nil }
            var first = instance.startFunction
            let function: Function
            if let name {
                guard case .function(let exported)? = instance.export(name) else {
                    return .failure(RunError(message: "no exported function named \(name)", exitCode: 1))
                }
                function = exported
            } else if let start = first {
                function = start
                first = nil
            } else {
                return .success([])
            }
            let params = function.type.params
            guard params.count == arguments.count else {
                return .failure(RunError(message: "\(name ?? "the start function") takes \(params.count) arguments, got \(arguments.count)", exitCode: 1))
            }
            var values: [Value] = []
            for (type, text) in zip(params, arguments) {
                guard let value = ValueText.parse(text, as: type) else {
                    return .failure(RunError(message: "cannot read \"\(text)\" as \(type)", exitCode: 1))
                }
                values.append(value)
            }
            // The call runs on a fiber, so a time limit can interrupt it at any loop or call.
            let execution = try Execution(function, arguments: values, stackSize: 8 << 20, first: first)
            if let timeout = limits.timeout {
                let timer = DispatchSource.makeTimerSource(queue: .global())
                timer.schedule(deadline: .now() + .nanoseconds(Int(timeout.nanoseconds)))
                timer.setEventHandler { execution.requestYield() }
                timer.resume()
                defer { timer.cancel() }
                let state = try execution.resume()
                if case .yielded = state {
                    return .failure(RunError(message: "time limit of \(timeout.text) exceeded; the guest was stopped", exitCode: 124))
                }
            } else {
                try execution.resume()
            }
            switch execution.state {
            case .exited(let results): return .success(results.map(ValueText.format))
            case .trapped(let trap): throw trap
            case .parked: return .failure(RunError(message: "the guest is waiting for a host call that never completes", exitCode: 1))
            default: return .failure(RunError(message: "the guest stopped: \(execution.state)", exitCode: 1))
            }
        } catch let trap as Trap {
            return .failure(RunError(message: trapReport(trap), exitCode: 134))
        } catch {
            return .failure(RunError(message: "\(error)", exitCode: 1))
        }
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
        }
    }
}
