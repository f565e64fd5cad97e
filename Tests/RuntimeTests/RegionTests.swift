import Compiler
import Foundation
@testable import Runtime
import RuntimeABI
import Testing
import WasmCore
import WasmText

let dataModule = """
    (module
      (memory (export "memory") 1 4)
      (data (i32.const 8) "shoal")
      (func (export "peek") (param i32) (result i32) local.get 0 i32.load8_u)
      (func (export "poke") (param i32 i32) local.get 0 local.get 1 i32.store8)
      (func (export "grow") (result i32) i32.const 1 memory.grow)
      (func (export "spin") (loop (br 0))))
    """

@Suite("instance regions")
struct RegionTests {
    @Test func aFullRegionRefusesAndReleasedSlotsAreReset() throws {
        let region = try Region(Region.Configuration(slotCount: 2, heapMode: .bounded, memoryPages: 4))
        let loaded = try LoadedModule(try compile(dataModule, .bounded))
        var first: Store? = Store(region: region)
        let a = try first!.instantiate(loaded) { _, _ in nil }
        let second = Store(region: region)
        let b = try second.instantiate(loaded) { _, _ in nil }
        #expect(region.freeCount == 0)
        let third = Store(region: region)
        do {
            _ = try third.instantiate(loaded) { _, _ in nil }
            Issue.record("instantiated in a full region")
        } catch let error as RegionFull {
            #expect("\(error)" == "region full: all 2 instance slots are in use")
        }
        // Data came from the module's image; each instance has its own memory.
        #expect(try a.invoke("peek", [.i32(8)]) == [.i32(UInt32(UInt8(ascii: "s")))])
        _ = try a.invoke("poke", [.i32(1000), .i32(77)])
        _ = try a.invoke("grow", [])
        _ = try a.invoke("poke", [.i32(70_000), .i32(66)])
        #expect(try b.invoke("peek", [.i32(1000)]) == [.i32(0)])
        // Out of bounds of its current size is a trap even though the slot is mapped further.
        #expect(throws: Trap.self) { try onLargeStack { _ = try b.invoke("peek", [.i32(70_000)]) } }
        first = nil  // releases the slot, reset
        #expect(region.freeCount == 1)
        let reused = try third.instantiate(loaded) { _, _ in nil }
        #expect(try reused.invoke("peek", [.i32(1000)]) == [.i32(0)])
        _ = try reused.invoke("grow", [])
        #expect(try reused.invoke("peek", [.i32(70_000)]) == [.i32(0)])
        #expect(try reused.invoke("peek", [.i32(9)]) == [.i32(UInt32(UInt8(ascii: "h")))])
    }

    @Test func boundedRegionsWithoutGuardPagesCostNoMappingPerInstance() throws {
        let region = try Region(Region.Configuration(slotCount: 2_000, heapMode: .bounded, memoryPages: 4, guardPages: .never))
        let loaded = try LoadedModule(try compile(dataModule, .bounded))
        var stores: [Store] = []
        for _ in 0..<2_000 {
            let store = Store(region: region)
            let instance = try store.instantiate(loaded) { _, _ in nil }
            _ = try instance.invoke("poke", [.i32(100), .i32(1)])
            stores.append(store)
        }
        // Counted inside the region's range, so that mappings other tests make meanwhile do not count.
        let start = UInt(bitPattern: region.base)
        let inside = MapsEntry.all().filter { $0.range.overlaps(start..<(start + UInt(region.mappedBytes))) }
        #expect(inside.count == 1, "\(inside.count) mappings for a region of 2,000 instances")
        #expect(region.freeCount == 0)
        stores.removeAll()
        #expect(region.freeCount == 2_000)
    }

    @Test(arguments: HeapMode.allCases)
    func executionsRunOnTheSlotsStack(heapMode: HeapMode) throws {
        let region = try Region(Region.Configuration(slotCount: 4, heapMode: heapMode, memoryPages: 4))
        let store = Store(region: region)
        let instance = try store.instantiate(try compile(dataModule + "", heapMode)) { _, _ in nil }
        let execution = try Execution(try export(instance, "spin"), arguments: [])
        let timer = Thread { usleep(10_000); execution.requestYield() }
        timer.start()
        guard case .yielded = try execution.resume() else { Issue.record("\(execution.state)"); return }
        let deep = try Execution(try export(try store.instantiate(try compile(victim, heapMode)) { _, _ in nil }, "recurse"),
                                 arguments: [.i32(0)])
        guard case .trapped(let trap) = try deep.resume() else { Issue.record("\(deep.state)"); return }
        #expect(trap.code == .callStackExhausted)
    }

