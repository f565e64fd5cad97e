import ArgumentParser
import Dispatch
import Foundation
import Shoal

/// The process's entry. `shoal run` in the shapes `RunOptions(quickParsing:)` reads goes straight
/// to the run; any other command line is parsed by ArgumentParser (`ShoalCommand`), and its
/// command runs as ArgumentParser's own `main` would run it, with the same messages and exit codes.
///
/// The entry is synchronous, and `run` stays on the main thread (`RunOptions.execute`): a single
/// run of an artifact then never starts the concurrency runtime's thread pool, whose threads and
/// hand-offs were a measurable part of a short run's wall time. Async commands (`compile`) run in
/// a task that the main thread waits for.
@main
enum ShoalMain {
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        do {
            if let options = RunOptions(quickParsing: arguments) {
                try options.execute()
            } else {
                try parseAndRun(arguments)
            }
        } catch {
            ShoalCommand.exit(withError: error)
        }
    }

    /// What ArgumentParser's `main` does, with an async command run in a task the main thread
    /// waits for. (A function of its own, so that the quick path does not set up its generic
    /// values.)
    @inline(never)
    static func parseAndRun(_ arguments: [String]) throws {
        var command = try ShoalCommand.parseAsRoot(arguments)
        if let asyncCommand = command as? any AsyncParsableCommand {
            let sendable = UncheckedSendable(asyncCommand)
            try blockingWait {
                var command = sendable.value
                try await command.run()
            }
        } else {
            try command.run()
        }
    }
}

struct ShoalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shoal",
        abstract: "Shoal: an ahead-of-time WebAssembly compiler and runtime for dense, concurrent instances.",
        subcommands: [Run.self, Compile.self, Inspect.self, Keygen.self, Wast.self, Validate.self]
    )
}

/// Runs `body` in a task and blocks the calling thread until it has finished, returning what it
/// returned or throwing what it threw. Only for threads outside the concurrency runtime's pool
/// (the main thread here): a pool thread blocked on the pool's own work could wait forever.
func blockingWait<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let outcome = Delivery<T>()
    Task {
        do {
            outcome.finish(.success(try await body()))
        } catch {
            outcome.finish(.failure(error))
        }
    }
    return try outcome.wait()
}

extension Engine {
    /// `call(_:_:)` for a thread that only waits: submits the call and blocks until it has ended,
    /// with no task (see `blockingWait`'s caveat).
    func callSynchronously(_ module: Shoal.Module, _ call: Call) throws -> CallResult {
        let outcome = Delivery<CallResult>()
        submit(module, call) { outcome.finish($0) }
        return try outcome.wait()
    }
}

/// A result delivered once from another thread to one waiting thread.
final class Delivery<T: Sendable>: @unchecked Sendable {  // `result` is written before `done` is signalled, read after
    private var result: Result<T, any Error>?
    private let done = DispatchSemaphore(value: 0)

    func finish(_ result: Result<T, any Error>) {
        self.result = result
        done.signal()
    }

    func wait() throws -> T {
        done.wait()
        return try result!.get()
    }
}

/// A value carried into a task although its type is not `Sendable` (a parsed command, used by
/// that task alone).
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
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
