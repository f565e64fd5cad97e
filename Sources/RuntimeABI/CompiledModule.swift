import WasmCore

/// What the compiler hands the runtime: the module's machine code and where things are in it.
///
/// # Calling convention
///
/// All of it is produced by the compiler; the runtime only calls the entry trampoline (through
/// CShoal's `shoal_call_entry`) and points import slots at the host stub.
///
/// - A WebAssembly function is entered with its instance's vmctx in `rdi`. Its arguments are
///   8-byte slots on the stack at `[rsp+8+8*p(i)]` at entry (`[rbp+16+8*p(i)]` after `push rbp`),
///   and it writes its results back into the same area `[rbp+16+8*p(i)]`; `p(i)` is the number of
///   slots the values before i take: one each, except v128, which takes two (low half first), so
///   without v128 `p(i) = i`. The caller reserves `max(params, results)` slots counted that way.
///   i32/f32 use the low 4 bytes of a slot; funcrefs are pointers to `FuncRefLayout` records;
///   externrefs are opaque 64-bit values; null is 0 for both. This is the standard entry
///   (`functionOffsets`): exports, tables, imports, the host and the baseline tier use it.
/// - The optimizing tier adds a fast entry to each function it compiles, used only by direct
///   calls from optimized code of the same module, and by optimized call_indirect when the
///   funcref's vmctx is the caller's (`FuncRefLayout.fast`) (same instance: r14 and r15 are already
///   right and are neither passed nor saved). Integer and reference params go in rdi, rsi,
///   r8, r9, r10, f32/f64 params in xmm0-xmm7, the rest in the caller's outgoing area
///   (`[rsp+8*k]`, numbered in order); results come back the same way. The callee preserves
///   rbx, r12 and r13 (saving all three when it makes a standard-entry call itself). A function the baseline compiled gets an adapter as its fast entry,
///   placed after every function body (`FastCallABI`, `FastEntryAdapter`).
///
/// Registers, and who keeps what (System V's callee-saved set is rbx, rbp, r12-r15):
///
/// | register            | inside generated code             | across a call made by generated code            |
/// |---------------------|-----------------------------------|-------------------------------------------------|
/// | rsp, rbp            | frame                             | kept: every callee restores them                |
/// | r14                 | the vmctx, pinned                 | kept: every function pushes/pops it             |
/// | r15                 | the memory base, pinned           | kept: every function pushes/pops it             |
/// | rbx, r12, r13       | allocatable                       | kept by a fast entry; LOST through a standard entry |
/// | rax rcx rdx rsi rdi r8-r10 | allocatable                | lost                                            |
/// | r11, xmm15          | scratch, never allocated          | lost                                            |
/// | xmm0-xmm14          | allocatable                       | lost                                            |
/// | MXCSR, x87 CW       | never written                     | kept                                            |
/// | DF                  | clear (rep stos runs forwards)    | clear                                           |
///
/// So generated code keeps nothing in a register across a standard-entry call but r14, r15 and
/// rbp (and rbx, r12, r13 across a fast-entry call or a builtin); every transition to or from the
/// host is where System V's contract is restored:
///
/// | transition                | how the host's registers survive                                          |
/// |---------------------------|---------------------------------------------------------------------------|
/// | host -> Wasm (entry)      | `shoal_call_entry` loads canaries into rbx, rbp, r12-r15 and checks them, and the MXCSR/x87 control words, after every entry (a mismatch aborts); the entry trampoline saves all six and restores them on every way out (return, trap exit, stack exhausted) and keeps its slot pointer and count in its frame, never in a register |
/// | Wasm -> builtin (C)       | operands spilled first; the builtin is a System V function                |
/// | Wasm -> host function     | the host stub calls a System V C entry `(context, caller vmctx, slots)`   |
/// | host -> Wasm, nested      | a nested entry through the trampoline; the outer stack limits are kept    |
/// | yield, fuel stop, park    | `shoal_fiber_switch` saves rbx, rbp, r12-r15 and both control words       |
/// | trap (explicit)           | trap stub -> trap exit -> `recordTrap` (C, 16-byte aligned) -> rsp = entrySP -> the trampoline's exit pops the host's registers |
/// | trap (heap fault)         | the signal handler rewrites the context to the trap exit (rsi = code, rdx = pc) — only at a `trapSites` PC with the address in the instance's reservation |
/// | trap (stack-guard fault)  | the handler records the trap and resumes at `entryExit` with eax = code  |
///
/// - `entryTrampoline` has the C signature
///   `(vmctx, code, argsAndResults: UnsafeMutablePointer<UInt64>, slotCount: Int) -> UInt32`:
///   it saves the callee-saved registers, records its stack pointer in the execution state
///   (keeping the previous one, so entries nest), checks that `slotCount` slots fit above the
///   vmctx's real stack limit (else it returns "call stack exhausted" having written nothing),
///   copies the slots, calls `code`, copies the results back and returns 0 — or, after a trap,
///   the trap code.
/// - `trapExit` is where every trap goes, with the trap code in `esi`, the trapping PC in `rdx` and
///   `r14` still the trapping instance's vmctx: it calls `Builtin.recordTrap`, resets `rsp` to the
///   execution state's `entrySP` and leaves through the entry trampoline's epilogue (`entryExit`).
/// - `hostStub` is the code address for imported host functions: the import slot's second word is
///   a host context (`HostContextLayout`), passed in `rdi`; the stub calls its `entry` with
///   `(context, callerVMContext, argsAndResults)` and traps with the returned code if non-zero.
/// - Stack: every function's prologue pushes 24 bytes, reserves its whole frame (locals, spill
///   slots, outgoing arguments) and only then compares rsp with `vmctx.stackLimit`, before
///   writing any of it; the runtime sets the limit a host margin above the stack's real end, so
///   the pushes, trap handling and host functions always have room.
public struct CompiledModule: Sendable {
    public let module: Module
    public let layout: VMContextLayout
    public let code: [UInt8]
    /// Start offset in `code` of each defined function (index = function index - imported count).
    public let functionOffsets: [Int]
    /// End offset of each defined function.
    public let functionEnds: [Int]
    /// Per defined function, the offset of its own fast entry (inside its range) if the optimizing
    /// tier gave it one, else 0 (baseline functions, whose adapters are not listed, and v128
    /// signatures). Funcref records carry it (`FuncRefLayout.fast`) for call_indirect.
    public let fastEntries: [Int]
    public let entryTrampoline: Int
    /// The entry trampoline's common exit (eax = trap code): where a stack-guard fault resumes.
    public let entryExit: Int
    public let trapExit: Int
    public let hostStub: Int
    /// Offsets of every instruction that may fault on the heap (guarded heaps; empty for bounded
    /// code, which checks every access), ascending. The signal handler accepts a fault as a trap
    /// only at one of these, as wasmtime's trap tables do.
    public let trapSites: [UInt32]
    /// Where function bodies start: the stubs are below.
    public var functionsStart: Int { functionOffsets.first ?? code.count }
    /// Whether the code checks every memory access explicitly (bounded heaps) or relies on a
    /// guard region and the signal handler (guarded heaps).
    public var heapMode: HeapMode { options.heapMode }
    /// How the code was generated; the runtime refuses to run code whose options it cannot honour.
    public let options: CompileOptions
    /// Optional instructions the code may contain (those the compiling machine had and the
    /// compiler consults): the machine that runs it needs them too.
    public let cpuFeatures: CPUFeatureSet
    /// Which tier compiled how many functions (not kept in artifacts).
    public var tierStats = TierStats()

