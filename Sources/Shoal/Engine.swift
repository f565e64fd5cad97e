import Artifacts
import Foundation
import Logging
import Runtime
import RuntimeABI
import Scheduler
import ServiceLifecycle
import ShoalWASI

/// Shoal's engine: a compile service and a scheduler that runs every call in a fresh instance,
/// on a pool of worker threads, many thousands at once.
///
/// ```swift
/// let engine = try Engine()
/// let module = try await engine.compile(bytes)            // compiled once, then cached
/// let result = try await engine.call(module, .invoke("add", [.i32(2), .i32(3)]))
/// let wasi = try await engine.call(module, .wasi(WASIConfiguration(arguments: ["app"], captureOutput: true)))
/// engine.shutdown()                                        // or run it as a ServiceLifecycle service
/// ```
///
/// The engine is configured once (`EngineConfiguration`): its heap mode and fuel setting are the
/// compile service's options and its region's slots, so what it compiles always fits where it runs.
/// Its threads keep it alive until `shutdown()`.
public final class Engine: Sendable {
    /// How the engine was set up (fixed for its lifetime).
    public let configuration: EngineConfiguration
    /// The in-process compiler: cache, de-duplication of concurrent requests, statistics.
    public let compiler: CompileService
    /// Host functions every call may import.
    public let linker: Linker
    let scheduler: Scheduler

    /// Starts the engine's worker threads and maps its region of `slots` instance slots. Throws
    /// if the region cannot be made (address space, or `GuardPages.always` beyond vm.max_map_count).
    /// The engine logs through `logger` (swift-log): warnings and errors only, and its start and
    /// stop at debug level, as a library should.
    public init(_ configuration: EngineConfiguration = EngineConfiguration(), linker: Linker = Linker(),
                logger: Logger = Logger(label: "shoal")) throws {
        let threads = configuration.threads
        guard threads > 0, configuration.slots > 0, configuration.memoryPages > 0 else {
            throw ShoalError.invalidCall("threads, slots and memoryPages must be positive")
        }
        self.configuration = configuration
        self.linker = linker
        var scheduling = SchedulerConfiguration(
            slots: configuration.slots, heapMode: configuration.heapMode, memoryPages: configuration.memoryPages,
            stackSize: configuration.stackSize, threads: threads, timeSlice: configuration.timeSlice,
            admission: {
                switch configuration.admission {
                case .queue(let limit): .queue(limit: limit)
                case .refuse: .refuse
                }
            }(),
            hostFunctions: linker.definitions)
        scheduling.guardPages = configuration.guardPages
        scheduler = try Scheduler(scheduling, logger: logger)
        var requirements = LoadRequirements()
        requirements.trustedKeys = configuration.trustedKeys
        requirements.heapMode = configuration.heapMode
        requirements.slotMemoryPages = UInt64(configuration.memoryPages)
        requirements.fuel = configuration.fuel
        requirements.isGranted = Self.grants(linker: linker, extra: configuration.grantedImports)
        var disk: ArtifactCache?, tierUpDisk: ArtifactCache?
        var tierUpOptions = configuration.compileOptions
        tierUpOptions.tier = .optimized
        if let directory = configuration.cacheDirectory {
            var cacheRequirements = requirements
            cacheRequirements.trustedKeys = try configuration.cacheSigningKey.map { [try Signing.publicKey(of: $0)] } ?? []
            cacheRequirements.isGranted = nil  // what was compiled here from source is checked when it is called
            disk = ArtifactCache(directory: directory, requirements: cacheRequirements, signingKey: configuration.cacheSigningKey,
                                 options: configuration.compileOptions)
            tierUpDisk = ArtifactCache(directory: directory, requirements: cacheRequirements, signingKey: configuration.cacheSigningKey,
                                       options: tierUpOptions)
        }
        compiler = CompileService(options: configuration.compileOptions, capacity: configuration.compiledModuleCacheCapacity,
                                  parallelism: configuration.compileThreadsSetting, requirements: requirements, disk: disk,
                                  tierUp: configuration.tier == .auto ? (tierUpOptions, tierUpDisk, configuration.tierUpAfterCalls) : nil,
                                  logger: logger)
    }

    /// What an artifact may import: the linker's functions (name and type), every WASI preview1
    /// function with its type, and the names the embedder declares.
    static func grants(linker: Linker, extra: [(module: String, name: String)]) -> @Sendable (ArtifactContract.ImportSpec) -> Bool {
        var functions: [String: FuncType] = [:]
        for d in linker.definitions { functions["\(d.module)\u{0}\(d.name)"] = d.function.type }
        for (name, type) in WASIContext.functionTypes { functions["\(WASIContext.moduleName)\u{0}\(name)"] = type }
        let declared = Set(extra.map { "\($0.module)\u{0}\($0.name)" })
        let granted = functions
        return { spec in
            let key = "\(spec.module)\u{0}\(spec.name)"
            if declared.contains(key) { return true }
            guard spec.kind == .function, let type = granted[key] else { return false }
            return type == spec.functionType
        }
    }

