import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `shoal run` as a user runs it: the built executable (next to the test bundle, built by
/// `swift build --build-tests`) in a child process. A watchdog kills a child that has not ended
/// after `watchdog` — a guard against a hang (which is what some of these tests caught), not a
/// timing assertion.
struct ShoalCommand {
    static let executable: String? = {
        let bundle = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? "")
        let candidates = [bundle.deletingLastPathComponent(), bundle.deletingLastPathComponent().deletingLastPathComponent()]
        return candidates.map { $0.appendingPathComponent("shoal").path }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    struct Outcome {
        var status: Int32
        /// Bytes written to standard output, and the last 64 KiB of them.
        var stdoutBytes: Int
        var stdoutTail: String
        var stderr: String
        var killedByWatchdog: Bool
        /// The child's process id (it has ended by then).
        var pid: Int32
    }

    /// `input`: what the child reads on standard input (a file), or nil to inherit the test's.
    /// `subcommand`: `run` unless told (`compile`, `inspect`, `keygen`). `environment`: variables
    /// set for the child on top of the test's own.
    static func run(_ arguments: [String], input: String? = nil, watchdog: Duration = .seconds(120),
                    subcommand: String = "run", environment: [String: String] = [:]) throws -> Outcome {
        let shoal = try #require(executable, "the shoal executable was not built next to the tests")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: shoal)
        process.arguments = [subcommand] + arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, set in set }
        }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        if let input { process.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: try file("stdin.txt", input))) }
        try process.run()
        // Both pipes are drained on threads of their own: a child writing hundreds of MiB must
        // never block on a full pipe.
        final class Drained: @unchecked Sendable {  // written by the drain threads, read after `done`
            var count = 0
            var tail = Data()
            var all = Data()
            let done = DispatchSemaphore(value: 0)
        }
        func drain(_ handle: FileHandle, keepAll: Bool) -> Drained {
            let d = Drained()
            Thread {
                while true {
                    let chunk = handle.availableData
                    if chunk.isEmpty { break }
                    d.count += chunk.count
                    if keepAll { d.all += chunk }
                    d.tail = (d.tail + chunk).suffix(65536)
                }
                d.done.signal()
            }.start()
            return d
        }
        let stdout = drain(out.fileHandleForReading, keepAll: false)
        let stderr = drain(err.fileHandleForReading, keepAll: true)
        let exited = DispatchSemaphore(value: 0)
        Thread {
            process.waitUntilExit()
            exited.signal()
        }.start()
        var killed = false
        if exited.wait(timeout: .now() + .nanoseconds(Int(watchdog.components.seconds) * 1_000_000_000)) == .timedOut {
            killed = true
            kill(process.processIdentifier, SIGKILL)
            exited.wait()
        }
        stdout.done.wait()
        stderr.done.wait()
        return Outcome(status: process.terminationStatus, stdoutBytes: stdout.count, stdoutTail: String(decoding: stdout.tail, as: UTF8.self),
                       stderr: String(decoding: stderr.all, as: UTF8.self), killedByWatchdog: killed,
                       pid: process.processIdentifier)
    }

    /// Writes `text` to a fresh temporary file named `name` and returns its path.
    static func file(_ name: String, _ text: String) throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("shoal-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent(name).path
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        return path
    }
}

@Suite("shoal run", .enabled(if: ShoalCommand.executable != nil, "the shoal executable is not built"))
struct RunCommandTests {
    /// A WASI command whose start function (run at instantiation, before _start) never ends.
    static let loopingStart = """
        (module
          (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
          (memory (export "memory") 1)
          (func $spin (loop $forever (br $forever)))
          (start $spin)
          (func (export "_start") (call $exit (i32.const 0)))
          (func (export "f") (result i32) (i32.const 7)))
        """

