import WasmCore

/// What a function body may refer to: the module's index spaces as seen by the validator.
public struct ValidationContext: Sendable {
    public var types: [FuncType]
    /// Type index of every function, imports first.
    public var functionTypeIndices: [UInt32]
    public var tables: [TableType]
    public var memories: [MemoryType]
    public var globals: [GlobalType]
    public var elementTypes: [RefType]
    /// Number of data segments as declared by the data count section, if present.
    public var dataCount: UInt32?
    /// Functions that `ref.func` may name inside function bodies: those referred to outside them
    /// (exports, element segments, global initializers).
    public var declaredFunctions: Set<UInt32>

    public init(
        types: [FuncType] = [], functionTypeIndices: [UInt32] = [], tables: [TableType] = [],
        memories: [MemoryType] = [], globals: [GlobalType] = [], elementTypes: [RefType] = [],
        dataCount: UInt32? = nil, declaredFunctions: Set<UInt32> = []
    ) {
        self.types = types
        self.functionTypeIndices = functionTypeIndices
        self.tables = tables
        self.memories = memories
        self.globals = globals
        self.elementTypes = elementTypes
        self.dataCount = dataCount
        self.declaredFunctions = declaredFunctions
    }

    public func functionType(_ index: UInt32, at offset: Int) throws(WasmError) -> FuncType {
        guard Int(index) < functionTypeIndices.count else { throw .invalid("unknown function \(index)", at: offset) }
        return types[Int(functionTypeIndices[Int(index)])]
    }

    public func type(_ index: UInt32, at offset: Int) throws(WasmError) -> FuncType {
        guard Int(index) < types.count else { throw .invalid("unknown type", at: offset) }
        return types[Int(index)]
    }

    public func table(_ index: UInt32, at offset: Int) throws(WasmError) -> TableType {
        guard Int(index) < tables.count else { throw .invalid("unknown table \(index)", at: offset) }
        return tables[Int(index)]
    }

    public func global(_ index: UInt32, at offset: Int) throws(WasmError) -> GlobalType {
        guard Int(index) < globals.count else { throw .invalid("unknown global \(index)", at: offset) }
        return globals[Int(index)]
    }

    public func requireMemory(_ index: UInt32 = 0, at offset: Int) throws(WasmError) {
        guard Int(index) < memories.count else { throw .invalid("unknown memory \(index)", at: offset) }
    }

    public func elementType(_ index: UInt32, at offset: Int) throws(WasmError) -> RefType {
        guard Int(index) < elementTypes.count else { throw .invalid("unknown elem segment \(index)", at: offset) }
        return elementTypes[Int(index)]
    }

    public func requireDataSegment(_ index: UInt32, at offset: Int) throws(WasmError) {
        guard let count = dataCount, index < count else { throw .invalid("unknown data segment \(index)", at: offset) }
    }
}

extension Module {
    /// The validation context of a fully decoded module, for validating (or compiling) function
    /// bodies after `ModuleDecoder.decode(_:validateFunctions: false)`.
    public var validationContext: ValidationContext {
        var functionTypeIndices: [UInt32] = []
        for i in imports { if case .function(let t) = i.descriptor { functionTypeIndices.append(t) } }
        functionTypeIndices += self.functionTypeIndices
        // C.refs: function indices that occur in the module outside function bodies and the start.
        var declared = Set<UInt32>()
        for e in exports where e.kind == .function { declared.insert(e.index) }
        for g in globals { if case .refFunc(let f) = g.initializer { declared.insert(f) } }
        for segment in elements {
            for initializer in segment.initializers { if case .refFunc(let f) = initializer { declared.insert(f) } }
        }
        return ValidationContext(
            types: types, functionTypeIndices: functionTypeIndices, tables: allTables, memories: allMemories,
            globals: allGlobals, elementTypes: elements.map(\.type), dataCount: dataCount, declaredFunctions: declared)
    }
}
