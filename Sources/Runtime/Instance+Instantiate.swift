import RuntimeABI
import WasmCore

extension Instance {
    /// Instantiation in the spec's order: resolve and check imports; set up memory, tables and
    /// globals; apply active element then data segments; run the start function. A trap in the
    /// last three leaves their effects on shared (imported) tables and memories in place.
    /// With `runningStart: false` the start function is left to the caller (see
    /// `Store.instantiate(_:runningStart:resolver:)`).
    static func instantiate(_ loaded: LoadedModule, in store: Store, runningStart: Bool = true,
                            resolver: (String, String) -> Extern?) throws -> Instance {
        let module = loaded.compiled.module
        let layout = loaded.compiled.layout
        let slot = try store.region?.acquire(preferring: store.slotShard)
        let instance: Instance
        do {
            instance = try Instance(module: loaded, store: store, slot: slot)
        } catch {
            if let slot { slot.region.release(slot, memoryBytesUsed: 0, contextBytesUsed: 0) }
            throw error
        }
        // From here on the store owns the instance (and releases its slot), whatever happens.
        store.instances.append(instance)
        let vmctx = instance.vmctx
        let context = VMContext(vmctx)

        // Imports.
        var functionIndex = 0
        var globalIndex = 0
        for imp in module.imports {
            guard let extern = resolver(imp.module, imp.name) else {
                throw LinkError("unknown import \(imp.module).\(imp.name)")
            }
            switch (imp.descriptor, extern) {
            case (.function(let typeIndex), .function(let f)):
                guard f.type == module.types[Int(typeIndex)] else {
                    throw LinkError("incompatible import type for \(imp.module).\(imp.name): \(f.type), expected \(module.types[Int(typeIndex)])")
                }
                let record: FuncRefRecord
                switch f.kind {
                case .wasm(let owner, let funcRef):
                    guard owner.store === store else { throw LinkError("incompatible import type: functions cannot be linked across stores") }
                    record = FuncRefRecord(funcRef)
                case .host(let box):
                    record = FuncRefRecord(box.reference(stubFrom: loaded))
                }
                FuncRefRecord(instance.funcRef(functionIndex)).copy(from: record)
                context.setImportedFunction(layout, functionIndex, to: record)
                instance.functions[functionIndex] = f
                instance.importedFunctions.append(f)
                functionIndex += 1
            case (.table(let type), .table(let table)):
                guard table.storeID == nil || table.storeID == store.id else {
                    throw LinkError("incompatible import type: tables cannot be linked across stores")
                }
                guard table.type.elementType == type.elementType, limitsMatch(actual: table.type.limits, size: table.size, required: type.limits) else {
                    throw LinkError("incompatible import type for \(imp.module).\(imp.name)")
                }
                instance.tables.append(table)
            case (.memory(let type), .memory(let memory)):
                guard memory.storeID == nil || memory.storeID == store.id else {
                    throw LinkError("incompatible import type: memories cannot be linked across stores")
                }
                guard limitsMatch(actual: memory.type.limits, size: memory.pages, required: type.limits) else {
                    throw LinkError("incompatible import type for \(imp.module).\(imp.name)")
                }
                instance.memory = memory
            case (.global(let type), .global(let global)):
                guard global.storeID == store.id else { throw LinkError("incompatible import type: globals cannot be linked across stores") }
                guard global.type == type else { throw LinkError("incompatible import type for \(imp.module).\(imp.name)") }
                context.setImportedGlobal(layout, globalIndex, storage: global.address)
                instance.globals.append(global.unretained)  // the store keeps its instances alive itself
                globalIndex += 1
            default:
                throw LinkError("incompatible import type for \(imp.module).\(imp.name): wrong kind")
            }
        }

        // Defined functions.
        for i in module.functionBodies.indices {
            let index = module.importedFunctionCount + i
            FuncRefRecord(instance.funcRef(index)).set(code: loaded.function(defined: i), vmctx: vmctx,
                                                       typeID: TypeRegistry.id(of: module.types[Int(module.functionTypeIndices[i])]),
                                                       fast: loaded.fastEntry(defined: i))
        }

        // Memory and tables.
        if instance.memory == nil, let type = module.memories.first {
            if let slot {
                instance.memory = try LinearMemory(type: type, slotMemory: slot.memory, reservationBytes: slot.region.layout.memoryBytes,
                                                   heapMode: store.heapMode)
            } else {
                instance.memory = try LinearMemory(type: type, heapMode: store.heapMode)
            }
            instance.memory?.storeID = store.id
        }
        if let limit = store.memoryPageLimit, let type = module.memories.first {
            guard type.limits.min <= limit else {
                throw RuntimeError("the module needs \(type.limits.min) pages of memory; the limit is \(limit)")
            }
            instance.memory?.limit(to: limit)
        }
        instance.memory?.attach(vmctx)
        for type in module.tables {
            let table = try Table(type: type)
            table.storeID = store.id
            instance.tables.append(table)
        }
        for (i, table) in instance.tables.enumerated() {
            context.setTable(layout, i, block: table.block)
        }

        // Header fields.
        context.setHeader(executionState: store.state, builtins: UnsafeRawPointer(Builtins.table), funcRefs: instance.funcRefs,
                          typeIDs: instance.typeIDs, fuel: store.initialFuel)

        // Defined globals, in order (an initializer may read an imported global).
        for global in module.globals {
            let address = context.definedGlobal(layout, globalIndex)
            if global.type.valueType == .v128 {
                let v = instance.evaluateV128(global.initializer)
                address.storeBytes(of: v.low, as: UInt64.self)
                address.storeBytes(of: v.high, toByteOffset: 8, as: UInt64.self)
            } else {
                address.storeBytes(of: instance.evaluate(global.initializer), as: UInt64.self)
            }
            instance.globals.append(Global(type: global.type, address: address, keepAlive: nil, storeID: store.id))
            globalIndex += 1
        }

        // Element segments: evaluated once; active ones copied into their table, then dropped.
        instance.elementSegments = module.elements.map { $0.initializers.map(instance.evaluate) }
        for (i, segment) in module.elements.enumerated() {
            switch segment.mode {
            case .passive:
                break
            case .declarative:
                instance.elementSegments[i] = []
            case .active(let table, let offset):
                let start = UInt64(UInt32(truncatingIfNeeded: instance.evaluate(offset)))
                guard instance.tables[Int(table)].write(start, instance.elementSegments[i][...]) else {
                    throw Trap(code: .outOfBoundsTableAccess)
                }
                instance.elementSegments[i] = []
            }
        }

        // Data segments: the prepared image when there is one, copied run by run into the memory
        // (which is zero: freshly mapped, or a slot reset on release); else segment by segment.
        if let image = loaded.memoryImage, let memory = instance.memory {
            image.apply(to: memory.base)
            for (i, segment) in module.data.enumerated() {
                if case .active = segment.mode { instance.droppedData[i] = true }
            }
            if image.trapsAfterApplying { throw Trap(code: .outOfBoundsMemoryAccess) }
        }
        for (i, segment) in module.data.enumerated() where loaded.memoryImage == nil {
            guard case .active(_, let offset) = segment.mode else { continue }
            let start = UInt64(UInt32(truncatingIfNeeded: instance.evaluate(offset)))
            let count = UInt64(segment.range.count)
            guard let memory = instance.memory, memory.contains(start, count: count) else {
                throw Trap(code: .outOfBoundsMemoryAccess)
            }
            module.bytes.withUnsafeBytes {
                (memory.bytes.baseAddress! + Int(start)).copyMemory(from: $0.baseAddress! + segment.range.lowerBound, byteCount: Int(count))
            }
            instance.droppedData[i] = true
        }

        if runningStart, let start = module.start {
            _ = try instance.function(Int(start)).invoke([])
        }
        return instance
    }