    public init(module: Module, layout: VMContextLayout, code: [UInt8], functionOffsets: [Int], functionEnds: [Int],
                fastEntries: [Int]? = nil,
                entryTrampoline: Int, entryExit: Int, trapExit: Int, hostStub: Int, trapSites: [UInt32], options: CompileOptions,
                cpuFeatures: CPUFeatureSet = []) {
        self.module = module
        self.layout = layout
        self.code = code
        self.functionOffsets = functionOffsets
        self.functionEnds = functionEnds
        self.fastEntries = fastEntries ?? Array(repeating: 0, count: functionOffsets.count)
        self.entryTrampoline = entryTrampoline
        self.entryExit = entryExit
        self.trapExit = trapExit
        self.trapSites = trapSites
        self.hostStub = hostStub
        self.options = options
        self.cpuFeatures = cpuFeatures
    }

    /// The same module with `code` as its machine code (for a module whose code was mapped in
    /// place and is wanted as bytes again).
    public func replacingCode(_ code: [UInt8]) -> CompiledModule {
        var copy = CompiledModule(module: module, layout: layout, code: code, functionOffsets: functionOffsets, functionEnds: functionEnds,
                                  fastEntries: fastEntries, entryTrampoline: entryTrampoline, entryExit: entryExit, trapExit: trapExit, hostStub: hostStub,
                                  trapSites: trapSites, options: options, cpuFeatures: cpuFeatures)
        copy.tierStats = tierStats
        return copy
    }

