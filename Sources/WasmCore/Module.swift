/// A decoded and validated WebAssembly module.
///
/// Function bodies are kept as byte ranges into `bytes`: a single-pass compiler reads each body once,
/// running the validator in lockstep (see `FunctionValidator`), so the module does not hold a
/// decoded instruction list.
public struct Module: Sendable {
    /// The module binary that the ranges below point into.
    public var bytes: [UInt8]
    public var types: [FuncType] = []
    public var imports: [Import] = []
    /// Type index of each function defined by the module (not counting imported functions).
    public var functionTypeIndices: [UInt32] = []
    public var tables: [TableType] = []
    public var memories: [MemoryType] = []
    public var globals: [Global] = []
    public var exports: [Export] = []
    public var start: UInt32?
    public var elements: [ElementSegment] = []
    public var dataCount: UInt32?
    public var functionBodies: [FunctionBody] = []
    public var data: [DataSegment] = []
    public var customSections: [CustomSection] = []
    /// Function names from the `name` custom section, by function index (imports included).
    public var functionNames: [UInt32: String] = [:]

    public init(bytes: [UInt8]) { self.bytes = bytes }

    // MARK: Index spaces (imports come first in each)

    public var importedFunctionCount: Int { imports.lazy.filter { $0.descriptor.kind == .function }.count }

    /// The type of every function in the function index space, imports first.
    public var functionTypes: [FuncType] {
        var result: [FuncType] = []
        for i in imports { if case .function(let t) = i.descriptor { result.append(types[Int(t)]) } }
        for t in functionTypeIndices { result.append(types[Int(t)]) }
        return result
    }

    public var allTables: [TableType] {
        imports.compactMap { if case .table(let t) = $0.descriptor { t } else { nil } } + tables
    }

    public var allMemories: [MemoryType] {
        imports.compactMap { if case .memory(let m) = $0.descriptor { m } else { nil } } + memories
    }

    public var allGlobals: [GlobalType] {
        imports.compactMap { if case .global(let g) = $0.descriptor { g } else { nil } } + globals.map(\.type)
    }
}

public struct Import: Sendable, Hashable {
    public var module: String
    public var name: String
    public var descriptor: ImportDescriptor
    public init(module: String, name: String, descriptor: ImportDescriptor) {
        self.module = module
        self.name = name
        self.descriptor = descriptor
    }
}

public enum ImportDescriptor: Sendable, Hashable {
    case function(typeIndex: UInt32)
    case table(TableType)
    case memory(MemoryType)
    case global(GlobalType)

    public var kind: ExternalKind {
        switch self {
        case .function: .function
        case .table: .table
        case .memory: .memory
        case .global: .global
        }
    }
}

public struct Export: Sendable, Hashable {
    public var name: String
    public var kind: ExternalKind
    public var index: UInt32
    public init(name: String, kind: ExternalKind, index: UInt32) {
        self.name = name
        self.kind = kind
        self.index = index
    }
}

/// A constant expression (WebAssembly 2.0: a single constant instruction followed by `end`).
public enum ConstExpr: Sendable, Hashable {
    case i32(Int32)
    case i64(Int64)
    case f32(bits: UInt32)
    case f64(bits: UInt64)
    case v128(V128)
    case refNull(RefType)
    case refFunc(UInt32)
    case globalGet(UInt32)
}

public struct Global: Sendable, Hashable {
    public var type: GlobalType
    public var initializer: ConstExpr
    public init(type: GlobalType, initializer: ConstExpr) {
        self.type = type
        self.initializer = initializer
    }
}

public struct ElementSegment: Sendable, Hashable {
    public enum Mode: Sendable, Hashable {
        case passive
        case active(table: UInt32, offset: ConstExpr)
        case declarative
    }
    public var type: RefType
    public var mode: Mode
    public var initializers: [ConstExpr]
    public init(type: RefType, mode: Mode, initializers: [ConstExpr]) {
        self.type = type
        self.mode = mode
        self.initializers = initializers
    }
}

public struct DataSegment: Sendable, Hashable {
    public enum Mode: Sendable, Hashable {
        case passive
        case active(memory: UInt32, offset: ConstExpr)
    }
    public var mode: Mode
    /// Where the segment's bytes are in `Module.bytes`.
    public var range: Range<Int>
    public init(mode: Mode, range: Range<Int>) {
        self.mode = mode
        self.range = range
    }
}

public struct FunctionBody: Sendable, Hashable {
    /// Locals declared by the body (not counting parameters), run-length encoded as in the binary.
    public var locals: [(count: UInt32, type: ValueType)] { zip(localCounts, localTypes).map { ($0, $1) } }
    public var localCounts: [UInt32]
    public var localTypes: [ValueType]
    /// The instruction bytes of the body, ending with its final `end` opcode.
    public var code: Range<Int>
    public init(localCounts: [UInt32], localTypes: [ValueType], code: Range<Int>) {
        self.localCounts = localCounts
        self.localTypes = localTypes
        self.code = code
    }
}

public struct CustomSection: Sendable, Hashable {
    public var name: String
    public var range: Range<Int>
    public init(name: String, range: Range<Int>) {
        self.name = name
        self.range = range
    }
}
