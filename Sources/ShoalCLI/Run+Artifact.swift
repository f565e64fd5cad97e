import Artifacts
import Shoal

/// `shoal run` of an artifact: the engine is configured from the artifact's contract.
extension Run {
    /// The artifact's contract, read with permissive requirements (framing, checksum and sections
    /// are checked; the engine checks the rest at load), after checking that --heap and --fuel agree.
    func artifactContract(_ bytes: [UInt8]) throws -> ArtifactContract {
        let contract: ArtifactContract
        do {
            contract = try Artifact.decode(bytes, requirements: .permissive).contract
        } catch {
            throw fail("\(file): \(error)")
        }
        let options = contract.options
        if let heapOption, heapOption != options.heapMode {
            throw fail("\(file) was compiled for \(options.heapMode) heaps, not \(heapOption); recompile it with shoal compile --heap \(heapOption), or leave out --heap")
        }
        if fuel != nil && !options.fuel {
            throw fail("\(file) was compiled without fuel counting, so --fuel cannot limit it; recompile it with shoal compile --fuel")
        }
        return contract
    }

    /// The public keys --require-signed names.
    func trustedKeys() throws -> [[UInt8]] {
        try requiredSigners.map { path in
            do {
                return try Signing.readKey(at: path)
            } catch ShoalError.invalidCall(let message) {
                throw fail("--require-signed: \(message)")
            }
        }
    }
}