    @Test func aTrappedInstancesSlotIsRecycled() throws {
        let region = try Region(Region.Configuration(slotCount: 1, heapMode: .bounded, memoryPages: 4))
        let loaded = try LoadedModule(try compile(victim, .bounded))
        for round in 0..<3 {
            let store = Store(region: region)
            let instance = try store.instantiate(loaded) { _, _ in nil }
            _ = try onLargeStack { _ = try instance.invoke("store", [.i32(64), .i32(UInt32(round + 1))]) }
            let execution = try Execution(try export(instance, "recurse"), arguments: [.i32(0)])
            guard case .trapped(let trap) = try execution.resume() else { Issue.record("\(execution.state)"); return }
            #expect(trap.code == .callStackExhausted)
            // The slot was reset between rounds: the previous round's store is gone.
            #expect(try instance.invoke("load", [.i32(64)]) == [.i32(UInt32(round + 1))])
            #expect(region.freeCount == 0)
        }
        #expect(region.freeCount == 1)
    }
}

@Suite("region shards")
struct RegionShardTests {
    @Test func aShardReusesItsOwnLastReleasedSlotAndBorrowsOnlyWhenEmpty() throws {
        let region = try Region(Region.Configuration(slotCount: 6, heapMode: .bounded, memoryPages: 1, guardPages: .never, shards: 3))
        #expect(region.shardCount == 3)
        #expect((0..<6).map { region.shard(ofSlot: $0) } == [0, 0, 1, 1, 2, 2])
        let a = try region.acquire(preferring: 1)
        let b = try region.acquire(preferring: 1)
        #expect(a.index == 2)
        #expect(b.index == 3)
        #expect(region.freeCount(inShard: 1) == 0)
        #expect(region.freeCount(inShard: 0) == 2)
        region.release(a, memoryBytesUsed: 0, contextBytesUsed: 0)
        let again = try region.acquire(preferring: 1)
        #expect(again.index == a.index)  // the slot it released last, still warm
        // Shard 1 is empty: the next slot is borrowed from the next shard that has one.
        let borrowed = try region.acquire(preferring: 1)
        #expect(region.shard(ofSlot: borrowed.index) == 2)
        // A borrowed slot goes back to the shard it belongs to.
        region.release(borrowed, memoryBytesUsed: 0, contextBytesUsed: 0)
        #expect(region.freeCount(inShard: 2) == 2)
        #expect(region.freeCount(inShard: 1) == 0)
        var held = [again, b]
        for _ in 0..<4 { held.append(try region.acquire(preferring: 0)) }
        #expect(Set(held.map(\.index)).count == 6)
        #expect(throws: RegionFull.self) { try region.acquire(preferring: 2) }
        for slot in held { region.release(slot, memoryBytesUsed: 0, contextBytesUsed: 0) }
        #expect(region.freeCount == 6)
    }

    @Test func concurrentAcquireAndReleaseNeverHandOutASlotTwice() async throws {
        let region = try Region(Region.Configuration(slotCount: 64, heapMode: .bounded, memoryPages: 1, guardPages: .never, shards: 4))
        let owners = UnsafeMutablePointer<Int>.allocate(capacity: 64)
        owners.initialize(repeating: -1, count: 64)
        defer { owners.deallocate() }
        let table = OwnerTable(owners)
        await withTaskGroup(of: Int.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    var conflicts = 0
                    for _ in 0..<5_000 {
                        guard let slot = try? region.acquire(preferring: worker % 4) else { continue }
                        if !table.claim(slot.index, by: worker) { conflicts += 1 }
                        table.unclaim(slot.index)
                        region.release(slot, memoryBytesUsed: 0, contextBytesUsed: 0)
                    }
                    return conflicts
                }
            }
            var conflicts = 0
            for await c in group { conflicts += c }
            #expect(conflicts == 0)
        }
        #expect(region.freeCount == 64)
    }
}

/// Which task holds each slot: a claim fails if another task holds it (the free list handed it out twice).
final class OwnerTable: @unchecked Sendable {
    private let lock = NSLock()
    private let owners: UnsafeMutablePointer<Int>
    init(_ owners: UnsafeMutablePointer<Int>) { self.owners = owners }
    func claim(_ index: Int, by owner: Int) -> Bool {
        lock.withLock {
            guard owners[index] == -1 else { return false }
            owners[index] = owner
            return true
        }
    }
    func unclaim(_ index: Int) { lock.withLock { owners[index] = -1 } }
}
