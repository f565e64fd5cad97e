import Artifacts
import Compiler
import Crypto
import Foundation
import RuntimeABI
import Testing
import WasmCore
import WasmText

/// One test per refusal: the exact `ArtifactError` case, and a description that names the reason.
@Suite("artifacts: every refusal")
struct RefusalTests {
    static let wat = """
        (module
          (import "p" "add" (func (param i32 i32) (result i32)))
          (memory 2 4)
          (func (export "f") (param i32) (result i32)
            local.get 0 i32.popcnt local.get 0 i32.clz i32.add local.get 0 i32.ctz i32.add
            local.get 0 i32.load i32.add))
        """

    static func compiled(_ options: CompileOptions = CompileOptions(heapMode: .guarded)) throws -> (CompiledModule, [UInt8]) {
        let bytes = try TextFormat.wat2wasm(wat)
        return (try ModuleCompiler.compile(bytes: bytes, options: options), bytes)
    }

    static func artifact(_ options: CompileOptions = CompileOptions(heapMode: .guarded),
                         key: Curve25519.Signing.PrivateKey? = nil) throws -> [UInt8] {
        let (c, bytes) = try compiled(options)
        return try Artifact.encode(c, sourceSHA256: sha256(bytes), signingKey: key)
    }

    /// Decoding `bytes` with `requirements` throws exactly `expected`, described with `words`.
    static func expectRefused(_ bytes: [UInt8], _ requirements: LoadRequirements = LoadRequirements(),
                              _ expected: (ArtifactError) -> Bool, _ words: [String],
                              sourceLocation: SourceLocation = #_sourceLocation) {
        guard let error = refusal({ () throws(ArtifactError) in try Artifact.decode(bytes, requirements: requirements) }) else {
            Issue.record("accepted", sourceLocation: sourceLocation)
            return
        }
        #expect(expected(error), "\(error)", sourceLocation: sourceLocation)
        for word in words {
            #expect(error.description.contains(word), "\"\(error.description)\" does not say \"\(word)\"", sourceLocation: sourceLocation)
        }
    }

    @Test func theUntamperedArtifactIsAccepted() throws {
        let decoded = try Artifact.decode(try Self.artifact())
        #expect(decoded.compiled.module.imports.count == 1)
    }

    @Test func badMagic() throws {
        var bytes = try Self.artifact()
        bytes[0] = UInt8(ascii: "X")
        Self.expectRefused(bytes, LoadRequirements(), { $0 == .badMagic }, ["bad magic"])
        Self.expectRefused(read("Tests/wasi-programs/hello.wasm"), LoadRequirements(), { $0 == .badMagic }, ["not a Shoal artifact"])
        Self.expectRefused([], LoadRequirements(), { $0 == .badMagic }, ["bad magic"])
    }

    @Test func unsupportedVersion() throws {
        var bytes = try Self.artifact()
        writeU32(&bytes, at: 8, ArtifactFormat.version + 1)
        fixChecksum(&bytes)
        Self.expectRefused(bytes, LoadRequirements(), { $0 == .unsupportedVersion(format: ArtifactFormat.version + 1, abi: ShoalVersion.abi) },
                           ["format version \(ArtifactFormat.version + 1)"])
        // A version 1 artifact (before the tier counts joined the contract) is refused, not misread.
        var old = try Self.artifact()
        writeU32(&old, at: 8, 1)
        fixChecksum(&old)
        Self.expectRefused(old, LoadRequirements(), { $0 == .unsupportedVersion(format: 1, abi: ShoalVersion.abi) }, ["format version 1"])
        // Nor is a version 2 one (before function ranges carried fast entries).
        var v2 = try Self.artifact()
        writeU32(&v2, at: 8, 2)
        fixChecksum(&v2)
        Self.expectRefused(v2, LoadRequirements(), { $0 == .unsupportedVersion(format: 2, abi: ShoalVersion.abi) }, ["format version 2"])
        var abi = try Self.artifact()
        writeU32(&abi, at: 12, ShoalVersion.abi + 1)
        fixChecksum(&abi)
        Self.expectRefused(abi, LoadRequirements(), { $0 == .unsupportedVersion(format: ArtifactFormat.version, abi: ShoalVersion.abi + 1) },
                           ["ABI version \(ShoalVersion.abi + 1)"])
    }

