import Compiler
import Foundation
@testable import Runtime
import RuntimeABI
import Testing
import WasmCore
import WasmText

/// The first tenant: puts a secret in every place an instance can write — all of its memory (grown
/// to the slot's size), a global (in the slot's context), a table, and its fiber stack (locals and
/// arguments of a recursion 50 calls deep).
let secretKeeper = """
    (module
      (memory 1 4)
      (global $g (mut i64) (i64.const 0))
      (table $t 8 funcref)
      (elem declare func $f)
      (func $f)
      (func $deep (param $s i64) (param $n i32) (result i64)
        (local $copy i64)
        (local.set $copy (local.get $s))
        (if (result i64) (i32.eqz (local.get $n))
          (then (local.get $copy))
          (else (call $deep (local.get $copy) (i32.sub (local.get $n) (i32.const 1))))))
      (func (export "keep") (param $secret i64) (result i64)
        (local $i i32)
        (drop (memory.grow (i32.const 3)))
        (loop $fill
          (i64.store (local.get $i) (local.get $secret))
          (local.set $i (i32.add (local.get $i) (i32.const 8)))
          (br_if $fill (i32.lt_u (local.get $i) (i32.const 262144))))
        (global.set $g (local.get $secret))
        (table.fill $t (i32.const 0) (ref.func $f) (i32.const 8))
        (call $deep (local.get $secret) (i32.const 50))))
    """

/// The next tenant: reads all of its memory (grown to the slot's size), its global and its table.
let snoop = """
    (module
      (memory 1 4)
      (global $g (mut i64) (i64.const 7))
      (table $t 8 funcref)
      (data (i32.const 16) "mine")
      (func (export "orOfAllMemory") (result i64)
        (local $i i32) (local $acc i64)
        (drop (memory.grow (i32.const 3)))
        (loop $scan
          (local.set $acc (i64.or (local.get $acc) (i64.load (local.get $i))))
          (local.set $i (i32.add (local.get $i) (i32.const 8)))
          (br_if $scan (i32.lt_u (local.get $i) (i32.const 262144))))
        (local.get $acc))
      (func (export "global") (result i64) (global.get $g))
      (func (export "nullsInTable") (result i32)
        (local $i i32) (local $n i32)
        (loop $scan
          (local.set $n (i32.add (local.get $n) (ref.is_null (table.get $t (local.get $i)))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $scan (i32.lt_u (local.get $i) (i32.const 8))))
        (local.get $n)))
    """

/// Residency probes for the scrubber: the real one, one that calls every page not resident (as
/// mincore does for swapped-out pages), one that calls every page resident, one that fails.
enum Probe: String, CaseIterable, Sendable {
    case mincore, nothingResident, everythingResident, unknown
    var scrubber: PageScrubber {
        switch self {
        case .mincore: PageScrubber()
        case .nothingResident: PageScrubber { _, _, _ in true }
        case .everythingResident: PageScrubber { _, count, vector in
            vector.initialize(repeating: 1, count: (count + 4095) / 4096)
            return true
        }
        case .unknown: PageScrubber { _, _, _ in false }
        }
    }
}

func contains(_ haystack: UnsafeRawBufferPointer, _ needle: UInt64) -> Bool {
    var i = 0
    while i + 8 <= haystack.count {
        if haystack.loadUnaligned(fromByteOffset: i, as: UInt64.self) == needle { return true }
        i += 8
    }
    return false
}

@Suite("a recycled slot keeps nothing of its previous tenant")
struct SlotSecrecyTests {
    static let secret: UInt64 = 0x5EC2_E7C0_FFEE_D00D

    /// The first tenant of a one-slot region keeps the secret and goes away; returns its slot.
    static func keepASecret(in region: Region, _ heapMode: HeapMode) throws -> Slot {
        let store = Store(region: region)
        let keeper = try store.instantiate(try compile(secretKeeper, heapMode)) { _, _ in nil }
        let keep = try Execution(try export(keeper, "keep"), arguments: [.i64(secret)])  // on the slot's stack
        #expect(try keep.run() == [.i64(secret)])
        let slot = try #require(keeper.slot)
        let layout = region.layout
        // The secret is where the test says it is.
        #expect(contains(UnsafeRawBufferPointer(start: slot.context, count: layout.contextBytes), secret), "global")
        #expect(contains(UnsafeRawBufferPointer(start: slot.stack, count: layout.stackBytes), secret), "stack")
        #expect(contains(UnsafeRawBufferPointer(start: slot.memory, count: 4 * 65_536), secret), "memory")
        return slot
    }  // the store, its instance and the execution go: the slot is reset and free again

    @Test(arguments: HeapMode.allCases, Probe.allCases)
    func theNextTenantFindsOnlyZerosAndItsOwnData(heapMode: HeapMode, probe: Probe) throws {
        let region = try Region(Region.Configuration(slotCount: 1, heapMode: heapMode, memoryPages: 4))
        region.scrubber = probe.scrubber
        let layout = region.layout
        let slot = try Self.keepASecret(in: region, heapMode)
        #expect(region.freeCount == 1)
        let context = UnsafeRawBufferPointer(start: slot.context, count: layout.contextBytes)
        let stack = UnsafeRawBufferPointer(start: slot.stack, count: layout.stackBytes)

        // Reading the slot now shows nothing of the first tenant (reading faults in zero pages only).
        #expect(!contains(context, Self.secret), "context after release")
        #expect(!contains(stack, Self.secret), "stack after release")
        #expect(context.allSatisfy { $0 == 0 } && stack.allSatisfy { $0 == 0 })
        if heapMode == .bounded {
            #expect(UnsafeRawBufferPointer(start: slot.memory, count: 4 * 65_536).allSatisfy { $0 == 0 }, "memory after release")
        }

        let second = Store(region: region)
        let snooper = try second.instantiate(try compile(snoop, heapMode)) { _, _ in nil }
        #expect(snooper.slot?.index == slot.index)
        let mine = UInt64(0x656E_696D)  // "mine" at offset 16, little-endian
        #expect(try snooper.invoke("orOfAllMemory", []) == [.i64(mine)])
        #expect(try snooper.invoke("global", []) == [.i64(7)])
        #expect(try snooper.invoke("nullsInTable", []) == [.i32(8)])
    }
}

