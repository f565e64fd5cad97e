import Crypto
import Foundation

/// Ed25519 keys for signing artifacts (swift-crypto). Keys are raw bytes: 32 for a private key
/// (its seed), 32 for a public key; `shoal keygen` writes them as hex text files.
public enum Signing {
    /// A new key pair: (private, public).
    public static func generateKeyPair() -> (privateKey: [UInt8], publicKey: [UInt8]) {
        let key = Curve25519.Signing.PrivateKey()
        return ([UInt8](key.rawRepresentation), [UInt8](key.publicKey.rawRepresentation))
    }

    /// The public key of a private key.
    public static func publicKey(of privateKey: [UInt8]) throws -> [UInt8] {
        [UInt8](try Self.privateKey(privateKey).publicKey.rawRepresentation)
    }

    static func privateKey(_ raw: [UInt8]) throws -> Curve25519.Signing.PrivateKey {
        do {
            return try Curve25519.Signing.PrivateKey(rawRepresentation: raw)
        } catch {
            throw ShoalError.invalidCall("not an Ed25519 private key (\(raw.count) bytes; 32 expected)")
        }
    }

    /// Reads a key file: hex text (what `shoal keygen` writes), whitespace ignored.
    public static func readKey(at path: String) throws -> [UInt8] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ShoalError.invalidCall("cannot read key file \(path)")
        }
        let hex = text.filter { !$0.isWhitespace }
        guard hex.count == 64, let bytes = Self.bytes(hex: hex) else {
            throw ShoalError.invalidCall("\(path) is not a key file (64 hex digits expected)")
        }
        return bytes
    }

    /// Writes a key as hex text. A private key's file is created readable by its owner only
    /// (mode 0600 from the start, never briefly wider); an existing file is replaced.
    public static func writeKey(_ key: [UInt8], to path: String, isPrivate: Bool) throws {
        let text = Array((key.map { String(format: "%02x", $0) }.joined() + "\n").utf8)
        let mode: mode_t = isPrivate ? 0o600 : 0o644
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode)
        guard fd >= 0 else { throw ShoalError.invalidCall("cannot write \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard fchmod(fd, mode) == 0, text.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == text.count else {
            throw ShoalError.invalidCall("cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }

    static func bytes(hex: String) -> [UInt8]? {
        var result: [UInt8] = []
        var iterator = hex.makeIterator()
        while let high = iterator.next(), let low = iterator.next() {
            guard let byte = UInt8(String([high, low]), radix: 16) else { return nil }
            result.append(byte)
        }
        return result
    }
}