    @Test func truncated() throws {
        let bytes = try Self.artifact()
        Self.expectRefused(Array(bytes.dropLast(100)), LoadRequirements(), { if case .truncated = $0 { true } else { false } },
                           ["truncated", "the header says \(bytes.count) bytes, the file has \(bytes.count - 100)"])
        Self.expectRefused(Array(bytes.prefix(30)), LoadRequirements(), { if case .truncated = $0 { true } else { false } },
                           ["truncated", "shorter than the header"])
        Self.expectRefused(Array(bytes.dropLast(1)), LoadRequirements(), { if case .truncated = $0 { true } else { false } }, ["truncated"])
    }

    @Test func checksumMismatch() throws {
        var bytes = try Self.artifact()
        bytes[bytes.count - 200] ^= 0x10  // in the code
        Self.expectRefused(bytes, LoadRequirements(), { $0 == .checksumMismatch }, ["CRC-32C"])
        var crc = try Self.artifact()
        crc[crc.count - 1] ^= 1  // the checksum itself
        Self.expectRefused(crc, LoadRequirements(), { $0 == .checksumMismatch }, ["checksum does not match"])
    }

    @Test func malformed() throws {
        let isMalformed: (ArtifactError) -> Bool = { if case .malformed = $0 { true } else { false } }
        // A section offset past the end of the file, checksum recomputed.
        var past = try Self.artifact()
        writeU64(&past, at: sectionEntry(.code).offsetField, UInt64(past.count + 4096))
        fixChecksum(&past)
        Self.expectRefused(past, LoadRequirements(), isMalformed, ["malformed", "code", "outside the content"])
        // A section length running past the content.
        var long = try Self.artifact()
        writeU64(&long, at: sectionEntry(.data).lengthField, 1 << 40)
        fixChecksum(&long)
        Self.expectRefused(long, LoadRequirements(), isMalformed, ["malformed", "data", "outside the content"])
        // A trap site outside the code: the code tables end with the trap sites (guarded code has some).
        let (c, _) = try Self.compiled()
        #expect(!c.trapSites.isEmpty)
        var site = try Self.artifact()
        let tables = sectionEntry(.codeTables)
        let tablesEnd = Int(readU64(site, at: tables.offsetField) + readU64(site, at: tables.lengthField))
        writeU32(&site, at: tablesEnd - 4, UInt32(c.code.count + 16))
        fixChecksum(&site)
        Self.expectRefused(site, LoadRequirements(), isMalformed, ["malformed", "code tables", "trap site \(c.code.count + 16)"])
        // Unknown flags.
        var flags = try Self.artifact()
        writeU32(&flags, at: 16, 4)
        fixChecksum(&flags)
        Self.expectRefused(flags, LoadRequirements(), isMalformed, ["unknown flags"])
        // Non-zero padding (the reader would otherwise ignore it).
        var padding = try Self.artifact()
        let code = Int(readU64(padding, at: sectionEntry(.code).offsetField))
        #expect(padding[code - 1] == 0)
        padding[code - 1] = 0x90
        fixChecksum(&padding)
        Self.expectRefused(padding, LoadRequirements(), isMalformed, ["non-zero padding before the code section"])
        // An absent optional value (a zero flag byte and eight zero bytes, as the module's absent
        // start function is written) with a non-zero byte.
        var absent = try Self.artifact()
        let module = Int(readU64(absent, at: sectionEntry(.module).offsetField))
        let moduleEnd = module + Int(readU64(absent, at: sectionEntry(.module).lengthField))
        #expect(try Artifact.decode(absent).compiled.module.start == nil)
        // Found by trying each run of nine zero bytes in the module section.
        var refusedAbsent = false
        for at in module..<(moduleEnd - 9) where absent[at] == 0 && absent[(at + 1)...(at + 8)].allSatisfy({ $0 == 0 }) {
            absent[at + 8] = 1
            fixChecksum(&absent)
            if case .malformed(let why)? = refusal({ () throws(ArtifactError) in try Artifact.decode(absent) }),
               why.contains("an absent value with non-zero bytes") {
                refusedAbsent = true
                break
            }
            absent[at + 8] = 0
        }
        #expect(refusedAbsent, "some absent optional value, given non-zero bytes, is refused")
        // Bytes after the end the header gives.
        var extra = try Self.artifact()
        extra += [0, 0, 0, 0]
        fixChecksum(&extra)
        Self.expectRefused(extra, LoadRequirements(), isMalformed, ["4 bytes after the end"])
    }

    @Test func unsigned() throws {
        var requirements = LoadRequirements()
        requirements.trustedKeys = [Array(Curve25519.Signing.PrivateKey().publicKey.rawRepresentation)]
        Self.expectRefused(try Self.artifact(), requirements, { $0 == .unsigned }, ["not signed"])
    }

