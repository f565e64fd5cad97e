import CShoal
import Crypto
import Foundation
import RuntimeABI
import WasmCore

/// A compiled module as a file: machine code, the tables the runtime needs, the module's
/// structure, and its contract, optionally signed (Ed25519). See `ArtifactFormat` and
/// Docs/ARTIFACT.md.
public struct Artifact: Sendable {
    public let compiled: CompiledModule
    public let contract: ArtifactContract
    public let isSigned: Bool
    /// Each section's place in the file (for `shoal inspect`).
    public let sections: [(section: ArtifactFormat.Section, offset: Int, length: Int)]
    public let byteCount: Int

    // MARK: Writing

    /// The artifact of `compiled` (compiled from bytes with SHA-256 `sourceSHA256`), signed with
    /// `signingKey` if given.
    public static func encode(_ compiled: CompiledModule, sourceSHA256: [UInt8],
                              signingKey: Curve25519.Signing.PrivateKey? = nil) throws -> [UInt8] {
        var contract = ByteWriter()
        ArtifactContract(compiled, sourceSHA256: sourceSHA256).encode(into: &contract)
        var module = ByteWriter()
        var data: [UInt8] = []
        ModuleCodec.encode(compiled.module, into: &module, data: &data)
        var tables = ByteWriter()
        for offset in [compiled.entryTrampoline, compiled.entryExit, compiled.trapExit, compiled.hostStub] { tables.u64(UInt64(offset)) }
        tables.count(compiled.functionOffsets.count)
        for (i, (start, end)) in zip(compiled.functionOffsets, compiled.functionEnds).enumerated() {
            tables.u64(UInt64(start))
            tables.u64(UInt64(end))
            tables.u64(UInt64(compiled.fastEntries[i]))
        }
        tables.count(compiled.trapSites.count)
        for site in compiled.trapSites { tables.u32(site) }
        let bodies: [(ArtifactFormat.Section, [UInt8])] = [(.contract, contract.bytes), (.module, module.bytes), (.data, data),
                                                          (.codeTables, tables.bytes), (.code, compiled.code)]
        // Layout: header, table, then the sections; the code on a page boundary.
        var offset = ArtifactFormat.headerSize + bodies.count * ArtifactFormat.sectionEntrySize
        var placed: [(ArtifactFormat.Section, Int, [UInt8])] = []
        for (section, body) in bodies {
            if section == .code { offset = (offset + ArtifactFormat.codeAlignment - 1) / ArtifactFormat.codeAlignment * ArtifactFormat.codeAlignment }
            placed.append((section, offset, body))
            offset += body.count
        }
        let contentLength = offset
        let fileLength = contentLength + (signingKey != nil ? ArtifactFormat.signatureSize : 0) + ArtifactFormat.checksumSize
        var out = ByteWriter()
        out.bytes.reserveCapacity(fileLength)
        out.bytes += ArtifactFormat.magic
        out.u32(ArtifactFormat.version)
        out.u32(ShoalVersion.abi)
        out.u32(signingKey != nil ? ArtifactFormat.signedFlag : 0)
        out.count(bodies.count)
        out.u64(UInt64(contentLength))
        out.u64(UInt64(fileLength))
        out.bytes += [UInt8](repeating: 0, count: ArtifactFormat.headerSize - out.bytes.count)
        for (section, at, body) in placed {
            out.u32(section.rawValue)
            out.u32(0)
            out.u64(UInt64(at))
            out.u64(UInt64(body.count))
        }
        for (_, at, body) in placed {
            out.bytes += [UInt8](repeating: 0, count: at - out.bytes.count)
            out.bytes += body
        }
        if let signingKey {
            let signature = try signingKey.signature(for: out.bytes)
            out.bytes += [UInt8](signature)
        }
        out.u32(checksum(out.bytes[...]))
        precondition(out.bytes.count == fileLength)
        return out.bytes
    }

    static func checksum(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        bytes.withUnsafeBytes { shoal_crc32c(0, $0.baseAddress, $0.count) }
    }

    // MARK: Reading

    /// Checks `bytes` completely — framing, checksum, signature, every section's bounds and
    /// contents, the contract against `requirements` — and returns the artifact. Nothing is
    /// mapped or run here: the caller loads `compiled` only after this returned.
    public static func decode(_ bytes: [UInt8], requirements: LoadRequirements = LoadRequirements()) throws(ArtifactError) -> Artifact {
        do {
            return try bytes.withUnsafeBytes { raw in try decode(raw, requirements: requirements, copyingCode: true).artifact }
        } catch let error as ArtifactError {
            throw error
        } catch {
            throw .malformed("\(error)")
        }
    }