@Suite("what lives in a store stays in it")
struct CrossStoreTests {
    /// A memory, global or table in a region slot would otherwise stay reachable from another
    /// store after its own store is gone and the slot has a new tenant.
    @Test func anotherStoreCannotImportAMemoryGlobalOrTableOfThisOne() throws {
        let region = try Region(Region.Configuration(slotCount: 2, heapMode: .bounded, memoryPages: 4))
        let owner = Store(region: region)
        let exporter = try owner.instantiate(try compile("""
            (module (memory (export "m") 1) (global (export "g") i32 (i32.const 1)) (table (export "t") 1 funcref))
            """, .bounded)) { _, _ in nil }
        let importers = ["(module (import \"e\" \"m\" (memory 1)))", "(module (import \"e\" \"g\" (global i32)))",
                         "(module (import \"e\" \"t\" (table 1 funcref)))"]
        let other = Store(heapMode: .bounded)
        for wat in importers {
            let compiled = try compile(wat, .bounded)
            #expect(throws: LinkError.self) { _ = try other.instantiate(compiled) { _, name in exporter.export(name) } }
        }
        // The owner's own instances link to them as before, and a host-made memory links anywhere.
        let sameStore = try owner.instantiate(try compile(importers[0], .bounded)) { _, name in exporter.export(name) }
        #expect(sameStore.memory === exporter.memory)
        let hostMemory = try LinearMemory(type: MemoryType(limits: Limits(min: 1)), heapMode: .bounded)
        _ = try other.instantiate(try compile(importers[0], .bounded)) { _, _ in .memory(hostMemory) }
    }
}

@Suite("page scrubber plans")
struct ScrubPlanTests {
    typealias Plan = PageScrubber.Plan

    @Test func coldPagesAndNonResidentOnesAreDroppedTogetherAndGuardsLeftAlone() {
        // Pages: 0-3 cold (unprobed), 4-5 guard, 6-9 probed: 6 non-resident, 7-8 resident, 9 not.
        let resident: Set = [7, 8]
        let plan = PageScrubber.plan(pages: 10, probeFrom: 6, inaccessible: [4..<6]) { resident.contains($0) }
        #expect(plan == Plan(zero: [7..<9], drop: [0..<7, 9..<10]))
        // A drop wholly inside a guard is no drop at all.
        let guardOnly = PageScrubber.plan(pages: 6, probeFrom: 0, inaccessible: [2..<4]) { $0 != 2 && $0 != 3 }
        #expect(guardOnly == Plan(zero: [0..<2, 4..<6], drop: []))
        // Residency unknown (everything "resident"): guards are still never written.
        let unknown = PageScrubber.plan(pages: 6, probeFrom: 0, inaccessible: [2..<4]) { _ in true }
        #expect(unknown == Plan(zero: [0..<2, 4..<6], drop: []))
    }

    @Test func tooManyDropsBecomeOne() {
        let plan = PageScrubber.plan(pages: 40, probeFrom: 0, inaccessible: []) { $0 % 2 == 0 }  // 20 holes
        #expect(plan.drop == [1..<40] && plan.zero.count == 20)
    }

    @Test func everyAccessiblePageIsZeroedOrDropped() {
        var random = SeededRandom(state: 7)
        for _ in 0..<2_000 {
            let pages = 1 + random.below(60)
            let probeFrom = random.below(pages + 1)
            let start = random.below(pages), length = random.below(6)
            let inaccessible = [start..<min(pages, start + length)]
            var residency = (0..<pages).map { _ in random.below(3) == 0 }
            let plan = PageScrubber.plan(pages: pages, probeFrom: probeFrom, inaccessible: inaccessible) { residency[$0] }
            for i in 0..<pages {
                let zeroed = plan.zero.contains { $0.contains(i) }, dropped = plan.drop.contains { $0.contains(i) }
                let isGuard = inaccessible[0].contains(i)
                // Both only when too many drops were made one (a resident page then faults in again).
                #expect(!(zeroed && dropped) || plan.drop.count == 1, "page \(i) both zeroed and dropped")
                #expect(!(isGuard && zeroed), "guard page \(i) written")
                #expect(isGuard || zeroed || dropped, "page \(i) left as it was")
                if zeroed { #expect(i >= probeFrom && residency[i]) }
            }
            #expect(plan.drop.count <= PageScrubber.maxAdviceCalls)
            residency.removeAll()
        }
    }
}

/// A deterministic generator for randomized cases (a 64-bit LCG; high bits used).
struct SeededRandom {
    var state: UInt64
    mutating func below(_ n: Int) -> Int {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Int((state >> 33) % UInt64(n))
    }
}