    @Test("SHOAL_PERF_MAP=1 names every function of the guest for perf in /tmp/perf-PID.map; without it there is no map")
    func perfMapNamesTheGuestsFunctions() throws {
        // Names from the name section where the module has one (clang's output does), else
        // wasm-function[index] (the text format here makes none).
        let unnamed = try ShoalCommand.file("unnamed.wat", """
            (module (func (export "_start") call 1) (func))
            """)
        for (module, expected) in [(unnamed, ["shoal-stubs", "wasm-function[0]", "wasm-function[1]"]),
                                   ("Tests/wasi-programs/hello.wasm", ["shoal-stubs", "_start", "main"])] {
            let mapped = try ShoalCommand.run([module], environment: ["SHOAL_PERF_MAP": "1"])
            #expect(mapped.status == 0, "\(mapped.stderr)")
            let path = "/tmp/perf-\(mapped.pid).map"
            defer { unlink(path) }
            // `start size name`, both in hex, one line per function plus one for the stubs.
            let entries = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
                .map { $0.split(separator: " ", maxSplits: 2) }
            let names = entries.map { String($0[2]) }
            #expect(names.first == "shoal-stubs")
            #expect(Set(expected).isSubset(of: names), "\(names)")
            let ranges = entries.compactMap { e -> Range<UInt64>? in
                guard let start = UInt64(e[0], radix: 16), let size = UInt64(e[1], radix: 16), size > 0 else { return nil }
                return start..<start + size
            }
            #expect(ranges.count == entries.count)
            #expect(zip(ranges, ranges.dropFirst()).allSatisfy { $0.upperBound <= $1.lowerBound }, "overlapping or unordered")
        }
        let plain = try ShoalCommand.run([unnamed])
        #expect(plain.status == 0)
        #expect(!FileManager.default.fileExists(atPath: "/tmp/perf-\(plain.pid).map"))
    }

    @Test("--timeout stops a start function that loops forever, in a single run")
    func timeoutStopsALoopingStartFunction() throws {
        let module = try ShoalCommand.file("spin.wat", Self.loopingStart)
        let outcome = try ShoalCommand.run(["--timeout", "300ms", module])
        #expect(!outcome.killedByWatchdog, "shoal run hung")
        #expect(outcome.status == 124)
        #expect(outcome.stderr.contains("time limit of 300ms exceeded"), "\(outcome.stderr)")
    }

    @Test("--timeout stops a looping start function before an --invoke")
    func timeoutStopsALoopingStartFunctionBeforeInvoke() throws {
        let module = try ShoalCommand.file("spin.wat", Self.loopingStart.replacingOccurrences(
            of: "(import \"wasi_snapshot_preview1\" \"proc_exit\" (func $exit (param i32)))", with: "")
            .replacingOccurrences(of: "(call $exit (i32.const 0))", with: ""))
        let outcome = try ShoalCommand.run(["--timeout", "300ms", "--invoke", "f", module])
        #expect(!outcome.killedByWatchdog, "shoal run hung")
        #expect(outcome.status == 124)
    }

    @Test("--timeout stops looping start functions under --instances")
    func timeoutStopsLoopingStartFunctionsUnderInstances() throws {
        let module = try ShoalCommand.file("spin.wat", Self.loopingStart)
        let outcome = try ShoalCommand.run(["--instances", "3", "--timeout", "300ms", module])
        #expect(!outcome.killedByWatchdog, "shoal run --instances hung")
        #expect(outcome.status == 1)
        #expect(outcome.stdoutTail.contains("completed:      0"), "\(outcome.stdoutTail)")
        #expect(outcome.stdoutTail.contains("trapped:        3"), "\(outcome.stdoutTail)")  // a time limit is a trap (interrupted)
    }

    @Test("--timeout also stops a guest parked in I/O (waiting for a connection, or sleeping)")
    func timeoutStopsAParkedGuest() throws {
        let accepting = try ShoalCommand.run(["--timeout", "300ms", "--tcplisten", "127.0.0.1:0", "\(programs)/echo.wasm", "1"])
        #expect(!accepting.killedByWatchdog, "shoal run hung")
        #expect(accepting.status == 124, "\(accepting.stderr)")
        let sleeping = try ShoalCommand.run(["--timeout", "300ms", "\(programs)/sleep.wasm", "600000"])
        #expect(!sleeping.killedByWatchdog, "shoal run hung")
        #expect(sleeping.status == 124, "\(sleeping.stderr)")
    }

    @Test("--fuel also applies to the start function, from its first instruction")
    func fuelStopsALoopingStartFunction() throws {
        let module = try ShoalCommand.file("spin.wat", Self.loopingStart)
        let single = try ShoalCommand.run(["--fuel", "100000", module])
        #expect(!single.killedByWatchdog)
        #expect(single.status == 134 && single.stderr.contains("fuel"), "\(single.stderr)")
        let many = try ShoalCommand.run(["--instances", "2", "--fuel", "100000", module])
        #expect(!many.killedByWatchdog)
        #expect(many.stdoutTail.contains("trapped:        2"), "\(many.stdoutTail)")
    }

