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
        guard configuration.threads > 0, configuration.slots > 0, configuration.memoryPages > 0 else {
            throw ShoalError.invalidCall("threads, slots and memoryPages must be positive")
        }
        self.configuration = configuration
        self.linker = linker
        var scheduling = SchedulerConfiguration(
            slots: configuration.slots, heapMode: configuration.heapMode, memoryPages: configuration.memoryPages,
            stackSize: configuration.stackSize, threads: configuration.threads, timeSlice: configuration.timeSlice,
            admission: {
                switch configuration.admission {
                case .queue(let limit): .queue(limit: limit)
                case .refuse: .refuse
                }
            }(),
            hostFunctions: linker.definitions)
        scheduling.guardPages = configuration.guardPages
        scheduler = try Scheduler(scheduling, logger: logger)
        compiler = CompileService(options: configuration.compileOptions, capacity: configuration.compiledModuleCacheCapacity,
                                  parallelism: configuration.compileThreads)
    }

    // MARK: Compiling

    /// Decodes, validates and compiles a module (binary, or WebAssembly text) with the engine's
    /// options, through the compile service: the same bytes are compiled once. Throws
    /// `ShoalError.invalidModule`.
    public func compile(_ bytes: [UInt8]) async throws -> Module {
        try await compiler.module(for: bytes)
    }

    // MARK: Calling

    /// Runs `call` in a fresh instance of `module` and returns how it ended. Cancelling the
    /// calling task stops the instance wherever it is (waiting, running or parked) and throws
    /// `CancellationError`. Throws `ShoalError` when the call cannot run (no such export, bad
    /// arguments, link error, overloaded, shut down); what the guest did is in the result.
    public func call(_ module: Module, _ call: Call) async throws -> CallResult {
        let prepared = try prepare(module, call)
        let result: Result<[Value], any Error>
        do {
            result = .success(try await scheduler.run(module.loaded, entry: prepared.entry, arguments: call.arguments,
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
        let ticket = scheduler.submit(module.loaded, entry: prepared.entry, arguments: call.arguments, limits: prepared.limits,
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
