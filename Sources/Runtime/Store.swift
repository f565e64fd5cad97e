import CShoal
import Glibc
import RuntimeABI
import WasmCore

/// A group of instances that may link to each other, and the execution state they share: a trap in
/// any of them unwinds to the innermost entry made through this store.
///
/// A store is used by one thread at a time (it may move between threads between calls).
public final class Store: @unchecked Sendable {
    public let heapMode: HeapMode
    /// The `ExecutionStateLayout` block every vmctx of the store points to.
    let state: UnsafeMutableRawPointer
    var instances: [Instance] = []
    /// The message of the last host function error (for `TrapCode.hostError`).
    var hostError: String?
    /// How much of the thread's stack stays reserved for the host below the WebAssembly frames.
    public static let hostStackMargin = 256 * 1024

    public init(heapMode: HeapMode = .guarded) {
        self.heapMode = heapMode
        state = UnsafeMutableRawPointer.allocate(byteCount: ExecutionStateLayout.size, alignment: 16)
        state.initializeMemory(as: UInt8.self, repeating: 0, count: ExecutionStateLayout.size)
    }

    deinit {
        for instance in instances { instance.release() }
        state.deallocate()
    }

    /// Loads, links and instantiates a compiled module: imports resolved by `resolver(module, name)`,
    /// then globals, element and data segments and the start function, in the spec's order.
    ///
    /// The store owns its instances (as Wasmtime's does): keep it alive as long as any of them is
    /// used. Instances whose instantiation trapped stay in the store too, because their functions
    /// may already sit in tables they share with others.
    public func instantiate(_ compiled: CompiledModule, resolver: (String, String) -> Extern?) throws -> Instance {
        guard compiled.heapMode == heapMode else {
            throw RuntimeError("module compiled for \(compiled.heapMode) heaps, store uses \(heapMode) heaps")
        }
        let loaded = try LoadedModule(compiled)
        return try Instance.instantiate(loaded, in: self, resolver: resolver)
    }

    /// Enters generated code through the entry trampoline and turns the outcome into results or a Trap.
    func call(funcRef: UnsafeMutableRawPointer, module: LoadedModule, type: FuncType, arguments: [Value]) throws -> [Value] {
        shoal_install_signal_handlers()
        shoal_ensure_alternate_signal_stack()
        var low: UInt = 0
        var high: UInt = 0
        guard shoal_thread_stack_bounds(&low, &high) == 0 else { throw RuntimeError("cannot read the thread's stack bounds") }
        let limit = low + UInt(Self.hostStackMargin)
        for instance in instances {
            instance.vmctx.storeBytes(of: limit, toByteOffset: VMContextLayout.stackLimit, as: UInt.self)
        }
        var slots = [UInt64](repeating: 0, count: max(type.params.count, type.results.count, 1))
        for (i, v) in arguments.enumerated() { slots[i] = v.slot }
        let code = UnsafeRawPointer(bitPattern: funcRef.load(fromByteOffset: FuncRefLayout.code, as: UInt.self))!
        let vmctx = UnsafeMutableRawPointer(bitPattern: funcRef.load(fromByteOffset: FuncRefLayout.vmctx, as: UInt.self))!
        let trapCode = slots.withUnsafeMutableBufferPointer {
            shoal_call_entry(module.entryTrampoline, vmctx, code, $0.baseAddress!, $0.count)
        }
        if trapCode != 0 { throw trap(code: trapCode) }
        return type.results.enumerated().map { Value(slot: slots[$0.offset], type: $0.element) }
    }

    /// Builds the Trap from what `recordTrap` left in the execution state.
    func trap(code raw: UInt32) -> Trap {
        let code = TrapCode(rawValue: raw) ?? .unreachable
        var frames: [Trap.Frame] = []
        var pcs = [state.load(fromByteOffset: ExecutionStateLayout.trapPC, as: UInt.self)]
        let count = min(Int(state.load(fromByteOffset: ExecutionStateLayout.backtraceCount, as: UInt64.self)), ExecutionStateLayout.maxBacktrace)
        for i in 0..<count {
            // Return addresses point after the call: step back into the calling instruction.
            pcs.append(state.load(fromByteOffset: ExecutionStateLayout.backtrace + 8 * i, as: UInt.self) - 1)
        }
        for pc in pcs {
            for instance in instances {
                if let index = instance.module.functionIndex(pc: pc) {
                    frames.append(Trap.Frame(functionIndex: index, name: instance.module.compiled.module.functionNames[UInt32(index)]))
                    break
                }
            }
        }
        let message = code == .hostError ? (hostError ?? code.description) : code.description
        return Trap(code: code, message: message, backtrace: frames)
    }
}
