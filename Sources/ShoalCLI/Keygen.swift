import ArgumentParser
import Foundation
import Shoal

/// `shoal keygen`: an Ed25519 key pair for signing artifacts, as hex text files.
struct Keygen: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",  // spelled out: deriving it from the type name costs a protocol-conformance scan
        abstract: "Generate an Ed25519 key pair for signing artifacts.",
        discussion: """
            Writes NAME.key (the private key, readable by its owner only: `shoal compile --sign NAME.key`) \
            and NAME.pub (the public key: `shoal run --require-signed NAME.pub`), each as hex text. \
            Existing files are not overwritten unless --force is given.
            """
    )

    @Option(name: .shortAndLong, help: ArgumentHelp("The key files' name, without extension.", valueName: "name"))
    var output: String = "shoal"

    @Flag(help: "Overwrite existing key files.")
    var force = false

    func run() throws {
        let privatePath = output + ".key", publicPath = output + ".pub"
        for path in [privatePath, publicPath] where FileManager.default.fileExists(atPath: path) {
            guard force else { throw failure("\(path) exists; use --force to overwrite it") }
            do {
                try FileManager.default.removeItem(atPath: path)
            } catch {
                throw failure("cannot remove \(path): \(error.localizedDescription)")
            }
        }
        let (privateKey, publicKey) = Signing.generateKeyPair()
        // Files this process creates are its owner's only from the start (Signing.writeKey sets
        // the mode after writing): no moment where the private key is readable by others.
        let mask = umask(0o077)
        defer { umask(mask) }
        do {
            try Signing.writeKey(privateKey, to: privatePath, isPrivate: true)
            try Signing.writeKey(publicKey, to: publicPath, isPrivate: false)
        } catch ShoalError.invalidCall(let message) {
            throw failure(message)
        }
        print("wrote \(privatePath) (private key) and \(publicPath) (public key)")
    }
}
