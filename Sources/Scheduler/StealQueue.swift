import Synchronization

/// One queue level of a worker: the owner pushes and pops in FIFO order; other workers, when
/// idle, steal from its head. Lock-free, after the local queues of Tokio's and Go's schedulers.
///
/// The stealable part is a ring of `capacity` entries: `tail` is written by the owner only; `head`
/// is advanced by whoever takes entries (the owner popping one, a thief taking several) with a
/// compare-and-exchange, so each entry is taken exactly once. Entries hold retained `Job`
/// references as raw bits; a taker reads the entries first and owns them only if its exchange
/// succeeds (the owner cannot have overwritten them meanwhile: it only writes at `tail`, and
/// only while `tail - head < capacity`, so reusing an entry a thief is reading needs `head` to
/// have moved past it — which makes the thief's exchange fail). `head` and `tail` only grow
/// (64 bits: no wrap-around, no ABA).
///
/// When the ring is full, newer entries wait in an owner-only overflow FIFO and move into the
/// ring as it drains, so order is kept and a thief always finds up to `capacity` entries.
final class StealQueue: RunQueue, @unchecked Sendable {  // shared state is atomic; `overflow` is the owner's
    static let capacity = 256
    private let entries: UnsafeMutablePointer<Atomic<UInt>>
    private let head = Atomic<UInt64>(0)
    private let tail = Atomic<UInt64>(0)
    private var overflow = FIFO<Job>()
    private let overflowCount = Atomic<Int>(0)

    init() {
        entries = .allocate(capacity: Self.capacity)
        for i in 0..<Self.capacity { (entries + i).initialize(to: Atomic(0)) }
    }

    deinit {
        while pop() != nil {}
        entries.deinitialize(count: Self.capacity)
        entries.deallocate()
    }

    /// Entries queued (a snapshot for other threads; exact for the owner between its own calls,
    /// but for thefts).
    var count: Int {
        let h = head.load(ordering: .acquiring)
        let t = tail.load(ordering: .acquiring)
        return Int(t &- min(h, t)) + overflowCount.load(ordering: .relaxed)
    }

    var isEmpty: Bool { count == 0 }

    /// Entries a thief could take now (the ring's; the overflow is the owner's).
    var stealable: Int {
        let h = head.load(ordering: .acquiring)
        let t = tail.load(ordering: .acquiring)
        return Int(t &- min(h, t))
    }

    /// Owner only.
    func push(_ job: Job) {
        if overflowCount.load(ordering: .relaxed) > 0 || !pushToRing(job) {
            overflow.push(job)
            overflowCount.add(1, ordering: .relaxed)
        }
    }

    private func pushToRing(_ job: Job) -> Bool {
        let t = tail.load(ordering: .relaxed)
        guard t &- head.load(ordering: .acquiring) < UInt64(Self.capacity) else { return false }
        entries[Int(t % UInt64(Self.capacity))].store(UInt(bitPattern: Unmanaged.passRetained(job).toOpaque()), ordering: .relaxed)
        tail.store(t &+ 1, ordering: .releasing)
        return true
    }

    /// Owner only: the oldest entry.
    func pop() -> Job? {
        var job: Job?
        while true {
            let h = head.load(ordering: .acquiring)
            let t = tail.load(ordering: .relaxed)
            guard h < t else { break }
            let bits = entries[Int(h % UInt64(Self.capacity))].load(ordering: .relaxed)
            if head.compareExchange(expected: h, desired: h &+ 1, ordering: .acquiringAndReleasing).exchanged {
                job = Unmanaged<Job>.fromOpaque(UnsafeRawPointer(bitPattern: bits)!).takeRetainedValue()
                break
            }
        }
        refill()
        if job == nil, let next = overflow.pop() {  // the ring was empty
            overflowCount.subtract(1, ordering: .relaxed)
            job = next
        }
        return job
    }

    /// Moves overflow entries into the ring while it has room (owner only).
    private func refill() {
        while overflowCount.load(ordering: .relaxed) > 0 {
            let t = tail.load(ordering: .relaxed)
            guard t &- head.load(ordering: .acquiring) < UInt64(Self.capacity), let job = overflow.pop() else { return }
            overflowCount.subtract(1, ordering: .relaxed)
            _ = pushToRing(job)
        }
    }

    /// Any thread but the owner: takes up to half of the ring's entries (`SchedulingPolicy.stealCount`),
    /// oldest first. Empty when there was nothing, or when it lost a race (the caller moves on).
    func steal() -> [Job] {
        for _ in 0..<4 {
            let h = head.load(ordering: .acquiring)
            let t = tail.load(ordering: .acquiring)
            guard h < t else { return [] }
            let n = SchedulingPolicy.stealCount(queued: Int(t &- h))
            var bits: [UInt] = []
            bits.reserveCapacity(n)
            for i in 0..<UInt64(n) { bits.append(entries[Int((h &+ i) % UInt64(Self.capacity))].load(ordering: .relaxed)) }
            if head.compareExchange(expected: h, desired: h &+ UInt64(n), ordering: .acquiringAndReleasing).exchanged {
                return bits.map { Unmanaged<Job>.fromOpaque(UnsafeRawPointer(bitPattern: $0)!).takeRetainedValue() }
            }
        }
        return []
    }
}
