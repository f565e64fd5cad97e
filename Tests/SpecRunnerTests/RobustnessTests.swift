import Compiler
import Foundation
import FuzzSupport
import SpecRunner
import Synchronization
import Testing
import WasmCore
import WasmDecoder

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
        print("robustness: of \(counts.valid) valid mutants, \(compiles.compiled) compiled, \(compiles.unsupported) refused by the code generator (a limit, or SIMD without SSE4.1)")
        #expect(compiles.disagreements.isEmpty, "\(compiles.disagreements.prefix(10))")
        #expect(compiles.compiled + compiles.unsupported == counts.valid)
    }
}
