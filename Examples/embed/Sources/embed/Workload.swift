/// The work both sides do, written once more in Swift so that every guest result can be checked:
/// the requests the service receives, the "remote" table the lookups read, and the checksum the
/// guest (guest/guest.c) computes.
enum Workload {
    /// The largest request the guest accepts (its buffer); a larger one makes it trap.
    static let guestBufferSize = 16_384

    /// Request `i`: a header and a few hundred to a couple of thousand pseudo-random bytes, so
    /// that calls differ in size and content and a call answered with another's data shows.
    static func request(_ i: Int) -> [UInt8] {
        var state = UInt64(i) &* 0x9E37_79B9_7F4A_7C15 &+ 1
        let count = 100 + (i &* 37) % 2_000
        var bytes = Array("request \(i): ".utf8)
        bytes.reserveCapacity(bytes.count + count)
        for _ in 0..<count {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407  // an LCG
            bytes.append(UInt8(truncatingIfNeeded: state >> 56))
        }
        return bytes
    }

    /// The "remote" table behind env.lookup: any function of the key will do, as long as host
    /// and check agree.
    static func lookup(_ key: UInt32) -> UInt32 {
        (key &* 2_654_435_761) ^ 0x5BD1_E995
    }

    /// What the guest's `handle` returns for `request`: FNV-1a of the bytes, mixed with two lookups.
    static func expectedChecksum(_ request: [UInt8]) -> UInt32 {
        var h: UInt32 = 2_166_136_261
        for byte in request { h = (h ^ UInt32(byte)) &* 16_777_619 }
        return h ^ lookup(h & 0xFFFF) ^ (lookup(h >> 16) << 1)
    }
}
