import Optimizer
import X64

/// What a function's code refers to outside itself. Each becomes an external label in the
/// function's assembler (`Assembler.newExternalLabel`), with `rawValue` as its symbol, and is
/// resolved by `ModuleLinker` once every piece has its place.
enum LinkSymbol: Hashable {
    /// The module's trap exit stub.
    case trapExit
    /// The entry of a defined function (index = function index - imported count).
    case function(Int)
    /// The fast entry of a defined function (`FastCallABI`): its own for an optimized function,
    /// else an adapter the linker adds (`FastEntryAdapter`).
    case fastEntry(Int)

    var rawValue: Int {
        switch self {
        case .trapExit: 0
        case .function(let index): index + 1
        case .fastEntry(let index): FastCallABI.symbol(definedIndex: index)
        }
    }

    init(rawValue: Int) {
        self = rawValue == 0 ? .trapExit : rawValue > 0 ? .function(rawValue - 1) : .fastEntry(-rawValue - 1)
    }
}

/// One function's machine code, assembled on its own at offset 0: position independent except
/// for the listed external fixups. Because nothing in it depends on where it will be placed (it
/// will start on an `alignment` boundary, and the code never aligns to more), a function compiles
/// to the same bytes on any thread, in any order, and linking the pieces gives what one shared
/// assembler would have.
struct FunctionPiece: Sendable {
    let code: [UInt8]
    /// Offsets in `code` of the heap accesses that may fault, in emission order.
    let trapSites: [Int]
    /// The rel32 fields in `code` that refer to `LinkSymbol`s.
    let fixups: [ExternalFixup]
    /// Whether the code may use SIMD instructions (SSE4.1, SSSE3): the artifact then requires them.
    var usesSIMD = false
    /// Compiled by the optimizing tier.
    var optimized = false
    /// Why the optimizing tier, when asked, left this function to the baseline.
    var fallbackReason: String?
    /// Offset of the fast entry in `code` (optimized functions; the standard entry is at 0).
    var fastEntry: Int?
    /// The boundary the linker places the code on: 16, or 64 for optimized code whose loop
    /// headers were padded to 64-byte lines (`LoopAlignment`).
    var alignment = 16

    init(code: [UInt8], trapSites: [Int], fixups: [ExternalFixup], usesSIMD: Bool = false) {
        self.code = code
        self.trapSites = trapSites
        self.fixups = fixups
        self.usesSIMD = usesSIMD
    }

    /// Validates and compiles defined function `definedIndex` of the module: with the optimizing
    /// tier when the options ask for it and it supports the function, else with the baseline.
    /// (The optimizing tier's code refers to `LinkSymbol` raw values too: 0 the trap exit, -(1 + i)
    /// defined function i's fast entry.)
    static func compile(_ shared: ModuleContext, definedIndex: Int) throws -> FunctionPiece {
        let functionIndex = shared.module.importedFunctionCount + definedIndex
        var reason: String?
        if shared.options.tier == .optimized {
            let context = OptimizerContext(module: shared.module, context: shared.context, layout: shared.layout, options: shared.options)
            do {
                let output = try OptimizingCompiler.compile(context, functionIndex: functionIndex)
                var piece = FunctionPiece(code: output.code, trapSites: output.trapSites, fixups: output.fixups)
                piece.optimized = true
                piece.fastEntry = output.fastEntry
                piece.alignment = output.alignment
                return piece
            } catch let error as Unsupported {
                reason = error.reason
            } catch {
                reason = "error: \(error)"  // an invalid body: the baseline reports it
            }
        }
        let body = shared.module.functionBodies[definedIndex]
        var compiler = try FunctionCompiler(shared: shared, functionIndex: functionIndex, body: body)
        var piece = try compiler.compile(code: body.code)
        piece.fallbackReason = reason
        return piece
    }
}

/// The module's stubs (entry trampoline, trap exit, host stub), assembled at offset 0: the start
/// of the module's code. They refer to nothing outside themselves.
struct StubsPiece: Sendable {
    let code: [UInt8]
    let entryTrampoline: Int
    let entryExit: Int
    let trapExit: Int
    let hostStub: Int

    static func assemble() -> StubsPiece {
        var asm = Assembler()
        let trapExitLabel = asm.newLabel()
        let entryRestore = asm.newLabel()
        let entry = asm.offset
        Stubs.emitEntryTrampoline(&asm, restore: entryRestore)
        asm.align(16)
        let trapExit = asm.offset
        Stubs.emitTrapExit(&asm, trapExit: trapExitLabel, restore: entryRestore)
        asm.align(16)
        let hostStub = asm.offset
        Stubs.emitHostStub(&asm, trapExit: trapExitLabel)
        let entryExit = asm.labelOffset(entryRestore)!
        let code = asm.finish()
        return StubsPiece(code: code, entryTrampoline: entry, entryExit: entryExit, trapExit: trapExit, hostStub: hostStub)
    }
}
