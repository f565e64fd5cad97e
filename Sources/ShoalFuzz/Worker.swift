import Compiler
import Foundation
import Runtime
import RuntimeABI
import WasmCore
import WasmText

/// Shoal's side, in process: `shoal-fuzz worker` reads requests on stdin and runs them with the
/// compiler and runtime linked in (no process per call), answering one line per event on stdout.
/// The supervisor (`WorkerClient`) restarts it when it dies, so a crash costs one call.
///
/// Request:  `module PATH`, `call EXPORT ARG...` (numbered from 0), `job HEAP CALL`..., `run`.
/// Answers:  `begin HEAP CALL` before each job, then `outcome HEAP CALL values TOKENS...` |
///           `outcome HEAP CALL trap KIND MESSAGE` | `outcome HEAP CALL timeout` |
///           `outcome HEAP CALL error MESSAGE`; then `memory VMSIZE_KB RSS_KB` (after every store
///           of the request is gone: growth from one request to the next is a leak) and `finished`.
enum Worker {
    static let callTimeout = 4.0
    /// The compiler tier this worker compiles with (`shoal-fuzz diff --tier`): set once, before
    /// the serving thread starts.
    nonisolated(unsafe) static var tier: CompilerTier = .baseline

    static func main(tier: CompilerTier) -> Never {
        self.tier = tier
        let thread = Thread {
            serve()
            exit(0)
        }
        thread.stackSize = 64 << 20  // instantiation runs start functions on this thread
        thread.start()
        while true { sleep(1000) }
    }

    static func serve() {
        var path = ""
        var calls: [[String]] = []
        var jobs: [(HeapMode, Int)] = []
        while let line = readLine() {
            let words = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            guard let first = words.first else { continue }
            switch first {
            case "module":
                path = String(line.dropFirst("module ".count))
                calls = []
                jobs = []
            case "call": calls.append(Array(words.dropFirst()))
            case "job": jobs.append((HeapMode(rawValue: words[1])!, Int(words[2])!))
            case "run":
                runJobs(path: path, calls: calls, jobs: jobs)
                let (vm, rss) = memoryUse()
                print("memory \(vm) \(rss)")
                print("finished")
                fflush(nil)
            default: print("error unknown request \(first)")
            }
        }
    }

