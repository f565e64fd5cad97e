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
struct PageScrubber: Sendable {
    /// Fills one byte per page of [start, start + count) with bit 0 set where the page is
    /// resident (mincore's contract); false if residency is unknown.
    typealias Residency = @Sendable (UnsafeMutableRawPointer, Int, UnsafeMutablePointer<UInt8>) -> Bool

    static let pageSize = 4096
    /// More separate non-resident runs than this are dropped with one madvise over the range
    /// (resident pages included: they simply fault in again), to bound the system calls.
    static let maxAdviceCalls = 8

    let residency: Residency

    init(residency: @escaping Residency = { start, count, vector in mincore(start, count, vector) == 0 }) {
        self.residency = residency
    }

    /// Zeroes [start, start + count) (page aligned): resident pages in place, the rest dropped.
    func zero(_ start: UnsafeMutableRawPointer, _ count: Int) {
        let page = Self.pageSize
        let pages = (count + page - 1) / page
        guard pages > 0 else { return }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: pages) { buffer in
            let vector = buffer.baseAddress!
            vector.initialize(repeating: 0, count: pages)
            guard residency(start, count, vector) else {
                memset(start, 0, count)  // residency unknown: zero everything
                return
            }
            var dropped: [Range<Int>] = []  // runs of non-resident pages
            var i = 0
            while i < pages {
                let resident = vector[i] & 1 != 0
                var j = i + 1
                while j < pages, (vector[j] & 1 != 0) == resident { j += 1 }
                if resident {
                    memset(start + i * page, 0, min(j * page, count) - i * page)
                } else {
                    dropped.append(i..<j)
                }
                i = j
            }
            if dropped.count > Self.maxAdviceCalls {
                drop(start + dropped.first!.lowerBound * page, min(dropped.last!.upperBound * page, count) - dropped.first!.lowerBound * page)
            } else {
                for run in dropped { drop(start + run.lowerBound * page, min(run.upperBound * page, count) - run.lowerBound * page) }
            }
        }
    }

    /// Drops [start, start + count) (page aligned): every page reads as zero afterwards and none
    /// stays resident.
    func drop(_ start: UnsafeMutableRawPointer, _ count: Int) {
        guard count > 0 else { return }
        if madvise(start, count, MADV_DONTNEED) != 0 {
            memset(start, 0, count)
        }
    }
}
