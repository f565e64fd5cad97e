import Compiler
import Foundation
import Glibc
import Runtime
import RuntimeABI
import Testing
import WasmCore
import WasmText

/// Resident bytes of the process (/proc/self/statm, second field).
func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    return fields.count > 1 ? (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
}

/// Data segments far from address 0 cost what their bytes cost, not what their offsets are.
@Suite("data segments and memory images", .serialized)
struct DataSegmentTests {
    /// 4 GiB - 125 pages of memory and an empty segment at 3.2 GB: the image used to be built
    /// densely up to the segment (17 s and 6.3 GB resident in a release build).
    static let emptySegmentHigh = "(module (memory (export \"memory\") 65411) (data (i32.const 3200000000) \"\"))"
    /// 512 MiB of memory and one data byte at its very end: the image used to be 512 MiB, copied whole.
    static let oneByteAtTheEnd = "(module (memory (export \"memory\") 8192) (data (i32.const 536870911) \"x\"))"

    @Test(arguments: HeapMode.allCases)
    func highSegmentsInstantiateWithoutTouchingTheMemoryBelowThem(heapMode: HeapMode) throws {
        for (wat, bytes, pages) in [(Self.emptySegmentHigh, 0, 0), (Self.oneByteAtTheEnd, 1, 1)] {
            let loaded = try LoadedModule(try compile(wat, heapMode))
            let image = try #require(loaded.memoryImage)
            #expect(image.byteCount == bytes && image.pagesTouched == pages)
            let before = residentBytes()
            let store = Store(heapMode: heapMode)
            let instance = try store.instantiate(loaded) { _, _ in nil }
            let grown = residentBytes() - before
            // The old dense image made this 1 GiB and 6.3 GB; a generous bound that no parallel
            // test comes near, and no page-granular timing.
            #expect(grown < 64 << 20, "resident memory grew by \(grown) bytes")
            guard case .memory(let memory)? = instance.export("memory") else { Issue.record("no memory"); continue }
            if bytes == 1 { #expect(memory.bytes[536_870_911] == UInt8(ascii: "x") && memory.bytes[536_870_910] == 0) }
        }
    }

    @Test(arguments: HeapMode.allCases)
    func overlappingAdjacentAndOutOfOrderSegmentsFollowTheSpec(heapMode: HeapMode) throws {
        let wat = """
            (module (memory (export "memory") 1)
              (data (i32.const 100) "abcdefgh")
              (data (i32.const 10) "0123")
              (data (i32.const 102) "XY")
              (data (i32.const 108) "ij")
              (data (i32.const 14) "")
              (data (i32.const 65534) "zz"))
            """
        let loaded = try LoadedModule(try compile(wat, heapMode))
        let image = try #require(loaded.memoryImage)
        #expect(image.runs.map(\.offset) == [10, 100, 65534])  // 100..<108 and 108..<110 merged; the empty one gone
        #expect(image.runs.map(\.count) == [4, 10, 2])
        let store = Store(heapMode: heapMode)
        let instance = try store.instantiate(loaded) { _, _ in nil }
        guard case .memory(let memory)? = instance.export("memory") else { Issue.record("no memory"); return }
        #expect(Array(memory.bytes[100..<110]) == Array("abXYefghij".utf8))
        #expect(Array(memory.bytes[8..<16]) == [0, 0] + Array("0123".utf8) + [0, 0])
        #expect(Array(memory.bytes[65532..<65536]) == [0, 0] + Array("zz".utf8))
    }

    @Test(arguments: HeapMode.allCases)
    func aSegmentThatDoesNotFitTrapsAndLeavesTheEarlierOnesApplied(heapMode: HeapMode) throws {
        // Wasm 2.0: segments apply in order; the out-of-bounds one writes nothing and traps.
        let wat = """
            (module (memory (export "memory") 1)
              (data (i32.const 0) "first")
              (data (i32.const 65533) "four")
              (data (i32.const 16) "never"))
            """
        let store = Store(heapMode: heapMode)
        let loaded = try LoadedModule(try compile(wat, heapMode))
        #expect(loaded.memoryImage?.trapsAfterApplying == true)
        #expect(throws: Trap.self) { _ = try store.instantiate(loaded) { _, _ in nil } }
        // The instance stays in its store (its memory may be shared): it shows what was applied.
        guard case .memory(let memory)? = store.allInstances.last?.export("memory") else { Issue.record("no memory"); return }
        #expect(Array(memory.bytes[0..<5]) == Array("first".utf8))
        #expect(memory.bytes[65533..<65536].allSatisfy { $0 == 0 })
        #expect(memory.bytes[16..<21].allSatisfy { $0 == 0 })

        // The same through an imported memory, where the effects are visible to the exporter
        // (segment by segment: no image for a memory the module does not define).
        let exporter = try store.instantiate(try compile("(module (memory (export \"m\") 1))", heapMode)) { _, _ in nil }
        let importer = try compile("""
            (module (import "e" "m" (memory 1))
              (data (i32.const 0) "first") (data (i32.const 65533) "four") (data (i32.const 16) "never"))
            """, heapMode)
        #expect(throws: Trap.self) { _ = try store.instantiate(importer) { _, name in exporter.export(name) } }
        guard case .memory(let shared)? = exporter.export("m") else { Issue.record("no memory"); return }
        #expect(Array(shared.bytes[0..<5]) == Array("first".utf8))
        #expect(shared.bytes[16..<21].allSatisfy { $0 == 0 })
    }
}