    @Test func badSignature() throws {
        let signer = Curve25519.Signing.PrivateKey(), other = Curve25519.Signing.PrivateKey()
        let bytes = try Self.artifact(key: signer)
        var requirements = LoadRequirements()
        requirements.trustedKeys = [Array(other.publicKey.rawRepresentation)]
        Self.expectRefused(bytes, requirements, { $0 == .badSignature }, ["signature does not verify"])
        // The signer's key is accepted, also among others.
        requirements.trustedKeys.append(Array(signer.publicKey.rawRepresentation))
        #expect(try Artifact.decode(bytes, requirements: requirements).isSigned)
        // Signed artifacts load where no key is required (signature not checked then).
        #expect(try Artifact.decode(bytes).isSigned)
    }

    @Test func missingCPUFeatures() throws {
        var (c, source) = try Self.compiled()
        if c.cpuFeatures.isEmpty {
            // This machine has none of the optional instructions: craft the contract's claim.
            c = CompiledModule(module: c.module, layout: c.layout, code: c.code, functionOffsets: c.functionOffsets,
                               functionEnds: c.functionEnds, fastEntries: c.fastEntries, entryTrampoline: c.entryTrampoline, entryExit: c.entryExit,
                               trapExit: c.trapExit, hostStub: c.hostStub, trapSites: c.trapSites, options: c.options,
                               cpuFeatures: [.popcnt, .lzcnt])
        }
        let bytes = try Artifact.encode(c, sourceSHA256: sha256(source))
        var requirements = LoadRequirements()
        requirements.cpuFeatures = []
        Self.expectRefused(bytes, requirements, { $0 == .missingCPUFeatures(c.cpuFeatures.names) },
                           ["CPU features"] + c.cpuFeatures.names)
        // Missing only one of them names only that one.
        let one = CPUFeatureSet(rawValue: c.cpuFeatures.rawValue & (~c.cpuFeatures.rawValue + 1))  // lowest bit
        requirements.cpuFeatures = c.cpuFeatures.subtracting(one)
        Self.expectRefused(bytes, requirements, { $0 == .missingCPUFeatures(one.names) }, one.names)
    }

    @Test func heapMismatch() throws {
        let isHeap: (ArtifactError) -> Bool = { if case .heapMismatch = $0 { true } else { false } }
        var requirements = LoadRequirements()
        requirements.heapMode = .bounded
        Self.expectRefused(try Self.artifact(), requirements, isHeap, ["memory layout", "guarded", "bounded"])
        requirements.heapMode = .guarded
        requirements.slotMemoryPages = 1
        Self.expectRefused(try Self.artifact(), requirements, isHeap, ["2 pages", "hold 1"])
        requirements.slotMemoryPages = 2
        #expect(throws: Never.self) { try Artifact.decode(try Self.artifact(), requirements: requirements) }
    }

    @Test func importNotGranted() throws {
        var requirements = LoadRequirements()
        requirements.isGranted = { $0.module != "p" || $0.name != "add" }
        Self.expectRefused(try Self.artifact(), requirements, { $0 == .importNotGranted(module: "p", name: "add") },
                           ["p.add", "not granted"])
        requirements.isGranted = { $0.functionType == FuncType(params: [.i32, .i32], results: [.i32]) }
        #expect(throws: Never.self) { try Artifact.decode(try Self.artifact(), requirements: requirements) }
    }

    @Test func optionsMismatch() throws {
        let isOptions: (ArtifactError) -> Bool = { if case .optionsMismatch = $0 { true } else { false } }
        var requirements = LoadRequirements()
        requirements.fuel = true
        Self.expectRefused(try Self.artifact(), requirements, isOptions, ["without fuel counting"])
        requirements.fuel = false
        Self.expectRefused(try Self.artifact(CompileOptions(heapMode: .guarded, fuel: true)), requirements, isOptions,
                           ["with fuel counting"])
        requirements.fuel = nil
        let noYield = try Self.artifact(CompileOptions(heapMode: .guarded, yieldChecks: false))
        Self.expectRefused(noYield, requirements, isOptions, ["without yield checks"])
        requirements.requireYieldChecks = false
        #expect(throws: Never.self) { try Artifact.decode(noYield, requirements: requirements) }
    }

