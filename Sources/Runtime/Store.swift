import CShoal
import Glibc
import RuntimeABI
import Synchronization
import WasmCore

/// A group of instances that may link to each other, and the execution state they share: a trap in
/// any of them unwinds to the innermost entry made through this store.
///
/// A store is used by one thread at a time (it may move between threads between calls).
public final class Store: @unchecked Sendable {
    public let heapMode: HeapMode
    /// Unique in the process's lifetime (an address is not: a new store can reuse a freed one's).
    /// Memories, tables and globals made by the store's instances carry it, and only this store
    /// may import them: they point into its instances, whose region slots go to other tenants
    /// once the store is gone.
    let id: UInt64 = Store.ids.add(1, ordering: .relaxed).newValue
    private static let ids = Atomic<UInt64>(0)
    /// The `ExecutionStateLayout` block every vmctx of the store points to.
    let state: UnsafeMutableRawPointer
    var instances: [Instance] = []
    /// The last host function error (for `TrapCode.hostError`): the trap built from it carries
    /// it as `Trap.underlying`, so an embedder gets its own error back, not its description.
    var hostError: (any Error)?
    /// What happens when fuel runs out (for modules compiled with fuel).
    public enum FuelPolicy: UInt64, Sendable {
        /// Trap with "all fuel consumed".
        case trap = 0
        /// Yield (on a fiber): the execution can be given more fuel and resumed.
        case yield = 1
    }

    public var fuelPolicy: FuelPolicy {
        get { FuelPolicy(rawValue: ExecutionState(raw: state).fuelPolicy) ?? .trap }
        set { ExecutionState(raw: state).fuelPolicy = newValue.rawValue }
    }

    /// A cap on every memory made in this store from now on, in 64 KiB pages (a per-instance limit
    /// below what the module declares); nil: only the module's and the region's limits apply.
    public var memoryPageLimit: UInt64?

    /// Fuel given to instances made from now on; `setFuel` changes every instance's.
    public var initialFuel: Int64 = Int64.max

    /// Sets the remaining fuel of every instance in the store.
    public func setFuel(_ fuel: Int64) {
        for instance in instances { VMContext(instance.vmctx).fuel = fuel }
    }

    /// The store's instances, oldest first.
    public var allInstances: [Instance] { instances }

    /// Fuel left in `instance` (negative once exhausted).
    public func fuel(of instance: Instance) -> Int64 {
        VMContext(instance.vmctx).fuel
    }

    /// How much of the thread's stack stays reserved for the host below the WebAssembly frames.
    public static let hostStackMargin = 256 * 1024

    /// Where this store's instances get their vmctx, stack and memory; nil: from the system.
    public let region: Region?
    /// The region shard this store's instances take their slots from first (a scheduler worker's
    /// own shard; see `Region.acquire(preferring:)`).
    public var slotShard = 0

    public init(heapMode: HeapMode = .default) {
        self.heapMode = heapMode
        region = nil
        state = ExecutionState.allocate().raw
    }

    /// A store whose instances live in slots of `region` (each instantiation takes one; they are
    /// reset and returned when the store goes away).
    public init(region: Region) {
        self.heapMode = region.configuration.heapMode
        self.region = region
        state = ExecutionState.allocate().raw
    }

    deinit {
        // Instances and their Function handles refer to each other; break that here.
        for instance in instances {
            instance.release()
            instance.functions.removeAll()
            instance.importedFunctions.removeAll()
        }
        state.deallocate()
    }

    /// Loads, links and instantiates a compiled module: imports resolved by `resolver(module, name)`,
    /// then globals, element and data segments and the start function, in the spec's order.
    ///
    /// The store owns its instances (as Wasmtime's does): keep it alive as long as any of them is
    /// used. Instances whose instantiation trapped stay in the store too, because their functions
    /// may already sit in tables they share with others.
    ///
    /// `runningStart: false` leaves the start function unrun (`Instance.startFunction`): the
    /// caller runs it, before anything else, on a fiber — as the `first` of an `Execution` — so
    /// that time slices, time limits and cancellation apply to it as to any call. Run here, on
    /// the calling thread, a start function that loops forever can only be stopped by fuel.
    public func instantiate(_ compiled: CompiledModule, runningStart: Bool = true, resolver: (String, String) -> Extern?) throws -> Instance {
        guard compiled.heapMode == heapMode else {
            throw RuntimeError("module compiled for \(compiled.heapMode) heaps, store uses \(heapMode) heaps")
        }
        return try instantiate(try LoadedModule(compiled), runningStart: runningStart, resolver: resolver)
    }

    /// Instantiates a module whose code is already loaded: many instances, in many stores, can
    /// share one `LoadedModule`.
    public func instantiate(_ loaded: LoadedModule, runningStart: Bool = true, resolver: (String, String) -> Extern?) throws -> Instance {
        guard loaded.compiled.heapMode == heapMode else {
            throw RuntimeError("module compiled for \(loaded.compiled.heapMode) heaps, store uses \(heapMode) heaps")
        }
        return try Instance.instantiate(loaded, in: self, runningStart: runningStart, resolver: resolver)
    }

    /// Enters generated code through the entry trampoline and turns the outcome into results or a Trap.
    func call(funcRef: UnsafeMutableRawPointer, module: LoadedModule, type: FuncType, arguments: [Value]) throws -> [Value] {
        shoal_install_signal_handlers()
        shoal_ensure_alternate_signal_stack()
        // A nested call (a host function calling back into WebAssembly) runs on the stack that
        // the outer entry set the limits for — possibly a fiber's, not this thread's: keep them.
        if ExecutionState(raw: state).entrySP == 0 {
            var low: UInt = 0
            var high: UInt = 0
            guard shoal_thread_stack_bounds(&low, &high) == 0 else { throw RuntimeError("cannot read the thread's stack bounds") }
            let limit = low + UInt(Self.hostStackMargin)
            for instance in instances { VMContext(instance.vmctx).setStackLimits(limit) }
        }
        var slots = [UInt64](repeating: 0, count: max(Value.slotCount(type.params), Value.slotCount(type.results), 1))
        slots.withUnsafeMutableBufferPointer { Value.store(arguments, into: $0.baseAddress!) }
        let (code, vmctx) = FuncRefRecord(funcRef).entry
        let trapCode = slots.withUnsafeMutableBufferPointer {
            shoal_call_entry(module.entryTrampoline, vmctx, code, $0.baseAddress!, $0.count)
        }
        if trapCode != 0 { throw trap(code: trapCode) }
        return slots.withUnsafeBufferPointer { Value.load(type.results, from: $0.baseAddress!) }
    }

    /// Builds the Trap from what `recordTrap` left in the execution state.
    func trap(code raw: UInt32) -> Trap {
        let code = TrapCode(rawValue: raw) ?? .unreachable
        var frames: [Trap.Frame] = []
        let recorded = ExecutionState(raw: state)
        // Return addresses point after the call: step back into the calling instruction.
        let pcs = [recorded.trapPC] + recorded.backtrace.map { $0 - 1 }
        for pc in pcs {
            for instance in instances {
                if let index = instance.module.functionIndex(pc: pc) {
                    frames.append(Trap.Frame(functionIndex: index, name: instance.module.compiled.module.functionNames[UInt32(index)]))
                    break
                }
            }
        }
        var trap = Trap(code: code, backtrace: frames)
        if code == .hostError, let error = hostError {
            trap.message = "\(error)"
            trap.underlying = error
        }
        hostError = nil
        return trap
    }
}
