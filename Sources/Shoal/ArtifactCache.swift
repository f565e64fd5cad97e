import Artifacts
import Foundation
import Synchronization
import Logging
import Runtime
import RuntimeABI

/// The compile service's artifacts on disk: one file per (source SHA-256, compiler version, ABI,
/// options, CPU features), written atomically (a temporary file renamed into place), so entries
/// survive restarts and several processes can share a directory. Every entry read is checked like
/// any artifact (checksum, contract, and the signature if the engine signs its cache); one that
/// fails is reported, deleted and recompiled — never run.
struct ArtifactCache: Sendable {
    let directory: URL
    let requirements: LoadRequirements
    let signingKey: [UInt8]?
    let options: CompileOptions

    /// The file for a module with this source digest, under these options and this compiler.
    func path(for digest: String) -> URL {
        directory.appendingPathComponent("\(digest)-\(Self.tag(options)).shoal")
    }

    /// 16 hex digits naming what the code depends on besides its source: the compiler, the ABI,
    /// the options and this machine's CPU features (fixed for the process: computed once).
    static func tag(_ options: CompileOptions) -> String {
        if let tag = tags.withLock({ $0[options] }) { return tag }
        let text = [ShoalVersion.compiler, "abi \(ShoalVersion.abi)", options.heapMode.rawValue, "yield \(options.yieldChecks)",
                    "fuel \(options.fuel)", "tier \(options.tier.rawValue)", "cpu \(CPUFeatureSet.host.rawValue)"].joined(separator: "|")
        let tag = String(CompileService.digest(Array(text.utf8)).prefix(16))
        tags.withLock { $0[options] = tag }
        return tag
    }

    private static let tags = Mutex<[CompileOptions: String]>([:])

    enum Lookup {
        case hit(LoadedModule)
        case miss
        case rejected(ArtifactError)
    }

    func lookup(_ digest: String) -> Lookup {
        let file = path(for: digest)
        guard FileManager.default.fileExists(atPath: file.path) else { return .miss }
        do {
            return .hit(try ArtifactImage(contentsOf: file.path).load(requirements: requirements).module)
        } catch {
            try? FileManager.default.removeItem(at: file)
            return .rejected(error as? ArtifactError ?? .malformed("\(error)"))
        }
    }

    /// Writes an entry; failures (a full disk, a read-only directory) only cost the next start a compile.
    func store(_ compiled: CompiledModule, sourceSHA256: [UInt8], digest: String) throws {
        let bytes = try Artifact.encode(compiled, sourceSHA256: sourceSHA256, signingKey: try signingKey.map(Signing.privateKey))
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let final = path(for: digest)
        let temporary = directory.appendingPathComponent(".\(final.lastPathComponent).\(UUID().uuidString).tmp")
        try Data(bytes).write(to: temporary)
        guard rename(temporary.path, final.path) == 0 else {
            try? FileManager.default.removeItem(at: temporary)
            throw ShoalError.instantiation("cannot rename \(temporary.path) into place: \(String(cString: strerror(errno)))")
        }
    }
}
