import Runtime
import Testing

/// A deterministic generator for the randomized cases (SplitMix64).
struct SplitMix64 {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

@Suite("sparse memory images")
struct MemoryImageTests {
    /// What the spec does, byte by byte: each segment in order, the first that does not fit traps.
    static func dense(_ segments: [MemoryImage.Segment], _ source: [UInt8], memoryBytes: Int) -> (memory: [UInt8], traps: Bool) {
        var memory = [UInt8](repeating: 0, count: memoryBytes)
        for s in segments {
            guard s.offset + UInt64(s.source.count) <= UInt64(memoryBytes) else { return (memory, true) }
            for (i, b) in source[s.source].enumerated() { memory[Int(s.offset) + i] = b }
        }
        return (memory, false)
    }

    static func render(_ image: MemoryImage, memoryBytes: Int) -> [UInt8] {
        var memory = [UInt8](repeating: 0, count: memoryBytes)
        for run in image.runs { for (i, b) in image.bytes(of: run).enumerated() { memory[run.offset + i] = b } }
        return memory
    }

    /// Runs are sorted, non-empty, and neither overlap nor touch (touching ones are merged).
    static func wellFormed(_ image: MemoryImage) -> Bool {
        zip(image.runs, image.runs.dropFirst()).allSatisfy { $0.offset + $0.count < $1.offset } && image.runs.allSatisfy { $0.count > 0 }
            && image.byteCount == image.runs.reduce(0) { $0 + $1.count }
    }

    let source: [UInt8] = Array(0..<200).map { UInt8($0) }

    @Test func laterSegmentsOverwriteEarlierOnesAndTouchingRunsMerge() {
        // Out of order; the third overwrites the middle of the first; the fourth touches the first.
        let segments = [MemoryImage.Segment(offset: 10, source: 0..<10), MemoryImage.Segment(offset: 100, source: 50..<54),
                        MemoryImage.Segment(offset: 13, source: 100..<103), MemoryImage.Segment(offset: 20, source: 150..<155)]
        let image = MemoryImage(segments: segments, source: source, memoryBytes: 1024)
        #expect(!image.trapsAfterApplying)
        #expect(image.runs.map(\.offset) == [10, 100])
        #expect(image.runs.map(\.count) == [15, 4])
        #expect(Array(image.bytes(of: image.runs[0])) == [0, 1, 2, 100, 101, 102, 6, 7, 8, 9, 150, 151, 152, 153, 154])
        #expect(Self.render(image, memoryBytes: 1024) == Self.dense(segments, source, memoryBytes: 1024).memory)
    }

    @Test func emptySegmentsVanishWhereverTheyAre() {
        let memoryBytes: UInt64 = 65_411 * 65_536
        let image = MemoryImage(segments: [MemoryImage.Segment(offset: 3_200_000_000, source: 0..<0),
                                           MemoryImage.Segment(offset: memoryBytes, source: 5..<5)],  // at the end: fits
                                source: source, memoryBytes: memoryBytes)
        #expect(image.runs.isEmpty && image.byteCount == 0 && image.pagesTouched == 0 && !image.trapsAfterApplying)
        // One past the end traps, even empty (Wasm 2.0 checks offset + length against the size).
        let past = MemoryImage(segments: [MemoryImage.Segment(offset: memoryBytes + 1, source: 5..<5)], source: source,
                               memoryBytes: memoryBytes)
        #expect(past.trapsAfterApplying && past.runs.isEmpty)
    }

    @Test func oneByteAtTheTopCostsOneByte() {
        let memoryBytes: UInt64 = 8192 * 65_536
        let image = MemoryImage(segments: [MemoryImage.Segment(offset: memoryBytes - 1, source: 7..<8)], source: source,
                                memoryBytes: memoryBytes)
        #expect(image.runs.count == 1 && image.runs[0].offset == Int(memoryBytes) - 1)
        #expect(image.byteCount == 1 && image.pagesTouched == 1)
    }

    @Test func aSegmentThatDoesNotFitKeepsTheOnesBeforeIt() {
        let segments = [MemoryImage.Segment(offset: 0, source: 0..<4), MemoryImage.Segment(offset: 62, source: 10..<14),  // 2 past the end
                        MemoryImage.Segment(offset: 8, source: 20..<24)]
        let image = MemoryImage(segments: segments, source: source, memoryBytes: 64)
        #expect(image.trapsAfterApplying)
        #expect(image.runs.map(\.offset) == [0] && image.byteCount == 4)  // the trapping one wrote nothing, the third never ran
        #expect(Self.render(image, memoryBytes: 64) == Self.dense(segments, source, memoryBytes: 64).memory)
    }

    @Test func randomSegmentsMatchTheSpecByteForByte() {
        var random = SplitMix64(state: 42)
        for _ in 0..<2_000 {
            let memoryBytes = 1 + random.below(300)
            var segments: [MemoryImage.Segment] = []
            for _ in 0..<random.below(12) {
                let count = random.below(5) == 0 ? 0 : random.below(40)
                let from = random.below(source.count - count + 1)
                // Mostly in bounds, sometimes just past the end.
                let offset = random.below(memoryBytes + 8)
                segments.append(MemoryImage.Segment(offset: UInt64(offset), source: from..<(from + count)))
            }
            let image = MemoryImage(segments: segments, source: source, memoryBytes: UInt64(memoryBytes))
            let expected = Self.dense(segments, source, memoryBytes: memoryBytes)
            #expect(Self.wellFormed(image))
            #expect(image.trapsAfterApplying == expected.traps)
            #expect(Self.render(image, memoryBytes: memoryBytes) == expected.memory, "\(segments)")
        }
    }

    @Test func manyOverlappingSegmentsBuildInLinearishTime() {
        // 50,000 segments, each overlapping the previous: the painter visits each interval once.
        let segments = (0..<50_000).map { MemoryImage.Segment(offset: UInt64($0 * 3), source: 0..<8) }
        let image = MemoryImage(segments: segments, source: source, memoryBytes: 1 << 20)
        #expect(image.runs.count == 1 && image.byteCount == 49_999 * 3 + 8)
    }
}
