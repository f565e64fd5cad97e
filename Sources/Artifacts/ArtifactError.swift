import RuntimeABI

/// Why an artifact was refused. Every refusal happens before any of its code is mapped executable.
public enum ArtifactError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Not a Shoal artifact (no "SHOALART" magic).
    case badMagic
    /// A format or ABI version this build does not read.
    case unsupportedVersion(format: UInt32, abi: UInt32)
    /// The file ends before its own header says it does, or has bytes past its end.
    case truncated(String)
    /// The CRC-32C over the whole file does not match: the file was corrupted.
    case checksumMismatch
    /// A section's offset, length or contents are inconsistent (named).
    case malformed(String)
    /// The engine requires signed artifacts and this one is not signed.
    case unsigned
    /// The signature does not verify with any trusted key.
    case badSignature
    /// The code uses CPU features this machine lacks.
    case missingCPUFeatures([String])
    /// The memory layout the code was compiled for does not fit the engine's slots.
    case heapMismatch(String)
    /// The module imports something the embedder does not grant.
    case importNotGranted(module: String, name: String)
    /// The code was compiled with options the engine cannot honour.
    case optionsMismatch(String)

    public var description: String {
        switch self {
        case .badMagic: "not a Shoal artifact (bad magic)"
        case .unsupportedVersion(let format, let abi):
            "unsupported artifact: format version \(format), ABI version \(abi); this build reads format \(ArtifactFormat.version), ABI \(ShoalVersion.abi)"
        case .truncated(let what): "truncated artifact: \(what)"
        case .checksumMismatch: "corrupted artifact: the CRC-32C checksum does not match"
        case .malformed(let what): "malformed artifact: \(what)"
        case .unsigned: "the artifact is not signed, and signed code is required"
        case .badSignature: "the artifact's signature does not verify with any trusted key"
        case .missingCPUFeatures(let names): "the code needs CPU features this machine lacks: \(names.joined(separator: ", "))"
        case .heapMismatch(let why): "the artifact's memory layout does not fit: \(why)"
        case .importNotGranted(let module, let name): "the module imports \(module).\(name), which is not granted"
        case .optionsMismatch(let why): "the artifact was compiled with options the engine cannot honour: \(why)"
        }
    }
}
