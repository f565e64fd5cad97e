import Foundation
import Runtime
import RuntimeABI

/// How an `Engine` is set up: once, when it is made. Every module it compiles gets the engine's
/// heap mode and fuel setting, and every instance a slot of its region, so compiled code and the
/// slots it runs in never disagree.
public struct EngineConfiguration: Sendable {
    /// Worker threads that run instances: by default one per core (counted when the engine is
    /// made, unless set: see `compileThreads`).
    public var threads: Int {
        get { threadsSetting ?? ProcessInfo.processInfo.activeProcessorCount }
        set { threadsSetting = newValue }
    }
    /// `threads` if set; nil: one per core.
    var threadsSetting: Int?
    /// Instances alive at once (the region's slots); further calls wait or are refused (`admission`).
    public var slots: Int = 1_000
    /// How linear memories are protected (`HeapMode.default`, bounded, unless set).
    public var heapMode: HeapMode = .default
    /// The largest memory an instance may have, in 64 KiB pages: every slot reserves this much
    /// address space (touched pages only are memory). 160 pages is 10 MiB.
    public var memoryPages: Int = 160
    /// Each slot's stack for WebAssembly frames and host calls.
    public var stackSize: Int = 512 * 1024
    /// Guard pages around each slot's parts (see `GuardPages`): `.always` fails at start-up,
    /// naming the vm.max_map_count needed, if the slots need more mappings than the system allows.
    public var guardPages: GuardPages = .always
    /// How long an instance runs before the next one gets the thread.
    public var timeSlice: Duration = .milliseconds(2)
    /// What happens to calls made while every slot is taken.
    public var admission: Admission = .queue(limit: 100_000)
    /// Compile fuel counting into every module, so that `Limits.fuel` can be used.
    public var fuel: Bool = false
    /// Which compiler tier compiles function bodies: the baseline, the optimizing tier (for the
    /// functions it supports, the baseline for the rest), or both (`.auto`: baseline code at once,
    /// optimized code for new calls once the background compile is done).
    public var tier: Tiering = .baseline
    /// Under `.auto`: how many calls of a module run on baseline code before its optimizing
    /// compile starts (0: at once, when the module is compiled). A module called only a few times
    /// is then never compiled twice.
    public var tierUpAfterCalls: Int = 0
    /// Compiled modules kept in memory by the compile service (least recently used go first).
    public var compiledModuleCacheCapacity: Int = 128
    /// Threads that compile the functions of one module in parallel. Default: the processors this
    /// process may use, counted when a compile needs them (counting reads cgroup files: work an
    /// engine that only loads artifacts, such as `shoal run` of one, should not do at start).
    public var compileThreads: Int {
        get { compileThreadsSetting ?? ProcessInfo.processInfo.activeProcessorCount }
        set { compileThreadsSetting = newValue }
    }
    /// `compileThreads` if set; nil: one per processor.
    var compileThreadsSetting: Int?
    /// A directory where the compile service keeps artifacts, keyed by source SHA-256, compiler
    /// version and options: compiled modules survive restarts and are shared by the processes
    /// that use the directory. Every entry read is verified; a bad one is recompiled. nil: memory only.
    public var cacheDirectory: URL?
    /// Ed25519 public keys (raw, 32 bytes) trusted to sign artifacts. Non-empty: `Engine.load`
    /// accepts only artifacts signed by one of them.
    public var trustedKeys: [[UInt8]] = []
    /// An Ed25519 private key (raw, 32 bytes) the engine signs its cache entries with; with it,
    /// cache entries must carry that signature to be used (a cache directory others can write to).
    public var cacheSigningKey: [UInt8]?
    /// Imports an artifact may have beyond the engine's linker and WASI: what calls will bring in
    /// their own linkers, as (module, name). An artifact importing anything else is refused at load.
    public var grantedImports: [(module: String, name: String)] = []

    /// What happens to a call made while every slot is taken.
    public enum Admission: Sendable, Equatable {
        /// Wait in a FIFO queue of at most `limit` calls; beyond that, refuse (`ShoalError.overloaded`).
        case queue(limit: Int)
        /// Refuse at once.
        case refuse
    }

    /// The defaults; set the fields to change them.
    public init() {}

    /// The compile options every module of this engine is compiled with.
    var compileOptions: CompileOptions { CompileOptions(heapMode: heapMode, yieldChecks: true, fuel: fuel, tier: tier.first) }
}

/// What one call may use. Exceeding a limit ends the call with a trap (`TrapCode.outOfFuel`, or
/// `TrapCode.interrupted` for wall time); memory beyond `memoryPages` makes `memory.grow` fail.
public struct Limits: Sendable, Equatable {
    /// Wall time from submission to the end, waiting for a slot included.
    public var wallTime: Duration?
    /// Fuel: one unit per function call and loop iteration (needs `EngineConfiguration.fuel`).
    public var fuel: Int64?
    /// Memory, in 64 KiB pages (at most the engine's `memoryPages`).
    public var memoryPages: UInt64?

    /// Limits; nil means no limit of that kind.
    public init(wallTime: Duration? = nil, fuel: Int64? = nil, memoryPages: UInt64? = nil) {
        self.wallTime = wallTime
        self.fuel = fuel
        self.memoryPages = memoryPages
    }
}
