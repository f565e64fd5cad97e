import RuntimeABI
import WasmCore
import WasmDecoder
import X64

/// The optimizing tier: SSA construction, a few passes, linear-scan register allocation and
/// x86-64 emission, for the functions it supports. For any other function it throws
/// `Unsupported` and the caller compiles it with the baseline compiler.
public enum OptimizingCompiler {
    /// One function's machine code, in the form `FunctionPiece` takes it.
    public struct Output: Sendable {
        public let code: [UInt8]
        public let trapSites: [Int]
        public let fixups: [ExternalFixup]
        /// Offset of the fast entry (`FastCallABI`) in `code`; the standard entry is at 0.
        public let fastEntry: Int
        /// The boundary `code` must start on: 64 when loop headers were padded to 64-byte
        /// lines (`LoopAlignment`), else 16.
        public var alignment = 16
    }

    /// The function in SSA form, straight from the builder (`optimize: false`) or after the passes.
    public static func ir(_ shared: OptimizerContext, functionIndex: Int, optimize: Bool = true) throws -> IRFunction {
        let body = shared.module.functionBodies[functionIndex - shared.module.importedFunctionCount]
        var builder = try SSABuilder(shared: shared, functionIndex: functionIndex, body: body)
        var f = try builder.build(code: body.code)
        // Inlining a call changes how many function entries count fuel.
        if optimize { runPasses(&f, selfIndex: shared.options.fuel ? nil : functionIndex) }
        return f
    }

    /// The pass pipeline. `selfIndex`: the function's own index, when its call to itself may be
    /// inlined (`InlineSelfCall`).
    public static func runPasses(_ f: inout IRFunction, selfIndex: Int? = nil) {
        CopyPropagation.run(&f)
        ConstantFolding.run(&f)
        SimplifyCFG.run(&f)
        CopyPropagation.run(&f)
        if let selfIndex { InlineSelfCall.run(&f, selfIndex: selfIndex) }
        DuplicateReturns.run(&f)
        ValueNumbering.run(&f)
        ConstantFolding.run(&f)
        SimplifyCFG.run(&f)
        CopyPropagation.run(&f)
        InvertConditions.run(&f)
        AddressFolding.run(&f)
        DeadCode.run(&f)
    }

    /// Compiles function `functionIndex` (a module function index of a defined function).
    public static func compile(_ shared: OptimizerContext, functionIndex: Int) throws -> Output {
        let f = try ir(shared, functionIndex: functionIndex)
        return try generate(f, shared)
    }

    /// Liveness keeps a bit per value per block (three sets): beyond this many bits the
    /// function is left to the baseline rather than spend hundreds of megabytes on it.
    static let maxLivenessBits = 1 << 26

    static func generate(_ f: IRFunction, _ shared: OptimizerContext) throws -> Output {
        guard f.types.count * f.blocks.count <= maxLivenessBits else {
            throw Unsupported("too large for the optimizing tier (\(f.types.count) values, \(f.blocks.count) blocks)")
        }
        let fused = CodeGen.fusableCompares(f).union(CodeGen.fusableShifts(f))
        let live = Liveness(f, fused: fused, importedFunctions: shared.layout.importedFunctionCount)
        let allocation = LinearScan(f, live)
        var codegen = CodeGen(f, shared: shared, allocation: allocation, live: live, fused: fused)
        var (code, trapSites, fixups) = try codegen.generate()
        let aligned = LoopAlignment.headersToAlign(f, spans: codegen.blockSpans)
        guard !aligned.isEmpty else {
            return Output(code: code, trapSites: trapSites, fixups: fixups, fastEntry: codegen.fastEntryOffset)
        }
        codegen = CodeGen(f, shared: shared, allocation: allocation, live: live, fused: fused)
        codegen.alignedHeaders = aligned
        (code, trapSites, fixups) = try codegen.generate()
        return Output(code: code, trapSites: trapSites, fixups: fixups, fastEntry: codegen.fastEntryOffset,
                      alignment: LoopAlignment.line)
    }
}
