import Foundation
import Glibc
import RuntimeABI
import WasmCore

/// A pool of instance slots reserved up front, like Lucet's regions and Wasmtime's pooling
/// allocator: each slot holds an instance's vmctx, its fiber stack and its linear-memory
/// reservation, with guard pages between them (see `SlotLayout`, `GuardPages`).
///
/// The whole region is one reservation. In bounded mode it is mapped read-write once
/// (MAP_NORESERVE: pages cost memory only when touched); bounds checks in the code keep each
/// instance inside its own memory. Guard pages, when on, are made PROT_NONE when the region is
/// created and split the mapping into `mappingsPerSlot` pieces per slot, which the process's
/// vm.max_map_count must hold (`MapBudget`); without them a bounded region stays one mapping, so
/// the number of instances is not limited by vm.max_map_count. In guarded mode memory past an
/// instance's size must fault, so slots change protections as they are used, and the kernel
/// splits the mapping either way — guarded regions are for fewer, faster instances.
///
/// A released slot keeps nothing of its tenant: its memory, context and stack are zeroed or
/// dropped (`release`) before anyone can take it again.
public final class Region: @unchecked Sendable {  // slot bookkeeping is in lock-free `SlotFreeList`s
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
        /// Guard pages around every slot's parts (default: always, or fail if the mapping budget
        /// cannot hold them; see `GuardPages`).
        public var guardPages: GuardPages
        /// The size of each guard when there are guards (rounded up to pages).
        public var guardBytes: Int
        /// The top of a released slot's fiber stack that keeps its pages (zeroed in place): what
        /// a call and a host call parked on the fiber use. The rest of the stack is returned to
        /// the kernel.
        public var stackKeepResidentBytes: Int
        /// The slots are split into this many shards of consecutive slots, each with its own free
        /// list: a scheduler gives each worker one, so workers take and reuse their own slots
        /// (`acquire(preferring:)`) without sharing a free list.
        public var shards: Int

