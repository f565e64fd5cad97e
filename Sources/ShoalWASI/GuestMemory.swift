import Runtime

/// Bounds-checked access to a guest's linear memory: every pointer and length from the guest goes
/// through here, and anything out of bounds becomes `Errno.fault` — never a host fault.
struct GuestMemory: Sendable {
    let memory: LinearMemory?

    init(_ caller: Caller) { memory = caller.memory }

    var size: UInt64 { UInt64(memory?.byteCount ?? 0) }

    func check(_ address: UInt32, _ count: UInt64) throws(Errno) -> UnsafeMutableRawPointer {
        guard let memory, memory.bytes.count > 0 || count == 0 else { throw .fault }
        guard UInt64(address) + count <= UInt64(memory.byteCount) else { throw .fault }
        return memory.bytes.baseAddress.map { $0 + Int(address) } ?? UnsafeMutableRawPointer(bitPattern: 1)!
    }

    func loadU32(_ address: UInt32) throws(Errno) -> UInt32 {
        try check(address, 4).loadUnaligned(as: UInt32.self).littleEndian
    }

    func storeU32(_ address: UInt32, _ value: UInt32) throws(Errno) {
        try check(address, 4).storeBytes(of: value.littleEndian, as: UInt32.self)
    }

    func storeU64(_ address: UInt32, _ value: UInt64) throws(Errno) {
        try check(address, 8).storeBytes(of: value.littleEndian, as: UInt64.self)
    }

    func storeU8(_ address: UInt32, _ value: UInt8) throws(Errno) {
        try check(address, 1).storeBytes(of: value, as: UInt8.self)
    }

    func storeU16(_ address: UInt32, _ value: UInt16) throws(Errno) {
        try check(address, 2).storeBytes(of: value.littleEndian, as: UInt16.self)
    }

    func write(_ address: UInt32, _ bytes: [UInt8]) throws(Errno) {
        let p = try check(address, UInt64(bytes.count))
        bytes.withUnsafeBytes { if $0.count > 0 { p.copyMemory(from: $0.baseAddress!, byteCount: $0.count) } }
    }

    func read(_ address: UInt32, _ count: UInt32) throws(Errno) -> [UInt8] {
        let p = try check(address, UInt64(count))
        return Array(UnsafeRawBufferPointer(start: p, count: Int(count)))
    }

    func string(_ address: UInt32, _ count: UInt32) throws(Errno) -> String {
        let bytes = try read(address, count)
        guard let s = String(validating: bytes, as: UTF8.self) else { throw .ilseq }
        return s
    }

    /// An iovec array: (pointer, length) pairs, each checked.
    func iovecs(_ address: UInt32, _ count: UInt32) throws(Errno) -> [(UnsafeMutableRawPointer, Int)] {
        guard count <= 1024 else { throw .inval }
        var result: [(UnsafeMutableRawPointer, Int)] = []
        for i in 0..<count {
            let base = try loadU32(address &+ 8 * i)
            let length = try loadU32(address &+ 8 * i &+ 4)
            result.append((try check(base, UInt64(length)), Int(length)))
        }
        return result
    }
}
