import Runtime
import Testing

@Suite("region slot layout")
struct SlotLayoutTests {
    @Test(arguments: [0, 1, 4096, 65_536, 100_000])
    func partsAreAlignedDisjointAndFencedByGuards(guardBytes: Int) {
        for context in [1, 100, 4096, 4097, 65_536] {
            for stack in [1, 4096, 100_000, 1 << 20] {
                for memory in [0, 1, 65_536, 65_537, 16 * 65_536, (8 << 30) + 65_536] {
                    let l = SlotLayout(contextBytes: context, stackBytes: stack, memoryBytes: memory, guardBytes: guardBytes)
                    #expect(l.contextBytes >= context && l.contextBytes % 4096 == 0)
                    #expect(l.stackBytes >= stack && l.stackBytes % 4096 == 0)
                    #expect(l.memoryBytes >= memory && l.memoryBytes % 65_536 == 0)
                    #expect(l.guardBytes >= guardBytes && l.guardBytes % 4096 == 0 && l.hasGuards == (guardBytes > 0))
                    // In address order: context, stack guard, stack, memory guard, memory, trailing guard.
                    let parts = [0..<l.contextBytes, l.stackGuard, l.stackOffset..<(l.stackOffset + l.stackBytes), l.memoryGuard,
                                 l.memoryOffset..<(l.memoryOffset + l.memoryBytes), l.trailingGuard]
                    for (a, b) in zip(parts, parts.dropFirst()) { #expect(a.upperBound <= b.lowerBound) }
                    #expect(l.memoryOffset % 65_536 == 0)
                    #expect(l.trailingGuard.upperBound == l.slotSize)
                    // Every slot's memory stays 64 KiB aligned.
                    #expect(l.slotSize % 65_536 == 0)
                    #expect(l.slotOffset(3) == 3 * l.slotSize)
                    if l.hasGuards {
                        // Each guard at least guardBytes, directly against the parts it separates.
                        for g in l.guards { #expect(g.count >= l.guardBytes) }
                        #expect(l.stackGuard == l.contextBytes..<l.stackOffset)
                        #expect(l.memoryGuard == (l.stackOffset + l.stackBytes)..<l.memoryOffset)
                        #expect(l.trailingGuard.lowerBound == l.memoryOffset + l.memoryBytes)
                    } else {
                        // Without guards: the layout as it always was, parts back to back.
                        #expect(l.guards.allSatisfy { $0.isEmpty })
                        #expect(l.stackOffset == l.contextBytes)
                        #expect(l.memoryOffset == (l.stackOffset + l.stackBytes + 65_535) / 65_536 * 65_536)
                        #expect(l.slotSize == l.memoryOffset + l.memoryBytes)
                    }
                }
            }
        }
    }
}
