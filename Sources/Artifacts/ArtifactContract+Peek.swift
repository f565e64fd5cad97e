import Glibc
import RuntimeABI

extension ArtifactContract {
    /// The contract of the artifact file at `path`, read without reading the rest of the file
    /// (the header, the section table and the contract section, with `pread`). Nothing is
    /// verified beyond what parsing needs — not the checksum, not the signature — so use it only
    /// to choose how to load the artifact (the engine's heap mode and fuel setting): the load
    /// itself verifies everything, this contract included. Nil when the file cannot be opened or is not an artifact.
    public static func peek(atPath path: String) throws -> ArtifactContract? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }  // not readable: not known to be an artifact (the caller reports it)
        defer { close(fd) }
        func bytes(at offset: Int, count: Int) throws(ArtifactError) -> [UInt8] {
            var buffer = [UInt8](repeating: 0, count: count)
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, count, off_t(offset)) }
            guard n == count else { throw .truncated("\(path) ends before its \(count)-byte part at \(offset)") }
            return buffer
        }
        let headerAndTable = ArtifactFormat.headerSize + ArtifactFormat.Section.allCases.count * ArtifactFormat.sectionEntrySize
        guard let head = try? bytes(at: 0, count: headerAndTable), ArtifactFormat.looksLikeArtifact(head) else { return nil }
        var header = ByteReader(head[ArtifactFormat.magic.count..<ArtifactFormat.headerSize], section: "header")
        let version = try header.u32(), abi = try header.u32()
        guard version == ArtifactFormat.version, abi == ShoalVersion.abi else { throw ArtifactError.unsupportedVersion(format: version, abi: abi) }
        var table = ByteReader(head[ArtifactFormat.headerSize...], section: "section table")
        guard try table.u32() == ArtifactFormat.Section.contract.rawValue else { throw ArtifactError.malformed("section table: no contract first") }
        _ = try table.u32()
        let offset = try table.u64(), length = try table.u64()
        guard offset < 1 << 40, length < 1 << 24 else { throw ArtifactError.malformed("section table: contract at \(offset)+\(length)") }
        var reader = ByteReader(try bytes(at: Int(offset), count: Int(length))[...], section: "contract")
        return try ArtifactContract.decode(&reader)
    }
}
