/// Shared by the robustness test (its quick batch) and `shoal-fuzz mutants` (the long run).

/// A small deterministic generator (SplitMix64), so every mutant can be rebuilt from its number.
public struct SplitMix64: Sendable {
    public init(state: UInt64) { self.state = state }

    public var state: UInt64
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    public mutating func below(_ n: Int) -> Int { n <= 0 ? 0 : Int(next() % UInt64(n)) }
}

/// Mutation strategies that stress a binary decoder: flips, overwrites with boundary values,
/// insertions, deletions, truncation, duplicated chunks, splices from other modules, and LEB128
/// rewrites.
public enum Mutator {
    public static func mutate(_ input: [UInt8], corpus: [[UInt8]], rng: inout SplitMix64) -> [UInt8] {
        var bytes = input
        for _ in 0...rng.below(4) {
            guard !bytes.isEmpty else { bytes = [0x00]; continue }
            let at = rng.below(bytes.count)
            switch rng.below(8) {
            case 0: bytes[at] ^= UInt8(1 << rng.below(8))
            case 1: bytes[at] = [0x00, 0x01, 0x7F, 0x80, 0xFF, 0x40, 0x0B, 0xFD, 0xFC, 0x70][rng.below(10)]
            case 2: bytes.insert(UInt8(truncatingIfNeeded: rng.next()), at: at)
            case 3: bytes.remove(at: at)
            case 4: bytes.removeSubrange(min(at + 8, bytes.count)...)  // truncate
            case 5:
                let length = min(1 + rng.below(16), bytes.count - at)
                bytes.insert(contentsOf: bytes[at..<(at + length)], at: at)
            case 6:
                let other = corpus[rng.below(corpus.count)]
                guard !other.isEmpty else { continue }
                let from = rng.below(other.count)
                let length = min(1 + rng.below(32), other.count - from)
                bytes.replaceSubrange(at..<min(at + length, bytes.count), with: other[from..<(from + length)])
            default:
                // Make the byte a LEB128 continuation, or spell a huge count.
                bytes[at] |= 0x80
                if rng.below(2) == 0 { bytes.insert(contentsOf: [0xFF, 0xFF, 0xFF, 0xFF, 0x0F], at: at) }
            }
        }
        return bytes
    }
}