    // MARK: Compiling

    /// Decodes, validates and compiles a module (binary, or WebAssembly text) with the engine's
    /// options, through the compile service: the same bytes are compiled once. Throws
    /// `ShoalError.invalidModule`.
    public func compile(_ bytes: [UInt8]) async throws -> Module {
        try await compiler.module(for: bytes)
    }

    /// Loads an artifact (`shoal compile`'s output or `Module.artifact()`). Before any of its code
    /// is mapped it is checked completely: framing and checksum, the signature when the engine
    /// trusts keys, every section's bounds, and its contract against the engine — heap mode and
    /// size, fuel, yield checks, CPU features, and that every import is granted. Throws
    /// `ArtifactError` saying which check failed.
    public func load(artifact bytes: [UInt8]) async throws -> Module {
        try await compiler.load(artifact: bytes)
    }

    /// Loads the artifact file at `path`, with the same checks, reading it once and making its
    /// code executable where it was read: the cheapest way to start a module.
    public func load(artifactAt path: String) async throws -> Module {
        try await compiler.load(artifactAt: path)
    }

    /// `load(artifactAt:)` on the calling thread, with the same checks: no task, no thread
    /// hand-off, for a caller with nothing else to do meanwhile (`shoal run` of an artifact loads
    /// it on its main thread). The module is not added to the compile service's cache, nor
    /// counted in its statistics.
    public func loadSynchronously(artifactAt path: String) throws -> Module {
        try compiler.loadSynchronously(artifactAt: path)
    }

    // MARK: Calling

    /// Runs `call` in a fresh instance of `module` and returns how it ended. Cancelling the
    /// calling task stops the instance wherever it is (waiting, running or parked) and throws
    /// `CancellationError`. Throws `ShoalError` when the call cannot run (no such export, bad
    /// arguments, link error, overloaded, shut down); what the guest did is in the result.
    public func call(_ module: Module, _ call: Call) async throws -> CallResult {
        let prepared = try prepare(module, call)
        let loaded = module.code.takeForCall()
        let result: Result<[Value], any Error>
        do {
            result = .success(try await scheduler.run(loaded, entry: prepared.entry, arguments: call.arguments,
                                                     limits: prepared.limits, imports: prepared.imports))
        } catch {
            result = .failure(error)
        }
        return try prepared.finish(result)
    }

    /// Compiles `bytes` on demand through the compile service (later calls hit its cache) and
    /// runs `call` in a fresh instance.
    public func run(bytes: [UInt8], _ call: Call) async throws -> CallResult {
        try await self.call(try await compile(bytes), call)
    }

    /// The callback form of `call`, for callers that submit very many calls without a task each
    /// (`shoal run --instances`): `completion` runs once, on some thread.
    @discardableResult
    public func submit(_ module: Module, _ call: Call,
                       completion: @escaping @Sendable (Result<CallResult, any Error>) -> Void) -> CallTicket {
        let prepared: PreparedCall
        do {
            prepared = try prepare(module, call)
        } catch {
            completion(.failure(error))
            return CallTicket(ticket: nil)
        }
        let loaded = module.code.takeForCall()
        let ticket = scheduler.submit(loaded, entry: prepared.entry, arguments: call.arguments, limits: prepared.limits,
                                      imports: prepared.imports) { [world = prepared.world, wallTime = prepared.limits.wallTime] result in
            completion(Result { try PreparedCall.finish(result, world: world, wallTime: wallTime) })
        }
        return CallTicket(ticket: ticket)
    }

    /// Stops a submitted call wherever it is; its completion gets `CancellationError`.
    public func cancel(_ ticket: CallTicket) {
        if let t = ticket.ticket { scheduler.cancel(t) }
    }

    // MARK: State

    /// Instances alive now, calls waiting for a slot, and instances parked in host calls.
    public var counts: (live: Int, waiting: Int, parked: Int) { scheduler.counts }

    /// Whether the engine's slots have guard pages (see `EngineConfiguration.guardPages`).
    public var hasGuardPages: Bool { scheduler.region.hasGuardPages }

    /// Stops the workers; calls still waiting end with `ShoalError.shutDown`.
    public func shutdown() { scheduler.shutdown() }
}

/// Identifies a submitted call, for `Engine.cancel(_:)`.
public struct CallTicket: Sendable {
    let ticket: Ticket?
}

/// The engine as a swift-service-lifecycle service: it runs until graceful shutdown, then stops.
extension Engine: Service {
    /// Waits for graceful shutdown of the service group, then shuts the engine down.
    public func run() async throws {
        try? await gracefulShutdown()
        shutdown()
    }
}
