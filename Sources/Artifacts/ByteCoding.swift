/// Appends little-endian integers, length-prefixed strings and byte strings.
struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func count(_ n: Int) { u32(UInt32(n)) }
    mutating func bool(_ b: Bool) { u8(b ? 1 : 0) }
    mutating func string(_ s: String) { blob(Array(s.utf8)) }
    mutating func blob(_ b: [UInt8]) {
        count(b.count)
        bytes += b
    }
    mutating func optionalU64(_ v: UInt64?) {
        bool(v != nil)
        u64(v ?? 0)
    }
}

/// Reads what `ByteWriter` wrote, bounds-checking every read: a short or inconsistent input is an
/// `ArtifactError.malformed` naming the section, never a crash.
struct ByteReader {
    let bytes: ArraySlice<UInt8>
    var position: Int
    let section: String

    init(_ bytes: ArraySlice<UInt8>, section: String) {
        self.bytes = bytes
        position = bytes.startIndex
        self.section = section
    }

    var isAtEnd: Bool { position == bytes.endIndex }

    func fail(_ what: String) -> ArtifactError { .malformed("\(section) section: \(what)") }

    mutating func take(_ n: Int) throws(ArtifactError) -> ArraySlice<UInt8> {
        guard n >= 0, bytes.endIndex - position >= n else { throw fail("ends early (wanted \(n) bytes at offset \(position))") }
        defer { position += n }
        return bytes[position..<position + n]
    }

    mutating func u8() throws(ArtifactError) -> UInt8 { try take(1).first! }

    mutating func u32() throws(ArtifactError) -> UInt32 {
        let b = try take(4)
        return b.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self)) }
    }

    mutating func u64() throws(ArtifactError) -> UInt64 {
        let b = try take(8)
        return b.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
    }

    mutating func bool() throws(ArtifactError) -> Bool {
        switch try u8() {
        case 0: false
        case 1: true
        case let b: throw fail("boolean byte \(b)")
        }
    }

    /// A count of items that each take at least `minimumSize` bytes: bounded by what is left,
    /// so a corrupted count cannot make the reader allocate gigabytes.
    mutating func count(minimumSize: Int = 1) throws(ArtifactError) -> Int {
        let n = Int(try u32())
        guard n * max(1, minimumSize) <= bytes.endIndex - position else { throw fail("count \(n) exceeds the section") }
        return n
    }

    mutating func blob() throws(ArtifactError) -> [UInt8] { Array(try take(count())) }

    /// A name. Decoded with the non-generic UTF-8 fast path (an artifact has thousands of names);
    /// invalid UTF-8 is refused: decoding repairs it, so a repaired string differs in its bytes.
    mutating func string() throws(ArtifactError) -> String {
        let b = try take(count())
        let s = String(decoding: b, as: UTF8.self)
        guard s.utf8.count == b.count, s.utf8.elementsEqual(b) else { throw fail("invalid UTF-8 in a name") }
        return s
    }

    mutating func optionalU64() throws(ArtifactError) -> UInt64? {
        let present = try bool()
        let v = try u64()
        // The writer puts zero after an absent value: anything else is not an encoding of nil
        // (one file, one meaning; unsigned artifacts have only the checksum to protect them).
        guard present || v == 0 else { throw fail("an absent value with non-zero bytes") }
        return present ? v : nil
    }

    mutating func expectEnd() throws(ArtifactError) {
        guard isAtEnd else { throw fail("\(bytes.endIndex - position) bytes left over") }
    }
}
