import Compiler
import Foundation
import Runtime
import RuntimeABI
import Scheduler
import ShoalWASI
import IOUring
import Logging
import Testing
import WasmCore
import WasmText
#if canImport(Glibc)
import Glibc
#endif

/// The C programs in Tests/wasi-programs (built by its build.sh with clang-16 and wasi-libc; the
/// .wasm files are committed), run through Shoal's WASI layer on the real io_uring.
let programs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("wasi-programs").path

struct Outcome {
    var exitCode: Int32
    var stdout: String
    var stderr: String
}

/// The scheduler WASI programs run on in these tests, one per heap mode: the same driver that
/// runs every instance in production (the CLI and the `Shoal` engine submit to it too).
private let testSchedulers: [HeapMode: Scheduler] = {
    var schedulers: [HeapMode: Scheduler] = [:]
    for heap in HeapMode.allCases {
        var configuration = SchedulerConfiguration(slots: 32, heapMode: heap, memoryPages: 256, stackSize: 4 << 20, threads: 2)
        configuration.guardPages = .auto
        var logger = Logger(label: "shoal.wasi-tests")
        logger.logLevel = .warning
        schedulers[heap] = try! Scheduler(configuration, logger: logger)
    }
    return schedulers
}()

func runWASI(_ program: String, arguments: [String] = [], environment: [(String, String)] = [],
             preopens: [(host: String, guest: String)] = [], context: WASIContext? = nil, heap: HeapMode = .bounded) throws -> Outcome {
    let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(programs)/\(program).wasm")))
    let module = try LoadedModule(try ModuleCompiler.compile(bytes: bytes, heapMode: heap))
    let wasi = try context ?? WASIContext(WASIConfiguration(arguments: [program] + arguments, environment: environment, preopens: preopens,
                                                            captureOutput: true))
    let names = WASIContext.importedNames(of: module.compiled.module)
    final class Box: @unchecked Sendable {  // written by the completion before `done` is signalled
        var result: Result<[Value], any Error>?
    }
    let box = Box()
    let done = DispatchSemaphore(value: 0)
    testSchedulers[heap]!.submit(module, entry: "_start", imports: {
        wasi.hostFunctions(named: names).map { HostImport(module: WASIContext.moduleName, name: $0.key, function: $0.value) }
    }) { result in
        box.result = result
        done.signal()
    }
    done.wait()
    var code: Int32 = 0
    switch box.result! {
    case .success: break
    case .failure(let trap as Trap):
        guard let exit = trap.underlying as? WASIExit else { throw trap }
        code = exit.code
    case .failure(let error): throw error
    }
    return Outcome(exitCode: code, stdout: String(decoding: wasi.stdout, as: UTF8.self), stderr: String(decoding: wasi.stderr, as: UTF8.self))
}

/// A WASI program run on a thread of its own (with a large stack), for tests that talk to it.
final class GuestServer: @unchecked Sendable {  // `result` is written before `finished` is signalled
    private var result: Result<Outcome, any Error>?
    private let finished = DispatchSemaphore(value: 0)

    init(_ program: String, context: WASIContext) {
        let thread = Thread {
            self.result = Result { try runWASI(program, context: context) }
            self.finished.signal()
        }
        thread.stackSize = 16 << 20
        thread.start()
    }

    /// Waits for the program to end.
    func outcome() throws -> Outcome {
        finished.wait()
        return try result!.get()
    }
}

/// A TCP connection to 127.0.0.1:`port`, or nil if connecting failed.
func connectToLoopback(port: UInt16) -> Int32? {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else {
        close(fd)
        return nil
    }
    return fd
}

