import Foundation
import RuntimeABI
import SpecRunner
import Testing

let specSuite: String? = {
    let location = SpecSuite.location(packageRoot: packageRoot)
    if location == nil {
        print(
            """
            ************************************************************************************
            SKIPPING the spec suite through artifacts: no spec test suite at ../shared/spec-testsuite
            and \(SpecSuite.environmentVariable) is not set. Set it to the suite's directory to run it.
            ************************************************************************************
            """)
    }
    return location
}()

/// The core spec suite with every module written to an artifact and read back before it is
/// loaded: the decoded code, tables and module structure pass what the in-memory ones pass.
/// One heap mode (guarded: its code has trap sites, which the artifact carries) to keep the time
/// down; every core script runs.
@Suite("artifacts: the spec suite through artifacts")
struct SpecThroughArtifactsTests {
    static func files(_ subdirectory: String = "core") -> [String] {
        guard let suite = specSuite else { return [] }
        return (try? SpecRunner.collectFiles([suite + "/" + subdirectory])) ?? []
    }

    @Test(
        "simd scripts through artifacts: no failures, nothing skipped, as many passes as in memory",
        .enabled(if: specSuite != nil, "spec test suite not found (set SHOAL_SPEC_TESTSUITE)"),
        arguments: files("simd"))
    func simd(file: String) {
        let inMemory = SpecRunner(heapMode: .guarded).run(file: file)
        let throughArtifacts = SpecRunner(heapMode: .guarded, throughArtifacts: true).run(file: file)
        #expect(throughArtifacts.failed == 0, "\(throughArtifacts.failures.joined(separator: "\n"))")
        #expect(throughArtifacts.skipped == 0, "\(throughArtifacts.skipReasons)")
        #expect(throughArtifacts.passed == inMemory.passed && throughArtifacts.passed > 0)
    }

    @Test(
        "core scripts through artifacts: no failures, and as many passes as in memory",
        .enabled(if: specSuite != nil, "spec test suite not found (set SHOAL_SPEC_TESTSUITE)"),
        arguments: files())
    func core(file: String) {
        let inMemory = SpecRunner(heapMode: .guarded).run(file: file)
        let throughArtifacts = SpecRunner(heapMode: .guarded, throughArtifacts: true).run(file: file)
        #expect(throughArtifacts.failed == 0, "\(throughArtifacts.failures.joined(separator: "\n"))")
        #expect(throughArtifacts.passed == inMemory.passed)
        #expect(throughArtifacts.skipped == inMemory.skipped && throughArtifacts.rejections == inMemory.rejections)
        #expect(throughArtifacts.passed > 0 || file.hasSuffix("inline-module.wast"))
    }

    @Test("the core suite has its 90 scripts", .enabled(if: specSuite != nil, "spec test suite not found"))
    func count() {
        #expect(Self.files().count == 90)
    }
}
