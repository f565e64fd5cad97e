import Foundation
import RuntimeABI
import SpecRunner
import Testing

/// The package root, found from this file's path (Tests/SpecRunnerTests/SpecSuiteTests.swift).
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

let specSuite: String? = {
    let location = SpecSuite.location(packageRoot: packageRoot)
    if location == nil {
        print(
            """
            ************************************************************************************
            SKIPPING the spec suite tests: no spec test suite at ../shared/spec-testsuite and
            \(SpecSuite.environmentVariable) is not set. Set it to the suite's directory to run them.
            ************************************************************************************
            """)
    }
    return location
}()

@Suite("WebAssembly spec test suite")
struct SpecSuiteTests {
    static func files(_ subdirectory: String) -> [String] {
        guard let suite = specSuite else { return [] }
        return (try? SpecRunner.collectFiles([suite + "/" + subdirectory])) ?? []
    }

    @Test(
        "core scripts run with no failures",
        .enabled(if: specSuite != nil, "spec test suite not found (set SHOAL_SPEC_TESTSUITE)"),
        arguments: files("core"))
    func core(file: String) {
        for heapMode in HeapMode.allCases {
            let result = SpecRunner(heapMode: heapMode).run(file: file)
            #expect(result.failed == 0, "\(heapMode): \(result.failures.joined(separator: "\n"))")
            #expect(result.skipped == 0, "\(heapMode): \(result.skipReasons)")
            #expect(result.passed > 0 || file.hasSuffix("inline-module.wast"))
        }
    }

    @Test(
        "core scripts run with no failures with the optimizing tier",
        .enabled(if: specSuite != nil, "spec test suite not found (set SHOAL_SPEC_TESTSUITE)"),
        arguments: files("core"))
    func coreOptimized(file: String) {
        for heapMode in HeapMode.allCases {
            let result = SpecRunner(heapMode: heapMode, tier: .optimized).run(file: file)
            #expect(result.failed == 0, "\(heapMode): \(result.failures.joined(separator: "\n"))")
            #expect(result.skipped == 0, "\(heapMode): \(result.skipReasons)")
            // The optimizing tier compiles every function of the core suite (only SIMD is left to
            // the baseline, and the core scripts have none).
            #expect(result.tierStats.baselineFunctions == 0, "\(heapMode): \(result.tierStats)")
        }
    }

    @Test(
        "SIMD scripts run with no failures and nothing skipped, in both heap modes",
        .enabled(if: specSuite != nil, "spec test suite not found (set SHOAL_SPEC_TESTSUITE)"),
        arguments: files("simd"))
    func simd(file: String) {
        for heapMode in HeapMode.allCases {
            let result = SpecRunner(heapMode: heapMode).run(file: file)
            #expect(result.failed == 0, "\(heapMode): \(result.failures.joined(separator: "\n"))")
            #expect(result.skipped == 0, "\(heapMode): \(result.skipReasons)")
            #expect(result.passed > 0)
        }
    }

    @Test(
        "the whole core suite: rejections and skips are all accounted for",
        .enabled(if: specSuite != nil, "spec test suite not found (set SHOAL_SPEC_TESTSUITE)"))
    func totals() throws {
        let files = try SpecRunner.collectFiles([specSuite! + "/core"])
        #expect(files.count == 90)
        var rejections = 0
        var skipped = 0
        for file in files {
            let r = SpecRunner().run(file: file)
            rejections += r.rejections
            skipped += r.skipped
        }
        // The suite has 1,300 assert_malformed and 1,477 assert_invalid directives (its README).
        #expect(rejections == 1_300 + 1_477)
        #expect(skipped == 0)
    }
}
