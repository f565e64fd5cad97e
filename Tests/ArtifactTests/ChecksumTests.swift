import CShoal
import Testing

/// The artifact checksum: CRC-32C, three interleaved streams on SSE4.2 combined by shifting.
@Suite struct ChecksumTests {
    @Test func theStandardCheckValue() {
        let bytes = Array("123456789".utf8)
        #expect(bytes.withUnsafeBytes { shoal_crc32c(0, $0.baseAddress, $0.count) } == 0xE306_9283)
        #expect(bytes.withUnsafeBytes { shoal_crc32c_portable(0, $0.baseAddress, $0.count) } == 0xE306_9283)
    }

    @Test func theFastPathAgreesWithTheTableAtEveryLengthAroundItsBlocks() {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        let bytes = (0..<(3 * 8192 * 3 + 100)).map { _ -> UInt8 in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 56)
        }
        let lengths = [0, 1, 7, 8, 9, 8191, 24_575, 24_576, 24_577, 49_152, 49_160, 73_727, 73_728, bytes.count]
        for n in lengths {
            let fast = bytes.withUnsafeBytes { shoal_crc32c(0, $0.baseAddress, n) }
            let table = bytes.withUnsafeBytes { shoal_crc32c_portable(0, $0.baseAddress, n) }
            #expect(fast == table, "length \(n)")
        }
        // Continuing from a previous value equals one pass over both parts.
        let whole = bytes.withUnsafeBytes { shoal_crc32c(0, $0.baseAddress, $0.count) }
        let first = bytes.withUnsafeBytes { shoal_crc32c(0, $0.baseAddress, 30_000) }
        let both = bytes.withUnsafeBytes { shoal_crc32c(first, $0.baseAddress! + 30_000, $0.count - 30_000) }
        #expect(both == whole)
    }
}