    /// A compiled module with its module structure or contract changed, encoded as is: what a
    /// crafted (or wrongly produced) unsigned artifact can say. Each must be refused as malformed
    /// by name, before instantiation sees it.
    static func recompiled(_ c: CompiledModule, module: Module) -> CompiledModule {
        CompiledModule(module: module, layout: c.layout, code: c.code, functionOffsets: c.functionOffsets, functionEnds: c.functionEnds,
                       fastEntries: c.fastEntries, entryTrampoline: c.entryTrampoline, entryExit: c.entryExit, trapExit: c.trapExit, hostStub: c.hostStub,
                       trapSites: c.trapSites, options: c.options, cpuFeatures: c.cpuFeatures)
    }

    @Test func constantExpressionsAreCheckedLikeTheValidatorDoes() throws {
        let source = try TextFormat.wat2wasm("""
            (module
              (import "p" "g" (global i32))
              (import "p" "gm" (global (mut i32)))
              (table 4 funcref)
              (global $a (mut i32) (global.get 0))
              (global $b i32 (i32.const 5))
              (global $f funcref (ref.func $x))
              (elem (i32.const 0) func $x)
              (memory 1)
              (data (i32.const 8) "hi")
              (func $x (result i32) global.get $a))
            """)
        let c = try ModuleCompiler.compile(bytes: source, options: CompileOptions(heapMode: .guarded))
        #expect(throws: Never.self) { try Artifact.decode(try Artifact.encode(c, sourceSHA256: sha256(source))) }
        let isMalformed: (ArtifactError) -> Bool = { if case .malformed = $0 { true } else { false } }
        func refused(_ change: (inout Module) -> Void, _ words: [String], sourceLocation: SourceLocation = #_sourceLocation) throws {
            var m = c.module
            change(&m)
            let bytes = try Artifact.encode(Self.recompiled(c, module: m), sourceSHA256: sha256(source))
            Self.expectRefused(bytes, LoadRequirements(), isMalformed, words, sourceLocation: sourceLocation)
        }
        // A defined global read by an initializer: `Instance.evaluate` would index the instance's
        // globals array before that global is appended (out of range: a Swift trap that kills
        // the process). The old check only bounded the index by the count of all globals.
        try refused({ $0.globals[0].initializer = .globalGet(3) }, ["global.get 3"])
        try refused({ $0.globals[0].initializer = .globalGet(2) }, ["global.get 2"])
        // A mutable imported global.
        try refused({ $0.globals[1].initializer = .globalGet(1) }, ["global.get 1"])
        // An integer where a funcref belongs: the code would call through it.
        try refused({ $0.globals[2].initializer = .i32(0x4141) }, ["i32", "funcref"])
        try refused({ $0.elements[0].initializers[0] = .i64(1) }, ["i64", "funcref"])
        try refused({ $0.elements[0].type = .externref }, ["externref elements for a funcref table"])
        try refused({ $0.elements[0].mode = .active(table: 0, offset: .f32(bits: 0)) }, ["f32", "i32"])
        try refused({ $0.data[0].mode = .active(memory: 0, offset: .i64(8)) }, ["i64", "i32"])
        // A start function that takes or returns values (instantiation calls it with none).
        try refused({ $0.start = 0 }, ["start function 0", "not [] -> []"])
    }

    @Test func theHeapSpecMustBeTheOneItsModeImplies() throws {
        var bytes = try Self.artifact()
        // The contract section starts with: has-heap (1), mode (1), reservation (8), guard (8).
        let contract = Int(readU64(bytes, at: sectionEntry(.contract).offsetField))
        #expect(bytes[contract] == 1 && bytes[contract + 1] == 0)
        writeU64(&bytes, at: contract + 10, 4096)  // a guard of one page
        fixChecksum(&bytes)
        Self.expectRefused(bytes, LoadRequirements(), { if case .malformed = $0 { true } else { false } },
                           ["reservation", "guard 4096"])
    }

    @Test func unknownFeatureBitsAreNamed() throws {
        var (c, source) = try Self.compiled()
        c = CompiledModule(module: c.module, layout: c.layout, code: c.code, functionOffsets: c.functionOffsets,
                           functionEnds: c.functionEnds, entryTrampoline: c.entryTrampoline, entryExit: c.entryExit,
                           trapExit: c.trapExit, hostStub: c.hostStub, trapSites: c.trapSites, options: c.options,
                           cpuFeatures: CPUFeatureSet(rawValue: 1 << 40))
        let bytes = try Artifact.encode(c, sourceSHA256: sha256(source))
        Self.expectRefused(bytes, LoadRequirements(), { $0 == .missingCPUFeatures(["unknown feature bit 40"]) }, ["unknown feature bit 40"])
    }
}