    /// The same checks on bytes in memory the caller owns (an `ArtifactImage`). With
    /// `copyingCode` false the returned module's `code` is empty and `codeRange` says where the
    /// code is in `raw`, so it can be made executable where it lies.
    static func decode(_ raw: UnsafeRawBufferPointer, requirements: LoadRequirements, copyingCode: Bool, knownChecksum: UInt32? = nil)
        throws(ArtifactError) -> (artifact: Artifact, codeRange: Range<Int>) {
        func slice(_ range: Range<Int>) -> ArraySlice<UInt8> { Array(UnsafeRawBufferPointer(rebasing: raw[range]))[...] }
        let count = raw.count
        guard count >= ArtifactFormat.magic.count, Array(slice(0..<ArtifactFormat.magic.count)) == ArtifactFormat.magic else { throw .badMagic }
        guard count >= ArtifactFormat.headerSize + ArtifactFormat.checksumSize else {
            throw .truncated("\(count) bytes, shorter than the header")
        }
        var header = ByteReader(slice(ArtifactFormat.magic.count..<ArtifactFormat.headerSize), section: "header")
        let version = try header.u32(), abi = try header.u32()
        guard version == ArtifactFormat.version, abi == ShoalVersion.abi else { throw .unsupportedVersion(format: version, abi: abi) }
        let flags = try header.u32()
        let sectionCount = Int(try header.u32())
        let contentLength = try header.u64(), fileLength = try header.u64()
        guard flags & ~ArtifactFormat.signedFlag == 0 else { throw .malformed("header: unknown flags 0x\(String(flags, radix: 16))") }
        for b in try header.take(ArtifactFormat.headerSize - 40) where b != 0 { throw .malformed("header: reserved bytes are not zero") }
        let signed = flags & ArtifactFormat.signedFlag != 0
        guard fileLength == UInt64(count) else {
            throw fileLength > UInt64(count) ? .truncated("the header says \(fileLength) bytes, the file has \(count)")
                                             : .malformed("\(UInt64(count) - fileLength) bytes after the end the header gives")
        }
        let trailer = UInt64((signed ? ArtifactFormat.signatureSize : 0) + ArtifactFormat.checksumSize)
        guard contentLength <= fileLength, fileLength - contentLength == trailer else {
            throw .malformed("header: content length \(contentLength) does not fit file length \(fileLength)")
        }
        let content = Int(contentLength)
        var stored = ByteReader(slice((count - ArtifactFormat.checksumSize)..<count), section: "checksum")
        // (An `ArtifactImage` computed it while reading; it covers the same bytes.)
        let crc = knownChecksum ?? shoal_crc32c(0, raw.baseAddress, count - ArtifactFormat.checksumSize)
        guard try stored.u32() == crc else { throw .checksumMismatch }
        if signed {
            let signature = slice(content..<(content + ArtifactFormat.signatureSize))
            if !requirements.trustedKeys.isEmpty {
                let message = UnsafeRawBufferPointer(rebasing: raw[0..<content])
                let verified = requirements.trustedKeys.contains { key in
                    (try? Curve25519.Signing.PublicKey(rawRepresentation: key))?.isValidSignature(signature, for: message) ?? false
                }
                guard verified else { throw .badSignature }
            }
        } else if !requirements.trustedKeys.isEmpty {
            throw .unsigned
        }
        // The section table: every section once, in order, inside the content, not overlapping.
        guard sectionCount == ArtifactFormat.Section.allCases.count else { throw .malformed("\(sectionCount) sections, expected 5") }
        let tableEnd = ArtifactFormat.headerSize + sectionCount * ArtifactFormat.sectionEntrySize
        guard tableEnd <= content else { throw .truncated("the section table ends past the content") }
        var table = ByteReader(slice(ArtifactFormat.headerSize..<tableEnd), section: "section table")
        var sections: [(section: ArtifactFormat.Section, offset: Int, length: Int)] = []
        var previousEnd = tableEnd
        for expected in ArtifactFormat.Section.allCases {
            let id = try table.u32()
            guard id == expected.rawValue, try table.u32() == 0 else { throw .malformed("section table: entry \(id) where \(expected.name) belongs") }
            let offset = try table.u64(), length = try table.u64()
            guard offset >= UInt64(previousEnd), offset <= contentLength, length <= contentLength - offset else {
                throw .malformed("section table: \(expected.name) at \(offset)+\(length) is outside the content or overlaps")
            }
            if expected == .code, offset % UInt64(ArtifactFormat.codeAlignment) != 0 {
                throw .malformed("section table: the code is not page-aligned")
            }
            // The padding before a section (the code's page alignment) is zero, as written.
            for b in UnsafeRawBufferPointer(rebasing: raw[previousEnd..<Int(offset)]) where b != 0 { throw .malformed("non-zero padding before the \(expected.name) section") }
            sections.append((expected, Int(offset), Int(length)))
            previousEnd = Int(offset + length)
        }
        func range(_ s: ArtifactFormat.Section) -> Range<Int> {
            let e = sections[Int(s.rawValue) - 1]
            return e.offset..<(e.offset + e.length)
        }
        var contractReader = ByteReader(slice(range(.contract)), section: "contract")
        let contract = try ArtifactContract.decode(&contractReader)
        guard contract.abiVersion == ShoalVersion.abi else { throw .unsupportedVersion(format: version, abi: contract.abiVersion) }
        try contract.check(requirements)
        var moduleReader = ByteReader(slice(range(.module)), section: "module")
        let module = try ModuleCodec.decode(&moduleReader, data: Array(slice(range(.data))))
        try checkContractMatches(contract, module)
        let codeRange = range(.code)
        let code = copyingCode ? Array(slice(codeRange)) : []
        let compiled = try codeTables(slice(range(.codeTables)), code: code, codeSize: codeRange.count, module: module, contract: contract)
        return (Artifact(compiled: compiled, contract: contract, isSigned: signed, sections: sections, byteCount: count), codeRange)
    }

