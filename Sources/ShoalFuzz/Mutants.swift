import Compiler
import Foundation
import FuzzSupport
import RuntimeABI
import SpecRunner
import Synchronization
import WasmCore
import WasmDecoder

/// `shoal-fuzz mutants`: the long mutation robustness run. Mutants of the spec suite's modules
/// (the robustness test's mutator) are decoded, validated and, when valid, compiled; none may crash
/// or hang. Mutant `i` comes from its own SplitMix64 stream seeded from (seed, i), so any one can
/// be rebuilt alone (`--from i --count 1 --save FILE`).
///
/// The work runs in worker processes, in chunks: a worker records the mutant it is on and its
/// counts in a shared file mapping, so when it dies (a crash) or stops advancing (a hang) the
/// supervisor knows which mutant did it, keeps the counts, and starts a new worker after it.
enum Mutants {
    /// The per-worker shared record: [current mutant, valid, malformed, invalid, compiled,
    /// unsupported, disagreements, finished].
    static let slots = 8

    static func mutant(_ i: Int, seed: UInt64, corpus: [[UInt8]]) -> [UInt8] {
        var rng = SplitMix64(state: seed ^ (UInt64(i) &* 0x9E37_79B9_7F4A_7C15))
        _ = rng.next()
        return Mutator.mutate(corpus[rng.below(corpus.count)], corpus: corpus, rng: &rng)
    }

    // MARK: corpus

