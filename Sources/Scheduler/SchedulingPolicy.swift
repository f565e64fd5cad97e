/// The scheduling decisions, in one place, used by both the threaded `Scheduler` and its
/// single-threaded twin `DeterministicScheduler`: so the twin's tests test the real policy, not a
/// copy of it. Nothing here touches threads, clocks or instances; callers pass in what they
/// observed.
public enum SchedulingPolicy {
    /// Calls taken from the fresh level in a row before one from the main level (see `Levels`).
    public static let freshBurst = 4

    /// The two queue levels of a worker. `fresh` holds calls that have not yet used up a slice
    /// (new ones, and ones back from a host call); `main` holds calls that keep using whole
    /// slices. A short request is not queued behind thousands of CPU-bound ones, and every
    /// `freshBurst` picks from `fresh` one comes from `main`, so CPU-bound calls never starve.
    public enum Level: Sendable { case fresh, main }

    /// Which level the next call comes from; keeps the burst count between picks.
    public struct LevelChooser: Sendable {
        private var streak = 0
        public init() {}
        public mutating func next(freshEmpty: Bool, mainEmpty: Bool) -> Level? {
            if !freshEmpty && (streak < SchedulingPolicy.freshBurst || mainEmpty) {
                streak += 1
                return .fresh
            }
            streak = 0
            return mainEmpty ? nil : .main
        }
    }

    public enum AdmissionDecision: Equatable, Sendable {
        case admit
        /// Into the waiting queue, until a slot frees.
        case wait
        case refuse(reason: String)
    }

    /// Admission of a new call given the engine-wide counts.
    public static func admit(live: Int, slots: Int, waiting: Int, admission: SchedulerConfiguration.Admission) -> AdmissionDecision {
        if live < slots { return .admit }
        switch admission {
        case .queue(let limit) where waiting < limit: return .wait
        case .queue(let limit): return .refuse(reason: "all \(slots) slots busy and \(limit) calls waiting")
        case .refuse: return .refuse(reason: "all \(slots) slots busy")
        }
    }

    public enum AfterYield: Equatable, Sendable {
        /// To the back of the main level: it used a whole slice.
        case requeue
        case cancel
        case timeLimit
        case outOfFuel
    }

    /// Whether a slice that has run `ran` nanoseconds ends (the timer asks the instance to yield).
    /// Only when it has used its `slice` and something else is `contended` for: work queued or
    /// arriving at a worker, parked instances whose completions and time limits a worker sees only
    /// between slices, or shutdown. An instance running alone keeps its worker, since ending its
    /// slice would only requeue it and pick it again.
    public static func endsSlice(ran: UInt64, slice: UInt64, contended: Bool) -> Bool { contended && ran >= slice }

    /// What becomes of a call whose slice ended with a yield.
    public static func afterYield(cancelled: Bool, timedOut: Bool, now: UInt64, deadline: UInt64?, fuelLimit: Int64?,
                                  fuelConsumed: Int64) -> AfterYield {
        if cancelled { return .cancel }
        if timedOut || deadline.map({ now >= $0 }) == true { return .timeLimit }
        if let fuelLimit, fuelConsumed > fuelLimit { return .outOfFuel }
        return .requeue
    }

    /// What placement compares of a worker: the new calls already queued there (a new call waits
    /// behind those, not behind the CPU-bound calls of the main level), then when the worker is
    /// next free to pick one up (the start of its current slice, or of its virtual clock in the
    /// twin; 0 when idle): of two workers with as many new calls, the one whose slice began first
    /// ends it first.
    public struct Load: Comparable, Sendable {
        public var freshQueued: Int
        public var busySince: UInt64
        public init(freshQueued: Int, busySince: UInt64) {
            self.freshQueued = freshQueued
            self.busySince = busySince
        }
        public static func < (a: Load, b: Load) -> Bool { (a.freshQueued, a.busySince) < (b.freshQueued, b.busySince) }
    }

    /// Where a new call goes: the less loaded of two workers picked at random ("the power of two
    /// choices": nearly as good as the least loaded of all, without reading every worker's load).
    /// `random` is any 64 random bits.
    public static func place(workers: Int, random: UInt64, load: (Int) -> Load) -> Int {
        guard workers > 1 else { return 0 }
        let a = Int(random % UInt64(workers))
        var b = Int((random >> 32) % UInt64(workers - 1))
        if b >= a { b += 1 }
        return load(b) < load(a) ? b : a
    }

    /// How many runnable calls an idle worker takes from a victim with `queued` of them: half,
    /// rounded up (one when there is one), as Tokio and Go do — enough that the thief does not
    /// come back at once, few enough that the victim keeps work.
    public static func stealCount(queued: Int) -> Int { queued <= 0 ? 0 : (queued + 1) / 2 }

    /// Whether a worker about to run a call from its main level (one that keeps using whole slices)
    /// first takes new calls queued on a busy worker: a short request then waits for whichever
    /// worker ends its slice first, as with one shared queue, not for the slice of the worker it
    /// was placed on.
    public static func takesFreshWorkFromOthers(freshEmpty: Bool, mainEmpty: Bool) -> Bool { freshEmpty && !mainEmpty }

    /// The order in which a thief visits the other workers: all of them once, from a random one.
    public static func victims(of thief: Int, workers: Int, random: UInt64) -> [Int] {
        (0..<max(0, workers - 1)).map { victim($0, of: thief, workers: workers, random: random) }
    }

    /// The `k`-th victim (0 ..< workers - 1) of `victims`, without making the list (a worker asks
    /// at every slice end).
    public static func victim(_ k: Int, of thief: Int, workers: Int, random: UInt64) -> Int {
        let start = Int(random % UInt64(workers - 1))
        let v = (start + k) % (workers - 1)  // among the others, numbered skipping the thief
        return v >= thief ? v + 1 : v
    }

    /// A small, fast, seedable generator (SplitMix64) for placement and victim choice.
    public struct Random: Sendable {
        private var state: UInt64
        public init(seed: UInt64) { state = seed }
        public mutating func next() -> UInt64 { Self.mix(&state) }
        static func mix(_ state: inout UInt64) -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }
}

/// A worker's two queue levels over any queue type (the threaded scheduler's stealable queues,
/// the twin's FIFOs), picking with the shared `LevelChooser`.
struct RunLevels<Queue: RunQueue> {
    var fresh: Queue
    var main: Queue
    private var chooser = SchedulingPolicy.LevelChooser()

    init(fresh: Queue, main: Queue) {
        self.fresh = fresh
        self.main = main
    }

    var count: Int { fresh.count + main.count }

    mutating func push(_ element: Queue.Element, _ level: SchedulingPolicy.Level) {
        switch level {
        case .fresh: fresh.push(element)
        case .main: main.push(element)
        }
    }

    mutating func pop() -> Queue.Element? {
        // A stealable queue may lose its last element to a thief between the check and the pop:
        // then try the other level.
        for _ in 0..<2 {
            switch chooser.next(freshEmpty: fresh.isEmpty, mainEmpty: main.isEmpty) {
            case .fresh?: if let e = fresh.pop() { return e }
            case .main?: if let e = main.pop() { return e }
            case nil: return nil
            }
        }
        return nil
    }
}

protocol RunQueue {
    associatedtype Element
    var count: Int { get }
    var isEmpty: Bool { get }
    mutating func push(_ element: Element)
    mutating func pop() -> Element?
}

extension FIFO: RunQueue {}
