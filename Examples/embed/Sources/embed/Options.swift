import Foundation

/// The command line: `embed [--calls N]`. Parsed by hand to keep the example's one dependency Shoal.
struct Options {
    /// Concurrent calls to make (CI runs fewer).
    var calls = 10_000

    static func parse(_ arguments: ArraySlice<String>) -> Options {
        var options = Options()
        var rest = arguments
        while let flag = rest.popFirst() {
            switch flag {
            case "--calls":
                guard let value = rest.popFirst().flatMap(Int.init), value > 0 else { usage("--calls needs a positive number") }
                options.calls = value
            case "-h", "--help":
                usage(nil)
            default:
                usage("unknown argument \(flag)")
            }
        }
        return options
    }

    static func usage(_ problem: String?) -> Never {
        if let problem { FileHandle.standardError.write(Data("embed: \(problem)\n".utf8)) }
        print("usage: embed [--calls N]   (default 10000)")
        exit(problem == nil ? 0 : 2)
    }
}
