import Foundation

/// wasmtime's side: `wasmtime run --invoke NAME FILE ARGS...`, a fresh process (so a fresh
/// instance) per call, as Shoal's worker makes a fresh store and instance per call.
enum Reference {
    /// No Rust backtraces in its error output (they only cost time to print).
    static let environment: [String: String] = {
        var env = ProcessInfo.processInfo.environment
        env["RUST_BACKTRACE"] = "0"
        env["WASMTIME_BACKTRACE_DETAILS"] = "0"
        return env
    }()

    static func run(wasmtime: String, module: String, call: Call, timeout: Double) -> Outcome {
        // Arguments after the file are passed through untouched (negative numbers included).
        let result = runProcess(wasmtime, ["run", "--invoke", call.export, module] + call.arguments.map(\.text),
                                timeout: timeout, environment: environment)
        if result.timedOut { return .timeout }
        if result.signaled { return .crash("wasmtime: \(signalName(result.status))") }
        if result.status == 0 {
            let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
            guard lines.count == call.resultKinds.count else {
                return .error("wasmtime printed \(lines.count) results for \(call.resultKinds.count): \(result.stdout)")
            }
            var values: [Num] = []
            for (line, kind) in zip(lines, call.resultKinds) {
                guard let v = Num(text: line, kind: kind) else { return .error("cannot read wasmtime's result \(line) as \(kind)") }
                values.append(v)
            }
            return .values(values)
        }
        // A trap (exit 134, or 1 when it happens while instantiating): "wasm trap: <message>".
        if let range = result.stderr.range(of: "wasm trap: ") {
            let message = String(result.stderr[range.upperBound...].prefix { $0 != "\n" })
            return .trap(TrapKind(wasmtimeMessage: message), message)
        }
        let text = result.stderr.split(separator: "\n").filter { !$0.hasPrefix("warning:") }.prefix(6).joined(separator: " | ")
        // Instantiation can fail with a trap that is not spelled as one (segment bounds).
        let kind = TrapKind(wasmtimeMessage: text)
        if kind != .other, text.contains("instantiate") { return .trap(kind, text) }
        return .error("wasmtime exit \(result.status): \(text)")
    }
}
