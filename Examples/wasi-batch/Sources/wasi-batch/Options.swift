import Foundation

/// The command line: `wasi-batch DIRECTORY [--inputs N] [--timeout DURATION] [--fuel N] [--memory-pages N]`.
/// Parsed by hand to keep the example's one dependency Shoal.
struct Options {
    var directory = ""
    /// Inputs each program is run with.
    var inputs = 20
    /// Wall time per run, waiting for a slot included.
    var timeout: Duration = .seconds(2)
    /// Fuel per run; when given, the engine compiles fuel counting into every program.
    var fuel: Int64?
    /// Memory per run, in 64 KiB pages (at most the engine's `Options.enginePages`).
    var memoryPages: UInt64 = 32
    /// The engine's memory per slot, the ceiling for `--memory-pages`.
    static let enginePages = 64

    static func parse(_ arguments: ArraySlice<String>) -> Options {
        var options = Options()
        var rest = arguments
        while let argument = rest.popFirst() {
            switch argument {
            case "--inputs":
                guard let n = rest.popFirst().flatMap(Int.init), n > 0 else { usage("--inputs needs a positive number") }
                options.inputs = n
            case "--timeout":
                guard let d = rest.popFirst().flatMap(duration) else { usage("--timeout needs a duration such as 2s or 500ms") }
                options.timeout = d
            case "--fuel":
                guard let f = rest.popFirst().flatMap(Int64.init), f > 0 else { usage("--fuel needs a positive number") }
                options.fuel = f
            case "--memory-pages":
                guard let p = rest.popFirst().flatMap(UInt64.init), p > 0, p <= enginePages else {
                    usage("--memory-pages needs a number from 1 to \(enginePages)")
                }
                options.memoryPages = p
            case "-h", "--help":
                usage(nil)
            default:
                guard !argument.hasPrefix("-"), options.directory.isEmpty else { usage("unexpected argument \(argument)") }
                options.directory = argument
            }
        }
        if options.directory.isEmpty { usage("name a directory of .wasm programs") }
        return options
    }

    /// "2s", "1.5s", "500ms".
    static func duration(_ text: String) -> Duration? {
        if text.hasSuffix("ms"), let ms = Double(text.dropLast(2)), ms > 0 { return .milliseconds(ms) }
        if text.hasSuffix("s"), let s = Double(text.dropLast()), s > 0 { return .milliseconds(s * 1_000) }
        return nil
    }

    static func usage(_ problem: String?) -> Never {
        if let problem { FileHandle.standardError.write(Data("wasi-batch: \(problem)\n".utf8)) }
        print("usage: wasi-batch DIRECTORY [--inputs N] [--timeout 2s] [--fuel N] [--memory-pages N]")
        exit(problem == nil ? 0 : 2)
    }
}
