import ArgumentParser
import Foundation
import RuntimeABI
import SpecRunner

/// `shoal wast PATH...`: runs spec test scripts and prints one line per file and a total.
struct Wast: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wast",  // spelled out: deriving it from the type name costs a protocol-conformance scan
        abstract: "Run WebAssembly spec test scripts (.wast files, or directories of them).",
        discussion: """
            Prints one line per file, then a last line of the form `N passed, N failed, N skipped`.
            Exits non-zero when any directive failed.
            """
    )

    @Argument(help: "Files or directories of .wast scripts.")
    var paths: [String]

    @Option(help: "Linear memory protection: guarded (guard pages, no bounds checks) or bounded (explicit checks).")
    var heap: HeapMode = .guarded

    @Option(help: "Compiler tier: baseline, or optimized (the optimizing tier for the functions it supports, the baseline for the rest).")
    var tier: CompilerTier = .baseline

    @Flag(help: "Print how many functions each tier compiled, and why the optimizing tier left the others.")
    var stats = false

    @Flag(name: .shortAndLong, help: "List every failure (otherwise the first 10 per file) and skip reasons per file.")
    var verbose = false

    func run() throws {
        let files: [String]
        do {
            files = try SpecRunner.collectFiles(paths)
        } catch {
            throw ValidationError("\(error)")
        }
        let runner = SpecRunner(heapMode: heap, tier: tier)
        var total = FileResult(path: "total")
        var tiers = TierStats()
        var skipReasons: [String: Int] = [:]
        // Files are independent: run them on all cores, print in order.
        let results = ConcurrentMap.map(files) { runner.run(file: $0) }
        for result in results {
            print("\(result.path): \(result.passed) passed, \(result.failed) failed, \(result.skipped) skipped")
            for failure in verbose ? result.failures : Array(result.failures.prefix(10)) {
                print("  FAIL \(failure)")
            }
            if verbose {
                for mismatch in result.messageMismatches { print("  MESSAGE \(mismatch)") }
            }
            if !verbose && result.failures.count > 10 { print("  ... \(result.failures.count - 10) more failures (use --verbose)") }
            total.passed += result.passed
            total.failed += result.failed
            total.skipped += result.skipped
            total.rejections += result.rejections
            total.rejectionsWithExpectedMessage += result.rejectionsWithExpectedMessage
            total.rejectionsByTextParser += result.rejectionsByTextParser
            for (reason, count) in result.skipReasons { skipReasons[reason, default: 0] += count }
            tiers.add(result.tierStats)
        }
        if stats || tier != .baseline { printTierStats(tiers) }
        if total.rejections > 0 {
            let byDecoder = total.rejections - total.rejectionsByTextParser
            print(
                "rejected modules: \(total.rejections) (\(total.rejectionsByTextParser) by the text parser, \(byDecoder) by the decoder/validator, of which \(total.rejectionsWithExpectedMessage) with the spec's message)"
            )
        }
        for (reason, count) in skipReasons.sorted(by: { $0.key < $1.key }) {
            print("skipped \(count): \(reason)")
        }
        print("\(total.passed) passed, \(total.failed) failed, \(total.skipped) skipped")
        if total.failed > 0 { throw ExitCode(1) }
    }
}

/// Prints a module's or a run's `TierStats`.
func printTierStats(_ stats: TierStats) {
    print("functions: \(stats.optimizedFunctions) optimized, \(stats.baselineFunctions) baseline")
    for (reason, count) in stats.fallbackReasons.sorted(by: { ($0.value, $1.key) > ($1.value, $0.key) }) {
        print("  fallback \(count): \(reason)")
    }
}

/// Maps over an array on all cores, keeping the order of results.
enum ConcurrentMap {
    static func map<T: Sendable, R: Sendable>(_ items: [T], _ transform: @Sendable (T) -> R) -> [R] {
        let box = ResultBox<R>(count: items.count)
        DispatchQueue.concurrentPerform(iterations: items.count) { i in
            box.set(i, transform(items[i]))
        }
        return box.values()
    }

    final class ResultBox<R: Sendable>: @unchecked Sendable {
        private var storage: [R?]
        private let lock = NSLock()
        init(count: Int) { storage = Array(repeating: nil, count: count) }
        func set(_ i: Int, _ value: R) { lock.withLock { storage[i] = value } }
        func values() -> [R] { lock.withLock { storage.map { $0! } } }
    }
}