    @Test("--instances honours --dir, --env and the guest's arguments, as a single run does")
    func instancesHonourEveryFlag() throws {
        let input = try ShoalCommand.file("in.txt", "from the host")
        let sandbox = URL(fileURLWithPath: input).deletingLastPathComponent().path
        let flags = ["--dir", "\(sandbox)::/sandbox", "--env", "GREETING=hi", "\(programs)/configured.wasm", "one"]
        let expected = "arg 1: one\nGREETING=hi\nin.txt: from the host\n"
        let single = try ShoalCommand.run(flags)
        #expect(single.status == 0)
        #expect(single.stdoutTail == expected)
        let many = try ShoalCommand.run(["--instances", "3"] + flags)
        #expect(many.status == 0, "\(many.stderr)")
        // The instances write at once, so their lines interleave: compare them as a multiset.
        let guestOutput = many.stdoutTail.components(separatedBy: "instances:").first ?? ""
        let lines = guestOutput.split(separator: "\n").map(String.init).sorted()
        let wanted = expected.split(separator: "\n").map(String.init).flatMap { Array(repeating: $0, count: 3) }.sorted()
        #expect(lines == wanted, "\(many.stdoutTail)")
        #expect(many.stdoutTail.contains("completed:      3"))
    }

    @Test("Under --instances, {i} in the program's arguments becomes each instance's number")
    func instancesGetTheirNumber() throws {
        let many = try ShoalCommand.run(["--instances", "3", "\(programs)/configured.wasm", "file{i}", "plain"])
        #expect(many.status == 0, "\(many.stderr)")
        let guestOutput = many.stdoutTail.components(separatedBy: "instances:").first ?? ""
        let numbered = guestOutput.split(separator: "\n").filter { $0.hasPrefix("arg 1: ") }.map(String.init).sorted()
        #expect(numbered == ["arg 1: file0", "arg 1: file1", "arg 1: file2"], "\(many.stdoutTail)")
        #expect(guestOutput.split(separator: "\n").filter { $0 == "arg 2: plain" }.count == 3)
    }

    @Test("Under --instances no guest reads the host's standard input (tenants would share its bytes)")
    func instancesDoNotShareStandardInput() throws {
        let single = try ShoalCommand.run(["\(programs)/cat.wasm"], input: "meant for one reader\n")
        #expect(single.status == 0 && single.stdoutTail == "meant for one reader\n")
        let many = try ShoalCommand.run(["--instances", "3", "\(programs)/cat.wasm"], input: "meant for one reader\n")
        #expect(many.status == 0, "\(many.stderr)")
        #expect(!many.stdoutTail.contains("meant for one reader"), "\(many.stdoutTail)")
        #expect(many.stdoutTail.contains("completed:      3"))
    }

    @Test("Under --instances a guest's standard output is streamed, not held in memory")
    func instancesStreamStandardOutput() throws {
        let outcome = try ShoalCommand.run(["--instances", "1", "\(programs)/spew.wasm", "256"])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let summary = outcome.stdoutTail.components(separatedBy: "instances:").last ?? ""
        #expect(outcome.stdoutBytes == 256 << 20 + "instances:".utf8.count + summary.utf8.count, "all 256 MiB reached stdout")
        // The process's peak RSS, from its own summary: 256 MiB held would show as more than that.
        let peak = summary.split(separator: "\n").first { $0.hasPrefix("peak RSS:") }
            .flatMap { Double($0.split(separator: " ").dropFirst(2).first ?? "") }
        let peakMiB = try #require(peak, "\(summary)")
        #expect(peakMiB < 192, "peak RSS \(peakMiB) MiB while writing 256 MiB")
    }

    /// A WASI module whose exports print what runs: `exports` is a list of (export name, word).
    static func printing(_ exports: [(String, String)], body: String = "") -> String {
        var text = """
            (module
              (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
              (memory (export "memory") 1)

            """
        for (i, (name, word)) in exports.enumerated() {
            let at = 64 + 32 * i
            text += "  (data (i32.const \(at)) \"\(word)\\n\")\n"
            text += "  (data (i32.const \(16 * i)) \"\\\(String(format: "%02x", at))\\00\\00\\00\\\(String(format: "%02x", word.utf8.count + 1))\\00\\00\\00\")\n"
            text += "  (func (export \"\(name)\") (drop (call $w (i32.const 1) (i32.const \(16 * i)) (i32.const 1) (i32.const 1000))))\n"
        }
        return text + body + ")\n"
    }

