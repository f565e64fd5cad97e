import RuntimeABI
import WasmCore
import WasmDecoder
import X64

/// What every function compiler of a module shares.
struct ModuleContext {
    let module: Module
    let context: ValidationContext
    let layout: VMContextLayout
    let options: CompileOptions
    var heapMode: HeapMode { options.heapMode }
    /// Entry label of each defined function (index = function index - imported count).
    let functionLabels: [Label]
    let trapExit: Label
}

/// Compiles a decoded module to x86-64: the module's stubs (entry trampoline, trap exit, host
/// stub), then every function body in one pass each, validating as it goes.
public enum ModuleCompiler {
    /// Decodes, validates and compiles a binary module.
    public static func compile(bytes: [UInt8], heapMode: HeapMode) throws -> CompiledModule {
        try compile(bytes: bytes, options: CompileOptions(heapMode: heapMode))
    }

    public static func compile(bytes: [UInt8], options: CompileOptions) throws -> CompiledModule {
        let module = try ModuleDecoder.decode(bytes, validateFunctions: false)
        return try compile(module, options: options)
    }

    public static func compile(_ module: Module, heapMode: HeapMode) throws -> CompiledModule {
        try compile(module, options: CompileOptions(heapMode: heapMode))
    }

    /// Compiles a module decoded with `validateFunctions: false` (bodies are validated here).
    public static func compile(_ module: Module, options: CompileOptions) throws -> CompiledModule {
        for (index, type) in module.types.enumerated()
        where type.params.count > FrameLayout.maxSignatureValues || type.results.count > FrameLayout.maxSignatureValues {
            throw CompileError("type \(index) has \(type.params.count) params and \(type.results.count) results: more than the code generator's limit of \(FrameLayout.maxSignatureValues) each")
        }
        var asm = Assembler()
        let layout = VMContextLayout(module: module)
        let functionLabels = module.functionBodies.map { _ in asm.newLabel() }
        let trapExit = asm.newLabel()
        let entryRestore = asm.newLabel()
        let shared = ModuleContext(module: module, context: module.validationContext, layout: layout, options: options,
                                   functionLabels: functionLabels, trapExit: trapExit)

        let entry = asm.offset
        Stubs.emitEntryTrampoline(&asm, restore: entryRestore)
        asm.align(16)
        let trapExitOffset = asm.offset
        Stubs.emitTrapExit(&asm, trapExit: trapExit, restore: entryRestore)
        asm.align(16)
        let hostStub = asm.offset
        Stubs.emitHostStub(&asm, trapExit: trapExit)

        var offsets: [Int] = []
        var ends: [Int] = []
        var trapSites: [UInt32] = []
        offsets.reserveCapacity(module.functionBodies.count)
        for (i, body) in module.functionBodies.enumerated() {
            asm.align(16)
            offsets.append(asm.offset)
            asm.bind(functionLabels[i])
            let exitLabel = asm.newLabel()
            var compiler = try FunctionCompiler(asm: asm, exitLabel: exitLabel, shared: shared,
                                                functionIndex: module.importedFunctionCount + i, body: body)
            asm = Assembler()  // the function compiler owns the (uniquely referenced) code while it runs
            asm = try compiler.compile(code: body.code)
            ends.append(asm.offset)
            trapSites += compiler.trapSites.map { UInt32($0) }
        }
        let entryExit = asm.labelOffset(entryRestore)!
        let code = asm.finish()
        guard code.count <= Int(UInt32.max) else { throw CompileError("\(code.count) bytes of code: more than 4 GiB") }
        return CompiledModule(module: module, layout: layout, code: code, functionOffsets: offsets, functionEnds: ends,
                              entryTrampoline: entry, entryExit: entryExit, trapExit: trapExitOffset, hostStub: hostStub,
                              trapSites: trapSites, options: options)
    }
}
