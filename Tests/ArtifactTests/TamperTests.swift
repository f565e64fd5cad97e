import Artifacts
import Compiler
import Crypto
import FuzzSupport
import Foundation
import Runtime
import RuntimeABI
import Testing
import WasmCore

/// Seeded single-byte flips over every region of a real module's artifact (hello.wasm): every
/// flipped file is refused, never accepted and never a crash; then the same with the checksum
/// fixed after the flip (an attacker who edits the file on purpose), where an unsigned artifact
/// may decode only to something harmless (defined by `sandboxed` and `codeTrust`) and a signed one never decodes.
@Suite("artifacts: tampering", .serialized)
struct TamperTests {
    struct Region {
        var name: String
        var range: Range<Int>
    }

    /// The artifact's regions, read from its header and section table: header, section table,
    /// each section, the padding between sections, the signature, the checksum.
    static func regions(_ bytes: [UInt8], signed: Bool) -> [Region] {
        var result = [Region(name: "header", range: 0..<ArtifactFormat.headerSize)]
        let tableEnd = ArtifactFormat.headerSize + ArtifactFormat.Section.allCases.count * ArtifactFormat.sectionEntrySize
        result.append(Region(name: "section table", range: ArtifactFormat.headerSize..<tableEnd))
        var padding: [Int] = []
        var previous = tableEnd
        for section in ArtifactFormat.Section.allCases {
            let entry = sectionEntry(section)
            let offset = Int(readU64(bytes, at: entry.offsetField)), length = Int(readU64(bytes, at: entry.lengthField))
            padding += Array(previous..<offset)
            result.append(Region(name: "\(section)", range: offset..<(offset + length)))
            previous = offset + length
        }
        // Padding is scattered in principle (in practice it is one run, before the code): keep it
        // as the span from its first to its last byte and check every byte is padding.
        if let first = padding.first, let last = padding.last {
            precondition(padding.count == last - first + 1, "padding in one run")
            result.append(Region(name: "padding", range: first..<(last + 1)))
        }
        let content = Int(readU64(bytes, at: 24))
        if signed { result.append(Region(name: "signature", range: content..<(content + ArtifactFormat.signatureSize))) }
        result.append(Region(name: "checksum", range: (bytes.count - 4)..<bytes.count))
        return result
    }

    /// Header bytes checked before the checksum and the signature: all but the section count.
    static func isFraming(_ at: Int) -> Bool { at < 20 || (24..<ArtifactFormat.headerSize).contains(at) }

    static let flipsPerRegion = 1_250
    static let fixedFlipsPerRegionSigned = 250

    final class Subject: @unchecked Sendable {
        let source = read("Tests/wasi-programs/hello.wasm")
        let key = Curve25519.Signing.PrivateKey()
        let compiled: CompiledModule
        let unsigned: [UInt8]
        let signed: [UInt8]
        let original: Artifact

        init() throws {
            compiled = try ModuleCompiler.compile(bytes: source, options: CompileOptions(heapMode: .guarded))
            unsigned = try Artifact.encode(compiled, sourceSHA256: sha256(source))
            signed = try Artifact.encode(compiled, sourceSHA256: sha256(source), signingKey: key)
            original = try Artifact.decode(unsigned)
        }

        /// What an engine with guarded slots and no fuel asks (the signed one: this key only).
        func requirements(signed: Bool) -> LoadRequirements {
            var r = LoadRequirements()
            r.heapMode = .guarded
            r.fuel = false
            if signed { r.trustedKeys = [Array(key.publicKey.rawRepresentation)] }
            return r
        }
    }

    /// One flip: a position in the region and a non-zero XOR mask (half of them a single bit).
    static func flips(_ regions: [Region], perRegion: Int, seed: UInt64) -> [(region: String, at: Int, mask: UInt8)] {
        var rng = SplitMix64(state: seed)
        var result: [(String, Int, UInt8)] = []
        for region in regions where !region.range.isEmpty {
            for i in 0..<perRegion {
                let at = region.range.lowerBound + rng.below(region.range.count)
                let mask = i % 2 == 0 ? UInt8(1) << UInt8(rng.below(8)) : UInt8(1 + rng.below(255))
                result.append((region.name, at, mask))
            }
        }
        return result
    }

