import Compiler
import Foundation
import Runtime
import RuntimeABI
import Testing
import WasmCore
import WasmText

/// Guests written to break out of their slot, run between two neighbours in one region. After each
/// attack the process is alive, the attacker's store still works, and the neighbours' memory,
/// globals and code are exactly as they were (canaries).
@Suite("hostile guests cannot reach their neighbours")
struct HostileGuestTests {
    /// A neighbour: fills its memory with a pattern derived from a seed, and checks it.
    static let neighbour = """
        (module
          (memory (export "memory") 4 4)
          (global $canary (mut i64) (i64.const 0))
          (func (export "fill") (param $seed i64) (local $i i32)
            (global.set $canary (local.get $seed))
            (loop $next
              (i64.store (local.get $i) (i64.xor (local.get $seed) (i64.extend_i32_u (local.get $i))))
              (local.tee $i (i32.add (local.get $i) (i32.const 8)))
              (i32.const 262144) (i32.lt_u) (br_if $next)))
          ;; The number of 8-byte words that do not hold the pattern (0 when intact).
          (func (export "damage") (result i32) (local $i i32) (local $bad i32)
            (loop $next
              (local.set $bad (i32.add (local.get $bad)
                (i64.ne (i64.load (local.get $i)) (i64.xor (global.get $canary) (i64.extend_i32_u (local.get $i))))))
              (local.tee $i (i32.add (local.get $i) (i32.const 8)))
              (i32.const 262144) (i32.lt_u) (br_if $next))
            (local.get $bad))
          (func (export "canary") (result i64) (global.get $canary)))
        """

    /// The attacker: every way its authors could think of to write outside its own slot.
    static let attacker = """
        (module
          (memory 1 4)
          (table 1 funcref)
          (global $g (mut i64) (i64.const 0))
          (func $recurse (export "recurse") (param i64) (result i64)
            (i64.add (local.get 0) (call $recurse (i64.add (local.get 0) (i64.const 1)))))
          (func $wide (export "wide") (param i64 i64 i64 i64 i64 i64 i64 i64) (result i64)
            (call $wide (local.get 0) (local.get 1) (local.get 2) (local.get 3)
                        (local.get 4) (local.get 5) (local.get 6) (local.get 7)))
          (func (export "storeHigh") (param i32) (i64.store (local.get 0) (i64.const -1)))
          (func (export "storeOffset") (param i32) (i64.store offset=4294967295 (local.get 0) (i64.const -1)))
          (func (export "fillAll") (param i32) (memory.fill (i32.const 0) (i32.const 0xAB) (local.get 0)))
          (func (export "copyOut") (param i32 i32 i32) (memory.copy (local.get 0) (local.get 1) (local.get 2)))
          (func (export "growMax") (result i32) (memory.grow (i32.const 65535)))
          (func (export "growSome") (result i32) (memory.grow (i32.const 3)))
          (func (export "tableGrow") (result i32) (table.grow (ref.null func) (i32.const -1)))
          (func (export "tableSetHigh") (param i32) (table.set (local.get 0) (ref.null func))))
        """

    static func damage(_ instance: Instance) throws -> [Value] { try instance.invoke("damage", []) }

    @Test(arguments: HeapMode.allCases)
    func attacksLeaveNeighboursIntact(heapMode: HeapMode) throws {
        let region = try Region(Region.Configuration(slotCount: 3, heapMode: heapMode, memoryPages: 4, stackSize: 256 * 1024))
        let neighbourCode = try LoadedModule(try compile(Self.neighbour, heapMode))
        let attackerCode = try LoadedModule(try compile(Self.attacker, heapMode))
        let leftStore = Store(region: region)
        let left = try leftStore.instantiate(neighbourCode) { _, _ in nil }
        let attackerStore = Store(region: region)
        let attacker = try attackerStore.instantiate(attackerCode) { _, _ in nil }
        let rightStore = Store(region: region)
        let right = try rightStore.instantiate(neighbourCode) { _, _ in nil }
        _ = try left.invoke("fill", [.i64(0x1111_2222_3333_4444)])
        _ = try right.invoke("fill", [.i64(0x5555_6666_7777_8888)])

        /// Runs an attack on the attacker's slot stack (where its frames really are) and returns
        /// how it ended.
        func attack(_ name: String, _ arguments: [Value] = []) throws -> Execution.State {
            let execution = try Execution(try export(attacker, name), arguments: arguments)
            return try execution.resume()
        }
        func expectTrap(_ name: String, _ arguments: [Value] = [], _ code: TrapCode) throws {
            guard case .trapped(let trap) = try attack(name, arguments) else {
                Issue.record("\(name)\(arguments) did not trap")
                return
            }
            #expect(trap.code == code, "\(name)\(arguments)")
        }

        try expectTrap("recurse", [.i64(1)], .callStackExhausted)
        try expectTrap("wide", [Value](repeating: .i64(7), count: 8), .callStackExhausted)
        for address: UInt32 in [65_536 - 7, 65_536, 0x7FFF_FFFF, 0xFFFF_FFF8, 0xFFFF_FFFF] {
            try expectTrap("storeHigh", [.i32(address)], .outOfBoundsMemoryAccess)
            try expectTrap("storeOffset", [.i32(address)], .outOfBoundsMemoryAccess)
        }
        try expectTrap("fillAll", [.i32(65_537)], .outOfBoundsMemoryAccess)
        try expectTrap("fillAll", [.i32(0xFFFF_FFFF)], .outOfBoundsMemoryAccess)
        try expectTrap("copyOut", [.i32(0), .i32(1), .i32(0xFFFF_FFFF)], .outOfBoundsMemoryAccess)
        try expectTrap("copyOut", [.i32(0xFFFF_FFFF), .i32(0), .i32(2)], .outOfBoundsMemoryAccess)
        try expectTrap("tableSetHigh", [.i32(1)], .outOfBoundsTableAccess)
        try expectTrap("tableSetHigh", [.i32(0xFFFF_FFFF)], .outOfBoundsTableAccess)
        // Growth beyond what the module and the slot allow fails (-1); within it, succeeds.
        guard case .exited(let grewMax) = try attack("growMax") else { Issue.record("growMax trapped"); return }
        #expect(grewMax == [.i32(UInt32(bitPattern: -1))])
        guard case .exited(let grew) = try attack("growSome") else { Issue.record("growSome trapped"); return }
        #expect(grew == [.i32(1)])
        guard case .exited(let tableGrew) = try attack("tableGrow") else { Issue.record("tableGrow trapped"); return }
        #expect(tableGrew == [.i32(UInt32(bitPattern: -1))])
        // Now the attacker's memory is as large as its slot allows: fill every byte of it.
        guard case .exited = try attack("fillAll", [.i32(4 * 65_536)]) else { Issue.record("a legal fill trapped"); return }
        try expectTrap("fillAll", [.i32(4 * 65_536 + 1)], .outOfBoundsMemoryAccess)

        #expect(try Self.damage(left) == [.i32(0)])
        #expect(try Self.damage(right) == [.i32(0)])
        #expect(try left.invoke("canary", []) == [.i64(0x1111_2222_3333_4444)])
        #expect(try right.invoke("canary", []) == [.i64(0x5555_6666_7777_8888)])
        withExtendedLifetime((leftStore, attackerStore, rightStore)) {}
    }
}
