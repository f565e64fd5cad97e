import Foundation
import Runtime
import RuntimeABI

/// How a scheduler is set up.
public struct SchedulerConfiguration: Sendable {
    /// Instances alive at once: the slots of the scheduler's region.
    public var slots: Int
    public var heapMode: HeapMode
    /// The largest memory an instance may have, in 64 KiB pages (the region's slot reservation).
    public var memoryPages: Int
    public var stackSize: Int
    /// Guard pages around every slot's parts (see `GuardPages`). The default fails to create the
    /// scheduler if vm.max_map_count cannot hold them (about 10,000 slots at the default limit),
    /// saying what to raise it to; `.never` is for densities beyond that.
    public var guardPages: GuardPages = .always
    /// Worker threads: by default one per core.
    public var threads: Int
    /// How long an instance runs before it is asked to yield to the next one.
    public var timeSlice: Duration
    /// What happens to work submitted while every slot is taken.
    public var admission: Admission
    /// Host functions every instance may import, by module and name.
    public var hostFunctions: [HostImport] = []
    /// Called once per instance for host functions with per-instance state (a WASI context,
    /// say); they come before `hostFunctions` when both name the same import.
    public var instanceImports: (@Sendable () throws -> [HostImport])?
    /// Each worker owns an io_uring (`Ring.worker()`): guests' I/O is submitted to it in batches,
    /// its completions are run between time slices, and an idle worker sleeps in it. False: idle
    /// workers sleep on a condition variable and I/O goes through the shared ring's completion
    /// thread (about 5 µs of thread hand-off per operation; kept for comparison and for kernels
    /// without io_uring).
    public var workerRings = true
    /// Which worker a new call goes to.
    public var placement: Placement = .powerOfTwoChoices

    public enum Placement: Sendable, Equatable {
        /// The less loaded of two workers picked at random (`SchedulingPolicy.place`).
        case powerOfTwoChoices
        /// Always worker 0: the others get work only by stealing. For tests and measurements of
        /// stealing, not for production.
        case firstWorker
    }

    public enum Admission: Sendable, Equatable {
        /// Wait in a FIFO queue of at most `limit` entries; beyond that, refuse.
        case queue(limit: Int)
        /// Refuse at once.
        case refuse
    }

    public init(slots: Int = 10_000, heapMode: HeapMode = .default, memoryPages: Int = 16, stackSize: Int = 256 * 1024,
                threads: Int = ProcessInfo.processInfo.activeProcessorCount, timeSlice: Duration = .milliseconds(2),
                admission: Admission = .queue(limit: 100_000), hostFunctions: [HostImport] = []) {
        self.slots = slots
        self.heapMode = heapMode
        self.memoryPages = memoryPages
        self.stackSize = stackSize
        self.threads = threads
        self.timeSlice = timeSlice
        self.admission = admission
        self.hostFunctions = hostFunctions
    }
}

/// A host function offered to the scheduler's instances under `module`.`name`.
public struct HostImport: Sendable {
    public var module: String
    public var name: String
    public var function: Function
    public init(module: String, name: String, function: Function) {
        self.module = module
        self.name = name
        self.function = function
    }
}

/// Per-instance limits.
public struct InstanceLimits: Sendable {
    /// Fuel (one unit per call and loop iteration; the module must be compiled with fuel).
    public var fuel: Int64?
    /// Wall time from submission to completion, waiting included.
    public var wallTime: Duration?
    /// Memory, in 64 KiB pages (below the module's own maximum and the scheduler's slot size).
    public var memoryPages: UInt64?

    public init(fuel: Int64? = nil, wallTime: Duration? = nil, memoryPages: UInt64? = nil) {
        self.fuel = fuel
        self.wallTime = wallTime
        self.memoryPages = memoryPages
    }
}

public enum SchedulerError: Error, CustomStringConvertible, Equatable {
    /// Every slot is taken and the admission policy (or a full queue) refuses more work.
    case overloaded(String)
    case timeLimitExceeded
    case shutDown
    case noSuchFunction(String)

    public var description: String {
        switch self {
        case .overloaded(let why): "overloaded: \(why)"
        case .timeLimitExceeded: "time limit exceeded"
        case .shutDown: "the scheduler is shut down"
        case .noSuchFunction(let name): "no exported function named \(name)"
        }
    }
}

extension Duration {
    var nanoseconds: UInt64 {
        let (seconds, attoseconds) = components
        return UInt64(max(0, seconds)) * 1_000_000_000 + UInt64(max(0, attoseconds) / 1_000_000_000)
    }
}
