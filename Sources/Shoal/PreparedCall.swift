import Foundation
import Runtime
import Scheduler
import ShoalWASI

/// A call checked against its module and the engine, with the imports its instance gets and
/// the mapping of what the scheduler reports to a `CallResult`.
struct PreparedCall: Sendable {
    let entry: String?
    let limits: InstanceLimits
    let imports: @Sendable () throws -> [HostImport]
    let finish: @Sendable (Result<[Value], any Error>) throws -> CallResult
}

/// The WASI context a call's instance got (made on the worker when the instance is made).
private final class ContextBox: @unchecked Sendable {  // written before the instance runs, read after it ends
    var context: WASIContext?
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
        let wasi = module.importsWASI ? (call.wasi ?? Call.isolatedWASI) : nil
        let wasiNames = WASIContext.importedNames(of: module.wasm)
        let own = call.linker?.definitions ?? []
        let box = ContextBox()
        let imports: @Sendable () throws -> [HostImport] = {
            var list = own
            if let wasi {
                let context = try WASIContext(wasi)
                box.context = context
                list += context.hostFunctions(named: wasiNames).map {
                    HostImport(module: WASIContext.moduleName, name: $0.key, function: $0.value)
                }
            }
            return list
        }
        let limits = InstanceLimits(fuel: call.limits.fuel, wallTime: call.limits.wallTime, memoryPages: call.limits.memoryPages)
        let streams = [call.wasi?.standardOutput, call.wasi?.standardError].compactMap { output -> WASIOutputStream? in
            if case .stream(let s)? = output { return s }
            return nil
        }
        let wallTime = call.limits.wallTime
        let finish: @Sendable (Result<[Value], any Error>) throws -> CallResult = { result in
            for s in streams { s.finish() }
            let context = box.context
            box.context = nil
            let outcome = try Self.outcome(result, wallTime: wallTime)
            return CallResult(outcome: outcome, stdout: context?.stdout ?? [], stderr: context?.stderr ?? [])
        }
        return PreparedCall(entry: entry, limits: limits, imports: imports, finish: finish)
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
