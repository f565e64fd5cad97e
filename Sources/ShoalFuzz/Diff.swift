import Foundation
import RuntimeABI
import Synchronization

/// One disagreement between Shoal and wasmtime.
struct Finding: Sendable {
    var kind: FindingKind
    var module: Int
    var heap: HeapMode
    var call: Call
    var shoal: Outcome
    var reference: Outcome

    var description: String {
        "\(kind.rawValue): module \(module), \(heap) heap, \(call.line): Shoal \(shoal.summary); wasmtime \(reference.summary)"
    }
}

/// Counts for a run.
struct Tally: Sendable {
    var modules = 0
    var smithGaveUp = 0
    var smithFailed = 0
    var exports = 0
    var calls = 0
    var compared = 0
    var skippedStack = 0
    var skippedReference = 0
    var agreedTraps = 0
    var agreedValues = 0
    var workerRestarts = 0
    var memoryRestarts = 0
    var flakyTimeouts = 0
    var byKind: [FindingKind: Int] = [:]
    var findingModules: Set<Int> = []

    mutating func add(_ other: Tally) {
        modules += other.modules
        smithGaveUp += other.smithGaveUp
        smithFailed += other.smithFailed
        exports += other.exports
        calls += other.calls
        compared += other.compared
        skippedStack += other.skippedStack
        skippedReference += other.skippedReference
        agreedTraps += other.agreedTraps
        agreedValues += other.agreedValues
        workerRestarts += other.workerRestarts
        memoryRestarts += other.memoryRestarts
        flakyTimeouts += other.flakyTimeouts
        for (k, v) in other.byKind { byKind[k, default: 0] += v }
        findingModules.formUnion(other.findingModules)
    }

    var findings: Int { byKind.values.reduce(0, +) }

    func summary(seed: UInt64, elapsed: Double) -> String {
        let kinds = FindingKind.allCases.map { "\($0.rawValue) \(byKind[$0] ?? 0)" }.joined(separator: ", ")
        return """
            diff: seed \(seed), \(modules) modules generated (smith gave up on \(smithGaveUp) inputs\(smithFailed > 0 ? ", failed on \(smithFailed)" : "")), \(exports) exports, \
            \(calls) calls x 2 heap modes
            diff: \(compared) comparisons: \(agreedValues) same results, \(agreedTraps) same trap; skipped \(skippedStack) \
            (stack exhausted on a side), \(skippedReference) (wasmtime timed out or failed)
            diff: findings in \(findingModules.count) modules: \(kinds); worker restarts \(workerRestarts) (+ \(memoryRestarts) for its size); \
            \(flakyTimeouts > 0 ? "\(flakyTimeouts) timeouts that did not happen again; " : "")\
            \(String(format: "%.1f", elapsed)) s
            """
    }
}

/// Compares module by module; a pool of threads, each with its own Shoal worker process.
struct DiffRun {
    var seed: UInt64
    var indices: [Int]
    var jobs: Int
    var directory: String
    var tools: (wasmTools: String, wasmtime: String)
    var referenceTimeout = 10.0
    var verbose = false
    var smithFlags: [String] = []
    var source: Generator.Source = .smith
    var tier: CompilerTier = .baseline
    let started = Date()

    func run(onFinding: @escaping @Sendable (Finding, String) -> Void) throws -> Tally {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let next = Atomic<Int>(0)
        let total = Mutex(Tally())
        let failure = Mutex<String?>(nil)
        let group = DispatchGroup()
        let me = self
        for _ in 0..<max(1, jobs) {
            group.enter()
            let thread = Thread {
                defer { group.leave() }
                let client = WorkerClient(executable: selfExecutable(), log: me.directory + "/worker-stderr.log", tier: me.tier)
                let generator = Generator(wasmTools: me.tools.wasmTools, source: me.source, extraFlags: me.smithFlags)
                var tally = Tally()
                while true {
                    let n = next.add(1, ordering: .relaxed).oldValue
                    guard n < me.indices.count, failure.withLock({ $0 == nil }) else { break }
                    if n > 0 && n % 1000 == 0 {
                        print("diff: \(n) of \(me.indices.count) modules started, \(Int(-me.started.timeIntervalSinceNow)) s")
                        fflush(nil)
                    }
                    do {
                        try me.check(index: me.indices[n], generator: generator, client: client, tally: &tally, onFinding: onFinding)
                    } catch let error as SmithFailure {
                        print("warning: \(error)")
                        tally.smithFailed += 1
                    } catch {
                        failure.withLock { $0 = "\(error)" }
                    }
                }
                tally.workerRestarts = client.restarts
                tally.memoryRestarts = client.memoryRestarts
                client.stop()
                total.withLock { $0.add(tally) }
            }
            thread.start()
        }
        group.wait()
        if let message = failure.withLock({ $0 }) { throw HarnessError(message) }
        return total.withLock { $0 }
    }

