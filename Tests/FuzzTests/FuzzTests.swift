import Foundation
import Testing

/// The package root, from this file's path (Tests/FuzzTests/FuzzTests.swift).
private let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

/// The `shoal-fuzz` executable, built beside this test binary (the test target depends on it).
private let fuzzer: String? = {
    let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    let candidates = [URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("shoal-fuzz").path,
                      packageRoot + "/.build/debug/shoal-fuzz"]
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
}()

private struct Output {
    var status: Int32
    var text: String
}

private func runFuzzer(_ arguments: [String]) throws -> Output {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: fuzzer!)
    process.arguments = arguments
    process.currentDirectoryURL = URL(fileURLWithPath: packageRoot)
    let log = FileManager.default.temporaryDirectory.appendingPathComponent("shoal-fuzz-test-\(getpid())-\(UUID().uuidString).log")
    FileManager.default.createFile(atPath: log.path, contents: nil)
    defer { try? FileManager.default.removeItem(at: log) }
    let handle = try FileHandle(forWritingTo: log)
    process.standardOutput = handle
    process.standardError = handle
    try process.run()
    process.waitUntilExit()
    try handle.close()
    return Output(status: process.terminationStatus, text: (try? String(contentsOf: log, encoding: .utf8)) ?? "")
}

/// Whether wasm-tools and wasmtime are installed (`shoal-fuzz tools` says, and how to get them).
private let referenceTools: Bool = {
    guard fuzzer != nil, let out = try? runFuzzer(["tools"]) else { return false }
    if out.status != 0 {
        print("""
            ************************************************************************************
            SKIPPING the differential fuzzing batch: \(out.text.trimmingCharacters(in: .whitespacesAndNewlines))
            ************************************************************************************
            """)
    }
    return out.status == 0
}()

@Suite("Differential fuzzing", .serialized)
struct FuzzTests {
    @Test("The regression corpus (shrunk fuzzing findings) behaves as wasmtime did, in both heap modes")
    func regressions() throws {
        try #require(fuzzer != nil, "shoal-fuzz was not built beside the tests")
        let out = try runFuzzer(["replay", packageRoot + "/Tests/FuzzTests/Regressions"])
        print(out.text.split(separator: "\n").last ?? "")
        #expect(out.status == 0, "\(out.text)")
    }

    /// 60 wasm-smith modules and 20 of Shoal's register-pressure generator (seeded, so the same
    /// ones every run; about 15 s on 2 cores), every export called twice, compared with wasmtime
    /// under both heap modes.
    @Test("A seeded batch of generated modules runs as under wasmtime",
          .enabled(if: referenceTools, "wasm-tools or wasmtime is not installed (bash ../shared/tools/install-peers.sh)"),
          arguments: [("smith", 20261130, 60), ("pressure", 7, 20)])
    func seededBatch(generator: String, seed: Int, modules: Int) throws {
        let directory = FileManager.default.temporaryDirectory.path + "/shoal-fuzz-test-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let out = try runFuzzer(["diff", "--generator", generator, "--seed", "\(seed)", "--modules", "\(modules)", "--jobs", "2",
                                 "--out", directory])
        for line in out.text.split(separator: "\n") where line.hasPrefix("diff:") || line.hasPrefix("FINDING") { print(line) }
        #expect(out.status == 0, "\(out.text)")
    }
}
