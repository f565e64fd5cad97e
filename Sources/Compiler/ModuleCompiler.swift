import RuntimeABI
import WasmCore
import WasmDecoder
import X64

/// What every function compiler of a module shares. Read-only, so threads compiling different
/// functions of the module share one.
struct ModuleContext: Sendable {
    let module: Module
    let context: ValidationContext
    let layout: VMContextLayout
    let options: CompileOptions
    /// Whether a v128 appears in the module's types or globals: then any function may hold one
    /// (from a call or a global) without an SIMD opcode of its own.
    let usesV128: Bool
    var heapMode: HeapMode { options.heapMode }
}

/// Compiles a decoded module to x86-64: the module's stubs (entry trampoline, trap exit, host
/// stub), then every function body in one pass each, validating as it goes. Each function is
/// compiled on its own (`FunctionPiece`), on `parallelism` threads, and `ModuleLinker` joins the
/// pieces in index order: the code is the same for every `parallelism`.
///
/// `parallelism` is an argument, not a `CompileOptions` field: options travel with the compiled
/// module and define its code, and the number of threads that compiled it must not change a byte.
public enum ModuleCompiler {
    /// Decodes, validates and compiles a binary module.
    public static func compile(bytes: [UInt8], heapMode: HeapMode) throws -> CompiledModule {
        try compile(bytes: bytes, options: CompileOptions(heapMode: heapMode))
    }

    /// `parallelism`: how many threads compile function bodies (1: all on the calling thread).
    public static func compile(bytes: [UInt8], options: CompileOptions, parallelism: Int = 1) throws -> CompiledModule {
        let module = try ModuleDecoder.decode(bytes, validateFunctions: false)
        return try compile(module, options: options, parallelism: parallelism)
    }

    public static func compile(_ module: Module, heapMode: HeapMode) throws -> CompiledModule {
        try compile(module, options: CompileOptions(heapMode: heapMode))
    }

    /// Compiles a module decoded with `validateFunctions: false` (bodies are validated here). With
    /// `parallelism` above 1, bodies are compiled on that many new threads, and an invalid module
    /// reports the error of its lowest-index invalid function, as a sequential compile does.
    public static func compile(_ module: Module, options: CompileOptions, parallelism: Int = 1) throws -> CompiledModule {
        precondition(parallelism >= 1, "parallelism \(parallelism): at least one thread compiles")
        for (index, type) in module.types.enumerated()
        where type.params.count > FrameLayout.maxSignatureValues || type.results.count > FrameLayout.maxSignatureValues {
            throw CompileError("type \(index) has \(type.params.count) params and \(type.results.count) results: more than the code generator's limit of \(FrameLayout.maxSignatureValues) each")
        }
        let layout = VMContextLayout(module: module)
        let context = module.validationContext
        let usesV128 = module.types.contains { $0.params.contains(.v128) || $0.results.contains(.v128) }
            || context.globals.contains { $0.valueType == .v128 }
        let shared = ModuleContext(module: module, context: context, layout: layout, options: options, usesV128: usesV128)
        let stubs = StubsPiece.assemble()
        let functions: [FunctionPiece]
        if parallelism == 1 || module.functionBodies.count < 2 {
            functions = try module.functionBodies.indices.map { try FunctionPiece.compile(shared, definedIndex: $0) }
        } else {
            functions = try ParallelCompile.compile(shared, threads: parallelism)
        }
        return try ModuleLinker.link(module: module, layout: layout, options: options, stubs: stubs, functions: functions)
    }
}
