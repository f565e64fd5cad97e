import Artifacts
import CShoal
import Compiler
import Crypto
import Foundation
import Runtime
import RuntimeABI
import Testing
import WasmCore
import WasmText

/// The package root, found from this file's path (Tests/ArtifactTests/Support.swift).
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

func read(_ relative: String) -> [UInt8] {
    [UInt8](FileManager.default.contents(atPath: packageRoot + "/" + relative)!)
}

/// Every .wasm file in the given directories (relative to the package root), sorted.
func wasmFiles(_ directories: [String]) -> [String] {
    directories.flatMap { directory -> [String] in
        let names = (try? FileManager.default.contentsOfDirectory(atPath: packageRoot + "/" + directory)) ?? []
        return names.filter { $0.hasSuffix(".wasm") }.sorted().map { directory + "/" + $0 }
    }
}

func sha256(_ bytes: [UInt8]) -> [UInt8] { Array(SHA256.hash(data: bytes)) }

func crc32c(_ bytes: ArraySlice<UInt8>) -> UInt32 {
    bytes.withUnsafeBytes { shoal_crc32c(0, $0.baseAddress, $0.count) }
}

/// Rewrites the trailing CRC-32C so that it matches the bytes before it (what an attacker who
/// edits a file and fixes its checksum does).
func fixChecksum(_ bytes: inout [UInt8]) {
    let crc = crc32c(bytes[..<(bytes.count - 4)])
    withUnsafeBytes(of: crc.littleEndian) { for (i, b) in $0.enumerated() { bytes[bytes.count - 4 + i] = b } }
}

func readU64(_ bytes: [UInt8], at offset: Int) -> UInt64 {
    (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[offset + $1]) << (8 * UInt64($1)) }
}

func writeU32(_ bytes: inout [UInt8], at offset: Int, _ v: UInt32) {
    for i in 0..<4 { bytes[offset + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(i))) }
}

func writeU64(_ bytes: inout [UInt8], at offset: Int, _ v: UInt64) {
    for i in 0..<8 { bytes[offset + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(i))) }
}

/// The byte offset of a section's table entry's offset and length fields.
func sectionEntry(_ section: ArtifactFormat.Section) -> (offsetField: Int, lengthField: Int) {
    let entry = ArtifactFormat.headerSize + Int(section.rawValue - 1) * ArtifactFormat.sectionEntrySize
    return (entry + 8, entry + 16)
}

/// The error `body` throws, or nil if it returned.
func refusal(_ body: () throws(ArtifactError) -> Artifact) -> ArtifactError? {
    do {
        _ = try body()
        return nil
    } catch {
        return error
    }
}

/// The ArtifactError case's name, for counting refusals by class.
func errorClass(_ e: ArtifactError) -> String {
    switch e {
    case .badMagic: "badMagic"
    case .unsupportedVersion: "unsupportedVersion"
    case .truncated: "truncated"
    case .checksumMismatch: "checksumMismatch"
    case .malformed: "malformed"
    case .unsigned: "unsigned"
    case .badSignature: "badSignature"
    case .missingCPUFeatures: "missingCPUFeatures"
    case .heapMismatch: "heapMismatch"
    case .importNotGranted: "importNotGranted"
    case .optionsMismatch: "optionsMismatch"
    }
}

/// The fields of a module that instantiation uses, as comparable values (data segments by their
/// bytes, not their ranges into different buffers).
struct ModuleShape: Equatable {
    var types: [FuncType]
    var imports: [Import]
    var functionTypeIndices: [UInt32]
    var tables: [TableType]
    var memories: [MemoryType]
    var globals: [WasmCore.Global]
    var exports: [Export]
    var start: UInt32?
    var elements: [ElementSegment]
    var dataCount: UInt32?
    var dataModes: [DataSegment.Mode]
    var dataBytes: [[UInt8]]
    var functionNames: [UInt32: String]
    var functionBodyCount: Int

    init(_ m: Module) {
        types = m.types
        imports = m.imports
        functionTypeIndices = m.functionTypeIndices
        tables = m.tables
        memories = m.memories
        globals = m.globals
        exports = m.exports
        start = m.start
        elements = m.elements
        dataCount = m.dataCount
        dataModes = m.data.map(\.mode)
        dataBytes = m.data.map { Array(m.bytes[$0.range]) }
        functionNames = m.functionNames
        functionBodyCount = m.functionBodies.count
    }
}

/// The parts of a compiled module the runtime uses, comparable.
struct CompiledShape: Equatable {
    var module: ModuleShape
    var layout: VMContextLayout
    var code: [UInt8]
    var functionOffsets: [Int]
    var functionEnds: [Int]
    var fastEntries: [Int]
    var stubs: [Int]
    var trapSites: [UInt32]
    var options: CompileOptions
    var cpuFeatures: CPUFeatureSet

