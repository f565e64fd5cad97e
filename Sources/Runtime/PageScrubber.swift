import Glibc

/// Makes ranges of a region slot read as zero again when the slot changes tenant, without relying
/// on the kernel's account of which pages are resident.
///
/// Why not just memset: a slot is large (a 256 KiB stack, megabytes of memory) and a tenant
/// usually touches a few pages of it; writing every page would fault them all in. Why not only
/// the pages `mincore` calls resident: a page that was swapped out is "not resident" yet comes
/// back with the previous tenant's bytes on the next access. So pages reported resident are
/// zeroed in place (they stay resident: the next tenant faults nothing in), and every other page
/// is dropped with MADV_DONTNEED, after which a private anonymous page reads as zero whether it
/// was never touched, swapped out or resident after all. Secrecy never depends on what mincore
/// says, only the cost does. If an madvise fails, that run is zeroed with memset instead.
///
/// mincore costs about a microsecond per call here (it allocates a page per call) plus ~12 ns
/// per page, and madvise about half a microsecond, so a slot is reset with one probe and as few
/// drops as possible: the caller says where the pages it knows to be cold end (`probeFrom`:
/// they are dropped unprobed), and guards, which have no pages, only ever join a drop.
struct PageScrubber: Sendable {
    /// Fills one byte per page of [start, start + count) with bit 0 set where the page is
    /// resident (mincore's contract); false if residency is unknown.
    typealias Residency = @Sendable (UnsafeMutableRawPointer, Int, UnsafeMutablePointer<UInt8>) -> Bool

    static let pageSize = 4096
    /// More separate drops than this are made one madvise over the whole span between them
    /// (resident pages included: they simply fault in again), to bound the system calls.
    static let maxAdviceCalls = 8

    let residency: Residency

    init(residency: @escaping Residency = { start, count, vector in mincore(start, count, vector) == 0 }) {
        self.residency = residency
    }

    /// What to do with each page of a span: page ranges to zero in place and to drop.
    struct Plan: Equatable {
        var zero: [Range<Int>] = []
        var drop: [Range<Int>] = []
    }

    /// The plan for `pages` pages: those below `probeFrom` or in an `inaccessible` range (a
    /// guard) are dropped, the others zeroed if `resident(i)`, else dropped; drops that touch are
    /// merged, drops lying wholly inside an inaccessible range (nothing there to reset) are left
    /// out, and more than `maxAdviceCalls` drops become one. Pure, so that it can be tested.
    static func plan(pages: Int, probeFrom: Int, inaccessible: [Range<Int>], resident: (Int) -> Bool) -> Plan {
        var plan = Plan()
        func zeroed(_ i: Int) -> Bool { i >= probeFrom && !inaccessible.contains { $0.contains(i) } && resident(i) }
        var i = 0
        while i < pages {
            let zeroes = zeroed(i)
            var j = i + 1
            while j < pages, zeroed(j) == zeroes { j += 1 }
            if zeroes {
                plan.zero.append(i..<j)
            } else if !inaccessible.contains(where: { $0.lowerBound <= i && j <= $0.upperBound }) {
                plan.drop.append(i..<j)
            }
            i = j
        }
        if plan.drop.count > maxAdviceCalls {
            plan.drop = [plan.drop.first!.lowerBound..<plan.drop.last!.upperBound]
        }
        return plan
    }

    /// Zeroes [start, start + count) (page aligned): pages before `probeFrom` (a byte offset,
    /// page aligned) are dropped unprobed; from there on resident pages are zeroed in place and
    /// the rest dropped. `inaccessible` (byte offsets, page aligned) is never written.
    func zero(_ start: UnsafeMutableRawPointer, _ count: Int, probeFrom: Int = 0, inaccessible: [Range<Int>] = []) {
        let page = Self.pageSize
        let pages = (count + page - 1) / page
        guard pages > 0 else { return }
        let first = min(max(probeFrom, 0) / page, pages)
        let guards = inaccessible.map { ($0.lowerBound / page)..<($0.upperBound / page) }
        func bytes(_ r: Range<Int>) -> (UnsafeMutableRawPointer, Int) { (start + r.lowerBound * page, min(r.upperBound * page, count) - r.lowerBound * page) }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(pages - first, 1)) { buffer in
            let vector = buffer.baseAddress!
            vector.initialize(repeating: 0, count: pages - first)
            let known = first == pages || residency(start + first * page, count - first * page, vector)
            // Residency unknown: every probed page counts as resident (zeroed in place).
            let plan = Self.plan(pages: pages, probeFrom: first, inaccessible: guards) { !known || vector[$0 - first] & 1 != 0 }
            for run in plan.zero {
                let (address, length) = bytes(run)
                memset(address, 0, length)
            }
            for run in plan.drop {
                let (address, length) = bytes(run)
                if Self.dropPages(address, length) != 0 {
                    // Not droppable (locked memory, say): zero it, around the guards.
                    for part in run.subtracting(guards) {
                        let (address, length) = bytes(part)
                        memset(address, 0, length)
                    }
                }
            }
        }
    }

    /// Drops [start, start + count) (page aligned, accessible): every page reads as zero
    /// afterwards and none stays resident.
    func drop(_ start: UnsafeMutableRawPointer, _ count: Int) {
        guard count > 0 else { return }
        if Self.dropPages(start, count) != 0 {
            memset(start, 0, count)
        }
    }
}

extension PageScrubber {
    /// One MADV_DONTNEED at a time in the process. When two threads drop pages of the same address
    /// space at once, the kernel sees a nested TLB gather and flushes in full, sending an IPI to
    /// every CPU running the process even when nothing was unmapped; in a virtual machine each IPI
    /// is an exit. Measured in Docs/BENCHMARKS.md: one at a time, the IPIs go and short calls
    /// per second go up.
    static func dropPages(_ start: UnsafeMutableRawPointer, _ count: Int) -> Int32 {
        dropLock.lock()
        defer { dropLock.unlock() }
        return madvise(start, count, MADV_DONTNEED)
    }

    private static let dropLock = DropLock()
}

/// A plain mutex for `dropPages` (a class, so that the pthread mutex has a stable address).
private final class DropLock: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    init() { pthread_mutex_init(mutex, nil) }
    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }
}

extension Range where Bound == Int {
    /// The parts of this range outside all of `others`, in order.
    fileprivate func subtracting(_ others: [Range<Int>]) -> [Range<Int>] {
        var parts = [self]
        for other in others where !other.isEmpty {
            parts = parts.flatMap { part -> [Range<Int>] in
                guard part.overlaps(other) else { return [part] }
                return [part.lowerBound..<Swift.max(part.lowerBound, other.lowerBound),
                        Swift.min(part.upperBound, other.upperBound)..<part.upperBound].filter { !$0.isEmpty }
            }
        }
        return parts
    }
}
