import Compiler
import Foundation
import Runtime
import RuntimeABI
import Testing
import WasmCore
import WasmText

/// End-to-end: WebAssembly text compiled by Shoal's code generator and run by its runtime.
func compile(_ wat: String, _ heapMode: HeapMode) throws -> CompiledModule {
    try ModuleCompiler.compile(bytes: try TextFormat.wat2wasm(wat), heapMode: heapMode)
}

/// Runs a test body on a thread with a large stack (deep recursion must end in a trap).
func onLargeStack(_ body: @escaping @Sendable () throws -> Void) throws {
    final class Outcome: @unchecked Sendable { var error: Error? }
    let outcome = Outcome()
    let done = DispatchSemaphore(value: 0)
    let thread = Thread {
        do { try body() } catch { outcome.error = error }
        done.signal()
    }
    thread.stackSize = 16 << 20
    thread.start()
    done.wait()
    if let error = outcome.error { throw error }
}

let victim = """
    (module
      (memory (export "memory") 1 2)
      (global $counter (mut i32) (i32.const 0))
      (func (export "store") (param i32 i32) local.get 0 local.get 1 i32.store)
      (func (export "load") (param i32) (result i32) local.get 0 i32.load)
      (func (export "bump") (result i32)
        global.get $counter i32.const 1 i32.add global.set $counter global.get $counter)
      (func (export "unreachable") unreachable)
      (func (export "divide") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_s)
      (func $recurse (export "recurse") (param i32) (result i32) local.get 0 i32.const 1 i32.add call $recurse)
      (func (export "far") (result i32) i32.const -4 i32.load offset=8)
      (func (export "fib") (param i32) (result i32)
        local.get 0 i32.const 2 i32.lt_u
        if (result i32) local.get 0
        else local.get 0 i32.const 1 i32.sub call 7 local.get 0 i32.const 2 i32.sub call 7 i32.add end)
    )
    """

@Suite("runtime: traps are contained")
struct TrapIsolationTests {
    @Test(arguments: HeapMode.allCases)
    func trapsLeaveOtherInstancesIntact(heapMode: HeapMode) throws {
        try onLargeStack {
            let compiled = try compile(victim, heapMode)
            let store = Store(heapMode: heapMode)
            let a = try store.instantiate(compiled) { _, _ in nil }
            let b = try store.instantiate(compiled) { _, _ in nil }
            _ = try b.invoke("store", [.i32(100), .i32(42)])
            _ = try b.invoke("bump", [])

            let cases: [(String, [Value], TrapCode)] = [
                ("unreachable", [], .unreachable),
                ("divide", [.i32(1), .i32(0)], .integerDivideByZero),
                ("divide", [.i32(UInt32(bitPattern: Int32.min)), .i32(UInt32(bitPattern: -1))], .integerOverflow),
                ("recurse", [.i32(0)], .callStackExhausted),
                ("load", [.i32(65536)], .outOfBoundsMemoryAccess),
                ("far", [], .outOfBoundsMemoryAccess),
            ]
            for _ in 0..<3 {
                for (name, arguments, code) in cases {
                    #expect(throws: Trap.self) { try a.invoke(name, arguments) }
                    do {
                        _ = try a.invoke(name, arguments)
                    } catch let trap as Trap {
                        #expect(trap.code == code, "\(name)")
                        #expect(trap.message == code.description)
                        #expect(!trap.backtrace.isEmpty)
                    }
                    // The other instance and the trapping one both carry on.
                    #expect(try b.invoke("load", [.i32(100)]) == [.i32(42)])
                    #expect(try a.invoke("fib", [.i32(15)]) == [.i32(610)])
                }
            }
            #expect(try b.invoke("bump", []) == [.i32(2)])
            #expect(try a.invoke("bump", []) == [.i32(1)])
        }
    }

    @Test func trapsOnManyThreadsAtOnce() throws {
        let compiled = try compile(victim, .guarded)
        let failures = Failures()
        DispatchQueue.concurrentPerform(iterations: 8) { i in
            do {
                try onLargeStack {
                    let store = Store(heapMode: .guarded)
                    let instance = try store.instantiate(compiled) { _, _ in nil }
                    for j in 0..<50 {
                        do {
                            _ = try instance.invoke(j % 2 == 0 ? "far" : "recurse", [j % 2 == 0 ? nil : Value.i32(0)].compactMap { $0 })
                            failures.add("thread \(i): no trap")
                        } catch is Trap {}
                        let result = try instance.invoke("fib", [.i32(10)])
                        if result != [.i32(55)] { failures.add("thread \(i): fib gave \(result)") }
                    }
                }
            } catch {
                failures.add("thread \(i): \(error)")
            }
        }
        #expect(failures.all.isEmpty, "\(failures.all)")
    }

    @Test func backtraceNamesFunctions() throws {
        try onLargeStack {
            var bytes = try TextFormat.wat2wasm(
                """
                (module
                  (func $inner (unreachable))
                  (func $middle (call $inner))
                  (func (export "outer") (call $middle)))
                """)
            bytes += nameSection(["inner", "middle", "outer"])
            let compiled = try ModuleCompiler.compile(bytes: bytes, heapMode: .guarded)
            let store = Store(heapMode: .guarded)
            let instance = try store.instantiate(compiled) { _, _ in nil }
            do {
                _ = try instance.invoke("outer", [])
                Issue.record("no trap")
            } catch let trap as Trap {
                #expect(trap.backtrace.map(\.functionIndex) == [0, 1, 2])
                #expect(trap.backtrace.map(\.name) == ["inner", "middle", "outer"])
            }
        }
    }