        public init(slotCount: Int, heapMode: HeapMode = .default, memoryPages: Int = 16, stackSize: Int = 256 * 1024,
                    contextSize: Int = 16 * 1024, keepResidentBytes: Int = 2 << 20, guardPages: GuardPages = .always,
                    guardBytes: Int = SlotLayout.defaultGuardBytes, stackKeepResidentBytes: Int = 16 * 1024, shards: Int = 1) {
            self.shards = shards
            self.slotCount = slotCount
            self.heapMode = heapMode
            self.memoryPages = memoryPages
            self.stackSize = stackSize
            self.contextSize = contextSize
            self.keepResidentBytes = keepResidentBytes
            self.guardPages = guardPages
            self.guardBytes = guardBytes
            self.stackKeepResidentBytes = stackKeepResidentBytes
        }
    }

    public let configuration: Configuration
    public let layout: SlotLayout
    /// Whether the slots have guard pages (with `GuardPages.auto`, whether the budget held them).
    public var hasGuardPages: Bool { layout.hasGuards }
    let base: UnsafeMutableRawPointer
    let mappedBytes: Int
    /// Mappings this region reserved in `MapBudget` and may still make (a guarded-mode region
    /// splits its mapping as slots are used).
    private let promisedMappings: Int
    /// Each shard's free slots; shard `s` holds slots `s * shardSize ..< (s + 1) * shardSize`.
    private let shardLists: [SlotFreeList]
    private let shardSize: Int
    /// Resets released slots' memory (tests substitute its residency probe).
    var scrubber = PageScrubber()

    /// The most memory mappings one slot can split the region into, all slots in use:
    /// with guards, context | guard | stack | guard | memory | guard (in guarded mode the
    /// memory's inaccessible tail merges with the trailing guard, and its accessible pages take
    /// the memory's place); without guards, a guarded-mode slot is its accessible part and its
    /// inaccessible tail, and a bounded region is one mapping whatever its size.
    public static func mappingsPerSlot(heapMode: HeapMode, guards: Bool) -> Int {
        guards ? 6 : (heapMode == .guarded ? 2 : 0)
    }

    public init(_ configuration: Configuration) throws {
        self.configuration = configuration
        guard configuration.slotCount > 0 else { throw RuntimeError("a region needs at least one slot") }
        let heapMode = configuration.heapMode
        let memoryBytes = heapMode == .guarded ? HeapMode.guardedReservation : configuration.memoryPages * MemoryType.pageSize
        func slotLayout(guards: Bool) -> SlotLayout {
            SlotLayout(contextBytes: configuration.contextSize, stackBytes: configuration.stackSize, memoryBytes: memoryBytes,
                       guardBytes: guards ? max(configuration.guardBytes, 4096) : 0)
        }
        /// Reserves the worst case in the process's mapping budget (given back once the mappings
        /// exist, and so show in /proc/self/maps, or when the region goes).
        func reserve(guards: Bool) throws -> Int {
            let perSlot = Self.mappingsPerSlot(heapMode: heapMode, guards: guards)
            guard perSlot > 0 else { return 0 }
            let (needed, overflow) = perSlot.multipliedReportingOverflow(by: configuration.slotCount)
            guard !overflow else { throw RuntimeError("a region of \(configuration.slotCount) slots is too large") }
            try MapBudget.reserve(needed: needed, slots: configuration.slotCount, mappingsPerSlot: perSlot, guardPages: guards)
            return needed
        }
        var chosen: SlotLayout
        var promised: Int
        switch configuration.guardPages {
        case .never:
            chosen = slotLayout(guards: false)
            promised = try reserve(guards: false)
        case .always:
            chosen = slotLayout(guards: true)
            promised = try reserve(guards: true)
        case .auto:
            do {
                chosen = slotLayout(guards: true)
                promised = try reserve(guards: true)
            } catch is MapBudgetExceeded {
                chosen = slotLayout(guards: false)
                promised = try reserve(guards: false)
            }
        }
        layout = chosen
        let (total, overflow) = chosen.slotSize.multipliedReportingOverflow(by: configuration.slotCount)
        let protection = heapMode == .bounded ? PROT_READ | PROT_WRITE : PROT_NONE
        guard !overflow, let memory = mmap(nil, total, protection, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0),
              memory != MAP_FAILED
        else {
            MapBudget.release(promised)
            throw RuntimeError("cannot reserve \(chosen.slotSize) x \(configuration.slotCount) bytes for a region of \(configuration.slotCount) slots")
        }
        base = memory
        mappedBytes = total
        let shardCount = max(1, min(configuration.shards, configuration.slotCount))
        shardSize = (configuration.slotCount + shardCount - 1) / shardCount
        shardLists = (0..<shardCount).map { [shardSize] shard in
            let start = min(shard * shardSize, configuration.slotCount)
            return SlotFreeList(capacity: configuration.slotCount, holding: start..<min(start + shardSize, configuration.slotCount))
        }
        // Bounded regions are accessible everywhere but their guards, from the start. (Guarded
        // ones are inaccessible everywhere until a slot's parts are opened in `acquire`.)
        if heapMode == .bounded && chosen.hasGuards {
            for index in 0..<configuration.slotCount {
                let slot = memory + chosen.slotOffset(index)
                for guardRange in chosen.guards where !guardRange.isEmpty {
                    guard mprotect(slot + guardRange.lowerBound, guardRange.count, PROT_NONE) == 0 else {
                        munmap(memory, total)
                        MapBudget.release(promised)
                        throw RuntimeError("cannot make the guard pages of slot \(index) inaccessible (errno \(errno))")
                    }
                }
            }
            // Made: they count in /proc/self/maps from now on.
            MapBudget.release(promised)
            promised = 0
        }
        promisedMappings = promised
    }

    deinit {
        munmap(base, mappedBytes)
        MapBudget.release(promisedMappings)
    }

    /// Free slots (a snapshot, summed over the shards).
    public var freeCount: Int { shardLists.reduce(0) { $0 + $1.count } }

    /// The shards the slots are split into.
    public var shardCount: Int { shardLists.count }

    /// The shard a slot belongs to (its released slot goes back there).
    public func shard(ofSlot index: Int) -> Int { index / shardSize }

    /// Free slots in one shard (a snapshot).
    public func freeCount(inShard shard: Int) -> Int { shardLists[shard].count }

    /// Takes a free slot, from shard `preferred` if it has one (the slot released there last),
    /// else from the next shard that has one; throws `RegionFull` when none has.
    func acquire(preferring preferred: Int = 0) throws -> Slot {
        let shards = shardLists.count
        let first = ((preferred % shards) + shards) % shards
        var found: Int?
        for step in 0..<shards {
            if let index = shardLists[(first + step) % shards].pop() {
                found = index
                break
            }
        }
        guard let index = found else { throw RegionFull(slots: configuration.slotCount) }
        let slot = Slot(region: self, index: index)
        if configuration.heapMode == .guarded {
            // Context and stack become usable (the guards between them stay PROT_NONE); the memory
            // part stays PROT_NONE until sized.
            let opened = layout.hasGuards
                ? mprotect(slot.context, layout.contextBytes, PROT_READ | PROT_WRITE) == 0
                    && mprotect(slot.stack, layout.stackBytes, PROT_READ | PROT_WRITE) == 0
                : mprotect(slot.context, layout.memoryOffset, PROT_READ | PROT_WRITE) == 0
            guard opened else {
                shardLists[shard(ofSlot: index)].push(index)
                throw RuntimeError("cannot make slot \(index) writable")
            }
        }
        return slot
    }

    /// Resets a slot and makes it available again: nothing the tenant wrote survives — not in its
    /// memory, its context (vmctx, globals) or its fiber stack — whether or not its pages are
    /// resident. `contextBytesUsed` is what the tenant's instance initialized of the context
    /// (0 if unknown); nothing writes beyond it.
    ///
    /// The context's used part is zeroed with memset, which overwrites a page whatever its state.
    /// The rest of the slot, up to the end of the memory it used, is one `PageScrubber` span: the
    /// context's unused tail, the stack guard and the stack below its top
    /// `stackKeepResidentBytes` are dropped unprobed (a deep recursion's pages go back to the
    /// kernel); the stack's top, the memory guard and the memory are probed, and resident pages
    /// zeroed in place (the next tenant faults nothing in), the others dropped. So a reset costs one
    /// mincore and one or two madvise calls. Memory beyond `keepResidentBytes` (and all memory in
    /// guarded mode, which then becomes inaccessible again) is dropped outright.
    func release(_ slot: Slot, memoryBytesUsed: Int, contextBytesUsed: Int) {
        let page = PageScrubber.pageSize
        func pages(_ n: Int) -> Int { (n + page - 1) / page * page }
        let contextUsed = min(pages(max(contextBytesUsed, 0)), layout.contextBytes)
        let hot = min(pages(configuration.stackKeepResidentBytes), layout.stackBytes)
        let keptMemory = configuration.heapMode == .bounded && memoryBytesUsed <= configuration.keepResidentBytes ? memoryBytesUsed : 0
        memset(slot.context, 0, contextUsed)
        let span = contextUsed..<(layout.memoryOffset + keptMemory)  // offsets in the slot
        let inaccessible = [layout.stackGuard, layout.memoryGuard].map { ($0.lowerBound - span.lowerBound)..<($0.upperBound - span.lowerBound) }
        scrubber.zero(slot.context + span.lowerBound, span.count, probeFrom: layout.stackOffset + layout.stackBytes - hot - span.lowerBound,
                      inaccessible: inaccessible)
        scrubber.drop(slot.memory + keptMemory, memoryBytesUsed - keptMemory)
        if configuration.heapMode == .guarded, memoryBytesUsed > 0 {
            mprotect(slot.memory, memoryBytesUsed, PROT_NONE)
        }
        shardLists[shard(ofSlot: slot.index)].push(slot.index)
    }
}

/// One slot of a region, held by an instance for its lifetime.
struct Slot {
    unowned let region: Region
    let index: Int
    var context: UnsafeMutableRawPointer { region.base + region.layout.slotOffset(index) }
    var stack: UnsafeMutableRawPointer { context + region.layout.stackOffset }
    var memory: UnsafeMutableRawPointer { context + region.layout.memoryOffset }
    /// The inaccessible range just below the stack (0..<0 without guards).
    var stackGuard: Range<UInt> {
        guard region.layout.hasGuards else { return 0..<0 }
        let start = UInt(bitPattern: context) + UInt(region.layout.stackGuard.lowerBound)
        return start..<(start + UInt(region.layout.stackGuard.count))
    }
}

/// Every slot of the region is in use.
public struct RegionFull: Error, CustomStringConvertible {
    public let slots: Int
    public var description: String { "region full: all \(slots) instance slots are in use" }
}
