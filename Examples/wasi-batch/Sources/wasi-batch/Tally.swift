import Shoal

/// How the runs of one program ended.
struct Tally {
    var runs = 0
    var exitZero = 0
    var exitNonZero = 0
    /// Every trap by its code, limit stops included (`.interrupted` for time, `.outOfFuel`).
    var trapsByCode: [TrapCode: Int] = [:]
    /// Traps that were the guest's own doing, not a limit's.
    var traps: Int { trapsByCode.filter { $0.key != .interrupted && $0.key != .outOfFuel }.values.reduce(0, +) }
    var timeLimitStops: Int { trapsByCode[.interrupted, default: 0] }
    var fuelStops: Int { trapsByCode[.outOfFuel, default: 0] }
    /// Calls that could not run at all (link errors, overload...): `ShoalError`.
    var errors = 0
    /// Runs compared with the oracle, and how many of those were not as expected.
    var checked = 0
    var wrong = 0
    /// The first unexpected run, described, to show under the table.
    var firstWrong: String?

    /// Counts one run that ended with `result` (or could not run: `error`) against `expected`.
    mutating func add(input: Int, result: CallResult?, error: (any Error)?, expected: Oracle.Expectation?) {
        runs += 1
        if let result {
            switch result.outcome {
            case .returned, .exited(0): exitZero += 1
            case .exited: exitNonZero += 1
            case .trapped(let trap): trapsByCode[trap.code, default: 0] += 1
            }
        } else {
            errors += 1
        }
        guard let expected else { return }
        checked += 1
        if let problem = Self.problem(result: result, error: error, expected: expected) {
            wrong += 1
            if firstWrong == nil { firstWrong = "input \(input): \(problem)" }
        }
    }

    /// Why `result` is not what `expected` says, or nil if it is.
    static func problem(result: CallResult?, error: (any Error)?, expected: Oracle.Expectation) -> String? {
        guard let result else { return "did not run: \(error.map { "\($0)" } ?? "?")" }
        switch (expected, result.outcome) {
        case (.stopped, .trapped(let trap)) where trap.code == .interrupted || trap.code == .outOfFuel:
            return nil
        case (.stopped, let outcome):
            return "expected a limit to stop it, got \(outcome)"
        case (.output(_, let status), .trapped(let trap)):
            return "expected exit \(status), trapped: \(trap.code) (\(trap.message))"
        case (.output(let stdout, let status), _):
            if result.exitStatus != status { return "expected exit \(status), got \(result.exitStatus)" }
            if result.stdoutText != stdout {
                return "stdout differs: expected \(stdout.prefix(40).debugDescription), got \(result.stdoutText.prefix(40).debugDescription)"
            }
            return nil
        }
    }
}

/// The summary table: one row per program.
enum Table {
    static let header = ["program", "runs", "exit 0", "exit≠0", "traps", "time limit", "fuel", "errors", "check"]

    static func row(_ name: String, _ t: Tally) -> [String] {
        let check = t.checked == 0 ? "no oracle" : t.wrong == 0 ? "\(t.checked) ok" : "\(t.wrong) WRONG"
        return [name, "\(t.runs)", "\(t.exitZero)", "\(t.exitNonZero)", "\(t.traps)",
                "\(t.timeLimitStops)", "\(t.fuelStops)", "\(t.errors)", check]
    }

    /// Prints rows in aligned columns, then each program's traps by code and first wrong run.
    static func print(_ tallies: [(name: String, tally: Tally)]) {
        let rows = [header] + tallies.map { row($0.name, $0.tally) }
        let widths = header.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        for (i, row) in rows.enumerated() {
            let cells = row.enumerated().map { column, cell in
                let padding = String(repeating: " ", count: widths[column] - cell.count)
                return column == 0 ? cell + padding : padding + cell  // names left, numbers right
            }
            Swift.print(cells.joined(separator: "  "))
            if i == 0 { Swift.print(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")) }
        }
        for (name, tally) in tallies {
            if !tally.trapsByCode.isEmpty {
                let codes = tally.trapsByCode.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key) ×\($0.value)" }
                Swift.print("\(name): traps by code: \(codes.joined(separator: ", "))")
            }
            if let firstWrong = tally.firstWrong { Swift.print("\(name): first unexpected run: \(firstWrong)") }
        }
    }
}