    /// VmSize and VmRSS of this process, in KiB.
    static func memoryUse() -> (Int, Int) {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return (0, 0) }
        func field(_ name: String) -> Int {
            guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(name) }) else { return 0 }
            return Int(line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first ?? "0") ?? 0
        }
        return (field("VmSize:"), field("VmRSS:"))
    }

    static func runJobs(path: String, calls: [[String]], jobs: [(HeapMode, Int)]) {
        var compiled: [HeapMode: Result<CompiledModule, Error>] = [:]
        let bytes = FileManager.default.contents(atPath: path).map { [UInt8]($0) }
        for (heap, index) in jobs {
            print("begin \(heap) \(index)")
            fflush(nil)
            if compiled[heap] == nil {
                compiled[heap] = Result {
                    guard let bytes else { throw HarnessError("cannot read \(path)") }
                    return try ModuleCompiler.compile(bytes: TextFormat.binary(from: bytes), options: CompileOptions(heapMode: heap, tier: tier))
                }
            }
            let outcome: Outcome
            switch compiled[heap]! {
            case .failure(let error): outcome = .error("compile: \(error)")
            case .success(let module): outcome = call(module, heap: heap, words: calls[index])
            }
            print("outcome \(heap) \(index) \(encode(outcome))")
            fflush(nil)
        }
    }

    /// A fresh store and instance per call, as each `wasmtime run --invoke` is.
    /// Self-test of the supervisor: SHOAL_FUZZ_SELFTEST=crash:EXPORT or hang:EXPORT makes the
    /// worker die or stop answering when it is about to call EXPORT.
    static let selfTest = ProcessInfo.processInfo.environment["SHOAL_FUZZ_SELFTEST"]
    static let experiment = ProcessInfo.processInfo.environment["SHOAL_FUZZ_EXPERIMENT"]

    static func call(_ compiled: CompiledModule, heap: HeapMode, words: [String]) -> Outcome {
        let export = words[0]
        if selfTest == "crash:\(export)" { UnsafeMutablePointer<Int>(bitPattern: 8)!.pointee = 1 }  // a real fault
        if selfTest == "hang:\(export)" { while true { sleep(1) } }
        let arguments: [Value] = words.dropFirst().compactMap { Num(token: $0).map(value) }
        do {
            let store = Store(heapMode: heap)
            let instance = try store.instantiate(compiled) { _, _ in nil }
            if experiment == "instantiate-only" { return .values([]) }
            guard case .function(let function)? = instance.export(export) else { return .error("no exported function \(export)") }
            if experiment == "invoke" { return .values(try function.invoke(arguments).map(num)) }
            if experiment == "no-timer" {
                let execution = try Execution(function, arguments: arguments, stackSize: 8 << 20)
                if case .exited(let results) = try execution.resume() { return .values(results.map(num)) }
                return .error("experiment")
            }
            let execution = try Execution(function, arguments: arguments, stackSize: 8 << 20)
            let timer = DispatchSource.makeTimerSource(queue: .global())
            timer.schedule(deadline: .now() + callTimeout)
            // Weak: a cancelled source may release its handler late, and the execution holds the store.
            timer.setEventHandler { [weak execution] in execution?.requestYield() }
            timer.resume()
            let state = try execution.resume()
            timer.cancel()
            switch state {
            case .exited(let results): return .values(results.map(num))
            case .trapped(let trap): return .trap(kind(trap.code), trap.message)
            case .yielded:
                execution.cancel()
                return .timeout
            default: return .error("the call stopped: \(state)")
            }
        } catch let trap as Trap {
            return .trap(kind(trap.code), trap.message)  // while instantiating (segments, start function)
        } catch {
            return .error("\(error)")
        }
    }

    static func kind(_ code: TrapCode) -> TrapKind {
        switch code {
        case .unreachable: .unreachable
        case .integerDivideByZero: .divideByZero
        case .integerOverflow: .overflow
        case .invalidConversionToInteger: .conversion
        case .outOfBoundsMemoryAccess, .outOfBoundsDataSegmentAccess: .memory
        case .outOfBoundsTableAccess, .undefinedElement: .table
        case .uninitializedElement: .uninitialized
        case .indirectCallTypeMismatch: .signature
        case .callStackExhausted: .stack
        case .nullReference: .null
        default: .other
        }
    }

    static func value(_ n: Num) -> Value {
        switch n {
        case .i32(let v): .i32(v)
        case .i64(let v): .i64(v)
        case .f32(let b): .f32(bits: b)
        case .f64(let b): .f64(bits: b)
        }
    }

    static func num(_ v: Value) -> Num {
        switch v {
        case .i32(let x): .i32(x)
        case .i64(let x): .i64(x)
        case .f32(let b): .f32(b)
        case .f64(let b): .f64(b)
        default: .i64(0xDEAD_BEEF)  // exports are numeric only
        }
    }

    static func oneLine(_ s: String) -> String { s.replacingOccurrences(of: "\n", with: " | ") }

    static func encode(_ outcome: Outcome) -> String {
        switch outcome {
        case .values(let v): (["values"] + v.map(\.token)).joined(separator: " ")
        case .trap(let k, let m): "trap \(k.rawValue) \(oneLine(m))"
        case .timeout: "timeout"
        case .crash(let m): "error crash? \(oneLine(m))"
        case .error(let m): "error \(oneLine(m))"
        }
    }

    static func decode(_ words: ArraySlice<String>, rest: String) -> Outcome {
        switch words.first {
        case "values":
            var values: [Num] = []
            for w in words.dropFirst() {
                guard let v = Num(token: w) else { return .error("bad value \(w) from the worker") }
                values.append(v)
            }
            return .values(values)
        case "trap":
            let k = words.dropFirst().first.flatMap { TrapKind(rawValue: $0) } ?? .other
            return .trap(k, rest.split(separator: " ", maxSplits: 1).dropFirst().first.map(String.init) ?? "")
        case "timeout": return .timeout
        default: return .error(rest)
        }
    }
}

/// Runs jobs through a `shoal-fuzz worker` process, restarting it when it dies: the job it died
/// in is a crash; one that makes it stop answering for `watchdog` seconds is a hang.
final class WorkerClient {
    let executable: String
    let watchdog: Double
    private var process: Process?
    private var input: FileHandle?
    private var output: Int32 = -1
    private var buffer: [UInt8] = []
    private(set) var restarts = 0
    /// Restarts made because the worker grew too big (leaks), not because it died.
    private(set) var memoryRestarts = 0
    /// Address space (KiB) the last `run` left behind that the one before had not: every store is
    /// gone by then, so this is leaked (0 when unknown, e.g. on a fresh worker).
    private(set) var lastGrowth = 0
    private var lastVM: Int?
    private var lastRSS = 0

    /// Where the worker's stderr goes (a crash's backtrace), appended; nil: discarded.
    let log: String?
    /// The compiler tier the worker compiles with.
    let tier: CompilerTier

    init(executable: String, watchdog: Double = 30, log: String? = nil, tier: CompilerTier = .baseline) {
        self.tier = tier
        self.executable = executable
        self.watchdog = watchdog
        self.log = log
    }

    deinit { stop() }

    func stop() {
        if let process, process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? input?.close()
        if output >= 0 { close(output) }
        process = nil
        input = nil
        output = -1
        buffer = []
        lastVM = nil
    }

