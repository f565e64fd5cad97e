import ArgumentParser
import Artifacts
import Foundation
import RuntimeABI
import WasmCore

/// `shoal inspect FILE`: what an artifact holds: header, sections, contract, imports, exports and
/// the machine code of each function.
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",  // spelled out: deriving it from the type name costs a protocol-conformance scan
        abstract: "Describe a Shoal artifact: header, sections, contract, imports, exports, code size per function.",
        discussion: """
            The artifact is checked (framing, checksum, every section) but not against this machine or \
            any engine: an artifact that `shoal run` would refuse (CPU features, unsigned) is still shown.
            """
    )

    @Argument(help: "The artifact file (from `shoal compile`).")
    var file: String

    func run() throws {
        let bytes = try readInput(file)
        guard ArtifactFormat.looksLikeArtifact(bytes) else {
            throw failure("\(file) is not a Shoal artifact; compile it first: shoal compile \(file)")
        }
        let artifact: Artifact
        do {
            artifact = try Artifact.decode(bytes, requirements: .permissive)
        } catch {
            throw failure("\(file): \(error)")
        }
        print(Self.describe(artifact, file: file), terminator: "")
    }

    static func describe(_ artifact: Artifact, file: String) -> String {
        let contract = artifact.contract
        let compiled = artifact.compiled
        let module = compiled.module
        var out = "\(file): Shoal artifact, format version \(ArtifactFormat.version), ABI version \(ShoalVersion.abi), "
        out += "\(artifact.isSigned ? "signed (Ed25519)" : "unsigned"), \(artifact.byteCount) bytes\n"
        out += "sections:\n"
        for s in artifact.sections {
            out += "  " + pad(s.section.name, 12) + " offset " + pad("\(s.offset)", 9, right: true) + "  length " + pad("\(s.length)", 9, right: true) + "\n"
        }
        out += "contract:\n"
        if let heap = contract.heap {
            out += "  heap: \(heap.mode), reservation \(heap.reservation) bytes (\(bytesText(heap.reservation))), guard \(heap.guardSize) bytes (\(bytesText(heap.guardSize)))\n"
            out += "        initial \(heap.initialPages) pages, maximum \(heap.maximumPages.map { "\($0) pages" } ?? "none")\n"
        } else {
            out += "  heap: none (the module defines no memory)\n"
        }
        let options = contract.options
        out += "  options: heap mode \(options.heapMode), yield checks \(options.yieldChecks ? "on" : "off"), fuel \(options.fuel ? "on" : "off")\n"
        out += "  tier: \(options.tier.rawValue) (\(contract.tierStats.optimizedFunctions) functions optimized, "
            + "\(contract.tierStats.baselineFunctions) baseline"
            + contract.tierStats.fallbackReasons.sorted { $0.key < $1.key }.map { "; \($0.value) left to the baseline: \($0.key)" }.joined()
            + ")\n"
        out += "  CPU features: \(contract.cpuFeatures.names.isEmpty ? "none" : contract.cpuFeatures.names.joined(separator: ", "))\n"
        out += "  source SHA-256: \(contract.sourceSHA256.map { String(format: "%02x", $0) }.joined())\n"
        out += "  compiler: \(contract.compilerVersion)\n"
        out += "  ABI version: \(contract.abiVersion)\n"
        out += "imports (\(contract.imports.count)):\n"
        for i in contract.imports {
            out += "  \(i.module).\(i.name): \(i.functionType.map { "func \($0)" } ?? kindName(i.kind))\n"
        }
        let functionTypes = module.functionTypes
        out += "exports (\(module.exports.count)):\n"
        for e in module.exports {
            let index = Int(e.index)
            var type: String
            switch e.kind {
            case .function: type = "func \(functionTypes[index])"
            case .memory: type = module.allMemories.indices.contains(index) ? "memory \(limitsText(module.allMemories[index].limits))" : "memory"
            case .table:
                type = module.allTables.indices.contains(index)
                    ? "table \(module.allTables[index].elementType) \(limitsText(module.allTables[index].limits))" : "table"
            case .global:
                let g = module.allGlobals.indices.contains(index) ? module.allGlobals[index] : nil
                type = "global" + (g.map { " \($0.isMutable ? "mut " : "")\($0.valueType)" } ?? "")
            }
            out += "  \"\(e.name)\": \(type)\n"
        }
        let imported = module.importedFunctionCount
        let sizes = zip(compiled.functionOffsets, compiled.functionEnds).map { $1 - $0 }
        out += "functions (\(sizes.count) defined; machine code bytes, offset in the code section):\n"
        for (i, size) in sizes.enumerated() {
            let index = imported + i
            let name = module.functionNames[UInt32(index)].map { " \($0)" } ?? ""
            let at = "  @0x" + String(compiled.functionOffsets[i], radix: 16)
            out += "  " + pad("func[\(index)]", 11) + pad("\(size)", 8, right: true) + at + name + "\n"
        }
        let functionBytes = sizes.reduce(0, +)
        out += "totals: \(sizes.count) functions, \(functionBytes) bytes of function code, "
        out += "\(compiled.code.count - functionBytes) bytes of stubs and padding, \(compiled.code.count) bytes of code, "
        out += "\(compiled.trapSites.count) trap sites, \(artifact.byteCount) bytes in the file\n"
        return out
    }

    static func kindName(_ kind: ExternalKind) -> String {
        switch kind {
        case .function: "func"
        case .table: "table"
        case .memory: "memory"
        case .global: "global"
        }
    }

    static func limitsText(_ limits: WasmCore.Limits) -> String {
        "\(limits.min)" + (limits.max.map { "..\($0)" } ?? "..")
    }

    static func bytesText(_ n: UInt64) -> String {
        let units: [(UInt64, String)] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")]
        var parts: [String] = []
        var rest = n
        for (size, name) in units where rest >= size {
            parts.append("\(rest / size) \(name)")
            rest %= size
        }
        if rest > 0 || parts.isEmpty { parts.append("\(rest) B") }
        return parts.joined(separator: " + ")
    }

    static func pad(_ s: String, _ width: Int, right: Bool = false) -> String {
        let fill = String(repeating: " ", count: max(0, width - s.count))
        return right ? fill + s : s + fill
    }
}

extension LoadRequirements {
    /// Requirements nothing fails: the framing, checksum and sections are still checked.
    static var permissive: LoadRequirements {
        var r = LoadRequirements()
        r.cpuFeatures = CPUFeatureSet(rawValue: ~0)
        r.requireYieldChecks = false
        return r
    }
}