    init(_ c: CompiledModule) {
        module = ModuleShape(c.module)
        layout = c.layout
        code = c.code
        functionOffsets = c.functionOffsets
        functionEnds = c.functionEnds
        fastEntries = c.fastEntries
        stubs = [c.entryTrampoline, c.entryExit, c.trapExit, c.hostStub]
        trapSites = c.trapSites
        options = c.options
        cpuFeatures = c.cpuFeatures
    }
}

/// Field-by-field comparison, each difference its own expectation (so a failure names the field).
func expectSame(_ a: CompiledModule, _ b: CompiledModule, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
    let x = CompiledShape(a), y = CompiledShape(b)
    #expect(x.code == y.code, "\(what): code", sourceLocation: sourceLocation)
    #expect(x.functionOffsets == y.functionOffsets, "\(what): functionOffsets", sourceLocation: sourceLocation)
    #expect(x.functionEnds == y.functionEnds, "\(what): functionEnds", sourceLocation: sourceLocation)
    #expect(x.fastEntries == y.fastEntries, "\(what): fastEntries", sourceLocation: sourceLocation)
    #expect(x.stubs == y.stubs, "\(what): stubs", sourceLocation: sourceLocation)
    #expect(x.trapSites == y.trapSites, "\(what): trapSites", sourceLocation: sourceLocation)
    #expect(x.options == y.options, "\(what): options", sourceLocation: sourceLocation)
    #expect(x.cpuFeatures == y.cpuFeatures, "\(what): cpuFeatures", sourceLocation: sourceLocation)
    #expect(a.tierStats == b.tierStats, "\(what): tierStats", sourceLocation: sourceLocation)
    #expect(x.layout == y.layout, "\(what): layout", sourceLocation: sourceLocation)
    let m = x.module, n = y.module
    #expect(m.types == n.types, "\(what): types", sourceLocation: sourceLocation)
    #expect(m.imports == n.imports, "\(what): imports", sourceLocation: sourceLocation)
    #expect(m.functionTypeIndices == n.functionTypeIndices, "\(what): functionTypeIndices", sourceLocation: sourceLocation)
    #expect(m.tables == n.tables, "\(what): tables", sourceLocation: sourceLocation)
    #expect(m.memories == n.memories, "\(what): memories", sourceLocation: sourceLocation)
    #expect(m.globals == n.globals, "\(what): globals", sourceLocation: sourceLocation)
    #expect(m.exports == n.exports, "\(what): exports", sourceLocation: sourceLocation)
    #expect(m.start == n.start, "\(what): start", sourceLocation: sourceLocation)
    #expect(m.elements == n.elements, "\(what): elements", sourceLocation: sourceLocation)
    #expect(m.dataCount == n.dataCount, "\(what): dataCount", sourceLocation: sourceLocation)
    #expect(m.dataModes == n.dataModes, "\(what): data modes", sourceLocation: sourceLocation)
    #expect(m.dataBytes == n.dataBytes, "\(what): data bytes", sourceLocation: sourceLocation)
    #expect(m.functionNames == n.functionNames, "\(what): functionNames", sourceLocation: sourceLocation)
    #expect(m.functionBodyCount == n.functionBodyCount, "\(what): function count", sourceLocation: sourceLocation)
    #expect(x == y, "\(what): the whole shape", sourceLocation: sourceLocation)
}

/// Host functions for every function import (returning zeros), so a module with WASI imports
/// can be instantiated without a WASI implementation. Nothing is called by instantiation unless
/// the module has a start function.
func stubImports(_ module: Module) -> (String, String) -> Extern? {
    var externs: [String: Extern] = [:]
    for i in module.imports {
        guard case .function(let t) = i.descriptor else { continue }
        let type = module.types[Int(t)]
        externs[i.module + "\u{0}" + i.name] = .function(Function(HostFunction(type: type) { _, _ in
            type.results.map { r in
                switch r {
                case .i64: .i64(0)
                case .f32: .f32(bits: 0)
                case .f64: .f64(bits: 0)
                default: .i32(0)
                }
            }
        }))
    }
    return { module, name in externs[module + "\u{0}" + name] }
}

/// Runs a test body on a thread with a large stack.
func onLargeStack(_ body: @escaping @Sendable () throws -> Void) throws {
    final class Outcome: @unchecked Sendable { var error: Error? }
    let outcome = Outcome()
    let done = DispatchSemaphore(value: 0)
    let thread = Thread {
        do { try body() } catch { outcome.error = error }
        done.signal()
    }
    thread.stackSize = 16 << 20
    thread.start()
    done.wait()
    if let error = outcome.error { throw error }
}
