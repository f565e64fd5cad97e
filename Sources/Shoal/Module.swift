import Artifacts
import Runtime
import RuntimeABI
import ShoalWASI
import WasmCore

/// A compiled module, ready to be instantiated by its engine any number of times, concurrently.
/// Made by `Engine.compile(_:)`; it carries the options it was compiled with (the engine's).
public struct Module: Sendable {
    /// One export of the module.
    public struct Export: Sendable, Equatable {
        /// What is exported: a function (with its type), a table, a memory or a global.
        public enum Kind: Sendable, Equatable { case function(FuncType), table, memory, global }
        /// The export's name.
        public var name: String
        /// What it is.
        public var kind: Kind
    }

    /// One import of the module.
    public struct Import: Sendable, Equatable {
        /// The module name the import names ("env", "wasi_snapshot_preview1"...).
        public var module: String
        /// The field name.
        public var name: String
        /// The function type, for a function import (nil for a table, memory or global).
        public var functionType: FuncType?
    }

    /// The module's code: replaced once by the optimizing tier's under `Tiering.auto`.
    let code: TieredCode
    /// The code a new instance is made from now.
    var loaded: LoadedModule { code.current }
    /// The SHA-256 of the bytes it was compiled from (binary or text), in hex: its cache key.
    public let digest: String
    /// The same, as bytes.
    public let sourceSHA256: [UInt8]

    /// The wasi_snapshot_preview1 functions it imports (computed once, not per call).
    let wasiImportNames: Set<String>

    init(_ loaded: LoadedModule, sourceSHA256: [UInt8]) {
        code = TieredCode(loaded)
        self.sourceSHA256 = sourceSHA256
        digest = CompileService.hex(sourceSHA256)
        wasiImportNames = WASIContext.importedNames(of: loaded.compiled.module)
        let names = Set(loaded.compiled.module.exports.filter { $0.kind == .function }.map(\.name))
        wasiEntry = names.contains("") ? "" : names.contains("_start") ? "_start" : nil
    }

    var wasm: WasmCore.Module { loaded.compiled.module }

    /// The module's exports, in order.
    public var exports: [Export] {
        wasm.exports.map { e in
            switch e.kind {
            case .function: Export(name: e.name, kind: .function(functionType(index: Int(e.index))))
            case .table: Export(name: e.name, kind: .table)
            case .memory: Export(name: e.name, kind: .memory)
            case .global: Export(name: e.name, kind: .global)
            }
        }
    }

    /// The module's imports, in order: what a linker (or WASI) must provide.
    public var imports: [Import] {
        wasm.imports.map { i in
            if case .function(let t) = i.descriptor { return Import(module: i.module, name: i.name, functionType: wasm.types[Int(t)]) }
            return Import(module: i.module, name: i.name, functionType: nil)
        }
    }

    /// The type of an exported function, or nil.
    public func functionType(of export: String) -> FuncType? {
        guard let e = wasm.exports.first(where: { $0.name == export && $0.kind == .function }) else { return nil }
        return functionType(index: Int(e.index))
    }

    /// Whether the module imports wasi_snapshot_preview1: its calls get a WASI context.
    public var importsWASI: Bool { !wasiImportNames.isEmpty }

    /// A WASI command's entry, as wasmtime's CLI finds it: the export named "", else `_start`.
    public let wasiEntry: String?

    /// The heap mode the code was compiled for (the engine's).
    public var heapMode: HeapMode { loaded.compiled.options.heapMode }
    /// Whether the code counts fuel (the engine's `fuel` setting).
    public var hasFuel: Bool { loaded.compiled.options.fuel }
    /// How many functions each compiler tier compiled (empty for a module loaded from an artifact).
    /// Under `Tiering.auto`, of the code new calls run on now.
    public var tierStats: TierStats { loaded.compiled.tierStats }

    /// Under `Tiering.auto`: waits until the optimizing tier's code has replaced the baseline's
    /// (or its compile failed, and the baseline stays). Returns at once for any other tiering.
    public func waitForOptimizedCode() async { await code.waitForTierUp() }

    /// The module as an artifact file (Docs/ARTIFACT.md): its code, tables and contract, signed
    /// with `signingKey` (a raw Ed25519 private key, see `Signing`) if given.
    public func artifact(signingKey: [UInt8]? = nil) throws -> [UInt8] {
        var compiled = loaded.compiled
        if compiled.code.count != loaded.codeSize { compiled = compiled.replacingCode(loaded.codeBytes) }  // mapped in place
        return try Artifact.encode(compiled, sourceSHA256: sourceSHA256, signingKey: try signingKey.map(Signing.privateKey))
    }

    /// The generated x86-64 code (stubs and every function), for inspection and comparison.
    public var machineCode: [UInt8] { loaded.codeBytes }

    /// Bytes of machine code of each defined function, in function index order.
    public var functionCodeSizes: [Int] {
        zip(loaded.compiled.functionOffsets, loaded.compiled.functionEnds).map { $1 - $0 }
    }

    private func functionType(index: Int) -> FuncType {
        var i = index
        for imp in wasm.imports {
            if case .function(let t) = imp.descriptor {
                if i == 0 { return wasm.types[Int(t)] }
                i -= 1
            }
        }
        return wasm.types[Int(wasm.functionTypeIndices[i])]
    }
}
