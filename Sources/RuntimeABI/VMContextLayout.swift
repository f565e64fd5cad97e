import WasmCore

/// Where everything lives in an instance's vmctx, derived from the module alone. The compiler emits
/// loads at these offsets and the runtime fills them in; this type is the single definition both
/// use, so they cannot disagree.
///
/// ```
///   +0   memoryBase       linear memory base address (0 when the module has no memory)
///   +8   memorySize       current memory size in bytes (u64)
///   +16  stackLimit       checked against rsp at every function entry and loop header; normally
///                         `realStackLimit`, raised to the maximum to request a yield
///   +24  executionState   pointer to the store's ExecutionStateLayout block
///   +32  builtins         pointer to the Builtin function-pointer table
///   +40  funcRefs         pointer to this instance's funcref records, one per function index
///   +48  typeIDs          pointer to u32 canonical type ids, one per module type index
///   +56  realStackLimit   the true lowest usable stack address (tells overflow from a yield request)
///   +64  fuel             i64 budget, decremented at function entries and loop headers when the
///                         module was compiled with fuel; below zero means exhausted
///   +72  (reserved)
///   +80  imported functions: 16 bytes each  { code, vmctx (or host context) }
///   ...  globals: imported -> 8-byte pointer to the value; defined -> 16-byte inline value
///   ...  tables: 8-byte pointer to a TableLayout block each
///   = size
/// ```
public struct VMContextLayout: Sendable, Equatable {
    public static let memoryBase = 0
    public static let memorySize = 8
    public static let stackLimit = 16
    public static let executionState = 24
    public static let builtins = 32
    public static let funcRefs = 40
    public static let typeIDs = 48
    public static let realStackLimit = 56
    public static let fuel = 64
    static let headerSize = 80

    public let importedFunctionCount: Int
    public let importedGlobalCount: Int
    public let globalCount: Int
    public let tableCount: Int
    public let globalsStart: Int
    /// Offset of each global's slot (a pointer for imported ones, the value for defined ones).
    public let globalOffsets: [Int]
    public let tablesStart: Int
    public let size: Int

    public init(module: Module) {
        var importedFunctions = 0
        var importedGlobals = 0
        for i in module.imports {
            switch i.descriptor {
            case .function: importedFunctions += 1
            case .global: importedGlobals += 1
            default: break
            }
        }
        self.init(importedFunctionCount: importedFunctions, importedGlobalCount: importedGlobals,
                  globalCount: importedGlobals + module.globals.count, tableCount: module.allTables.count)
    }

    public init(importedFunctionCount: Int, importedGlobalCount: Int, globalCount: Int, tableCount: Int) {
        self.importedFunctionCount = importedFunctionCount
        self.importedGlobalCount = importedGlobalCount
        self.globalCount = globalCount
        self.tableCount = tableCount
        globalsStart = Self.headerSize + 16 * importedFunctionCount
        var offsets: [Int] = []
        offsets.reserveCapacity(globalCount)
        var at = globalsStart
        for g in 0..<globalCount {
            offsets.append(at)
            at += g < importedGlobalCount ? 8 : 16
        }
        globalOffsets = offsets
        tablesStart = at
        size = (at + 8 * tableCount + 15) & ~15
    }

    /// The import slot of imported function `index`: `code` at +0, `vmctx` at +8.
    public func importedFunction(_ index: Int) -> Int { Self.headerSize + 16 * index }
    public func global(_ index: Int) -> Int { globalOffsets[index] }
    public func isImportedGlobal(_ index: Int) -> Bool { index < importedGlobalCount }
    public func table(_ index: Int) -> Int { tablesStart + 8 * index }
}
