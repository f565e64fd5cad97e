import Foundation
import Runtime
import Scheduler
import ShoalWASI

/// A call checked against its module and the engine: what the scheduler runs, the imports its
/// instance gets, and the mapping of what the scheduler reports to a `CallResult`.
///
/// One object per call, and only what the call needs: a plain call (no WASI, no per-call host
/// functions) holds no closures and no WASI state, because at 100,000 live instances every
/// hundred bytes per call is 10 MB.
final class PreparedCall: @unchecked Sendable {  // `world.context` is written on admission, read after the call ends
    let entry: String?
    let limits: InstanceLimits
    let ownImports: [HostImport]
    let world: WASIWorld?

    init(entry: String?, limits: InstanceLimits, ownImports: [HostImport], world: WASIWorld?) {
        self.entry = entry
        self.limits = limits
        self.ownImports = ownImports
        self.world = world
    }

    /// What the scheduler calls when the instance is made (on a worker, after admission); nil
    /// when the call brings nothing of its own.
    var imports: (@Sendable () throws -> [HostImport])? {
        if world == nil && ownImports.isEmpty { return nil }
        return { [self] in
            var list = ownImports
            if let world { list += try world.makeContext() }
            return list
        }
    }

    /// The scheduler's report as a `CallResult` (or as the reason the call did not run).
    func finish(_ result: Result<[Value], any Error>) throws -> CallResult {
        try Self.finish(result, world: world, wallTime: limits.wallTime)
    }

    /// `finish` for a completion that keeps only what it needs (not the whole prepared call):
    /// the world, if any, and the time limit for the message.
    static func finish(_ result: Result<[Value], any Error>, world: WASIWorld?, wallTime: Duration?) throws -> CallResult {
        let context = world?.end()
        let outcome = try outcome(result, wallTime: wallTime)
        return CallResult(outcome: outcome, stdout: context?.stdout ?? [], stderr: context?.stderr ?? [])
    }

    /// What the scheduler reported, as the guest ended (an outcome) or as why it did not run (thrown).
    static func outcome(_ result: Result<[Value], any Error>, wallTime: Duration?) throws -> Outcome {
        switch result {
        case .success(let values):
            return .returned(values)
        case .failure(let trap as Trap):
            if let exit = trap.underlying as? WASIExit { return .exited(exit.code) }
            return .trapped(trap)
        case .failure(let error as SchedulerError):
            switch error {
            case .timeLimitExceeded:
                let limit = wallTime.map { " of \($0)" } ?? ""
                return .trapped(Trap(code: .interrupted, message: "time limit\(limit) exceeded; the guest was stopped"))
            case .overloaded(let why): throw ShoalError.overloaded(why)
            case .shutDown: throw ShoalError.shutDown
            case .noSuchFunction(let name): throw ShoalError.noSuchExport(name)
            }
        case .failure(let error as LinkError):
            throw ShoalError.link(error.message)
        case .failure(let error as CancellationError):
            throw error
        case .failure(let error as WASIError):
            throw ShoalError.instantiation(error.message)
        case .failure(let error):
            throw ShoalError.instantiation("\(error)")
        }
    }
}

/// One WASI call's world: its configuration, and the context made from it when the instance is
/// made (so preopened descriptors are held only while the instance lives).
final class WASIWorld: @unchecked Sendable {  // `context` is written on admission, read after the call ends
    let configuration: WASIConfiguration
    let names: Set<String>
    private var context: WASIContext?

    init(_ configuration: WASIConfiguration, names: Set<String>) {
        self.configuration = configuration
        self.names = names
    }

    func makeContext() throws -> [HostImport] {
        let context = try WASIContext(configuration)
        self.context = context
        return context.hostFunctions(named: names).map {
            HostImport(module: WASIContext.moduleName, name: $0.key, function: $0.value)
        }
    }

    /// The call ended: its output streams end too; the context (with captured output) is handed
    /// over and no longer held here.
    func end() -> WASIContext? {
        for output in [configuration.standardOutput, configuration.standardError] {
            if case .stream(let s) = output { s.finish() }
        }
        defer { context = nil }
        return context
    }
}

extension Engine {
    func prepare(_ module: Module, _ call: Call) throws -> PreparedCall {
        guard module.heapMode == configuration.heapMode, module.hasFuel == configuration.fuel else {
            throw ShoalError.invalidCall("the module was compiled for another engine (\(module.heapMode) heap, fuel \(module.hasFuel))")
        }
        if call.limits.fuel != nil && !module.hasFuel {
            throw ShoalError.invalidCall("a fuel limit needs an engine configured with fuel (EngineConfiguration.fuel)")
        }
        if let pages = call.limits.memoryPages, pages > UInt64(configuration.memoryPages) {
            throw ShoalError.invalidCall("a memory limit of \(pages) pages is above the engine's \(configuration.memoryPages) per slot")
        }
        // No entry named and none found: the instance is only made (its start function runs).
        let entry = call.entry ?? module.wasiEntry
        if let entry {
            guard let type = module.functionType(of: entry) else { throw ShoalError.noSuchExport(entry) }
            guard call.arguments.count == type.params.count, zip(call.arguments, type.params).allSatisfy({ $0.type == $1 }) else {
                throw ShoalError.invalidCall("\(entry) takes \(type.params), got \(call.arguments.map(\.type))")
            }
        } else if !call.arguments.isEmpty {
            throw ShoalError.invalidCall("arguments given, but no function to call")
        }
        let world = module.importsWASI ? WASIWorld(call.wasi ?? Call.isolatedWASI, names: module.wasiImportNames) : nil
        if world == nil, let wasi = call.wasi {
            // Not a WASI program: nothing reads or writes its streams; end them now.
            for output in [wasi.standardOutput, wasi.standardError] {
                if case .stream(let s) = output { s.finish() }
            }
        }
        let limits = InstanceLimits(fuel: call.limits.fuel, wallTime: call.limits.wallTime, memoryPages: call.limits.memoryPages)
        return PreparedCall(entry: entry, limits: limits, ownImports: call.linker?.definitions ?? [], world: world)
    }
}