    /// A custom "name" section with a function-names subsection (names shorter than 128 bytes).
    func nameSection(_ names: [String]) -> [UInt8] {
        var map: [UInt8] = [UInt8(names.count)]
        for (i, name) in names.enumerated() { map += [UInt8(i), UInt8(name.utf8.count)] + Array(name.utf8) }
        let subsection: [UInt8] = [1, UInt8(map.count)] + map
        let payload: [UInt8] = [4] + Array("name".utf8) + subsection
        return [0, UInt8(payload.count)] + payload
    }
}

final class Failures: @unchecked Sendable {
    private let lock = NSLock()
    private var messages: [String] = []
    func add(_ m: String) { lock.withLock { messages.append(m) } }
    var all: [String] { lock.withLock { messages } }
}

@Suite("runtime: imports, exports and host functions")
struct LinkingTests {
    @Test func hostFunctionsAreCalledWithTheCallersMemory() throws {
        try onLargeStack {
            let compiled = try compile(
                """
                (module
                  (import "env" "sum" (func $sum (param i32 i32) (result i64)))
                  (import "env" "fail" (func $fail))
                  (memory 1)
                  (data (i32.const 16) "\\01\\02\\03\\04\\05")
                  (func (export "run") (result i64) i32.const 16 i32.const 5 call $sum)
                  (func (export "fail") call $fail))
                """, .bounded)
            struct HostFailure: Error, CustomStringConvertible { var description: String { "the host said no" } }
            let sum = Function(HostFunction(type: FuncType(params: [.i32, .i32], results: [.i64])) { caller, args in
                guard case .i32(let address) = args[0], case .i32(let count) = args[1],
                      let bytes = caller.read(address, count: count) else { return [.i64(0)] }
                return [.i64(UInt64(bytes.reduce(0) { $0 + Int($1) }))]
            })
            let fail = Function(HostFunction(type: FuncType(params: [], results: [])) { _, _ in throw HostFailure() })
            let store = Store(heapMode: .bounded)
            let instance = try store.instantiate(compiled) { module, name in
                module == "env" ? (name == "sum" ? .function(sum) : .function(fail)) : nil
            }
            #expect(try instance.invoke("run", []) == [.i64(15)])
            do {
                _ = try instance.invoke("fail", [])
                Issue.record("no trap")
            } catch let trap as Trap {
                #expect(trap.code == .hostError)
                #expect(trap.message == "the host said no")
            }
        }
    }

    @Test func unknownAndIncompatibleImportsAreRefused() throws {
        let compiled = try compile(#"(module (import "env" "f" (func (param i32))))"#, .guarded)
        let store = Store(heapMode: .guarded)
        #expect(throws: LinkError.self) { try store.instantiate(compiled) { _, _ in nil } }
        let wrong = Function(HostFunction(type: FuncType(params: [.i64], results: [])) { _, _ in [] })
        do {
            _ = try store.instantiate(compiled) { _, _ in .function(wrong) }
            Issue.record("linked")
        } catch let error as LinkError {
            #expect(error.message.hasPrefix("incompatible import type"))
        }
    }

    @Test(arguments: HeapMode.allCases)
    func instancesShareMemoryTablesAndGlobals(heapMode: HeapMode) throws {
        try onLargeStack {
            let store = Store(heapMode: heapMode)
            let provider = try store.instantiate(try compile(
                """
                (module
                  (memory (export "mem") 1 4)
                  (global (export "g") (mut i64) (i64.const 7))
                  (table (export "t") 2 funcref)
                  (func $seven (result i32) i32.const 7)
                  (elem (i32.const 0) $seven)
                  (func (export "peek") (param i32) (result i32) local.get 0 i32.load8_u))
                """, heapMode)) { _, _ in nil }
            let user = try store.instantiate(try compile(
                """
                (module
                  (import "p" "mem" (memory 1))
                  (import "p" "g" (global $g (mut i64)))
                  (import "p" "t" (table 2 funcref))
                  (type $r (func (result i32)))
                  (func (export "poke") (param i32 i32) local.get 0 local.get 1 i32.store8)
                  (func (export "grow") (result i32) i32.const 1 memory.grow)
                  (func (export "g+1") global.get $g i64.const 1 i64.add global.set $g)
                  (func (export "call0") (result i32) i32.const 0 call_indirect (type $r)))
                """, heapMode)) { module, name in module == "p" ? provider.export(name) : nil }
            _ = try user.invoke("poke", [.i32(70000 - 65536), .i32(9)])
            #expect(try provider.invoke("peek", [.i32(70000 - 65536)]) == [.i32(9)])
            #expect(try user.invoke("grow", []) == [.i32(1)])
            _ = try user.invoke("poke", [.i32(70000), .i32(5)])
            #expect(try provider.invoke("peek", [.i32(70000)]) == [.i32(5)])
            _ = try user.invoke("g+1", [])
            guard case .global(let g)? = provider.export("g") else { Issue.record("no global"); return }
            #expect(g.value == .i64(8))
            #expect(try user.invoke("call0", []) == [.i32(7)])
        }
    }
}