    /// Import subtyping for limits: at least the required minimum (current size), and a maximum
    /// no larger than the required one when that has one.
    static func limitsMatch(actual: Limits, size: UInt64, required: Limits) -> Bool {
        guard size >= required.min else { return false }
        if let requiredMax = required.max {
            guard let actualMax = actual.max, actualMax <= requiredMax else { return false }
        }
        return true
    }

    /// A v128 constant expression's value (a constant, or a v128 global's 16 bytes).
    func evaluateV128(_ expression: ConstExpr) -> V128 {
        switch expression {
        case .v128(let v): return v
        case .globalGet(let index):
            let address = globals[Int(index)].address
            return V128(low: address.load(as: UInt64.self), high: address.load(fromByteOffset: 8, as: UInt64.self))
        default: return V128(low: evaluate(expression), high: 0)
        }
    }

    /// A constant expression's value in slot encoding (for v128, see `evaluateV128`).
    func evaluate(_ expression: ConstExpr) -> UInt64 {
        switch expression {
        case .i32(let v): UInt64(UInt32(bitPattern: v))
        case .i64(let v): UInt64(bitPattern: v)
        case .f32(let bits): UInt64(bits)
        case .f64(let bits): bits
        case .v128(let v): v.low
        case .refNull: 0
        case .refFunc(let index): UInt64(UInt(bitPattern: funcRef(Int(index))))
        case .globalGet(let index): globals[Int(index)].address.load(as: UInt64.self)
        }
    }
}