    static func loadSpecCorpus() throws -> [[UInt8]] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        guard let suite = SpecSuite.location(packageRoot: root) ?? SpecSuite.location(packageRoot: FileManager.default.currentDirectoryPath) else {
            throw HarnessError("spec test suite not found (set \(SpecSuite.environmentVariable))")
        }
        return try SpecSuite.moduleBinaries(in: suite + "/core") + SpecSuite.moduleBinaries(in: suite + "/simd")
    }

    /// Length-prefixed binaries in one file, so that workers do not parse the .wast scripts again.
    static func writeCorpus(_ corpus: [[UInt8]], to path: String) throws {
        var data = Data()
        for m in corpus {
            var n = UInt32(m.count).littleEndian
            withUnsafeBytes(of: &n) { data.append(contentsOf: $0) }
            data.append(contentsOf: m)
        }
        try data.write(to: URL(fileURLWithPath: path))
    }

    static func readCorpus(_ path: String) throws -> [[UInt8]] {
        let data = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        var corpus: [[UInt8]] = []
        var at = 0
        while at + 4 <= data.count {
            let n = Int(data[at]) | Int(data[at + 1]) << 8 | Int(data[at + 2]) << 16 | Int(data[at + 3]) << 24
            corpus.append(Array(data[(at + 4)..<(at + 4 + n)]))
            at += 4 + n
        }
        return corpus
    }

    // MARK: worker

    /// Runs mutants [from, to), recording progress in `progressPath` (a file of `slots` Int64s).
    static func work(corpusPath: String, seed: UInt64, from: Int, to: Int, progressPath: String) throws {
        let corpus = try readCorpus(corpusPath)
        let fd = open(progressPath, O_RDWR)
        guard fd >= 0, let map = mmap(nil, slots * 8, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), map != MAP_FAILED else {
            throw HarnessError("cannot map \(progressPath)")
        }
        let p = map.bindMemory(to: Int64.self, capacity: slots)
        // Self-test of the supervisor: SHOAL_FUZZ_SELFTEST=mutant-crash:N or mutant-hang:N.
        let selfTest = ProcessInfo.processInfo.environment["SHOAL_FUZZ_SELFTEST"]
        for i in from..<to {
            p[0] = Int64(i)
            if selfTest == "mutant-crash:\(i)" { UnsafeMutablePointer<Int>(bitPattern: 8)!.pointee = 1 }  // a real fault
            if selfTest == "mutant-hang:\(i)" { while true { sleep(1) } }
            let bytes = mutant(i, seed: seed, corpus: corpus)
            do throws(WasmError) {
                let module = try ModuleDecoder.decode(bytes)
                p[1] += 1
                do {
                    _ = try ModuleCompiler.compile(module, heapMode: i % 2 == 0 ? .guarded : .bounded)
                    p[4] += 1
                } catch is CompileError {
                    p[5] += 1
                } catch {
                    p[6] += 1
                    print("disagreement: mutant \(i): the validator accepted it, the compiler said \(error)")
                    fflush(nil)
                }
            } catch {
                if error.kind == .malformed { p[2] += 1 } else { p[3] += 1 }
                if error.message.isEmpty {
                    p[6] += 1
                    print("disagreement: mutant \(i): an error without a message")
                }
            }
        }
        p[7] = 1
        munmap(map, slots * 8)
        close(fd)
    }

    // MARK: supervisor

    struct Counts {
        var done = 0, valid = 0, malformed = 0, invalid = 0, compiled = 0, unsupported = 0, disagreements = 0
        var crashes: [String] = []
        var hangs: [String] = []
        var notes: [String] = []

        mutating func add(_ o: Counts) {
            done += o.done; valid += o.valid; malformed += o.malformed; invalid += o.invalid
            compiled += o.compiled; unsupported += o.unsupported; disagreements += o.disagreements
            crashes += o.crashes; hangs += o.hangs; notes += o.notes
        }
    }

    static func supervise(seed: UInt64, from: Int, count: Int, jobs: Int, chunk: Int, hangSeconds: Double, findings: String?) throws -> Counts {
        let started = Date()
        let corpus = try loadSpecCorpus()
        print("mutants: corpus of \(corpus.count) spec-suite modules (core + simd), loaded in \(String(format: "%.1f", -started.timeIntervalSinceNow)) s")
        let dir = FileManager.default.temporaryDirectory.path + "/shoal-mutants-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let corpusPath = dir + "/corpus.bin"
        try writeCorpus(corpus, to: corpusPath)

        var chunks: [(Int, Int)] = []
        var at = from
        while at < from + count {
            chunks.append((at, min(at + chunk, from + count)))
            at += chunk
        }
        let work = chunks
        let next = Atomic<Int>(0)
        let total = Mutex(Counts())
        let group = DispatchGroup()
        let executable = selfExecutable()
        for job in 0..<max(1, jobs) {
            group.enter()
            let thread = Thread {
                defer { group.leave() }
                let progressPath = "\(dir)/progress-\(job)"
                while true {
                    let n = next.add(1, ordering: .relaxed).oldValue
                    guard n < work.count else { break }
                    var (lo, hi) = work[n]
                    var counts = Counts()
                    while lo < hi {
                        let (stopped, c) = runWorker(executable: executable, corpusPath: corpusPath, seed: seed, from: lo, to: hi,
                                                     progressPath: progressPath, hangSeconds: hangSeconds)
                        counts.add(c)
                        guard let (at, why, isHang) = stopped else { break }
                        let line = "mutant \(at): \(why) (rebuild: shoal-fuzz mutants --seed \(seed) --from \(at) --count 1 --save mutant-\(at).wasm)"
                        print((isHang ? "HANG " : "CRASH ") + line)
                        if isHang { counts.hangs.append(line) } else { counts.crashes.append(line) }
                        counts.done += 1
                        if let findings {
                            try? FileManager.default.createDirectory(atPath: findings, withIntermediateDirectories: true)
                            try? Data(mutant(at, seed: seed, corpus: corpus)).write(to: URL(fileURLWithPath: "\(findings)/mutant-\(seed)-\(at).wasm"))
                        }
                        lo = at + 1
                    }
                    total.withLock { $0.add(counts) }
                    let t = total.withLock { $0.done }
                    print("mutants: \(t) of \(count) done, \(String(format: "%.0f", -started.timeIntervalSinceNow)) s")
                }
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
        group.wait()
        return total.withLock { $0 }
    }

    /// One worker over [from, to): its counts, and where and why it stopped early (crash or hang).
    static func runWorker(executable: String, corpusPath: String, seed: UInt64, from: Int, to: Int, progressPath: String,
                          hangSeconds: Double) -> (stopped: (Int, String, Bool)?, Counts) {
        _ = FileManager.default.createFile(atPath: progressPath, contents: Data(count: slots * 8))
        let fd = open(progressPath, O_RDONLY)
        let map = mmap(nil, slots * 8, PROT_READ, MAP_SHARED, fd, 0)!
        defer {
            munmap(map, slots * 8)
            close(fd)
        }
        let p = map.bindMemory(to: Int64.self, capacity: slots)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["mutants-worker", "--corpus", corpusPath, "--seed", "\(seed)", "--from", "\(from)", "--to", "\(to)",
                             "--progress", progressPath]
        process.standardInput = FileHandle.nullDevice
        func counts() -> Counts {
            Counts(done: Int(p[1] + p[2] + p[3]), valid: Int(p[1]), malformed: Int(p[2]), invalid: Int(p[3]), compiled: Int(p[4]),
                   unsupported: Int(p[5]), disagreements: Int(p[6]))
        }
        do { try process.run() } catch { return ((from, "cannot start a worker: \(error)", false), Counts()) }
        var last = Int64(-1), lastChange = Date()
        while process.isRunning {
            usleep(200_000)
            let now = p[0]
            if now != last {
                last = now
                lastChange = Date()
            } else if -lastChange.timeIntervalSinceNow > hangSeconds {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                return ((Int(now), "no progress for \(Int(hangSeconds)) s", true), counts())
            }
        }
        process.waitUntilExit()
        if process.terminationReason == .exit, process.terminationStatus == 0, p[7] == 1 { return (nil, counts()) }
        let why = process.terminationReason == .uncaughtSignal ? signalName(process.terminationStatus) : "exit status \(process.terminationStatus)"
        return ((max(from, Int(p[0])), why, false), counts())
    }
}
