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
        var done = 0
        while done < size {
            let n = read(fd, base + done, size - done)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                munmap(base, mappingSize)
                throw ArtifactError.truncated("\(path) ended after \(done) of \(size) bytes")
            }
            done += n
        }
    }

    /// A copy of artifact bytes already in memory.
    public init(copying bytes: [UInt8]) throws {
        (base, mappingSize) = try Self.map(bytes.count)
        count = bytes.count
        bytes.withUnsafeBytes { base.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
    }

    private static func map(_ size: Int) throws -> (UnsafeMutableRawPointer, Int) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let mappingSize = max(page, (size + page - 1) / page * page)
        guard let memory = mmap(nil, mappingSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0),
              memory != MAP_FAILED
        else { throw ArtifactError.truncated("cannot map \(size) bytes to read the artifact into") }
        return (memory, mappingSize)
    }

    deinit {
        if owned { munmap(base, mappingSize) }
    }

    /// Verifies the image (as `Artifact.decode`) and maps its code in place. The image is used up
    /// either way: on success its mapping belongs to the returned module.
    public func load(requirements: LoadRequirements) throws -> (artifact: Artifact, module: LoadedModule) {
        let raw = UnsafeRawBufferPointer(start: base, count: count)
        let (artifact, codeRange) = try Artifact.decode(raw, requirements: requirements, copyingCode: false)
        owned = false
        let module = try LoadedModule(artifact.compiled, takingMapping: base, mappingSize: mappingSize,
                                      codeOffset: codeRange.lowerBound, codeSize: codeRange.count)
        return (artifact, module)
    }
}