    /// The defined function whose code contains `offset`, as a module function index.
    public func functionIndex(containing offset: Int) -> Int? {
        var lo = 0, hi = functionOffsets.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if functionEnds[mid] <= offset { lo = mid + 1 } else { hi = mid }
        }
        guard lo < functionOffsets.count, functionOffsets[lo] <= offset else { return nil }
        return lo + module.importedFunctionCount
    }
}

/// How linear memory is protected.
public enum HeapMode: String, Sendable, CaseIterable {
    /// 8 GiB + 64 KiB reserved per memory (4 GiB addressable + a guard covering any 32-bit offset and the widest access): no explicit bounds checks;
    /// an out-of-bounds access faults and the signal handler turns it into a trap.
    case guarded
    /// Every access is compared against the current size; no guard region is needed.
    case bounded

    /// Bytes reserved for a guarded memory: any 32-bit index plus any 32-bit static offset plus
    /// the widest access stays inside.
    public static let guardedReservation: Int = (8 << 30) + 65_536

    /// The one default, used by every API that takes a heap mode (compile options, stores,
    /// regions, the scheduler, the engine), so that code compiled with defaults always runs where
    /// defaults are used. Bounded: its slots need no 8 GiB reservation each, so a region of
    /// 100,000 slots fits in the address space (guarded heaps are the faster choice for a few
    /// long-running instances; see Docs/BENCHMARKS.md).
    public static let `default`: HeapMode = .bounded
}

/// Code generation choices that the runtime must know about.
public struct CompileOptions: Sendable, Hashable {
    public var heapMode: HeapMode
    /// Check `vmctx.stackLimit` at loop headers too (function entries always check it), so that a
    /// running instance can be asked to yield. Off only to measure what the checks cost.
    public var yieldChecks: Bool
    /// Count fuel at function entries and loop headers (deterministic budgets).
    public var fuel: Bool
    /// Which compiler generates function bodies. Both tiers keep the same ABI and runtime
    /// contract, so the loader checks nothing against it; an artifact records it (and how many
    /// functions each tier compiled) for `shoal inspect`.
    public var tier: CompilerTier

    public init(heapMode: HeapMode = .default, yieldChecks: Bool = true, fuel: Bool = false, tier: CompilerTier = .baseline) {
        self.heapMode = heapMode
        self.yieldChecks = yieldChecks
        self.fuel = fuel
        self.tier = tier
    }
}

/// The compiler tiers. `optimized` compiles each function it supports with the optimizing tier
/// (Sources/Optimizer) and the rest with the baseline.
public enum CompilerTier: String, Sendable, Hashable, CaseIterable {
    case baseline, optimized
}

/// How many functions each tier compiled, and why the optimizing tier left the others.
public struct TierStats: Sendable, Hashable {
    public var optimizedFunctions = 0
    public var baselineFunctions = 0
    /// Fallback reason -> number of functions (only when the optimized tier was asked for).
    public var fallbackReasons: [String: Int] = [:]
    public init() {}

    public mutating func add(_ other: TierStats) {
        optimizedFunctions += other.optimizedFunctions
        baselineFunctions += other.baselineFunctions
        for (reason, count) in other.fallbackReasons { fallbackReasons[reason, default: 0] += count }
    }
}
