import Glibc
import Runtime

/// A guest pointer, widened to 64 bits the moment it leaves the argument slot.
///
/// Guest pointers are 32-bit, but every address the host derives from one (a struct field, the
/// next array element, the end of a buffer) is computed here in 64 bits, and offsetting saturates
/// instead of wrapping: `0xFFFF_FFFC + 8` is an address past 4 GiB — out of bounds, so EFAULT —
/// never 4 (a wrap-around into the guest's low memory) and never a Swift overflow trap (which
/// would kill the whole host process, every tenant with it). There is deliberately no way to do
/// 32-bit arithmetic on it.
struct GuestAddress: Equatable, Sendable, CustomStringConvertible {
    let value: UInt64

    init(_ guestPointer: UInt32) { value = UInt64(guestPointer) }
    private init(raw: UInt64) { value = raw }

    static func + (address: GuestAddress, offset: UInt64) -> GuestAddress {
        let (sum, overflow) = address.value.addingReportingOverflow(offset)
        return GuestAddress(raw: overflow ? .max : sum)
    }

    /// The address of element `index` of an array of `stride`-byte elements starting here.
    func element(_ index: UInt64, stride: UInt64) -> GuestAddress {
        let (offset, overflow) = index.multipliedReportingOverflow(by: stride)
        return overflow ? GuestAddress(raw: .max) : self + offset
    }

    var description: String { "0x" + String(value, radix: 16) }
}

/// Bounds-checked access to a guest's linear memory: every pointer and length from the guest goes
/// through here, and anything not wholly inside the memory becomes `Errno.fault` — never a host
/// fault, never a host trap. Checks compare in 64 bits without adding (`address <= size` and
/// `count <= size - address`), so no pointer/length pair can overflow past the check.
struct GuestMemory: @unchecked Sendable {  // the base pointer: see `base`
    /// Where the memory starts (nil: the instance has none), and its size, read once per call:
    /// the guest is inside the call until it returns, so the memory cannot grow meanwhile, and
    /// it never shrinks and its base never moves. (Reading them from the `LinearMemory` on every
    /// check cost a dynamic exclusivity check each, several per read or write.)
    private let base: UnsafeMutableRawPointer?
    let size: UInt64

    init(_ caller: Caller) {
        let bytes = caller.memory?.bytes
        base = bytes?.baseAddress
        size = base == nil ? 0 : UInt64(bytes?.count ?? 0)
    }

    /// The memory an `InlineHostCall` entry is handed (read from the caller's vmctx).
    init(base: UnsafeMutableRawPointer?, size: UInt64) {
        self.base = base
        self.size = base == nil ? 0 : size
    }

    /// The host address of guest bytes [address, address + count), if all of them are in bounds.
    /// The memory never shrinks and its base never moves, so the pointer stays valid for as long
    /// as the instance lives.
    @inline(__always)
    func check(_ address: GuestAddress, _ count: UInt64) throws(Errno) -> UnsafeMutableRawPointer {
        guard let base else { throw .fault }
        guard address.value <= size, count <= size - address.value else { throw .fault }
        return base + Int(address.value)
    }

    func loadU32(_ address: GuestAddress) throws(Errno) -> UInt32 {
        try check(address, 4).loadUnaligned(as: UInt32.self).littleEndian
    }

    @inline(__always)  // on the inline fast path of every read and write
    func storeU32(_ address: GuestAddress, _ value: UInt32) throws(Errno) {
        try check(address, 4).storeBytes(of: value.littleEndian, as: UInt32.self)
    }

    func storeU64(_ address: GuestAddress, _ value: UInt64) throws(Errno) {
        try check(address, 8).storeBytes(of: value.littleEndian, as: UInt64.self)
    }

    func storeU8(_ address: GuestAddress, _ value: UInt8) throws(Errno) {
        try check(address, 1).storeBytes(of: value, as: UInt8.self)
    }

    @inline(__always)  // on the inline fast path of every read and write
    func storeU16(_ address: GuestAddress, _ value: UInt16) throws(Errno) {
        try check(address, 2).storeBytes(of: value.littleEndian, as: UInt16.self)
    }

