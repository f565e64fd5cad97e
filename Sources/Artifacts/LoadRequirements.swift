import Crypto
import RuntimeABI
import X64

/// What the loading side requires of an artifact: set from the engine's configuration and what
/// the embedder grants. Every requirement is checked before any code is mapped.
public struct LoadRequirements: Sendable {
    /// Ed25519 public keys (32 bytes each, raw) whose signatures are trusted. Non-empty: the
    /// artifact must be signed by one of them.
    public var trustedKeys: [[UInt8]] = []
    /// Optional instructions this machine has.
    public var cpuFeatures: CPUFeatureSet = .host
    /// The heap mode the engine's slots are made for (nil: any).
    public var heapMode: HeapMode?
    /// Memory pages each of the engine's slots holds (nil: any).
    public var slotMemoryPages: UInt64?
    /// The engine's fuel setting (nil: either).
    public var fuel: Bool?
    /// The scheduler preempts instances at yield points: code compiled without them is refused.
    public var requireYieldChecks = true
    /// Whether an import is granted (nil: every import is).
    public var isGranted: (@Sendable (ArtifactContract.ImportSpec) -> Bool)?

    public init() {}
}

extension CPUFeatureSet {
    /// The optional instructions this machine has (read with CPUID).
    public static var host: CPUFeatureSet {
        var set: CPUFeatureSet = []
        if CPUFeatures.hasLZCNT { set.insert(.lzcnt) }
        if CPUFeatures.hasBMI1 { set.insert(.bmi1) }
        if CPUFeatures.hasPOPCNT { set.insert(.popcnt) }
        if CPUFeatures.hasSSE41 { set.insert(.sse41) }
        if CPUFeatures.hasSSSE3 { set.insert(.ssse3) }
        return set
    }
}

extension ArtifactContract {
    /// Throws the first requirement this contract does not meet.
    func check(_ requirements: LoadRequirements) throws(ArtifactError) {
        let missing = cpuFeatures.subtracting(requirements.cpuFeatures)
        guard missing.isEmpty else {
            // Bits this build has no name for (a newer compiler's features) are named by number.
            let unknown = (0..<64).filter { missing.rawValue & (1 << UInt64($0)) != 0 && CPUFeatureSet(rawValue: 1 << UInt64($0)).names.isEmpty }
            throw .missingCPUFeatures(missing.names + unknown.map { "unknown feature bit \($0)" })
        }
        if let mode = requirements.heapMode, mode != options.heapMode {
            throw .heapMismatch("compiled for \(options.heapMode) heaps, the engine's slots are \(mode)")
        }
        if let heap, heap.mode != options.heapMode {
            throw .heapMismatch("heap spec says \(heap.mode), the code was compiled for \(options.heapMode)")
        }
        if let heap, let pages = requirements.slotMemoryPages, heap.initialPages > pages {
            throw .heapMismatch("the module needs \(heap.initialPages) pages of memory at start; the engine's slots hold \(pages)")
        }
        if let fuel = requirements.fuel, fuel != options.fuel {
            throw .optionsMismatch(options.fuel ? "compiled with fuel counting; the engine runs without fuel"
                                                : "compiled without fuel counting; the engine meters fuel")
        }
        if requirements.requireYieldChecks && !options.yieldChecks {
            throw .optionsMismatch("compiled without yield checks: the scheduler could not preempt it")
        }
        if let isGranted = requirements.isGranted {
            for i in imports where !isGranted(i) { throw .importNotGranted(module: i.module, name: i.name) }
        }
    }
}
