import Foundation
import Glibc
import RuntimeABI
import WasmCore

/// A pool of instance slots reserved up front, like Lucet's regions and Wasmtime's pooling
/// allocator: each slot holds an instance's vmctx, its fiber stack and its linear-memory
/// reservation (see `SlotLayout`).
///
/// The whole region is one mapping. In bounded mode it is mapped read-write once (MAP_NORESERVE:
/// pages cost memory only when touched) and never split, so the number of instances is not limited
/// by vm.max_map_count; bounds checks in the code keep each instance inside its own memory. In
/// guarded mode memory past an instance's size must fault, so slots change protections and the
/// kernel splits the mapping — guarded regions are for fewer, faster instances.
///
/// A released slot keeps nothing of its tenant: its memory, context and stack are zeroed or
/// dropped (`PageScrubber`) before anyone can take it again.
public final class Region: @unchecked Sendable {  // slot bookkeeping is under `lock`
    public struct Configuration: Sendable {
        public var slotCount: Int
        public var heapMode: HeapMode
        /// Bounded mode: the largest memory a slot can hold, in 64 KiB pages.
        public var memoryPages: Int
        public var stackSize: Int
        /// Room for the vmctx (header, imports, globals, table pointers).
        public var contextSize: Int
        /// Released slots whose memory use was at most this keep their resident pages (zeroed in
        /// place: the next instantiation touches no new pages); larger ones are returned to the
        /// kernel.
        public var keepResidentBytes: Int

        public init(slotCount: Int, heapMode: HeapMode = .bounded, memoryPages: Int = 16, stackSize: Int = 256 * 1024,
                    contextSize: Int = 16 * 1024, keepResidentBytes: Int = 2 << 20) {
            self.slotCount = slotCount
            self.heapMode = heapMode
            self.memoryPages = memoryPages
            self.stackSize = stackSize
            self.contextSize = contextSize
            self.keepResidentBytes = keepResidentBytes
        }
    }

    public let configuration: Configuration
    public let layout: SlotLayout
    let base: UnsafeMutableRawPointer
    let mappedBytes: Int
    private let lock = NSLock()
    private var freeSlots: [Int]
    /// Resets released slots (tests substitute its residency probe).
    var scrubber = PageScrubber()

    public init(_ configuration: Configuration) throws {
        self.configuration = configuration
        let memoryBytes = configuration.heapMode == .guarded ? HeapMode.guardedReservation : configuration.memoryPages * MemoryType.pageSize
        layout = SlotLayout(contextBytes: configuration.contextSize, stackBytes: configuration.stackSize, memoryBytes: memoryBytes)
        let (total, overflow) = layout.slotSize.multipliedReportingOverflow(by: configuration.slotCount)
        guard !overflow, configuration.slotCount > 0 else { throw RuntimeError("a region of \(configuration.slotCount) slots is too large") }
        let protection = configuration.heapMode == .bounded ? PROT_READ | PROT_WRITE : PROT_NONE
        guard let memory = mmap(nil, total, protection, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0), memory != MAP_FAILED else {
            throw RuntimeError("cannot reserve \(total) bytes for a region of \(configuration.slotCount) slots")
        }
        base = memory
        mappedBytes = total
        freeSlots = Array((0..<configuration.slotCount).reversed())
    }

    deinit { munmap(base, mappedBytes) }

    public var freeCount: Int { lock.withLock { freeSlots.count } }

    /// Takes a free slot, or throws `RegionFull`.
    func acquire() throws -> Slot {
        guard let index = lock.withLock({ freeSlots.popLast() }) else { throw RegionFull(slots: configuration.slotCount) }
        let slot = Slot(region: self, index: index)
        if configuration.heapMode == .guarded {
            // Context and stack become usable; the memory part stays PROT_NONE until sized.
            guard mprotect(slot.context, layout.memoryOffset, PROT_READ | PROT_WRITE) == 0 else {
                lock.withLock { freeSlots.append(index) }
                throw RuntimeError("cannot make slot \(index) writable")
            }
        }
        return slot
    }

    /// Resets a slot and makes it available again: nothing the tenant wrote survives — not in its
    /// memory, its context (vmctx, globals) or its fiber stack — whether or not its pages are
    /// resident (see `PageScrubber`). Memory up to `keepResidentBytes` and the context and stack
    /// keep their resident pages, zeroed in place; larger memory use is dropped.
    func release(_ slot: Slot, memoryBytesUsed: Int) {
        if memoryBytesUsed <= configuration.keepResidentBytes && configuration.heapMode == .bounded {
            scrubber.zero(slot.memory, memoryBytesUsed)
        } else {
            scrubber.drop(slot.memory, memoryBytesUsed)
        }
        if configuration.heapMode == .guarded, memoryBytesUsed > 0 {
            mprotect(slot.memory, memoryBytesUsed, PROT_NONE)
        }
        scrubber.zero(slot.context, layout.contextBytes)
        scrubber.zero(slot.stack, layout.stackBytes)
        lock.withLock { freeSlots.append(slot.index) }
    }
}

/// One slot of a region, held by an instance for its lifetime.
struct Slot {
    unowned let region: Region
    let index: Int
    var context: UnsafeMutableRawPointer { region.base + region.layout.slotOffset(index) }
    var stack: UnsafeMutableRawPointer { context + region.layout.stackOffset }
    var memory: UnsafeMutableRawPointer { context + region.layout.memoryOffset }
}

/// Every slot of the region is in use.
public struct RegionFull: Error, CustomStringConvertible {
    public let slots: Int
    public var description: String { "region full: all \(slots) instance slots are in use" }
}
