import Synchronization

/// The free slots of one shard of a region: a lock-free LIFO stack of slot indices that any
/// thread may push to and pop from.
///
/// Why lock-free: a scheduler worker takes its slots from its own shard (no other worker touches
/// it in the common case), but an instance can end on another worker than the one that made it
/// (it was stolen), and a worker whose shard is empty borrows from the others — a shard's list is
/// usually used by one thread and sometimes by others, never behind a lock all of them share.
///
/// Why LIFO: the slot released last is the one whose pages (context, stack top, small memories,
/// kept resident and zeroed in place by `Region.release`) are most likely still in the worker's
/// caches and TLB.
///
/// The head packs a 32-bit index (or `empty`) with a 32-bit version counter that every successful
/// pop and push advances, so a pop that read a stale `next` (the index was popped and pushed back
/// meanwhile: the ABA problem) fails its compare-and-exchange instead of corrupting the list.
final class SlotFreeList: @unchecked Sendable {  // all shared state is atomic
    private static let empty: UInt32 = .max
    private let head: Atomic<UInt64>
    /// `next[i]`: the index below slot `i` on the stack (only meaningful while `i` is on it).
    /// Written by the pusher before the push is published, read by poppers: atomic (relaxed), as a
    /// popper may read it while a concurrent push of the same index rewrites it (its exchange then
    /// fails on the version).
    private let next: UnsafeMutablePointer<Atomic<UInt32>>
    private let capacity: Int
    private let count_: Atomic<Int>

    /// A list holding `indices` (popped in the order given).
    init(capacity: Int, holding indices: Range<Int>) {
        precondition(capacity < Int(Self.empty))
        self.capacity = capacity
        next = .allocate(capacity: max(capacity, 1))
        for i in 0..<max(capacity, 1) { (next + i).initialize(to: Atomic(Self.empty)) }
        head = Atomic(Self.pack(Self.empty, 0))
        count_ = Atomic(0)
        for index in indices.reversed() { push(index) }
    }

    deinit {
        next.deinitialize(count: max(capacity, 1))
        next.deallocate()
    }

    private static func pack(_ index: UInt32, _ version: UInt32) -> UInt64 { UInt64(version) << 32 | UInt64(index) }

    /// Free slots in this list (a snapshot: it may change at once).
    var count: Int { count_.load(ordering: .relaxed) }

    func push(_ index: Int) {
        precondition(index >= 0 && index < capacity, "slot \(index) does not belong here")
        var old = head.load(ordering: .relaxed)
        while true {
            next[index].store(UInt32(truncatingIfNeeded: old), ordering: .relaxed)
            let new = Self.pack(UInt32(index), UInt32(truncatingIfNeeded: old >> 32) &+ 1)
            let (exchanged, current) = head.compareExchange(expected: old, desired: new, successOrdering: .releasing,
                                                            failureOrdering: .relaxed)
            if exchanged { break }
            old = current
        }
        count_.add(1, ordering: .relaxed)
    }

    func pop() -> Int? {
        var old = head.load(ordering: .acquiring)
        while true {
            let index = UInt32(truncatingIfNeeded: old)
            if index == Self.empty { return nil }
            let below = next[Int(index)].load(ordering: .relaxed)
            let new = Self.pack(below, UInt32(truncatingIfNeeded: old >> 32) &+ 1)
            let (exchanged, current) = head.compareExchange(expected: old, desired: new, successOrdering: .acquiring,
                                                            failureOrdering: .acquiring)
            if exchanged {
                count_.subtract(1, ordering: .relaxed)
                return Int(index)
            }
            old = current
        }
    }
}