/// wasmtime, the reference for differential checks, when available (it is optional): its CLI, or
/// else its Python package (pip install wasmtime) through Bench/wasi/wasmtime-run.py.
let wasmtime: [String]? = {
    let path = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
    func find(_ name: String) -> String? {
        path.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
    if let cli = find("wasmtime") { return [cli, "run"] }
    if let python = find("python3") {
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: python)
        probe.arguments = ["-c", "import wasmtime"]
        probe.standardError = FileHandle.nullDevice
        if (try? probe.run()) != nil {
            probe.waitUntilExit()
            if probe.terminationStatus == 0 {
                let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                    .deletingLastPathComponent().appendingPathComponent("Bench/wasi/wasmtime-run.py").path
                return [python, script]
            }
        }
    }
    print("*** SKIPPING the differential WASI tests: neither a `wasmtime` CLI nor python3's wasmtime package ***")
    return nil
}()

@Suite("WASI preview1 on io_uring")
struct WASITests {
    @Test(.enabled(if: wasmtime != nil, "wasmtime is not installed"), arguments: ["hello", "clocks", "files", "dirs", "rustfs", "slashes", "stdio", "cppio"])
    func sameOutputAsWasmtime(program: String) throws {
        // Programs that touch files get a fresh directory each, preopened as /sandbox.
        func sandbox() throws -> String {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("shoal-diff-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            return directory.path
        }
        let (theirs, ours) = (try sandbox(), try sandbox())
        defer {
            try? FileManager.default.removeItem(atPath: theirs)
            try? FileManager.default.removeItem(atPath: ours)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: wasmtime![0])
        process.arguments = Array(wasmtime![1...]) + ["--dir", "\(theirs)::/sandbox", "--env", "GREETING=diff", "\(programs)/\(program).wasm", "a", "0"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let reference = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let outcome = try runWASI(program, arguments: ["a", "0"], environment: [("GREETING", "diff")], preopens: [(ours, "/sandbox")])
        #expect(!reference.isEmpty, "wasmtime printed nothing")
        #expect(outcome.stdout == reference)
        #expect(outcome.exitCode == process.terminationStatus)
    }

    @Test func argumentsEnvironmentStreamsAndExitCode() throws {
        let outcome = try runWASI("hello", arguments: ["one", "two", "5"], environment: [("GREETING", "hi there")])
        #expect(outcome.exitCode == 5)
        #expect(outcome.stdout == "hello from wasi\narg 1: one\narg 2: two\narg 3: 5\nGREETING=hi there\n")
        #expect(outcome.stderr == "to stderr\n")
    }

    @Test func filesStayInsideTheirPreopenedDirectory() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("shoal-wasi-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let outcome = try runWASI("files", preopens: [(directory.path, "/sandbox")])
        #expect(outcome.exitCode == 0, "\(outcome.stderr)")
        #expect(outcome.stdout == "read 13 bytes from offset 5: one\nline two\nsize 18\nescape: refused\n")
        #expect(try String(contentsOf: directory.appendingPathComponent("out.txt"), encoding: .utf8) == "line one\nline two\n")
    }

    @Test func directoriesAndLinksStayInside() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("shoal-wasi-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let outcome = try runWASI("dirs", preopens: [(directory.path, "/sandbox")])
        #expect(outcome.exitCode == 0, "\(outcome.stderr)")
        #expect(outcome.stdout == """
            entries: . .. b.txt c.txt s
            link -> b.txt
            escape mkdir: refused
            escape via symlink: refused
            rmdir: ok

            """)
        #expect(!FileManager.default.fileExists(atPath: directory.deletingLastPathComponent().appendingPathComponent("escaped").path))
    }

    /// The areas the official WASI testsuite covers, in one C program (Tests/wasi-programs/areas.c):
    /// fd_advise, fd_allocate, set size and times, renumber, readdir cookies over 300 entries,
    /// dangling symlinks with trailing slashes, poll_oneoff on a clock, files and stdout. Its
    /// output is wasmtime 49's except for the two lines where Shoal deliberately differs
    /// (fd_allocate, and a regular file being ready in poll: Docs/WASI.md).
    @Test func theTestsuitesAreasInOneProgram() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("shoal-areas-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let outcome = try runWASI("areas", preopens: [(directory.path, "/sandbox")])
        #expect(outcome.exitCode == 0, "\(outcome.stderr)")
        #expect(outcome.stdout == """
            advise sequential: ok
            allocate 4096: 0
            size after allocate: 4096
            ftruncate 10: ok
            size after truncate: 10
            futimens: ok
            atime 1000000000 mtime 1200000000.000000500
            renumber onto itself: ok
            renumber: ok
            old fd after renumber: Bad file descriptor
            entries: 302
            seekdir resumes at the same entry: yes
            symlink dangling: ok
            stat dangling: No such file or directory
            lstat dangling: symlink
            open dangling O_CREAT|O_EXCL: File exists
            unlink dangling/: No such file or directory
            unlink dangling: ok
            nanosleep 20ms: ok
            slept at least 20ms: yes
            poll file+stdout: 2 ready, file readable, stdout writable
            poll file with zero timeout: 1

            """)
    }

    /// A C++ program's file I/O through libc++'s iostreams (Tests/wasi-programs/cppio.cpp; also
    /// compared with wasmtime above), with the output wasmtime 49 gives.
    @Test func whatLibcxxStreamsAskOfTheFileSystem() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("shoal-cppio-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let outcome = try runWASI("cppio", preopens: [(directory.path, "/sandbox")])
        #expect(outcome.exitCode == 0, "\(outcome.stderr)")
        #expect(outcome.stdout == """
            1 beta
            2 gamma
            3 alpha
            size 23
            rename 0
            old name opens 0
            remove 0
            remove again -1
            missing opens 0

            """)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
    }

    /// Rust's std opens the preopen itself as "." with O_DIRECTORY and its read rights
    /// (fs::read_dir("/sandbox")), and reads what a preopen may do from fd_fdstat_get:
    /// Tests/wasi-programs/rustfs.c makes the same calls (also compared with wasmtime above).
    @Test func whatRustsStdAsksOfTheFileSystem() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("shoal-rustfs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let outcome = try runWASI("rustfs", preopens: [(directory.path, "/sandbox")])
        #expect(outcome.exitCode == 0)
        #expect(outcome.stdout == """
            preopen fdstat: 0 type 3 base 7b7fe00 inheriting ff7ffff
            File::create: 0
              write: 0 (10 bytes)
            create_dir a: 0
            create_dir a/b: 0
            read_dir("/sandbox"): 0
              readdir: 0, entries: . .. a hello.txt
            read_dir("/sandbox/a"): 0
              readdir: 0, entries: . .. b
            read_to_string: 0: from rust
            metadata(a): 0, type 3
            open . read+write as a directory: 31
            remove_dir_all: open 0, rmdir b 0, rmdir a 0
            remove_file: 0
              readdir: 0, entries: . ..

            """)
        #expect(WASIRights.directoryBase == 0x7b7_fe00 && WASIRights.directoryInheriting == 0xff7_ffff && WASIRights.all == 0x3fff_ffff)
    }

    /// Trailing slashes, absolute symlink targets, conflicting set-times flags, closing and
    /// renumbering onto preopens and stdio (Tests/wasi-programs/slashes.c): wasmtime 49's answers.
    @Test func trailingSlashesSymlinksTimesAndRenumbering() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("shoal-slashes-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let outcome = try runWASI("slashes", preopens: [(directory.path, "/sandbox")])
        #expect(outcome.exitCode == 0)
        #expect(outcome.stdout == """
            create file: 0
            mkdir dir: 0
            symlink lnk -> file: 0
            symlink dlnk -> dir: 0
            symlink to /: 63
            symlink to /etc: 63
            symlink to ../x: 0
            open file/: 54
            open file/ nofollow: 54
            open lnk/: 54
            open lnk/ nofollow: 54
            open dlnk/ nofollow: 0
            open dir/: 0
            stat file/: 54
            stat lnk/: 54
            stat dir/: 0
            unlink dir/: 31
            unlink dir: 31
            unlink file/: 54
            unlink lnk/: 54
            unlink dlnk/: 31
            rmdir file/: 54
            rmdir file: 54
            mkdir new/: 0
            mkdir file/: 20
            rename file/ file2: 54
            rename file file2/: 54
            rename dir/ dir2/: 0
            link file/ hl: 54
            link file hl/: 44
            symlink sl/: 44
            readlink lnk/: 54
            readlink lnk: 0
            set times ATIM|ATIM_NOW: 28
            set times MTIM|MTIM_NOW: 28
            fd set times ATIM|ATIM_NOW: 28
            fd set times MTIM|MTIM_NOW: 28
            set times both on a missing file: 28
            open file: 0
            renumber file onto the preopen: 0
            prestat 3 after: 8
            fdstat 3 after: 0 type 4
            fdstat of the old number: 8
            renumber onto a closed number: 8
            renumber stderr onto 3: 0
            close 3: 0
            close stdin: 0
            close stdin again: 8
            renumber onto closed stdin: 8

            """)
        #expect(!FileManager.default.fileExists(atPath: "\(directory.path)/abs1") && !FileManager.default.fileExists(atPath: "\(directory.path)/sl"))
    }

    /// Standard streams carry wasmtime's rights (stdin FD_READ, stdout and stderr FD_WRITE) and
    /// filetype (character device only for a terminal, else unknown), so wasi-libc's isatty()
    /// answers as under wasmtime (Tests/wasi-programs/stdio.c).
    @Test func standardStreamsReportWhatWasmtimeReports() throws {
        let outcome = try runWASI("stdio")
        #expect(outcome.exitCode == 0)
        #expect(outcome.stdout == """
            fd 0: fdstat 0 base 2 inheriting 2
            fd 1: fdstat 0 base 40 inheriting 40 type 0
            fd 2: fdstat 0 base 40 inheriting 40 type 0
            stdout filestat: 0 type 0 size 0
            isatty(stdout): 0
            seek stdout: 70
            tell stdout: 70

            """)
    }

    @Test func everyPreview1FunctionIsProvided() throws {
        let names: Set<String> = [
            "args_get", "args_sizes_get", "environ_get", "environ_sizes_get", "clock_res_get", "clock_time_get", "random_get",
            "fd_advise", "fd_allocate", "fd_close", "fd_datasync", "fd_fdstat_get", "fd_fdstat_set_flags", "fd_fdstat_set_rights",
            "fd_filestat_get", "fd_filestat_set_size", "fd_filestat_set_times", "fd_pread", "fd_prestat_get", "fd_prestat_dir_name",
            "fd_pwrite", "fd_read", "fd_readdir", "fd_renumber", "fd_seek", "fd_sync", "fd_tell", "fd_write",
            "path_create_directory", "path_filestat_get", "path_filestat_set_times", "path_link", "path_open", "path_readlink",
            "path_remove_directory", "path_rename", "path_symlink", "path_unlink_file", "poll_oneoff", "proc_exit", "proc_raise",
            "sched_yield", "sock_accept", "sock_recv", "sock_send", "sock_shutdown",
        ]
        #expect(names.count == 46)
        let provided = Set(try WASIContext(WASIConfiguration()).hostFunctions.keys)
        #expect(provided == names)
    }

    /// The Wasm signature of every function, as wasi_snapshot_preview1's witx declares it: every
    /// function but proc_exit returns its errno as an i32.
    @Test func everyPreview1SignatureIsTheSpecs() throws {
        let expected: [String: FuncType] = [
            "args_get": FuncType(params: [.i32, .i32], results: [.i32]),
            "args_sizes_get": FuncType(params: [.i32, .i32], results: [.i32]),
            "environ_get": FuncType(params: [.i32, .i32], results: [.i32]),
            "environ_sizes_get": FuncType(params: [.i32, .i32], results: [.i32]),
            "clock_res_get": FuncType(params: [.i32, .i32], results: [.i32]),
            "clock_time_get": FuncType(params: [.i32, .i64, .i32], results: [.i32]),
            "random_get": FuncType(params: [.i32, .i32], results: [.i32]),
            "fd_advise": FuncType(params: [.i32, .i64, .i64, .i32], results: [.i32]),
            "fd_allocate": FuncType(params: [.i32, .i64, .i64], results: [.i32]),
            "fd_close": FuncType(params: [.i32], results: [.i32]),
            "fd_datasync": FuncType(params: [.i32], results: [.i32]),
            "fd_fdstat_get": FuncType(params: [.i32, .i32], results: [.i32]),
            "fd_fdstat_set_flags": FuncType(params: [.i32, .i32], results: [.i32]),
            "fd_fdstat_set_rights": FuncType(params: [.i32, .i64, .i64], results: [.i32]),
            "fd_filestat_get": FuncType(params: [.i32, .i32], results: [.i32]),
            "fd_filestat_set_size": FuncType(params: [.i32, .i64], results: [.i32]),
            "fd_filestat_set_times": FuncType(params: [.i32, .i64, .i64, .i32], results: [.i32]),
            "fd_pread": FuncType(params: [.i32, .i32, .i32, .i64, .i32], results: [.i32]),
            "fd_prestat_get": FuncType(params: [.i32, .i32], results: [.i32]),
            "fd_prestat_dir_name": FuncType(params: [.i32, .i32, .i32], results: [.i32]),
            "fd_pwrite": FuncType(params: [.i32, .i32, .i32, .i64, .i32], results: [.i32]),
            "fd_read": FuncType(params: [.i32, .i32, .i32, .i32], results: [.i32]),
            "fd_readdir": FuncType(params: [.i32, .i32, .i32, .i64, .i32], results: [.i32]),
            "fd_renumber": FuncType(params: [.i32, .i32], results: [.i32]),
            "fd_seek": FuncType(params: [.i32, .i64, .i32, .i32], results: [.i32]),
            "fd_sync": FuncType(params: [.i32], results: [.i32]),
            "fd_tell": FuncType(params: [.i32, .i32], results: [.i32]),
            "fd_write": FuncType(params: [.i32, .i32, .i32, .i32], results: [.i32]),
            "path_create_directory": FuncType(params: [.i32, .i32, .i32], results: [.i32]),
            "path_filestat_get": FuncType(params: [.i32, .i32, .i32, .i32, .i32], results: [.i32]),
            "path_filestat_set_times": FuncType(params: [.i32, .i32, .i32, .i32, .i64, .i64, .i32], results: [.i32]),
            "path_link": FuncType(params: [.i32, .i32, .i32, .i32, .i32, .i32, .i32], results: [.i32]),
            "path_open": FuncType(params: [.i32, .i32, .i32, .i32, .i32, .i64, .i64, .i32, .i32], results: [.i32]),
            "path_readlink": FuncType(params: [.i32, .i32, .i32, .i32, .i32, .i32], results: [.i32]),
            "path_remove_directory": FuncType(params: [.i32, .i32, .i32], results: [.i32]),
            "path_rename": FuncType(params: [.i32, .i32, .i32, .i32, .i32, .i32], results: [.i32]),
            "path_symlink": FuncType(params: [.i32, .i32, .i32, .i32, .i32], results: [.i32]),
            "path_unlink_file": FuncType(params: [.i32, .i32, .i32], results: [.i32]),
            "poll_oneoff": FuncType(params: [.i32, .i32, .i32, .i32], results: [.i32]),
            "proc_exit": FuncType(params: [.i32], results: []),
            "proc_raise": FuncType(params: [.i32], results: [.i32]),
            "sched_yield": FuncType(params: [], results: [.i32]),
            "sock_accept": FuncType(params: [.i32, .i32, .i32], results: [.i32]),
            "sock_recv": FuncType(params: [.i32, .i32, .i32, .i32, .i32, .i32], results: [.i32]),
            "sock_send": FuncType(params: [.i32, .i32, .i32, .i32, .i32], results: [.i32]),
            "sock_shutdown": FuncType(params: [.i32, .i32], results: [.i32]),
        ]
        #expect(expected.count == 46)
        let provided = try WASIContext(WASIConfiguration()).hostFunctions.mapValues(\.type)
        #expect(provided == expected)
    }

    @Test func procRaiseEndsTheInstanceWithTheSignalStatus() throws {
        let bytes = try TextFormat.wat2wasm("""
            (module
              (import "wasi_snapshot_preview1" "proc_raise" (func $raise (param i32) (result i32)))
              (memory (export "memory") 1)
              (func (export "_start") (drop (call $raise (i32.const 15))) unreachable))
            """)
        let wasi = try WASIContext(WASIConfiguration(captureOutput: true))
        let store = Store(heapMode: .bounded)
        let instance = try store.instantiate(try ModuleCompiler.compile(bytes: bytes, heapMode: .bounded), resolver: wasi.resolver())
        guard case .function(let start)? = instance.export("_start") else { throw WASIError("no _start") }
        let execution = try Execution(start, arguments: [])
        guard case .trapped = try execution.resume() else { Issue.record("\(execution.state)"); return }
        #expect(wasi.exitCode == 143)
    }

    @Test func standardInputFromABuffer() throws {
        var configuration = WASIConfiguration(arguments: ["cat"], captureOutput: true)
        configuration.stdin = Array("line from the embedder\n".utf8)
        let outcome = try runWASI("cat", context: try WASIContext(configuration))
        #expect(outcome.stdout == "line from the embedder\n")
    }

    @Test func rightsAreEnforced() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("shoal-rights-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let outcome = try runWASI("rights", preopens: [(directory.path, "/sandbox")])
        #expect(outcome.stdout == "read on write-only: refused\nwrite on read-only: refused\n")
        #expect(try String(contentsOf: directory.appendingPathComponent("r.txt"), encoding: .utf8) == "x")
    }

    @Test func pollWaitsForASocketOrATimeout() throws {
        var configuration = WASIConfiguration(arguments: ["poll"], captureOutput: true)
        configuration.tcpListeners = ["127.0.0.1:0"]
        let wasi = try WASIContext(configuration)
        let port = try #require(wasi.tcpPorts.first)
        let server = GuestServer("poll", context: wasi)
        let fd = try #require(connectToLoopback(port: port))
        usleep(300_000)  // past the guest's 50 ms poll
        #expect(send(fd, "ping", 4, 0) == 4)
        let outcome = try server.outcome()
        close(fd)
        #expect(outcome.stdout == "timeout first: yes\nreadable: ping\n")
    }

    @Test func aTCPEchoServerOnALoopbackListener() throws {
        var configuration = WASIConfiguration(arguments: ["echo", "3"], captureOutput: true)
        configuration.tcpListeners = ["127.0.0.1:0"]
        let wasi = try WASIContext(configuration)
        let port = try #require(wasi.tcpPorts.first)
        let server = GuestServer("echo", context: wasi)
        for i in 0..<3 {
            let fd = try #require(connectToLoopback(port: port))
            let message = Array("hello \(i) ".utf8) + [UInt8](repeating: UInt8(65 + i), count: 10_000)
            #expect(message.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) } == message.count)
            shutdown(fd, Int32(SHUT_WR))
            var echoed: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = recv(fd, &buffer, buffer.count, 0)
                if n <= 0 { break }
                echoed += buffer[0..<n]
            }
            close(fd)
            #expect(echoed == message)
        }
        let outcome = try server.outcome()
        #expect(outcome.stdout == "served 3\n")
    }

    @Test func theWASILayerRunsOnAnInjectedPlatform() throws {
        let io = InlineIO()
        let hello = try runWASI("hello", context: try WASIContext(
            WASIConfiguration(arguments: ["hello", "x", "3"], environment: [("GREETING", "hey")], captureOutput: true), io: io))
        #expect(hello.exitCode == 3)
        #expect(hello.stdout == "hello from wasi\narg 1: x\narg 2: 3\nGREETING=hey\n")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("shoal-inline-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let files = try runWASI("files", context: try WASIContext(
            WASIConfiguration(arguments: ["files"], preopens: [(directory.path, "/sandbox")], captureOutput: true), io: io))
        #expect(files.stdout == "read 13 bytes from offset 5: one\nline two\nsize 18\nescape: refused\n")
        // poll_oneoff turned the guest's usleep(250 ms) into one 250 ms timeout; nothing waited.
        let clocks = try runWASI("sleep", context: try WASIContext(WASIConfiguration(arguments: ["sleep", "250"], captureOutput: true), io: io))
        #expect(clocks.exitCode == 0)
        #expect(io.sleeps.contains(250_000_000))
    }

    @Test func clocksRandomAndSleep() throws {
        let outcome = try runWASI("clocks", arguments: ["50"])
        #expect(outcome.stdout == "slept long enough; random ok\n")
    }

    @Test func tenThousandInstancesSleepOneSecondEach() throws {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(programs)/sleep.wasm")))
        let module = try LoadedModule(try ModuleCompiler.compile(bytes: bytes, heapMode: .bounded))
        let pages = Int(module.compiled.module.memories.first?.limits.min ?? 2)
        var configuration = SchedulerConfiguration(slots: 10_000, memoryPages: pages, stackSize: 256 * 1024, threads: 2)
        // Density, not guard pages: 10,000 slots with guards would take most of the default
        // vm.max_map_count from the other tests running in this process.
        configuration.guardPages = .never
        let needed = WASIContext.importedNames(of: module.compiled.module)
        configuration.instanceImports = {
            let wasi = try WASIContext(WASIConfiguration(arguments: ["sleep", "1000"], captureOutput: true))
            return wasi.hostFunctions(named: needed).map { HostImport(module: WASIContext.moduleName, name: $0.key, function: $0.value) }
        }
        let scheduler = try Scheduler(configuration)
        defer { scheduler.shutdown() }
        // Submitted with the callback API and awaited on a semaphore: the scheduler's own threads
        // do all the work, so the test does not depend on Swift's cooperative pool, which other
        // (synchronous) tests may be holding.
        final class Count: @unchecked Sendable {
            let lock = NSLock()
            var ok = 0, done = 0
        }
        let count = Count()
        let allDone = DispatchSemaphore(value: 0)
        let start = ContinuousClock.now
        for _ in 0..<10_000 {
            scheduler.submit(module, entry: "_start") { result in
                var success = false
                switch result {
                case .success: success = true
                case .failure(let trap as Trap): success = (trap.underlying as? WASIExit)?.code == 0  // proc_exit(0)
                case .failure: success = false
                }
                count.lock.withLock {
                    if success { count.ok += 1 }
                    count.done += 1
                    if count.done == 10_000 { allDone.signal() }
                }
            }
        }
        allDone.wait()
        let outcomes = count.lock.withLock { count.ok }
        let elapsed = ContinuousClock.now - start
        #expect(outcomes == 10_000)
        // Every sleep was an io_uring timeout on the worker that ran the guest, reaped by that
        // worker. A worker adds what it reaped to the statistics just after running the
        // callbacks, which may finish the last guest on another worker first: wait for the count
        // (bounded), rather than read it at the instant the last guest is done. No assertion on
        // the elapsed time: it is printed, and measured properly by Bench/.
        var completions = scheduler.statistics.ringCompletions
        for _ in 0..<2_000 where completions < 10_000 {
            usleep(5_000)
            completions = scheduler.statistics.ringCompletions
        }
        #expect(completions >= 10_000)
        print("10,000 instances, each sleeping 1 s in poll_oneoff: \(elapsed)")
    }
}

/// A C program built with `-msimd128 -O3` (Tests/wasi-programs/simd.c): auto-vectorized loops and
/// wasm_simd128.h intrinsics, the latter checked against scalar code inside the program.
@Suite("SIMD in a real program")
struct SIMDProgramTests {
    /// What the same source prints built natively without the intrinsics part
    /// (`clang-16 -O2 -DNO_INTRINSICS simd.c -lm && ./a.out`).
    static let nativeChecksum = "e3f6062caeb36cbc\n"

    @Test(arguments: HeapMode.allCases)
    func vectorizedProgramMatchesNativeOutput(heap: HeapMode) throws {
        let outcome = try runWASI("simd", heap: heap)
        #expect(outcome.exitCode == 0)
        #expect(outcome.stdout == Self.nativeChecksum + "intrinsics ok\n")
        #expect(outcome.stderr == "")
    }
}
