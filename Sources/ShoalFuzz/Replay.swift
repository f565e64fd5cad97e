import Foundation
import RuntimeABI

/// `shoal-fuzz replay PATH...`: the regression corpus. Each case is `NAME.expect` beside
/// `NAME.wasm` (or `NAME.wat`); the expect file holds comments (`#`) and lines
///
///     invoke EXPORT ARG... => RESULT...        (e.g. `invoke f0 i32:1 f64:0.5 => i64:7 f32:nan`)
///     invoke EXPORT ARG... => trap KIND        (KIND: unreachable, divide-by-zero, memory-oob, ...)
///     invoke EXPORT ARG... => (none)           (no results)
///
/// Every invoke runs in a fresh instance under both heap modes, in a worker process (a crash is a
/// failure, not the end of the run). A case whose file has a line `# known-failing: WHY` is
/// reported but does not fail the run (and is called out once it passes).
enum ReplayRunner {
    struct Case {
        var name: String
        var module: String
        var calls: [(Call, Outcome)]
        var knownFailing: String?
    }

    static func load(_ expectPath: String) throws -> Case {
        let text = try String(contentsOfFile: expectPath, encoding: .utf8)
        let base = String(expectPath.dropLast(".expect".count))
        let module = [base + ".wasm", base + ".wat"].first { FileManager.default.fileExists(atPath: $0) }
        guard let module else { throw HarnessError("\(expectPath): no \(base).wasm or .wat beside it") }
        var calls: [(Call, Outcome)] = []
        var known: String?
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("# known-failing:") { known = String(line.dropFirst("# known-failing:".count)).trimmingCharacters(in: .whitespaces) }
            guard line.hasPrefix("invoke ") else { continue }
            let parts = line.dropFirst("invoke ".count).components(separatedBy: "=>")
            guard parts.count == 2, let expected = Outcome(expectation: parts[1]) else {
                throw HarnessError("\(expectPath):\(n + 1): cannot read \(line)")
            }
            let words = parts[0].split(separator: " ").map(String.init)
            guard let export = words.first else { throw HarnessError("\(expectPath):\(n + 1): no export named") }
            var arguments: [Num] = []
            for w in words.dropFirst() {
                guard let v = Num(token: w) else { throw HarnessError("\(expectPath):\(n + 1): bad argument \(w)") }
                arguments.append(v)
            }
            var kinds: [Num.Kind] = []
            if case .values(let v) = expected { kinds = v.map(\.kind) }
            calls.append((Call(export: export, arguments: arguments, resultKinds: kinds), expected))
        }
        guard !calls.isEmpty else { throw HarnessError("\(expectPath): no invoke lines") }
        return Case(name: (base as NSString).lastPathComponent, module: module, calls: calls, knownFailing: known)
    }

    static func expectFiles(_ paths: [String]) throws -> [String] {
        var files: [String] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw HarnessError("no such file: \(path)") }
            if isDirectory.boolValue {
                let entries = try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasSuffix(".expect") }.sorted()
                files += entries.map { "\(path)/\($0)" }
            } else if path.hasSuffix(".expect") {
                files.append(path)
            } else {
                // A module: its .expect beside it.
                let base = path.hasSuffix(".wasm") || path.hasSuffix(".wat") ? String(path[..<path.lastIndex(of: ".")!]) : path
                files.append(base + ".expect")
            }
        }
        return files
    }

    /// Prints one line per case and a total; returns whether every case not marked known-failing passed.
    static func run(_ paths: [String]) throws -> Bool {
        let files = try expectFiles(paths)
        let client = WorkerClient(executable: selfExecutable(), watchdog: 20)
        defer { client.stop() }
        var passed = 0, failed = 0, known = 0
        for file in files {
            let c = try load(file)
            let module = c.module  // the worker reads .wat too
            let calls = c.calls.map(\.0)
            let outcomes = client.run(module: module, calls: calls, heaps: [.guarded, .bounded])
            var problems: [String] = []
            for (i, (call, expected)) in c.calls.enumerated() {
                for heap in [HeapMode.guarded, .bounded] where !outcomes[heap]![i].agrees(with: expected) {
                    problems.append("\(heap): \(call.line) => expected \(expected.expectation), got \(outcomes[heap]![i].summary)")
                }
            }
            switch (problems.isEmpty, c.knownFailing) {
            case (true, nil):
                passed += 1
                print("PASS \(c.name)")
            case (true, let why?):
                passed += 1
                print("PASS \(c.name) (marked known-failing: \(why) -- it passes now, remove the marker)")
            case (false, let why?):
                known += 1
                print("KNOWN-FAILING \(c.name) (\(why)): \(problems.joined(separator: "; "))")
            case (false, nil):
                failed += 1
                print("FAIL \(c.name): \(problems.joined(separator: "; "))")
            }
        }
        print("replay: \(passed) passed, \(failed) failed, \(known) known-failing (of \(files.count) cases)")
        return failed == 0
    }
}