    private func start() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = ["worker", "--tier", tier.rawValue]
        let toWorker = Pipe(), fromWorker = Pipe()
        p.standardInput = toWorker
        p.standardOutput = fromWorker
        p.standardError = FileHandle.nullDevice
        if let log {
            if !FileManager.default.fileExists(atPath: log) { _ = FileManager.default.createFile(atPath: log, contents: nil) }
            if let handle = FileHandle(forWritingAtPath: log) {
                handle.seekToEndOfFile()
                p.standardError = handle
            }
        }
        try p.run()
        process = p
        input = toWorker.fileHandleForWriting
        output = dup(fromWorker.fileHandleForReading.fileDescriptor)
        try? fromWorker.fileHandleForReading.close()
        try? toWorker.fileHandleForReading.close()
        try? fromWorker.fileHandleForWriting.close()
    }

    /// A line, or nil at end of file or after `watchdog` seconds of silence (`timedOut`).
    private func readLine(timedOut: inout Bool) -> String? {
        let deadline = Date().addingTimeInterval(watchdog)
        while true {
            if let nl = buffer.firstIndex(of: 0x0A) {
                let line = String(decoding: buffer[..<nl], as: UTF8.self)
                buffer.removeSubrange(...nl)
                return line
            }
            let left = deadline.timeIntervalSinceNow
            if left <= 0 {
                timedOut = true
                return nil
            }
            var pfd = pollfd(fd: output, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pfd, 1, Int32(min(left, 1) * 1000))
            if ready < 0 && errno == EINTR { continue }
            if ready <= 0 { continue }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = read(output, &chunk, chunk.count)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return nil }
            buffer.append(contentsOf: chunk[..<n])
        }
    }

    /// Outcomes of `calls` under each heap mode, keyed by heap and call index.
    func run(module path: String, calls: [Call], heaps: [HeapMode]) -> [HeapMode: [Outcome]] {
        // A worker that has grown big (leaked address space or memory) starts afresh, so that a
        // leak shows as a finding, not as the kernel killing the worker (a false crash) later on.
        if process != nil, lastRSS > 1 << 20 || (lastVM ?? 0) > 16 << 30 {
            stop()
            memoryRestarts += 1
        }
        lastGrowth = 0
        var results: [HeapMode: [Outcome?]] = Dictionary(uniqueKeysWithValues: heaps.map { ($0, Array(repeating: nil, count: calls.count)) })
        var pending: [(HeapMode, Int)] = heaps.flatMap { h in calls.indices.map { (h, $0) } }
        while !pending.isEmpty {
            if process == nil {
                do { try start() } catch {
                    for (h, i) in pending { results[h]![i] = .error("cannot start the worker: \(error)") }
                    break
                }
            }
            var request = "module \(path)\n"
            for c in calls { request += "call \(c.line)\n" }
            for (h, i) in pending { request += "job \(h) \(i)\n" }
            request += "run\n"
            do { try input!.write(contentsOf: Data(request.utf8)) } catch {}
            var current: (HeapMode, Int)?
            var finished = false, timedOut = false
            while let line = readLine(timedOut: &timedOut) {
                let words = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
                if words.first == "finished" {
                    finished = true
                    break
                }
                if words.first == "memory", words.count == 3, let vm = Int(words[1]), let rss = Int(words[2]) {
                    lastGrowth = lastVM.map { max(0, vm - $0) } ?? 0
                    lastVM = vm
                    lastRSS = rss
                    continue
                }
                guard words.count >= 3, let h = HeapMode(rawValue: words[1]), let i = Int(words[2]) else { continue }
                if words[0] == "begin" { current = (h, i) }
                if words[0] == "outcome" {
                    let rest = words.count > 4 ? words[4...].joined(separator: " ") : ""
                    results[h]![i] = Worker.decode(words[3...], rest: rest)
                    current = nil
                }
            }
            if finished { break }
            // The worker died or went silent in `current`.
            var why = "hang (no answer for \(Int(watchdog)) s)"
            if !timedOut, let p = process {
                p.waitUntilExit()
                why = p.terminationReason == .uncaughtSignal ? signalName(p.terminationStatus) : "exit status \(p.terminationStatus)"
            }
            stop()
            restarts += 1
            if let (h, i) = current { results[h]![i] = timedOut ? .timeout : .crash(why) }
            pending = pending.filter { results[$0.0]![$0.1] == nil }
            if current == nil {  // died between jobs: give up on the rest rather than loop
                for (h, i) in pending { results[h]![i] = .crash(why) }
                pending = []
            }
        }
        return results.mapValues { $0.map { $0 ?? .error("no answer") } }
    }
}

/// This program's own path, to start workers.
func selfExecutable() -> String {
    (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
}