    static func report(_ title: String, _ counts: [String: Int]) {
        print("\(title): " + counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
    }

    @Test("single-byte flips are all refused (checksum not fixed)")
    func flipsAreRefused() throws {
        let subject = try Subject()
        var total = 0
        for signed in [false, true] {
            var bytes = signed ? subject.signed : subject.unsigned
            let requirements = subject.requirements(signed: signed)
            let regions = Self.regions(bytes, signed: signed)
            #expect(regions.count == (signed ? 10 : 9), "\(regions.map(\.name))")
            var byClass: [String: Int] = [:], byRegion: [String: Int] = [:]
            for (region, at, mask) in Self.flips(regions, perRegion: Self.flipsPerRegion, seed: signed ? 2 : 1) {
                bytes[at] ^= mask
                let error = refusal { () throws(ArtifactError) in try Artifact.decode(bytes, requirements: requirements) }
                bytes[at] ^= mask
                guard let error else {
                    Issue.record("accepted: \(region) byte \(at) ^ 0x\(String(mask, radix: 16))")
                    continue
                }
                byClass[errorClass(error), default: 0] += 1
                byRegion[region, default: 0] += 1
                // Outside the framing fields the reader checks first (magic, versions, flags, lengths,
                // reserved bytes), the checksum is what catches a flip.
                if !Self.isFraming(at) { #expect(error == .checksumMismatch, "\(region) byte \(at): \(error)") }
                total += 1
            }
            Self.report("\(signed ? "signed" : "unsigned") flips by region", byRegion)
            Self.report("\(signed ? "signed" : "unsigned") refusals", byClass)
        }
        #expect(total >= 10_000)
    }

    /// What changed between the original artifact and one decoded from a flipped file.
    static func changes(_ a: Artifact, _ b: Artifact) -> Set<String> {
        var changed: Set<String> = []
        let x = CompiledShape(a.compiled), y = CompiledShape(b.compiled)
        if x.code != y.code { changed.insert("code") }
        if x.functionOffsets != y.functionOffsets || x.functionEnds != y.functionEnds || x.fastEntries != y.fastEntries { changed.insert("function ranges") }
        if x.stubs != y.stubs { changed.insert("stubs") }
        if x.trapSites != y.trapSites { changed.insert("trap sites") }
        if x.layout != y.layout { changed.insert("layout") }
        let m = x.module, n = y.module
        if m.functionNames != n.functionNames { changed.insert("function name") }
        if m.exports.map(\.name) != n.exports.map(\.name) { changed.insert("export name") }
        if m.exports.map({ "\($0.kind) \($0.index)" }) != n.exports.map({ "\($0.kind) \($0.index)" }) { changed.insert("export index") }
        if m.dataBytes != n.dataBytes { changed.insert("data bytes") }
        if m.dataModes != n.dataModes { changed.insert("data placement") }
        if m.types != n.types { changed.insert("types") }
        if m.imports != n.imports { changed.insert("imports") }
        if m.functionTypeIndices != n.functionTypeIndices { changed.insert("function types") }
        if m.tables != n.tables { changed.insert("tables") }
        if m.memories != n.memories { changed.insert("memories") }
        if m.globals != n.globals { changed.insert("globals") }
        if m.start != n.start { changed.insert("start") }
        if m.elements != n.elements { changed.insert("elements") }
        if m.dataCount != n.dataCount { changed.insert("data count") }
        let c = a.contract, d = b.contract
        if c.heap != d.heap { changed.insert("contract heap") }
        if c.imports != d.imports { changed.insert("contract imports") }
        if c.options != d.options || x.options != y.options { changed.insert("options") }
        if c.cpuFeatures != d.cpuFeatures || x.cpuFeatures != y.cpuFeatures { changed.insert("cpu features") }
        if c.sourceSHA256 != d.sourceSHA256 { changed.insert("source hash") }
        if c.compilerVersion != d.compilerVersion { changed.insert("compiler version") }
        if a.isSigned != b.isSigned { changed.insert("signed flag") }
        return changed
    }

    /// What an unsigned artifact cannot tell from the original once the checksum is fixed, in two
    /// tiers. Anything else accepted fails the test.
    ///
    /// Harmless, inside the sandbox: the result is a module as valid as the original (decode
    /// re-checks every index and every constant expression's type) that differs only in
    /// - nothing (the flip landed on a byte the reader ignores, such as an absent maximum's value);
    /// - a function name or an export name (debug names; a renamed export is not found by its old
    ///   name), or which of its own functions, tables, memories or globals an export names;
    /// - data segment bytes or where a segment is placed (instantiation bounds-checks placement);
    /// - global initial values, element segment offsets and contents, table limits, the data count
    ///   (the module's own state: every access to it is checked at run time as it is for any module);
    /// - the source hash or the compiler version string (metadata; nothing loads by them).
    /// These are instantiated below, to show that loading them does not crash.
    static let sandboxed: Set<String> = ["function name", "export name", "export index", "data bytes", "data placement", "globals",
                                         "elements", "tables", "data count", "source hash", "compiler version"]
    /// Trusted as code: the machine code; the code tables (function ranges, stubs, trap sites) when
    /// they still pass every bounds check; and what the code was compiled against and cannot be
    /// re-derived without compiling again: the function types, the start function (still of type
    /// [] -> []), the import descriptors beyond the contract's list, the CPU features it claims.
    /// Whoever can write an unsigned artifact can write any code; that is the trust boundary the
    /// signature exists for, and the signed artifact refuses every one of these flips (below).
    /// These are decoded but not run.
    static let codeTrust: Set<String> = ["code", "function ranges", "stubs", "trap sites", "types", "function types", "start",
                                         "imports", "cpu features"]

    @Test("with the checksum fixed: unsigned flips are refused or harmless, signed flips are all refused")
    func flipsWithFixedChecksum() throws {
        let subject = try Subject()
        // Unsigned.
        var bytes = subject.unsigned
        var requirements = subject.requirements(signed: false)
        // The checksum region is left out: recomputing the checksum undoes a flip there.
        let regions = Self.regions(bytes, signed: false).filter { $0.name != "checksum" }
        var refusals: [String: Int] = [:], accepted: [String: Int] = [:], notHarmless: [String: Int] = [:]
        var instantiated = 0, codeTrusted = 0
        var instantiationRefused: [String: Int] = [:]
        var flipCount = 0
        for (region, at, mask) in Self.flips(regions, perRegion: Self.flipsPerRegion, seed: 3) {
            flipCount += 1
            bytes[at] ^= mask
            let checksum = Array(bytes[(bytes.count - 4)...])
            fixChecksum(&bytes)
            let result: Result<Artifact, ArtifactError> = Result { () throws(ArtifactError) in
                try Artifact.decode(bytes, requirements: requirements)
            }
            bytes[at] ^= mask
            bytes.replaceSubrange((bytes.count - 4)..., with: checksum)
            switch result {
            case .failure(let error):
                refusals[errorClass(error), default: 0] += 1
            case .success(let artifact):
                let changed = Self.changes(subject.original, artifact)
                let key = changed.isEmpty ? "nothing" : changed.sorted().joined(separator: "+")
                accepted["\(region): \(key)", default: 0] += 1
                if !changed.isSubset(of: Self.sandboxed.union(Self.codeTrust)) {
                    notHarmless["\(region): \(key)", default: 0] += 1
                } else if changed.isSubset(of: Self.sandboxed) {
                    // Loading what decoded does not crash: it instantiates, or instantiation refuses
                    // it with an error (a segment placed out of bounds traps, as for any module).
                    let store = Store(heapMode: .guarded)
                    do {
                        _ = try store.instantiate(artifact.compiled, resolver: stubImports(artifact.compiled.module))
                        instantiated += 1
                    } catch {
                        instantiationRefused["\(type(of: error))", default: 0] += 1
                    }
                } else {
                    codeTrusted += 1
                }
            }
        }
        Self.report("unsigned, checksum fixed: \(flipCount) flips; refusals", refusals)
        Self.report("unsigned, checksum fixed: accepted (region: what changed)", accepted)
        print("unsigned, checksum fixed: \(instantiated) accepted sandboxed flips instantiated, \(codeTrusted) accepted in the code's trust")
        Self.report("unsigned, checksum fixed: sandboxed flips whose instantiation failed (not crashed)", instantiationRefused)
        #expect(notHarmless.isEmpty, "accepted and not harmless: \(notHarmless)")
        // Bytes the reader would otherwise ignore are checked: padding, absent values' bytes.
        #expect(!accepted.keys.contains { $0.hasPrefix("padding") || $0.hasSuffix(": nothing") }, "\(accepted)")

        // Signed: every flip refused. A flip in the framing fields the reader checks before the
        // signature (magic, version, ABI, flags, lengths, reserved bytes) is refused for that;
        // every other flip by the signature.
        bytes = subject.signed
        requirements = subject.requirements(signed: true)
        var signedRefusals: [String: Int] = [:]
        let signedRegions = Self.regions(bytes, signed: true).filter { $0.name != "checksum" }
        for (region, at, mask) in Self.flips(signedRegions, perRegion: Self.fixedFlipsPerRegionSigned, seed: 4) {
            flipCount += 1
            bytes[at] ^= mask
            let checksum = Array(bytes[(bytes.count - 4)...])
            fixChecksum(&bytes)
            let error = refusal { () throws(ArtifactError) in try Artifact.decode(bytes, requirements: requirements) }
            bytes[at] ^= mask
            bytes.replaceSubrange((bytes.count - 4)..., with: checksum)
            guard let error else {
                Issue.record("signed artifact accepted with \(region) byte \(at) ^ 0x\(String(mask, radix: 16))")
                continue
            }
            signedRefusals[errorClass(error), default: 0] += 1
            if !Self.isFraming(at) { #expect(error == .badSignature, "\(region) byte \(at): \(error)") }
        }
        Self.report("signed, checksum fixed: refusals", signedRefusals)
        print("checksum-fixed flips in all: \(flipCount)")
    }
}
