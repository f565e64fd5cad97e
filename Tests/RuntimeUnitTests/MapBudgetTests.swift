import Runtime
import Testing

@Suite("memory mapping budget")
struct MapBudgetTests {
    @Test func theProcessMappingsAndTheLimitAreReadable() throws {
        let limit = try #require(MapBudget.systemLimit())
        let current = try #require(MapBudget.currentMappings())
        #expect(limit > 0 && current > 0 && current < limit)
    }

    @Test func mappingsPerSlotCountEveryPartAndGuard() {
        #expect(Region.mappingsPerSlot(heapMode: .bounded, guards: true) == 6)  // context, guard, stack, guard, memory, guard
        #expect(Region.mappingsPerSlot(heapMode: .guarded, guards: true) == 6)
        #expect(Region.mappingsPerSlot(heapMode: .guarded, guards: false) == 2)  // accessible part, inaccessible tail
        #expect(Region.mappingsPerSlot(heapMode: .bounded, guards: false) == 0)  // one mapping for the whole region
        #expect(MapBudget.requiredLimit(needed: 600, current: 100, promised: 50) == 750 + MapBudget.headroom)
    }
}