    func write(_ address: GuestAddress, _ bytes: [UInt8]) throws(Errno) {
        let p = try check(address, UInt64(bytes.count))
        bytes.withUnsafeBytes { if $0.count > 0 { p.copyMemory(from: $0.baseAddress!, byteCount: $0.count) } }
    }

    func read(_ address: GuestAddress, _ count: UInt32) throws(Errno) -> [UInt8] {
        let p = try check(address, UInt64(count))
        return Array(UnsafeRawBufferPointer(start: p, count: Int(count)))
    }

    /// The longest path the host will copy: Linux's PATH_MAX counts the terminating NUL, so no
    /// longer path can name anything, and a guest cannot make the host copy a 4 GiB "path".
    static let maxPathBytes: UInt32 = 4095

    /// A path (or symlink target) argument: at most `maxPathBytes` (else ENAMETOOLONG, before
    /// anything is copied), valid UTF-8 (else EILSEQ), and without NUL bytes (else EINVAL, as
    /// wasmtime): a NUL would silently cut the C string the kernel sees, so "a\0/../x" must not
    /// become "a".
    func path(_ address: GuestAddress, _ count: UInt32) throws(Errno) -> String {
        _ = try check(address, UInt64(count))
        guard count <= Self.maxPathBytes else { throw .nametoolong }
        let bytes = try read(address, count)
        guard !bytes.contains(0) else { throw .inval }
        guard let s = String(validating: bytes, as: UTF8.self) else { throw .ilseq }
        return s
    }

    /// The most iovecs one call may pass (Linux's IOV_MAX; more is EINVAL, as readv says).
    static let maxIovecs: UInt32 = 1024

    /// An iovec array: (pointer, length) pairs, each non-empty one checked in bounds (EFAULT
    /// otherwise, as readv checks them all before moving a byte), then cut so their lengths add up to at most
    /// `limit` bytes. The caller moves at most that much and reports the short count — legal
    /// POSIX semantics for read and write — so 1,024 iovecs over one 64 MiB region cost the host
    /// at most `limit` bytes of buffer, not 64 GiB.
    func iovecs(_ address: GuestAddress, _ count: UInt32, limit: Int) throws(Errno) -> [(UnsafeMutableRawPointer, Int)] {
        var result: [(UnsafeMutableRawPointer, Int)] = []
        try forEachIovec(address, count, limit: limit) { result.append(($0, $1)) }
        return result
    }

    /// The same iovecs, checked and cut the same way, written as host `iovec`s into `buffer`
    /// (which holds at least `count` entries): no allocation, for the inline fast path. Returns
    /// how many entries were written (empty and cut-off iovecs are left out).
    func hostIovecs(_ address: GuestAddress, _ count: UInt32, limit: Int,
                    into buffer: UnsafeMutableBufferPointer<iovec>) throws(Errno) -> Int {
        precondition(buffer.count >= Int(min(count, Self.maxIovecs)))
        var used = 0
        try forEachIovec(address, count, limit: limit) { pointer, length in
            buffer[used] = iovec(iov_base: pointer, iov_len: length)
            used += 1
        }
        return used
    }

    /// The one walk over a guest iovec array that both forms share: every check is here.
    private func forEachIovec(_ address: GuestAddress, _ count: UInt32, limit: Int,
                              _ body: (UnsafeMutableRawPointer, Int) -> Void) throws(Errno) {
        guard count <= Self.maxIovecs else { throw .inval }
        _ = try check(address, UInt64(count) * 8)
        var remaining = max(0, limit)
        for i in 0..<UInt64(count) {
            let entry = address.element(i, stride: 8)
            let base = GuestAddress(try loadU32(entry))
            let length = try loadU32(entry + 4)
            if length == 0 { continue }  // an empty iovec moves nothing, whatever its pointer (as readv)
            let pointer = try check(base, UInt64(length))
            let taken = min(Int(length), remaining)
            if taken > 0 { body(pointer, taken) }
            remaining -= taken
        }
    }
}
