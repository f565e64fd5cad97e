import Compiler
import Foundation
import SpecRunner
import Synchronization
import Testing
import WasmCore
import WasmDecoder

/// A small deterministic generator (SplitMix64), so every mutant can be rebuilt from its number.
struct SplitMix64 {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { n <= 0 ? 0 : Int(next() % UInt64(n)) }
}

/// Mutation strategies that stress a binary decoder: flips, overwrites with boundary values,
/// insertions, deletions, truncation, duplicated chunks, splices from other modules, and LEB128
/// rewrites.
enum Mutator {
    static func mutate(_ input: [UInt8], corpus: [[UInt8]], rng: inout SplitMix64) -> [UInt8] {
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

@Suite("Robustness")
struct RobustnessTests {
    static let mutantCount = 100_000
    static let seed: UInt64 = 0x5EED_0F_5140A1

    @Test(
        "100,000 mutants of the spec suite's modules each end in a clean error or a valid module, and every valid one compiles",
        .enabled(if: specSuite != nil, "spec test suite not found (set SHOAL_SPEC_TESTSUITE)"))
    func mutants() throws {
        let corpus = try SpecSuite.moduleBinaries(in: specSuite! + "/core") + SpecSuite.moduleBinaries(in: specSuite! + "/simd")
        #expect(corpus.count > 4_000)

        // A hang is a failure too: the mutants run on a worker, and the test gives up waiting after
        // a deadline, naming the mutant in progress so that it can be rebuilt from the seed.
        let progress = Atomic<Int>(0)
        let tally = Mutex<(valid: Int, malformed: Int, invalid: Int)>((0, 0, 0))
        let compileTally = Mutex<(compiled: Int, unsupported: Int, disagreements: [String])>((0, 0, []))
        let done = DispatchSemaphore(value: 0)
        let worker = Thread {
            var rng = SplitMix64(state: Self.seed)
            var counts = (valid: 0, malformed: 0, invalid: 0)
            var compiles = (compiled: 0, unsupported: 0, disagreements: [String]())
            for i in 0..<Self.mutantCount {
                progress.store(i, ordering: .relaxed)
                let mutant = Mutator.mutate(corpus[rng.below(corpus.count)], corpus: corpus, rng: &rng)
                do throws(WasmError) {
                    let module = try ModuleDecoder.decode(mutant)
                    counts.valid += 1
                    // The code generator validates in lockstep; it must agree with the validator
                    // and produce code for everything but the features it does not support yet.
                    do {
                        _ = try ModuleCompiler.compile(module, heapMode: i % 2 == 0 ? .guarded : .bounded)
                        compiles.compiled += 1
                    } catch is CompileError {
                        compiles.unsupported += 1
                    } catch {
                        compiles.disagreements.append("mutant \(i): \(error)")
                    }
                } catch {
                    if error.kind == .malformed { counts.malformed += 1 } else { counts.invalid += 1 }
                    precondition(!error.message.isEmpty)
                }
            }
            tally.withLock { $0 = counts }
            compileTally.withLock { $0 = compiles }
            done.signal()
        }
        worker.stackSize = 8 << 20
        worker.start()
        let finished = done.wait(timeout: .now() + 600) == .success
        #expect(finished, "decoding hung (or ran for over 10 minutes) at mutant \(progress.load(ordering: .relaxed))")
        guard finished else { return }
        let counts = tally.withLock { $0 }
        print("robustness: \(Self.mutantCount) mutants: \(counts.valid) valid, \(counts.malformed) malformed, \(counts.invalid) invalid")
        #expect(counts.valid + counts.malformed + counts.invalid == Self.mutantCount)
        // The mutator must exercise all three outcomes, or it is not testing much.
        #expect(counts.valid > 100 && counts.malformed > 1_000 && counts.invalid > 100)
        let compiles = compileTally.withLock { $0 }
        print("robustness: of \(counts.valid) valid mutants, \(compiles.compiled) compiled, \(compiles.unsupported) use SIMD (not compiled yet)")
        #expect(compiles.disagreements.isEmpty, "\(compiles.disagreements.prefix(10))")
        #expect(compiles.compiled + compiles.unsupported == counts.valid)
    }
}
