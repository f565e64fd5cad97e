import Compiler
import Foundation
import Runtime
import RuntimeABI
import Testing
import WasmCore

/// Functions and blocks with hundreds to hundreds of thousands of params and results are valid
/// WebAssembly: they run, or trap cleanly with "call stack exhausted" — on every path into a
/// function (entry, direct, indirect, host) — and never write below the stack.
@Suite("large signatures")
struct LargeSignatureTests {
    typealias B = BinaryModule

    /// Type 0: (i32 x n) -> (i32 x n), the identity (`many`, function 1 after the host import).
    /// Type 1: () -> i32. Callers pass 0, 1, ..., n-1 and return results[0] + results[n-1].
    static func module(_ n: Int) -> [UInt8] {
        var m = B()
        let wide = [UInt8](repeating: B.i32, count: n)
        m.types = [.init(params: wide, results: wide), .init(params: [], results: [B.i32])]
        m.imports = [("host", "many", 0)]
        let identity = (0..<n).flatMap { B.localGet($0) }
        let arguments = (0..<n).flatMap { B.i32Const(Int32($0)) }
        // Keep results[0] and results[n-1]: drop n-2 of the middle ones by saving the last in a local.
        func keepEnds() -> [UInt8] { [0x21] + B.uleb(0) + Array(repeating: B.drop, count: n - 2).flatMap { $0 } + B.localGet(0) + B.i32Add }
        m.functions = [
            B.Body(type: 0, code: identity),                                                    // 1: many
            B.Body(type: 1, locals: [(1, B.i32)], code: arguments + B.call(1) + keepEnds()),    // 2: direct
            B.Body(type: 1, locals: [(1, B.i32)], code: arguments + B.i32Const(0) + B.callIndirect(type: 0) + keepEnds()),  // 3: indirect
            B.Body(type: 1, locals: [(1, B.i32)], code: arguments + B.call(0) + keepEnds()),    // 4: host
            // 5: a block with n params and n results around the identity's values
            B.Body(type: 1, locals: [(1, B.i32)], code: arguments + [0x02] + B.sleb(0) + B.end + keepEnds()),
        ]
        m.tableSize = 1
        m.elements = [1]
        m.exports = [("many", 1), ("direct", 2), ("indirect", 3), ("host", 4), ("block", 5)]
        return m.bytes
    }

    static func instantiate(_ n: Int, _ heapMode: HeapMode, store: Store) throws -> Instance {
        let wide = [ValueType](repeating: .i32, count: n)
        let host = Function(HostFunction(type: FuncType(params: wide, results: wide)) { _, arguments in arguments })
        let compiled = try ModuleCompiler.compile(bytes: module(n), heapMode: heapMode)
        return try store.instantiate(compiled) { _, _ in .function(host) }
    }

    /// Runs `name` on a fiber of `stackSize` bytes and returns how it ended.
    static func run(_ instance: Instance, _ name: String, _ arguments: [Value] = [], stackSize: Int) throws -> Execution.State {
        let execution = try Execution(try export(instance, name), arguments: arguments, stackSize: stackSize)
        return try execution.resume()
    }

    @Test(arguments: HeapMode.allCases)
    func hundredsAndThousandsOfValuesWorkOnEveryPath(heapMode: HeapMode) throws {
        for n in [300, 20_000] {
            let store = Store(heapMode: heapMode)
            let instance = try Self.instantiate(n, heapMode, store: store)
            let expected = UInt32(n - 1)
            for name in ["direct", "indirect", "host", "block"] {
                guard case .exited(let values) = try Self.run(instance, name, stackSize: 4 << 20) else {
                    Issue.record("\(name) with \(n) values did not return")
                    continue
                }
                #expect(values == [.i32(expected)], "\(name), \(n) values")
            }
            // The entry itself, with every value checked.
            let arguments = (0..<n).map { Value.i32(UInt32($0)) }
            guard case .exited(let values) = try Self.run(instance, "many", arguments, stackSize: 4 << 20) else {
                Issue.record("entry with \(n) values did not return")
                continue
            }
            #expect(values == arguments)
            withExtendedLifetime(store) {}
        }
    }

    @Test(arguments: HeapMode.allCases)
    func moreValuesThanTheStackHoldsTrapCleanly(heapMode: HeapMode) throws {
        let n = 100_000  // 800 KB of slots on a 512 KiB stack
        let store = Store(heapMode: heapMode)
        let instance = try Self.instantiate(n, heapMode, store: store)
        for name in ["direct", "indirect", "host", "block"] {
            guard case .trapped(let trap) = try Self.run(instance, name, stackSize: 512 << 10) else {
                Issue.record("\(name) with \(n) values did not trap")
                continue
            }
            #expect(trap.code == .callStackExhausted, "\(name)")
        }
        // The entry trampoline refuses before copying a single slot.
        let arguments = (0..<n).map { Value.i32(UInt32($0)) }
        guard case .trapped(let trap) = try Self.run(instance, "many", arguments, stackSize: 512 << 10) else {
            Issue.record("the entry with \(n) values did not trap")
            return
        }
        #expect(trap.code == .callStackExhausted)
        // The store is still usable afterwards.
        guard case .exited = try Self.run(instance, "many", arguments, stackSize: 4 << 20) else {
            Issue.record("the store is not usable after the trap")
            return
        }
        withExtendedLifetime(store) {}
    }
}
