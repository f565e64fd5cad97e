import CShoal
import Compiler
import Foundation
import Glibc
@testable import Runtime
import RuntimeABI
import Testing
import WasmCore

/// One line of /proc/self/maps: [start, end) and the protection letters ("rw-p", "---p").
struct MapsEntry {
    let range: Range<UInt>
    let permissions: String

    static func all() -> [MapsEntry] {
        // Read to the end with read(2): Foundation's file reading can stop early on procfs files.
        var data = [UInt8]()
        let fd = open("/proc/self/maps", O_RDONLY)
        if fd >= 0 {
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n <= 0 { break }
                data += buffer[0..<n]
            }
            close(fd)
        }
        let text = String(decoding: data, as: UTF8.self)
        return text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 2 else { return nil }
            let bounds = fields[0].split(separator: "-")
            guard bounds.count == 2, let low = UInt(bounds[0], radix: 16), let high = UInt(bounds[1], radix: 16) else { return nil }
            return MapsEntry(range: low..<high, permissions: String(fields[1]))
        }
    }

    /// The protection of every byte of `range`, if one mapping entry (or several alike) covers it.
    static func permissions(of range: Range<UInt>, in entries: [MapsEntry]) -> Set<String> {
        Set(entries.filter { $0.range.overlaps(range) }.map(\.permissions))
    }
}

/// In a child process, writes one byte at `address` with the default SIGSEGV action: true if the
/// child died of SIGSEGV (the byte is inaccessible), false if it exited normally.
func writeFaultsInChild(_ address: UInt) -> Bool {
    let pid = fork()
    if pid == 0 {
        signal(SIGSEGV, SIG_DFL)
        signal(SIGBUS, SIG_DFL)
        UnsafeMutablePointer<UInt8>(bitPattern: address)!.pointee = 1
        _exit(0)
    }
    var status: Int32 = 0
    waitpid(pid, &status, 0)
    let signalled = (status & 0x7F) != 0 && (status & 0x7F) != 0x7F
    return signalled && (status & 0x7F) == SIGSEGV
}

@Suite("guard pages")
struct GuardPageTests {
    static func address(_ pointer: UnsafeMutableRawPointer) -> UInt { UInt(bitPattern: pointer) }