    @Test("A reactor's _initialize runs before the entry or --invoke, an export named \"\" is the entry, and a module with neither exits 0 (as wasmtime)")
    func entryPoints() throws {
        let reactor = try ShoalCommand.run([try ShoalCommand.file("r.wat", Self.printing([("_initialize", "init"), ("_start", "start")]))])
        #expect(reactor.status == 0 && reactor.stdoutTail == "init\nstart\n", "\(reactor.stderr)")
        // Under --instances too: every instance initializes itself before its entry.
        let reactors = try ShoalCommand.run(["--instances", "2", try ShoalCommand.file("r.wat", Self.printing([("_initialize", "init"), ("_start", "start")]))])
        #expect(reactors.status == 0, "\(reactors.stderr)")
        let reactorLines = (reactors.stdoutTail.components(separatedBy: "instances:").first ?? "").split(separator: "\n").sorted()
        #expect(reactorLines == ["init", "init", "start", "start"], "\(reactors.stdoutTail)")
        let empty = try ShoalCommand.run([try ShoalCommand.file("e.wat", Self.printing([("", "empty"), ("_start", "start")]))])
        #expect(empty.status == 0 && empty.stdoutTail == "empty\n", "\(empty.stderr)")
        let initializeOnly = try ShoalCommand.run([try ShoalCommand.file("i.wat", Self.printing([("_initialize", "init")]))])
        #expect(initializeOnly.status == 0 && initializeOnly.stdoutTail == "init\n", "\(initializeOnly.stderr)")
        let nothing = try ShoalCommand.run([try ShoalCommand.file("n.wat", Self.printing([("f", "f")]))])
        #expect(nothing.status == 0 && nothing.stdoutTail.isEmpty && nothing.stderr.isEmpty, "\(nothing.stderr)")
        // --invoke on a WASI reactor: WASI is linked, _initialize runs first, the result is printed.
        let invoked = try ShoalCommand.run(["--invoke", "add", try ShoalCommand.file("a.wat", Self.printing([("_initialize", "init")], body: """
              (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
            """)), "2", "40"])
        #expect(invoked.status == 0 && invoked.stdoutTail == "init\n42\n", "\(invoked.stderr)")
        let plain = try ShoalCommand.run([try ShoalCommand.file("p.wat", "(module (func (export \"f\")))")])
        #expect(plain.status == 0 && plain.stderr.isEmpty, "\(plain.stderr)")
    }

    @Test("A trap in a WASI program prints its message and a wasm backtrace and exits 134 (as wasmtime)")
    func trapInAWASIProgram() throws {
        let module = try ShoalCommand.file("t.wat", Self.printing([("_start", "before")], body: """
              (func $inner unreachable)
              (func $outer (call $inner))
              (func (export "go") (call $outer))
            """).replacingOccurrences(of: "(i32.const 1000))))\n", with: "(i32.const 1000))) (call $outer))\n"))
        let outcome = try ShoalCommand.run([module])
        #expect(outcome.status == 134)
        #expect(outcome.stdoutTail == "before\n")
        #expect(outcome.stderr.contains("trap: unreachable\nwasm backtrace:\n  0: func[2]\n  1: func[3]\n  2: func[1]"), "\(outcome.stderr)")
    }

    @Test("--cache-dir: the first run stores the compiled module, the next starts from it; a directory others may write is refused")
    func cacheDirectoryStoresAndReuses() throws {
        let input = try ShoalCommand.file("in.txt", "from the host")
        let sandbox = URL(fileURLWithPath: input).deletingLastPathComponent().path
        let cache = sandbox + "/cache/shoal"  // parents are made too
        let flags = ["--cache-dir", cache, "--dir", "\(sandbox)::/sandbox", "--env", "GREETING=hi", "\(programs)/configured.wasm", "one"]
        let expected = "arg 1: one\nGREETING=hi\nin.txt: from the host\n"
        let first = try ShoalCommand.run(flags)
        #expect(first.status == 0 && first.stdoutTail == expected, "\(first.stderr)")
        let entries = try FileManager.default.contentsOfDirectory(atPath: cache).filter { $0.hasSuffix(".shoal") }
        #expect(entries.count == 1, "\(entries)")
        var info = stat()
        #expect(stat(cache, &info) == 0 && info.st_mode & 0o777 == 0o700)
        // The second run reads the entry: make it unreadable as an artifact, and the run must
        // still succeed (the bad entry is rejected and recompiled, never run).
        let entry = cache + "/" + entries[0]
        let second = try ShoalCommand.run(flags)
        #expect(second.status == 0 && second.stdoutTail == expected, "\(second.stderr)")
        try Data("not an artifact".utf8).write(to: URL(fileURLWithPath: entry))
        let third = try ShoalCommand.run(flags)
        #expect(third.status == 0 && third.stdoutTail == expected, "\(third.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: entry)).starts(with: Data("SHOALART".utf8)), "the bad entry was not replaced")

        let open = sandbox + "/open-cache"
        #expect(mkdir(open, 0o777) == 0 && chmod(open, 0o777) == 0)
        let refused = try ShoalCommand.run(["--cache-dir", open] + flags.dropFirst(2))
        #expect(refused.status == 0 && refused.stdoutTail == expected)
        #expect(refused.stderr.contains("others may write to"), "\(refused.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: open).isEmpty)
    }
}
