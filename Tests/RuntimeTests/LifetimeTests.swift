import Compiler
import Foundation
import Runtime
import RuntimeABI
import Testing
import WasmCore

/// What keeps what alive: a store's instances (and their memories) go away with the store, and
/// nothing the host still holds points into freed or recycled storage.
@Suite("lifetimes")
struct LifetimeTests {
    static let wat = """
        (module
          (memory (export "memory") 1)
          (global $g (export "g") (mut i64) (i64.const 7))
          (func (export "bump") (global.set $g (i64.add (global.get $g) (i64.const 1)))))
        """

    /// Found by the differential fuzzer's leak detector: an instance's own globals held the
    /// instance, so a module with a memory and a global leaked its memory with every store.
    @Test(arguments: HeapMode.allCases)
    func aStoreFreesItsInstancesThatHaveGlobals(heapMode: HeapMode) throws {
        weak var weakInstance: Instance?
        weak var weakMemory: LinearMemory?
        do {
            let store = Store(heapMode: heapMode)
            let instance = try store.instantiate(try compile(Self.wat, heapMode)) { _, _ in nil }
            weakInstance = instance
            weakMemory = instance.memory
            _ = try instance.invoke("bump", [])
        }
        #expect(weakInstance == nil)
        #expect(weakMemory == nil)
    }

    /// An exported global keeps its store (and so its storage) alive while the host holds it.
    @Test func anExportedGlobalKeepsItsStoreAlive() throws {
        var global: Runtime.Global?
        weak var weakInstance: Instance?
        do {
            let store = Store(heapMode: .guarded)
            let instance = try store.instantiate(try compile(Self.wat, .guarded)) { _, _ in nil }
            weakInstance = instance
            _ = try instance.invoke("bump", [])
            guard case .global(let g)? = instance.export("g") else { Issue.record("no export g"); return }
            global = g
        }
        #expect(weakInstance != nil)
        #expect(global?.value == .i64(8))
        global = nil
        #expect(weakInstance == nil)
    }
}

@Suite("lifetimes: executions")
struct ExecutionLifetimeTests {
    static let wat = """
        (module
          (memory 2)
          (global (mut i32) (i32.const 0))
          (data (i32.const 1000) "")
          (func (export "f") (param i64) (result i64) local.get 0)
          (func (export "trap") unreachable))
        """

    @Test(arguments: HeapMode.allCases)
    func anExecutionsStoreIsFreedAfterItFinishes(heapMode: HeapMode) throws {
        weak var weakInstance: Instance?
        weak var weakStore: Store?
        weak var weakExecution: Execution?
        do {
            let store = Store(heapMode: heapMode)
            weakStore = store
            let instance = try store.instantiate(try compile(Self.wat, heapMode)) { _, _ in nil }
            weakInstance = instance
            for name in ["f", "trap"] {
                let execution = try Execution(try export(instance, name), arguments: name == "f" ? [.i64(1)] : [])
                weakExecution = execution
                _ = try execution.resume()
            }
        }
        #expect(weakExecution == nil)
        #expect(weakStore == nil)
        #expect(weakInstance == nil)
    }
}
