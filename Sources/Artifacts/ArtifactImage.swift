import CShoal
import Glibc
import Runtime

/// An artifact file read into an anonymous, page-aligned, private mapping: the one copy a load
/// makes. It is verified where it lies, and its page-aligned code section is then made
/// executable in place (`LoadedModule(_:takingMapping:...)`), so loading copies the code once
/// (the read) instead of three times. The file is read, not mapped: a mapping of the file would
/// show changes made to it after verification.
public final class ArtifactImage: @unchecked Sendable {  // owns `base` until `load` hands it on
    let base: UnsafeMutableRawPointer
    let mappingSize: Int
    public let count: Int
    private var owned = true

    /// Reads the file at `path`.
    public init(contentsOf path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ArtifactError.truncated("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw ArtifactError.truncated("cannot stat \(path)") }
        let size = Int(st.st_size)
        (base, mappingSize) = try Self.map(size)
        count = size
        // Read in chunks that fit the cache and checksum each while it is there: one pass over
        // memory instead of two (the checksum covers every byte but the stored one at the end).
        let checked = max(0, size - ArtifactFormat.checksumSize)
        var crc: UInt32 = 0
        var done = 0
        while done < size {
            let n = read(fd, base + done, min(Self.chunk, size - done))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                munmap(base, mappingSize)
                throw ArtifactError.truncated("\(path) ended after \(done) of \(size) bytes")
            }
            if done < checked { crc = shoal_crc32c(crc, base + done, min(n, checked - done)) }
            done += n
        }
        checksum = crc
    }

    /// 256 KiB: what one read brings in and the checksum then reads again from the cache.
    static let chunk = 256 << 10
    /// The CRC-32C of the bytes before the stored checksum, when it was computed on the way in.
    let checksum: UInt32?

    /// A copy of artifact bytes already in memory.
    public init(copying bytes: [UInt8]) throws {
        (base, mappingSize) = try Self.map(bytes.count)
        count = bytes.count
        checksum = nil
        bytes.withUnsafeBytes { base.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
    }

    private static func map(_ size: Int) throws -> (UnsafeMutableRawPointer, Int) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let mappingSize = max(page, (size + page - 1) / page * page)
        guard let memory = mmap(nil, mappingSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              memory != MAP_FAILED
        else { throw ArtifactError.truncated("cannot map \(size) bytes to read the artifact into") }
        // Transparent huge pages where the kernel offers them: a 24 MB artifact faults in a
        // dozen 2 MB pages instead of 6,000 small ones (measured in Docs/BENCHMARKS.md).
        _ = madvise(memory, mappingSize, 14)  // MADV_HUGEPAGE
        return (memory, mappingSize)
    }

    deinit {
        if owned { munmap(base, mappingSize) }
    }

    /// Verifies the image (as `Artifact.decode`) and maps its code in place. The image is used up
    /// either way: on success its mapping belongs to the returned module.
    public func load(requirements: LoadRequirements) throws -> (artifact: Artifact, module: LoadedModule) {
        let raw = UnsafeRawBufferPointer(start: base, count: count)
        let (artifact, codeRange) = try Artifact.decode(raw, requirements: requirements, copyingCode: false, knownChecksum: checksum)
        owned = false
        let module = try LoadedModule(artifact.compiled, takingMapping: base, mappingSize: mappingSize,
                                      codeOffset: codeRange.lowerBound, codeSize: codeRange.count)
        return (artifact, module)
    }
}
