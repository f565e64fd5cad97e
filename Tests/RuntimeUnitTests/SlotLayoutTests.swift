import Runtime
import Testing

@Suite("region slot layout")
struct SlotLayoutTests {
    @Test func partsAreAlignedAndDisjoint() {
        for context in [1, 100, 4096, 4097, 65_536] {
            for stack in [1, 4096, 100_000, 1 << 20] {
                for memory in [0, 1, 65_536, 65_537, 16 * 65_536, (8 << 30) + 65_536] {
                    let l = SlotLayout(contextBytes: context, stackBytes: stack, memoryBytes: memory)
                    #expect(l.contextBytes >= context && l.contextBytes % 4096 == 0)
                    #expect(l.stackBytes >= stack && l.stackBytes % 4096 == 0)
                    #expect(l.memoryBytes >= memory && l.memoryBytes % 65_536 == 0)
                    #expect(l.stackOffset == l.contextBytes)  // context, then stack, no overlap
                    #expect(l.memoryOffset >= l.stackOffset + l.stackBytes)
                    #expect(l.memoryOffset % 65_536 == 0)
                    #expect(l.slotSize == l.memoryOffset + l.memoryBytes)
                    // Every slot's memory stays 64 KiB aligned.
                    #expect(l.slotSize % 65_536 == 0)
                    #expect(l.slotOffset(3) == 3 * l.slotSize)
                }
            }
        }
    }
}
