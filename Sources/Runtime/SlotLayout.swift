/// Where the parts of one instance slot lie inside a region, and where its guard pages are. A pure
/// function of the configuration, so its invariants can be tested on their own (SlotLayoutTests).
///
/// ```
///  region base + i * slotSize
///  +-----------------------------+ +0
///  | context: vmctx header,      |   contextBytes (page multiple)
///  | vmctx, globals              |
///  +-----------------------------+ +stackGuard.lowerBound
///  | guard (PROT_NONE)           |   guardBytes: a stack overflow faults here, before the context
///  +-----------------------------+ +stackOffset
///  | fiber stack (grows down)    |   stackBytes (page multiple)
///  +-----------------------------+ +memoryGuard.lowerBound
///  | guard (PROT_NONE)           |   at least guardBytes, up to the next 64 KiB boundary
///  +-----------------------------+ +memoryOffset  (64 KiB aligned)
///  | linear memory reservation   |   memoryBytes (64 KiB multiple): the instance's maximum in
///  |                             |   bounded mode; 8 GiB + 64 KiB in guarded mode
///  +-----------------------------+ +trailingGuard.lowerBound
///  | guard (PROT_NONE)           |   guardBytes rounded up to 64 KiB: an overrun of the memory
///  +-----------------------------+ +slotSize          faults before the next slot's context
/// ```
///
/// Every part has a guard on each side (the next slot's context lies above this slot's trailing
/// guard, the previous slot's trailing guard below this context), so an overrun of any part, in
/// either direction, faults before it reaches another part or another slot. With `guardBytes` 0
/// the guards have no size and the parts are contiguous (what lies between the stack and the 64
/// KiB-aligned memory is then padding, accessible in bounded regions): that is
/// `GuardPages.never`, where the generated code's stack check — which stops
/// `Execution.hostStackMargin` bytes before the stack's end — and its bounds checks protect alone.
public struct SlotLayout: Sendable, Equatable {
    public let contextBytes: Int
    public let stackBytes: Int
    public let memoryBytes: Int
    /// The size of the guards below the stack and above the memory (0: no guards).
    public let guardBytes: Int
    public let stackOffset: Int
    public let memoryOffset: Int
    public let slotSize: Int

    public static let memoryAlignment = 65_536
    /// The guard size regions use: larger than any single frame the host code that runs on a
    /// fiber allocates without touching it (a guard one page wide can be jumped over).
    public static let defaultGuardBytes = 65_536

    /// Rounds every part up to its alignment; the slot size keeps the next slot's memory aligned.
    public init(contextBytes: Int, stackBytes: Int, memoryBytes: Int, guardBytes: Int = 0, pageSize: Int = 4096) {
        precondition(pageSize > 0 && pageSize & (pageSize - 1) == 0 && pageSize <= Self.memoryAlignment)
        precondition(guardBytes >= 0)
        func roundUp(_ n: Int, _ a: Int) -> Int { (n + a - 1) / a * a }
        self.contextBytes = roundUp(max(contextBytes, pageSize), pageSize)
        self.stackBytes = roundUp(max(stackBytes, pageSize), pageSize)
        self.memoryBytes = roundUp(memoryBytes, Self.memoryAlignment)
        self.guardBytes = roundUp(guardBytes, pageSize)
        stackOffset = self.contextBytes + self.guardBytes
        memoryOffset = roundUp(stackOffset + self.stackBytes + self.guardBytes, Self.memoryAlignment)
        slotSize = memoryOffset + self.memoryBytes + roundUp(self.guardBytes, Self.memoryAlignment)
    }

    public var hasGuards: Bool { guardBytes > 0 }

    /// Offsets within a slot of its guards (empty ranges without guards).
    public var stackGuard: Range<Int> { contextBytes..<stackOffset }
    public var memoryGuard: Range<Int> { hasGuards ? (stackOffset + stackBytes)..<memoryOffset : memoryOffset..<memoryOffset }
    public var trailingGuard: Range<Int> { (memoryOffset + memoryBytes)..<slotSize }
    public var guards: [Range<Int>] { [stackGuard, memoryGuard, trailingGuard] }

    public func slotOffset(_ index: Int) -> Int { index * slotSize }
}
