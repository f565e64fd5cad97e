import CShoal
import RuntimeABI
import WasmCore

/// Something an instance exports or imports.
public enum Extern {
    case function(Function)
    case table(Table)
    case memory(LinearMemory)
    case global(Global)
}

/// A callable function: compiled WebAssembly in some instance, or a host function.
public final class Function: @unchecked Sendable {  // used by one thread at a time, with its store
    public let type: FuncType
    enum Kind {
        /// `funcRef` is the function's record in its instance.
        case wasm(instance: Instance, funcRef: UnsafeMutableRawPointer)
        case host(HostFunctionBox)
    }
    let kind: Kind

    init(type: FuncType, instance: Instance, funcRef: UnsafeMutableRawPointer) {
        self.type = type
        kind = .wasm(instance: instance, funcRef: funcRef)
    }

    /// A host function, to hand to a module as an import.
    public init(_ host: HostFunction) {
        type = host.type
        kind = .host(HostFunctionBox(host))
    }

    /// An asynchronous host function: calling it parks the calling execution.
    public init(_ host: AsyncHostFunction) {
        type = host.type
        kind = .host(HostFunctionBox(host))
    }

    /// Calls the function. Throws `Trap` when it traps; the instance stays usable.
    public func invoke(_ arguments: [Value]) throws -> [Value] {
        guard arguments.count == type.params.count, zip(arguments, type.params).allSatisfy({ $0.type == $1 }) else {
            throw RuntimeError("arguments \(arguments) do not match \(type)")
        }
        switch kind {
        case .host(let box):
            return try box.function.body(Caller(memory: nil), arguments)
        case .wasm(let instance, let funcRef):
            return try instance.store.call(funcRef: funcRef, module: instance.module, type: type, arguments: arguments)
        }
    }
}
