/// Where the parts of one instance slot lie inside a region. A pure function of the configuration,
/// so its invariants can be tested on their own (SlotLayoutTests).
///
/// ```
///  region base + i * slotSize
///  +-----------------------------+ +0
///  | context: vmctx header,      |   contextBytes (page multiple)
///  | vmctx, globals              |
///  +-----------------------------+ +stackOffset
///  | fiber stack (grows down)    |   stackBytes (page multiple)
///  +-----------------------------+ +memoryOffset  (64 KiB aligned)
///  | linear memory reservation   |   memoryBytes (64 KiB multiple): the instance's maximum in
///  |                             |   bounded mode; 4 GiB + guard in guarded mode
///  +-----------------------------+ +slotSize
/// ```
/// A fiber stack that overflowed would run into the slot's own context, never into another slot —
/// and it never does: the stack check in every prologue stops it `hostStackMargin` bytes early.
public struct SlotLayout: Sendable, Equatable {
    public let contextBytes: Int
    public let stackBytes: Int
    public let memoryBytes: Int
    public let stackOffset: Int
    public let memoryOffset: Int
    public let slotSize: Int

    public static let memoryAlignment = 65_536

    /// Rounds every part up to its alignment; the slot size keeps the next slot's memory aligned.
    public init(contextBytes: Int, stackBytes: Int, memoryBytes: Int, pageSize: Int = 4096) {
        precondition(pageSize > 0 && pageSize & (pageSize - 1) == 0 && pageSize <= Self.memoryAlignment)
        func roundUp(_ n: Int, _ a: Int) -> Int { (n + a - 1) / a * a }
        self.contextBytes = roundUp(max(contextBytes, pageSize), pageSize)
        self.stackBytes = roundUp(max(stackBytes, pageSize), pageSize)
        self.memoryBytes = roundUp(memoryBytes, Self.memoryAlignment)
        stackOffset = self.contextBytes
        memoryOffset = roundUp(stackOffset + self.stackBytes, Self.memoryAlignment)
        slotSize = memoryOffset + self.memoryBytes
    }

    public func slotOffset(_ index: Int) -> Int { index * slotSize }
}