    /// The contract must describe this module: the same imports (with their types) and memory.
    private static func checkContractMatches(_ contract: ArtifactContract, _ module: Module) throws(ArtifactError) {
        guard contract.imports.count == module.imports.count else { throw .malformed("contract: the import list differs from the module's") }
        for (spec, i) in zip(contract.imports, module.imports) {
            var type: FuncType?
            if case .function(let t) = i.descriptor { type = module.types[Int(t)] }
            guard spec.module == i.module, spec.name == i.name, spec.kind == i.descriptor.kind, spec.functionType == type else {
                throw .malformed("contract: import \(spec.module).\(spec.name) differs from the module's")
            }
        }
        let memory = module.memories.first
        guard (contract.heap == nil) == (memory == nil),
              contract.heap.map({ $0.initialPages == memory!.limits.min && $0.maximumPages == memory!.limits.max }) ?? true
        else { throw .malformed("contract: the heap spec differs from the module's memory") }
        // The reservation and guard the contract states are the ones its mode implies (what the
        // runtime reserves): a contract cannot claim a guard the runtime does not provide.
        if let heap = contract.heap {
            let expected = ArtifactContract.HeapSpec.expected(mode: heap.mode, initialPages: heap.initialPages, maximumPages: heap.maximumPages)
            guard heap == expected else {
                throw .malformed("contract: a \(heap.mode) heap of reservation \(heap.reservation) and guard \(heap.guardSize) bytes (expected \(expected.reservation) and \(expected.guardSize))")
            }
        }
    }

    /// The code tables, checked against the code and the module: every offset inside the code,
    /// functions in order and not overlapping, trap sites inside function bodies.
    private static func codeTables(_ bytes: ArraySlice<UInt8>, code: [UInt8], codeSize: Int, module: Module, contract: ArtifactContract)
        throws(ArtifactError) -> CompiledModule {
        var r = ByteReader(bytes, section: "code tables")
        var stubs: [Int] = []
        for _ in 0..<4 {
            let offset = try r.u64()
            guard offset < UInt64(codeSize) else { throw r.fail("stub offset \(offset) outside \(codeSize) bytes of code") }
            stubs.append(Int(offset))
        }
        let count = try r.count(minimumSize: 24)
        guard count == module.functionTypeIndices.count else { throw r.fail("\(count) function ranges for \(module.functionTypeIndices.count) functions") }
        var offsets: [Int] = [], ends: [Int] = [], fastEntries: [Int] = []
        var previous = UInt64(stubs.max()! + 1)
        for _ in 0..<count {
            let start = try r.u64(), end = try r.u64(), fast = try r.u64()
            guard start >= previous, start < end, end <= UInt64(codeSize) else { throw r.fail("function range \(start)..<\(end)") }
            guard fast == 0 || (fast > start && fast < end) else { throw r.fail("fast entry \(fast) outside function range \(start)..<\(end)") }
            offsets.append(Int(start))
            ends.append(Int(end))
            fastEntries.append(Int(fast))
            previous = end
        }
        var sites: [UInt32] = []
        let siteCount = try r.count(minimumSize: 4)
        sites.reserveCapacity(siteCount)
        let functionsStart = UInt32(offsets.first ?? codeSize)
        var last: UInt32 = 0
        for i in 0..<siteCount {
            let site = try r.u32()
            guard site >= functionsStart, Int(site) < codeSize, i == 0 || site > last else { throw r.fail("trap site \(site)") }
            sites.append(site)
            last = site
        }
        try r.expectEnd()
        if contract.options.heapMode == .bounded && !sites.isEmpty { throw r.fail("trap sites in bounded-heap code") }
        let stats = contract.tierStats
        guard stats.optimizedFunctions + stats.baselineFunctions == offsets.count,
              contract.options.tier == .optimized || stats.optimizedFunctions == 0,
              fastEntries.count(where: { $0 != 0 }) <= stats.optimizedFunctions
        else {
            throw .malformed("contract: tier counts (\(stats.optimizedFunctions) optimized, \(stats.baselineFunctions) baseline) "
                             + "do not match \(offsets.count) functions compiled for the \(contract.options.tier) tier")
        }
        var compiled = CompiledModule(module: module, layout: VMContextLayout(module: module), code: code, functionOffsets: offsets,
                                      functionEnds: ends, fastEntries: fastEntries, entryTrampoline: stubs[0], entryExit: stubs[1], trapExit: stubs[2],
                                      hostStub: stubs[3], trapSites: sites, options: contract.options, cpuFeatures: contract.cpuFeatures)
        compiled.tierStats = stats
        return compiled
    }
}
