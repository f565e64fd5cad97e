import Glibc
import RuntimeABI
import WasmCore

/// An instantiated module: its vmctx (see `VMContextLayout`), memory, tables, globals and funcrefs.
///
/// The vmctx block is preceded by a 16-byte header whose first word points back to this object,
/// so builtins called from generated code with a vmctx can find their instance.
public final class Instance: @unchecked Sendable {  // used by one thread at a time, with its store
    unowned let store: Store
    let module: LoadedModule
    let allocation: UnsafeMutableRawPointer
    let vmctx: UnsafeMutableRawPointer
    /// The region slot holding this instance's vmctx, stack and memory, if it has one.
    let slot: Slot?
    public internal(set) var memory: LinearMemory?
    var tables: [Table] = []
    var globals: [Global] = []
    /// One `FuncRefLayout` record per function index.
    let funcRefs: UnsafeMutableRawPointer
    let typeIDs: UnsafeMutablePointer<UInt32>
    /// What each function index resolves to (imports keep their providers alive).
    var functions: [Function?]
    var importedFunctions: [Function] = []
    var elementSegments: [[UInt64]] = []
    var droppedData: [Bool]
    private var exportedFunctions: [UInt32: Function] = [:]

    static let headerSize = 16

    var layout: VMContextLayout { module.compiled.layout }
    var wasmModule: Module { module.compiled.module }

    init(module: LoadedModule, store: Store, slot: Slot?) throws {
        self.module = module
        self.store = store
        self.slot = slot
        let layout = module.compiled.layout
        let size = Self.headerSize + layout.size
        if let slot {
            guard size <= slot.region.layout.contextBytes else {
                throw RuntimeError("the module's vmctx (\(size) bytes) does not fit the region's \(slot.region.layout.contextBytes)-byte slots")
            }
            allocation = slot.context
        } else {
            allocation = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
        }
        allocation.initializeMemory(as: UInt8.self, repeating: 0, count: size)
        vmctx = allocation + Self.headerSize
        let functionCount = module.compiled.module.importedFunctionCount + module.compiled.module.functionBodies.count
        funcRefs = FuncRefRecord.allocate(count: functionCount)
        typeIDs = UnsafeMutablePointer<UInt32>.allocate(capacity: max(1, module.typeIDs.count))
        for (i, id) in module.typeIDs.enumerated() { typeIDs[i] = id }
        functions = Array(repeating: nil, count: functionCount)
        droppedData = Array(repeating: false, count: module.compiled.module.data.count)
        allocation.storeBytes(of: UInt(bitPattern: Unmanaged.passUnretained(self).toOpaque()), as: UInt.self)
    }

    /// Frees what generated code can reach; the store calls this when it goes away. A region slot
    /// goes back to its region (reset), sized by how much memory the instance touched.
    func release() {
        memory?.detach(vmctx)
        if let slot {
            let ownsSlotMemory = memory.map { $0.base == slot.memory } ?? false
            let used = ownsSlotMemory ? Int(memory!.highWaterPages) * MemoryType.pageSize : 0
            slot.region.release(slot, memoryBytesUsed: used, contextBytesUsed: Self.headerSize + layout.size)
        }
    }

    deinit {
        if slot == nil { allocation.deallocate() }
        funcRefs.deallocate()
        typeIDs.deallocate()
    }

    /// The instance a vmctx belongs to (nil for a null pointer).
    static func from(vmctx: UnsafeMutableRawPointer?) -> Instance? {
        unmanaged(vmctx: vmctx)?.takeUnretainedValue()
    }

    /// The instance a vmctx belongs to, not retained: for code that runs while that instance's
    /// code is on the stack (its store holds it), such as a host call, to borrow it without a
    /// retain and release per call.
    static func unmanaged(vmctx: UnsafeMutableRawPointer?) -> Unmanaged<Instance>? {
        guard let vmctx else { return nil }
        let word = (vmctx - headerSize).load(as: UInt.self)
        guard let pointer = UnsafeRawPointer(bitPattern: word) else { return nil }
        return Unmanaged<Instance>.fromOpaque(pointer)
    }

    func funcRef(_ index: Int) -> UnsafeMutableRawPointer { FuncRefRecord.at(funcRefs, index: index).raw }

    // MARK: Exports

    public func export(_ name: String) -> Extern? {
        // Names compare as UTF-8 bytes: Swift's String equality is canonical equivalence, under
        // which distinct export names (as in the spec's names.wast) would collide.
        guard let export = wasmModule.exports.first(where: { $0.name.utf8.elementsEqual(name.utf8) }) else { return nil }
        let index = Int(export.index)
        switch export.kind {
        case .function: return .function(function(index))
        case .table: return .table(tables[index])
        case .memory: return memory.map { .memory($0) }
        case .global:
            let global = globals[index]
            return .global(Global(type: global.type, address: global.address, keepAlive: store, storeID: global.storeID))
        }
    }

    /// The module's start function, if it has one. An instance made with
    /// `Store.instantiate(_:runningStart: false, resolver:)` has not run it yet: run it first,
    /// e.g. as the `first` of the `Execution` of the first call.
    public var startFunction: Function? { wasmModule.start.map { function(Int($0)) } }

    /// The exported functions of the module, by name.
    public var exportNames: [String] { wasmModule.exports.map(\.name) }

    func function(_ index: Int) -> Function {
        if let f = functions[index] { return f }
        let type = wasmModule.types[Int(wasmModule.validationTypeIndex(of: index))]
        let f = Function(type: type, instance: self, funcRef: funcRef(index))
        functions[index] = f
        return f
    }

    /// Calls an exported function by name.
    public func invoke(_ name: String, _ arguments: [Value]) throws -> [Value] {
        guard case .function(let f)? = export(name) else { throw RuntimeError("no exported function \(name)") }
        return try f.invoke(arguments)
    }
}

extension Module {
    /// The type index of function `index` in the function index space (imports first).
    func validationTypeIndex(of index: Int) -> UInt32 {
        var i = index
        for imp in imports {
            if case .function(let t) = imp.descriptor {
                if i == 0 { return t }
                i -= 1
            }
        }
        return functionTypeIndices[i]
    }
}