    func check(index: Int, generator: Generator, client: WorkerClient, tally: inout Tally,
               onFinding: @Sendable (Finding, String) -> Void) throws {
        guard let module = try generator.generate(seed: seed, index: index, directory: directory) else {
            tally.smithGaveUp += 1
            return
        }
        tally.modules += 1
        tally.exports += Set(module.calls.map(\.export)).count
        tally.calls += module.calls.count
        let heaps: [HeapMode] = [.guarded, .bounded]
        let shoal = client.run(module: module.path, calls: module.calls, heaps: heaps)
        var keep = false
        if client.lastGrowth >= 1 << 20 {
            tally.byKind[.leak, default: 0] += 1
            tally.findingModules.insert(index)
            if tally.byKind[.leak]! <= 3 || verbose {
                keep = true  // the ones printed (any other is rebuilt by --only)
                print("FINDING leak: module \(index): the worker's address space grew by \(client.lastGrowth >> 20) GiB over its \(module.calls.count * 2) calls, every store dropped [\(module.path)]")
                fflush(nil)
            }
        }
        for (i, call) in module.calls.enumerated() {
            let reference = Reference.run(wasmtime: tools.wasmtime, module: module.path, call: call, timeout: referenceTimeout)
            for heap in heaps {
                var skip = false
                var outcome = shoal[heap]![i]
                if case .timeout = outcome, reference != .timeout {
                    // A hang must happen twice: on a loaded machine a call can stall past the
                    // limit once (seen once in 100,000 calls, not again in 2,000 repetitions).
                    let again = client.run(module: module.path, calls: [call], heaps: [heap])[heap]![0]
                    if again != .timeout {
                        tally.flakyTimeouts += 1
                        print("warning: module \(index), \(heap) heap, \(call.line): timed out once, then \(again.summary)")
                        fflush(nil)
                        outcome = again
                    }
                }
                if let kind = classify(shoal: outcome, reference: reference, skip: &skip) {
                    tally.byKind[kind, default: 0] += 1
                    tally.findingModules.insert(index)
                    keep = true
                    onFinding(Finding(kind: kind, module: index, heap: heap, call: call, shoal: outcome, reference: reference), module.path)
                } else if skip {
                    if case .trap(.stack, _) = outcome { tally.skippedStack += 1 }
                    else if case .trap(.stack, _) = reference { tally.skippedStack += 1 }
                    else { tally.skippedReference += 1 }
                    if verbose { print("skip: module \(index) \(heap) \(call.line): Shoal \(outcome.summary); wasmtime \(reference.summary)") }
                } else {
                    if verbose { print("same: module \(index) \(heap) \(call.line): \(outcome.summary); wasmtime \(reference.summary)") }
                    tally.compared += 1
                    if case .trap = reference { tally.agreedTraps += 1 } else { tally.agreedValues += 1 }
                }
            }
        }
        if !keep && !verbose { unlink(module.path) }
    }
}

/// `shoal-fuzz check`: the interestingness predicate for `wasm-tools shrink`. Exit 0 when FILE
/// still shows a finding of `kind` for the call under `heap`.
enum Check {
    static func reproduces(file: String, call: Call, heap: HeapMode, kind: FindingKind, wasmtime: String) -> Bool {
        let client = WorkerClient(executable: selfExecutable(), watchdog: 20)
        defer { client.stop() }
        let shoal = client.run(module: file, calls: [call], heaps: [heap])[heap]![0]
        if kind == .crash {
            if case .crash = shoal { return true }
            return false
        }
        // Shrinking may turn a mismatch into a module wasmtime rejects, or drop the export.
        let reference = Reference.run(wasmtime: wasmtime, module: file, call: call, timeout: 10)
        var skip = false
        return classify(shoal: shoal, reference: reference, skip: &skip) == kind
    }
}

/// Shrinks a finding's module with `wasm-tools shrink` and writes `<name>.wasm`, `<name>.wat` and
/// `<name>.expect` (the replay format, wasmtime's outcome as the expectation) into `directory`.
enum Shrinker {
    static func shrink(_ finding: Finding, module path: String, name: String, directory: String, origin: String,
                       tools: (wasmTools: String, wasmtime: String), attempts: Int) throws -> String {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let predicate = "\(directory)/\(name).predicate.sh"
        let results = finding.call.resultKinds.map(\.rawValue).joined(separator: ",")
        let script = """
            #!/bin/sh
            # Interesting when Shoal still shows this finding on "$1".
            exec '\(selfExecutable())' check --kind \(finding.kind.rawValue) --heap \(finding.heap) --results '\(results)' \
            --call '\(finding.call.line)' "$1"

            """
        try script.write(toFile: predicate, atomically: true, encoding: .utf8)
        chmod(predicate, 0o755)
        defer { unlink(predicate) }
        let out = "\(directory)/\(name).wasm"
        let shrunk = runProcess(tools.wasmTools, ["shrink", "--attempts", "\(attempts)", predicate, path, "-o", out], timeout: 1800)
        if shrunk.status != 0 {
            // The finding did not reproduce alone (flaky?) or shrink failed: keep the original.
            try? FileManager.default.removeItem(atPath: out)
            try FileManager.default.copyItem(atPath: path, toPath: out)
        }
        let wat = runProcess(tools.wasmTools, ["print", out], timeout: 60).stdout
        try wat.write(toFile: "\(directory)/\(name).wat", atomically: true, encoding: .utf8)
        // The expectation is what wasmtime does with the shrunk module.
        let reference = Reference.run(wasmtime: tools.wasmtime, module: out, call: finding.call, timeout: 10)
        let client = WorkerClient(executable: selfExecutable(), watchdog: 20)
        let shoal = client.run(module: out, calls: [finding.call], heaps: [finding.heap])[finding.heap]![0]
        client.stop()
        let line = "\(finding.kind.rawValue) (\(finding.heap) heap): \(finding.call.line): expected \(reference.summary), Shoal gave \(shoal.summary)"
        var expect = """
            # \(line)
            # found by: \(origin)\(shrunk.status == 0 ? ", shrunk by wasm-tools shrink" : " (not shrunk: \(shrunk.stderr.prefix(200)))")
            # replay: shoal-fuzz replay \(out)

            """
        expect += "invoke \(finding.call.line) => \(reference.expectation)\n"
        expect += "\n" + wat.split(separator: "\n", omittingEmptySubsequences: false).map { "#| " + $0 }.joined(separator: "\n") + "\n"
        try expect.write(toFile: "\(directory)/\(name).expect", atomically: true, encoding: .utf8)
        return line
    }
}
