import Glibc
import RuntimeABI
import WasmCore

/// A linear memory: one reservation made up front (so the base never moves), of which the first
/// `pages` are read-write.
///
/// Guarded mode reserves `HeapMode.guardedReservation` so generated code needs no bounds checks;
/// bounded mode reserves only the maximum size and relies on the code's explicit checks.
public final class LinearMemory: @unchecked Sendable {  // used by one thread at a time, with its store
    public let type: MemoryType
    let base: UnsafeMutableRawPointer
    let reservation: Int
    public private(set) var pages: UInt64
    /// The most pages this memory ever had: what a region slot must reset on release.
    public private(set) var highWaterPages: UInt64
    var maximumPages: UInt64
    /// Whether this object made (and unmaps) the reservation, or borrows a region slot's.
    let ownsReservation: Bool
    /// Whether pages past the size are already accessible (a bounded region maps everything
    /// read-write once), so growing needs no mprotect.
    let preMapped: Bool
    /// The id of the store whose instance made this memory (nil: made by the host, importable
    /// anywhere). A memory in a region slot must not outlive its store's use of the slot.
    var storeID: UInt64?
    /// Every vmctx that uses this memory: their base/size fields follow it.
    var attached: [UnsafeMutableRawPointer] = []

    public init(type: MemoryType, heapMode: HeapMode) throws {
        self.type = type
        maximumPages = min(type.limits.max ?? MemoryType.maxPages, MemoryType.maxPages)
        pages = type.limits.min
        highWaterPages = pages
        ownsReservation = true
        preMapped = false
        let pageSize = MemoryType.pageSize
        switch heapMode {
        case .guarded: reservation = HeapMode.guardedReservation
        case .bounded: reservation = max(Int(maximumPages) * pageSize, pageSize)
        }
        guard let memory = mmap(nil, reservation, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0),
              memory != MAP_FAILED
        else { throw RuntimeError("cannot reserve \(reservation) bytes for a linear memory") }
        base = memory
        if pages > 0 {
            guard mprotect(base, Int(pages) * pageSize, PROT_READ | PROT_WRITE) == 0 else {
                munmap(base, reservation)
                throw RuntimeError("cannot commit \(pages) pages of linear memory")
            }
        }
    }

    /// A memory inside a region slot's reservation (which it does not own).
    init(type: MemoryType, slotMemory: UnsafeMutableRawPointer, reservationBytes: Int, heapMode: HeapMode) throws {
        self.type = type
        let reservablePages = UInt64(heapMode == .guarded ? Int(MemoryType.maxPages) : reservationBytes / MemoryType.pageSize)
        guard type.limits.min <= reservablePages else {
            throw RuntimeError("memory of \(type.limits.min) pages does not fit the region's \(reservablePages)-page slots")
        }
        maximumPages = min(type.limits.max ?? MemoryType.maxPages, MemoryType.maxPages, reservablePages)
        pages = type.limits.min
        highWaterPages = pages
        base = slotMemory
        reservation = reservationBytes
        ownsReservation = false
        preMapped = heapMode == .bounded
        if !preMapped, pages > 0 {
            guard mprotect(base, Int(pages) * MemoryType.pageSize, PROT_READ | PROT_WRITE) == 0 else {
                throw RuntimeError("cannot commit \(pages) pages of linear memory")
            }
        }
    }

    deinit { if ownsReservation { munmap(base, reservation) } }

    public var byteCount: Int { Int(pages) * MemoryType.pageSize }

    /// Grows by `delta` pages (new pages read as zero); the old size in pages, or nil.
    public func grow(by delta: UInt64) -> UInt64? {
        let old = pages
        guard delta <= maximumPages, old + delta <= maximumPages else { return nil }
        if delta == 0 { return old }
        let pageSize = MemoryType.pageSize
        if !preMapped {
            guard mprotect(base + Int(old) * pageSize, Int(delta) * pageSize, PROT_READ | PROT_WRITE) == 0 else { return nil }
        }
        pages = old + delta
        highWaterPages = max(highWaterPages, pages)
        for vmctx in attached { publish(to: vmctx) }
        return old
    }

    /// Lowers the most this memory may grow to (a store's per-instance limit).
    func limit(to pages: UInt64) {
        maximumPages = min(maximumPages, max(pages, self.pages))
    }

    func attach(_ vmctx: UnsafeMutableRawPointer) {
        attached.append(vmctx)
        publish(to: vmctx)
    }

    func detach(_ vmctx: UnsafeMutableRawPointer) {
        attached.removeAll { $0 == vmctx }
    }

    private func publish(to vmctx: UnsafeMutableRawPointer) {
        VMContext(vmctx).setMemory(base: base, byteCount: byteCount)
    }

    /// The memory's current bytes. Valid until the next grow.
    public var bytes: UnsafeMutableRawBufferPointer { UnsafeMutableRawBufferPointer(start: base, count: byteCount) }

    /// Whether [offset, offset + count) lies inside the memory.
    func contains(_ offset: UInt64, count: UInt64) -> Bool {
        offset <= UInt64(byteCount) && count <= UInt64(byteCount) - offset
    }
}
