/// The artifact file format, version 3 (Docs/ARTIFACT.md describes it byte by byte). Integers are
/// little-endian; strings and byte strings are a u32 length then the bytes; lists a u32 count.
///
/// ```
/// [header, 64 bytes]
///   0  magic "SHOALART"
///   8  u32 format version (3)       12 u32 ABI version (ShoalVersion.abi)
///  16  u32 flags (bit 0: signed)    20 u32 section count
///  24  u64 content length: header + section table + sections (the signed bytes)
///  32  u64 file length             40..64 zero
/// [section table: per section u32 id, u32 zero, u64 offset, u64 length]
/// [sections, in id order; the code section starts on a 4096-byte boundary]
/// [signature: 64 bytes Ed25519 over bytes 0..<content length, if flag bit 0]
/// [u32 CRC-32C of every byte before it]
/// ```
public enum ArtifactFormat {
    public static let magic: [UInt8] = Array("SHOALART".utf8)
    public static let version: UInt32 = 3
    public static let headerSize = 64
    public static let sectionEntrySize = 24
    public static let signatureSize = 64
    public static let checksumSize = 4
    public static let codeAlignment = 4096
    /// Flag bit: an Ed25519 signature follows the content.
    public static let signedFlag: UInt32 = 1

    /// Sections, in the order they appear. Each is required exactly once.
    public enum Section: UInt32, CaseIterable, Sendable {
        /// What the code may do and needs: heap, imports, options, tier counts, CPU features, versions, source hash.
        case contract = 1
        /// The module's types, imports, exports, globals, tables, memories, segments, start, names.
        case module = 2
        /// The bytes of the data segments, which the module section's segments point into.
        case data = 3
        /// Where things are in the code: stubs, function ranges, trap sites.
        case codeTables = 4
        /// The machine code. Position independent: no relocations (every address the code needs
        /// from outside comes through the instance's vmctx at run time).
        case code = 5

        /// The section's name in words.
        public var name: String {
            switch self {
            case .contract: "contract"
            case .module: "module"
            case .data: "data"
            case .codeTables: "code tables"
            case .code: "code"
            }
        }
    }

    /// Whether `bytes` start like an artifact (as opposed to a .wasm or .wat file).
    public static func looksLikeArtifact(_ bytes: [UInt8]) -> Bool {
        bytes.count >= magic.count && Array(bytes[0..<magic.count]) == magic
    }
}
