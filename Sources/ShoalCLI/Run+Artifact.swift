import Artifacts
import Shoal

/// `shoal run` of an artifact: the engine is configured from the artifact's contract.
extension RunOptions {
    /// Checks that --heap and --fuel agree with the artifact's contract (peeked; the engine
    /// verifies the whole artifact, this contract included, when it loads it).
    func artifactContract(_ contract: ArtifactContract) throws -> ArtifactContract {
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
