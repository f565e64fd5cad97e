import Compiler
import Foundation
import FuzzSupport
import RuntimeABI
import SpecRunner
import Testing
import WasmDecoder

let specSuite: String? = {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    return SpecSuite.location(packageRoot: root)
}()

/// The optimizing tier sees every function body before the baseline validates it, invalid ones
/// included (ModuleCompiler decodes with `validateFunctions: false`): on mutants of the spec
/// suite's modules, compiling with it must succeed or fail exactly when the baseline does.
@Suite("optimizer robustness")
struct RobustnessTests {
    @Test(.enabled(if: specSuite != nil, "spec test suite not found (set SHOAL_SPEC_TESTSUITE)"))
    func mutantsCompileOrFailAsWithTheBaseline() throws {
        let corpus = try SpecSuite.moduleBinaries(in: specSuite! + "/core")
        var rng = SplitMix64(state: 0x5EED_0F_0718)
        var compiled = 0, failed = 0
        for i in 0..<10_000 {
            let mutant = Mutator.mutate(corpus[rng.below(corpus.count)], corpus: corpus, rng: &rng)
            let heapMode: HeapMode = i % 2 == 0 ? .guarded : .bounded
            let baseline = Result { try ModuleCompiler.compile(bytes: mutant, options: CompileOptions(heapMode: heapMode)) }
            let optimized = Result { try ModuleCompiler.compile(bytes: mutant, options: CompileOptions(heapMode: heapMode, tier: .optimized)) }
            switch (baseline, optimized) {
            case (.success, .success): compiled += 1
            case (.failure(let a), .failure(let b)):
                failed += 1
                #expect("\(a)" == "\(b)", "mutant \(i)")
            default:
                Issue.record("mutant \(i): baseline \(baseline), optimized \(optimized)")
            }
        }
        #expect(compiled > 50 && failed > 1_000, "\(compiled) compiled, \(failed) failed")
    }
}
