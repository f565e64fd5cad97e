import ArgumentParser
import Foundation
import RuntimeABI
import Synchronization

/// `shoal-fuzz`: differential fuzzing against wasmtime, the regression corpus it leaves behind,
/// and the long mutation robustness run. See Docs/TESTING.md.
@main
struct ShoalFuzz: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shoal-fuzz",
        abstract: "Differential fuzzing of Shoal against wasmtime, regression replay, mutation robustness.",
        subcommands: [Diff.self, Replay.self, Reduce.self, Mutate.self, ToolsCommand.self, CheckCommand.self, WorkerCommand.self, MutantsWorker.self])
}

extension HeapMode: ExpressibleByArgument {}
extension CompilerTier: ExpressibleByArgument {}
extension Generator.Source: ExpressibleByArgument {}

struct Diff: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate modules with wasm-tools smith and compare every export under Shoal (both heap modes) and wasmtime.",
        discussion: """
            Module i of a seed is always the same module (given the same wasm-tools version). Prints one line per \
            finding and a summary; exits 1 when there are findings. Modules with findings are kept in --out; with \
            --shrink each first finding of a module is shrunk (wasm-tools shrink) into --findings as NAME.wasm, \
            NAME.wat and NAME.expect (the format `shoal-fuzz replay` reads).
            """)

    @Option(help: "The run's seed.") var seed: UInt64 = 1
    @Option(help: "How many modules.") var modules: Int = 100
    @Option(help: "The first module's index.") var start: Int = 0
    @Option(help: "Only these module indices (repeatable); overrides --modules/--start.") var only: [Int] = []
    @Option(help: "Modules checked at once (each with its own Shoal worker process).") var jobs: Int = 2
    @Option(help: "Where generated modules go (those with findings are kept).") var out: String = "/tmp/shoal-fuzz"
    @Flag(help: "Shrink the first finding of each module.") var shrink = false
    @Option(help: "wasm-tools shrink attempts per finding.") var shrinkAttempts: Int = 300
    @Option(help: "Where shrunk findings go (default: OUT/findings).") var findings: String?
    @Option(help: "Seconds before a wasmtime call counts as timed out (then the call is skipped).") var referenceTimeout: Double = 10
    @Flag(help: "Print every call's outcomes, and keep every module.") var verbose = false
    @Option(help: "A finding kind that is reported but does not make the exit status 1 (repeatable): for a known, open bug.")
    var tolerate: [String] = []
    @Option(help: "Module source: smith (wasm-tools smith), pressure (Shoal's register-pressure generator) or mixed (every fourth module a pressure one).")
    var generator: Generator.Source = .smith
    @Option(parsing: .singleValue, help: "An extra wasm-tools smith option (repeatable), e.g. --smith=--max-instructions=1000.") var smith: [String] = []
    @Option(help: "Shoal's compiler tier: baseline, or optimized (the optimizing tier where it can, the baseline for the rest).")
    var tier: CompilerTier = .baseline

    func run() throws {
        if shrink && tier != .baseline {
            // The shrinker re-checks each candidate with a baseline worker.
            throw ValidationError("--shrink re-checks findings with the baseline tier; without --shrink, replay a finding with --only")
        }
        let tools = try Tools.require()
        let indices = only.isEmpty ? Array(start..<(start + modules)) : only
        let started = Date()
        let directory = "\(out)/seed-\(seed)"
        let recorded = Mutex<[Int: (Finding, String)]>([:])
        let diff = DiffRun(seed: seed, indices: indices, jobs: jobs, directory: directory, tools: tools,
                           referenceTimeout: referenceTimeout, verbose: verbose, smithFlags: smith, source: generator, tier: tier)
        print("diff: \(generator) modules, \(tier) tier, seed \(seed), modules \(indices.first ?? 0)..<\((indices.last ?? -1) + 1) (\(indices.count)), \(jobs) jobs, "
              + "wasm-tools \(tools.wasmTools), wasmtime \(tools.wasmtime)")
        let tally = try diff.run { finding, path in
            print("FINDING \(finding.description) [\(path)]")
            fflush(nil)
            recorded.withLock { if $0[finding.module] == nil { $0[finding.module] = (finding, path) } }
        }
        print(tally.summary(seed: seed, elapsed: -started.timeIntervalSinceNow))
        if shrink {
            let target = findings ?? "\(out)/findings"
            for (index, (finding, path)) in recorded.withLock({ $0 }).sorted(by: { $0.key < $1.key }) {
                let name = "\(generator)-seed\(seed)-m\(index)-\(finding.kind.rawValue)"
                let line = try Shrinker.shrink(finding, module: path, name: name, directory: target,
                                               origin: "shoal-fuzz diff --generator \(generator) --seed \(seed) --only \(index)", tools: tools, attempts: shrinkAttempts)
                print("shrunk: \(target)/\(name).wasm: \(line)")
            }
        }
        let failing = tally.byKind.filter { !tolerate.contains($0.key.rawValue) }.values.reduce(0, +)
        if failing < tally.findings {
            print("diff: tolerated (known, open): \(tolerate.joined(separator: ", ")) -- \(tally.findings - failing) findings not counted against the run")
        }
        if failing > 0 { throw ExitCode(1) }
    }
}

struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Replay regression cases (NAME.expect beside NAME.wasm or NAME.wat) under both heap modes.")
    @Argument(help: "Directories, .expect files or modules.") var paths: [String]

    func run() throws {
        if try !ReplayRunner.run(paths) { throw ExitCode(1) }
    }
}

struct Mutate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mutants",
        abstract: "Decode, validate and compile mutants of the spec suite's modules; none may crash or hang.")
    @Option(help: "The run's seed.") var seed: UInt64 = 0x5EED_0F_5140A1
    @Option(help: "How many mutants.") var count: Int = 1_000_000
    @Option(help: "The first mutant's number.") var from: Int = 0
    @Option(help: "Worker processes at once.") var jobs: Int = 2
    @Option(help: "Mutants per worker process.") var chunk: Int = 50_000
    @Option(help: "Seconds without progress that count as a hang.") var hangSeconds: Double = 60
    @Option(help: "Keep crashing or hanging mutants here.") var findings: String?
    @Option(help: "Only write mutant --from to this file (to rebuild one).") var save: String?

    func run() throws {
        if let save {
            try Data(Mutants.mutant(from, seed: seed, corpus: Mutants.loadSpecCorpus())).write(to: URL(fileURLWithPath: save))
            print("wrote mutant \(from) of seed \(seed) to \(save)")
            return
        }
        let started = Date()
        let c = try Mutants.supervise(seed: seed, from: from, count: count, jobs: jobs, chunk: chunk, hangSeconds: hangSeconds, findings: findings)
        let seconds = -started.timeIntervalSinceNow
        print("""
            mutants: seed \(seed), mutants \(from)..<\(from + count): \(c.done) done in \(String(format: "%.0f", seconds)) s \
            (\(String(format: "%.0f", Double(c.done) / seconds)) per second)
            mutants: \(c.valid) valid, \(c.malformed) malformed, \(c.invalid) invalid; of the valid, \(c.compiled) compiled, \
            \(c.unsupported) refused by the code generator (a CompileError: one of its limits, or SIMD on a CPU without SSE4.1)
            mutants: \(c.crashes.count) crashes, \(c.hangs.count) hangs, \(c.disagreements) validator/compiler disagreements
            """)
        if !c.crashes.isEmpty || !c.hangs.isEmpty || c.disagreements > 0 || c.done != count { throw ExitCode(1) }
    }
}

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check", abstract: "Shrink predicate: exit 0 when FILE still shows the finding.", shouldDisplay: false)
    @Option var kind: String
    @Option var heap: HeapMode
    @Option(help: "Result types, comma-separated (e.g. i32,f64).") var results: String = ""
    @Option(help: "EXPORT ARG...") var call: String
    @Argument var file: String

    func run() throws {
        guard let kind = FindingKind(rawValue: kind), let wasmtime = Tools.wasmtime else { throw ExitCode(2) }
        let words = call.split(separator: " ").map(String.init)
        let c = Call(export: words[0], arguments: words.dropFirst().compactMap { Num(token: $0) },
                     resultKinds: results.split(separator: ",").compactMap { Num.Kind(rawValue: String($0)) })
        if !Check.reproduces(file: file, call: c, heap: heap, kind: kind, wasmtime: wasmtime) { throw ExitCode(1) }
    }
}

struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "worker", abstract: "Shoal's side (used by diff).", shouldDisplay: false)
    @Option var tier: CompilerTier = .baseline
    func run() throws { Worker.main(tier: tier) }
}

struct MutantsWorker: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "mutants-worker", abstract: "Used by mutants.", shouldDisplay: false)
    @Option var corpus: String
    @Option var seed: UInt64
    @Option var from: Int
    @Option var to: Int
    @Option var progress: String

    func run() throws {
        // Large stack: deeply nested mutants recurse in the validator as the robustness test's worker does.
        let failure = Mutex<String?>(nil)
        let done = DispatchSemaphore(value: 0)
        let (corpus, seed, from, to, progress) = (corpus, seed, from, to, progress)
        let thread = Thread {
            do { try Mutants.work(corpusPath: corpus, seed: seed, from: from, to: to, progressPath: progress) } catch {
                failure.withLock { $0 = "\(error)" }
            }
            done.signal()
        }
        thread.stackSize = 8 << 20
        thread.start()
        done.wait()
        if let message = failure.withLock({ $0 }) { throw HarnessError(message) }
    }
}

struct ToolsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tools", abstract: "Print where wasm-tools and wasmtime are; exit 1 (saying how to install them) when they are not found.")
    func run() throws {
        do {
            let tools = try Tools.require()
            print("wasm-tools: \(tools.wasmTools)\nwasmtime: \(tools.wasmtime)")
        } catch {
            print("\(error)")
            throw ExitCode(1)
        }
    }
}

struct Reduce: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Shrink any module showing a finding for one call, and write NAME.wasm/.wat/.expect (a regression case).",
        discussion: "Example: shoal-fuzz reduce --kind crash --heap guarded --call 'f0 i32:3' --results i32 --name abi-live-values bad.wasm")
    @Option(help: "The finding to keep: crash, hang, result, trap-vs-value, trap-kind, rejected.") var kind: String
    @Option var heap: HeapMode = .guarded
    @Option(help: "EXPORT ARG... (tokens such as i32:3 f64:0.5)") var call: String
    @Option(help: "Result types, comma-separated (e.g. i32,f64).") var results: String = ""
    @Option(help: "The case's name.") var name: String
    @Option(help: "Where to write it.") var findings: String = "/tmp/fuzz-findings"
    @Option(help: "wasm-tools shrink attempts.") var attempts: Int = 300
    @Argument var file: String

    func run() throws {
        let tools = try Tools.require()
        guard let kind = FindingKind(rawValue: kind) else { throw ValidationError("unknown kind \(kind)") }
        let words = call.split(separator: " ").map(String.init)
        let c = Call(export: words[0], arguments: words.dropFirst().compactMap { Num(token: $0) },
                     resultKinds: results.split(separator: ",").compactMap { Num.Kind(rawValue: String($0)) })
        // wasm-tools shrink wants a binary.
        var input = file
        if file.hasSuffix(".wat") {
            input = FileManager.default.temporaryDirectory.path + "/shoal-reduce-\(getpid()).wasm"
            let parsed = runProcess(tools.wasmTools, ["parse", file, "-o", input], timeout: 60)
            guard parsed.status == 0 else { throw HarnessError("wasm-tools parse \(file): \(parsed.stderr)") }
        }
        let finding = Finding(kind: kind, module: -1, heap: heap, call: c, shoal: .error(""), reference: .error(""))
        let line = try Shrinker.shrink(finding, module: input, name: name, directory: findings, origin: "shoal-fuzz reduce (\(file))",
                                       tools: tools, attempts: attempts)
        print("\(findings)/\(name).wasm: \(line)")
    }
}