    @Test(arguments: HeapMode.allCases)
    func everySlotsPartsAreFencedByInaccessiblePages(heapMode: HeapMode) throws {
        let region = try Region(Region.Configuration(slotCount: 3, heapMode: heapMode, memoryPages: 2))
        #expect(region.hasGuardPages)
        let store = Store(region: region)
        let loaded = try LoadedModule(try compile(dataModule, heapMode))
        let instances = try (0..<3).map { _ in try store.instantiate(loaded) { _, _ in nil } }  // every slot in use
        let layout = region.layout
        let entries = MapsEntry.all()
        for instance in instances {
            let slot = try #require(instance.slot)
            let base = Self.address(slot.context)
            for guardRange in layout.guards {
                #expect(!guardRange.isEmpty)
                let range = (base + UInt(guardRange.lowerBound))..<(base + UInt(guardRange.upperBound))
                #expect(MapsEntry.permissions(of: range, in: entries) == ["---p"], "guard \(guardRange) of slot \(slot.index)")
            }
            let context = base..<(base + UInt(layout.contextBytes))
            let stack = Self.address(slot.stack)..<(Self.address(slot.stack) + UInt(layout.stackBytes))
            let memory = Self.address(slot.memory)..<(Self.address(slot.memory) + UInt(65_536))
            for part in [context, stack, memory] { #expect(MapsEntry.permissions(of: part, in: entries) == ["rw-p"]) }
            #expect(slot.stackGuard.upperBound == Self.address(slot.stack) && slot.stackGuard.count >= SlotLayout.defaultGuardBytes)
        }
    }

    @Test func writingJustBelowASlotsStackFaults() throws {
        let region = try Region(Region.Configuration(slotCount: 2, heapMode: .bounded, memoryPages: 1))
        let store = Store(region: region)
        let instance = try store.instantiate(try compile(dataModule, .bounded)) { _, _ in nil }
        let slot = try #require(instance.slot)
        let stack = Self.address(slot.stack)
        #expect(!writeFaultsInChild(stack))  // the stack's lowest byte is writable
        #expect(writeFaultsInChild(stack - 1))  // the byte below it is not
        #expect(writeFaultsInChild(stack - UInt(SlotLayout.defaultGuardBytes)))
        // Past the end of the slot's memory reservation: the trailing guard, then the next slot.
        let memoryEnd = Self.address(slot.memory) + UInt(region.layout.memoryBytes)
        #expect(!writeFaultsInChild(memoryEnd - 1))
        #expect(writeFaultsInChild(memoryEnd))
    }

    @Test func aRegionWithGuardsCostsSixMappingsPerSlotAndOneWithout() throws {
        for (guards, expected) in [(GuardPages.always, 6 * 50), (.never, 1)] {
            let region = try Region(Region.Configuration(slotCount: 50, heapMode: .bounded, memoryPages: 1, guardPages: guards))
            let start = UInt(bitPattern: region.base)
            let inside = MapsEntry.all().filter { $0.range.overlaps(start..<(start + UInt(region.mappedBytes))) }
            #expect(inside.count == expected, "\(guards)")
            #expect(inside.count <= Region.mappingsPerSlot(heapMode: .bounded, guards: guards == .always) * 50 + 1)
        }
    }

    @Test func executionsGuardTheStacksTheyMapAndPublishTheGuard() throws {
        let store = Store(heapMode: .bounded)
        let instance = try store.instantiate(try compile(counter, .bounded)) { _, _ in nil }
        let execution = try Execution(try export(instance, "count"), arguments: [.i64(3)], stackSize: 512 * 1024)
        let guardRange = execution.stackGuard
        #expect(guardRange.count == Execution.stackGuardBytes && guardRange.upperBound == UInt(bitPattern: execution.stack))
        #expect(MapsEntry.permissions(of: guardRange, in: MapsEntry.all()) == ["---p"])
        #expect(execution.fiber.pointee.stack_guard_low == guardRange.lowerBound)
        #expect(execution.fiber.pointee.stack_guard_high == guardRange.upperBound)
        #expect(writeFaultsInChild(guardRange.upperBound - 1))
        #expect(try execution.run() == [.i64(3)])

        // On a region slot's stack: the slot's guard; without guards, an empty range.
        for guards in [GuardPages.always, .never] {
            let region = try Region(Region.Configuration(slotCount: 1, heapMode: .bounded, memoryPages: 1, guardPages: guards))
            let slottedStore = Store(region: region)
            let slotted = try slottedStore.instantiate(try compile(counter, .bounded)) { _, _ in nil }
            let onSlot = try Execution(try export(slotted, "count"), arguments: [.i64(3)])
            #expect(onSlot.stackGuard == (guards == .always ? slotted.slot!.stackGuard : 0..<0))
            #expect(onSlot.stackGuard.isEmpty == (guards == .never))
            #expect(onSlot.fiber.pointee.stack_guard_high == onSlot.stackGuard.upperBound)
        }
    }

    @Test func tooManySlotsForTheMappingBudgetFailWithTheLimitTheyNeed() throws {
        guard let limit = MapBudget.systemLimit(), limit <= 10_000_000 else { return }  // a huge limit: nothing to exceed
        let slots = limit / 6 + 1
        let configuration = Region.Configuration(slotCount: slots, heapMode: .bounded, memoryPages: 0, stackSize: 4096, contextSize: 4096)
        do {
            _ = try Region(configuration)
            Issue.record("a region of \(slots) slots with guards fit a budget of \(limit) mappings")
        } catch let error as MapBudgetExceeded {
            #expect(error.limit == limit && error.needed == 6 * slots)
            #expect(error.requiredLimit > limit)
            #expect("\(error)".contains("sysctl -w vm.max_map_count=\(error.requiredLimit)"))
            #expect("\(error)".contains("guardPages: .never"))
        }
        // Opting out, or letting the region decide, creates it without guards.
        for choice in [GuardPages.never, .auto] {
            var relaxed = configuration
            relaxed.guardPages = choice
            let region = try Region(relaxed)
            #expect(!region.hasGuardPages)
        }
    }

    @Test func reservationsCountAgainstRegionsMadeMeanwhileUntilGivenBack() throws {
        guard let limit = MapBudget.systemLimit(), let current = MapBudget.currentMappings() else { return }
        let room = limit - current - MapBudget.headroom
        guard room > 20_000, room < 100_000_000 else { return }
        // Each fits alone, with slack for what other tests map meanwhile; together they do not.
        let half = room / 2, more = room / 2 + 5_000
        try MapBudget.reserve(needed: half, slots: half, mappingsPerSlot: 1, guardPages: true)
        do {
            try MapBudget.reserve(needed: more, slots: more, mappingsPerSlot: 1, guardPages: true)
            MapBudget.release(more)
            Issue.record("two reservations of more than the room together both fit")
        } catch let error as MapBudgetExceeded {
            #expect(error.promised >= half)
            #expect("\(error)".contains("that other regions may still make"))
        }
        MapBudget.release(half)
        try MapBudget.reserve(needed: more, slots: more, mappingsPerSlot: 1, guardPages: true)
        MapBudget.release(more)
    }

    @Test func theBudgetMessageNamesTheLimitAndBothWaysOut() {
        let error = MapBudgetExceeded(slots: 100_000, mappingsPerSlot: 6, needed: 600_000, current: 412, promised: 0,
                                      limit: 65_530, guardPages: true)
        #expect(error.requiredLimit == 600_000 + 412 + MapBudget.headroom)
        #expect("\(error)".contains("vm.max_map_count must be at least \(error.requiredLimit), and it is 65530"))
        #expect("\(error)".contains("--guard-pages never"))
    }
}
