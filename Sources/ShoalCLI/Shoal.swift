import ArgumentParser
import Foundation

@main
struct ShoalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shoal",
        abstract: "Shoal: an ahead-of-time WebAssembly compiler and runtime for dense, concurrent instances.",
        subcommands: [Run.self, Compile.self, Inspect.self, Keygen.self, Wast.self, Validate.self]
    )
}

/// Prints `error: MESSAGE` to stderr and returns the exit code to throw (1 unless told: wasmtime's).
func failure(_ message: String, status: Int32 = 1) -> ExitCode {
    FileHandle.standardError.write(Data("error: \(message)\n".utf8))
    return ExitCode(status)
}

/// The bytes of `file`, or `error: cannot open FILE: REASON` and exit 1.
func readInput(_ file: String) throws -> [UInt8] {
    guard let data = FileManager.default.contents(atPath: file) else {
        let reason = FileManager.default.fileExists(atPath: file) ? "it cannot be read" : "no such file"
        throw failure("cannot open \(file): \(reason)")
    }
    return Array(data)
}
