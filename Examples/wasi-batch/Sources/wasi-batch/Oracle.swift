/// The grader's side: the inputs every program gets, and what each known program must do with
/// them, computed here in Swift rather than trusted from a run.
enum Oracle {
    /// Input `k` of a batch: lines of integers, a different count each time; every third input
    /// has a negative number in it (which `sum` must reject).
    static func input(_ k: Int) -> [UInt8] {
        var state = UInt64(k + 1) &* 0x9E37_79B9_7F4A_7C15
        func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407  // an LCG
            return Int(state >> 33) % bound
        }
        var numbers = (0..<(5 + (k * 7) % 60)).map { _ in next(1_000) }
        if k % 3 == 2 { numbers[next(numbers.count)] = -1 - next(100) }
        var text = ""
        for (i, n) in numbers.enumerated() {
            text += String(n)
            text += (i % 8 == 7 || i == numbers.count - 1) ? "\n" : " "
        }
        return Array(text.utf8)
    }

    /// What a run must end in.
    enum Expectation {
        /// Exit with this status, having written exactly this to stdout.
        case output(String, status: Int32)
        /// Be stopped by a limit (time or fuel): the program never ends by itself.
        case stopped
    }

    /// The expectation for a program of programs/ by its file name, or nil for a program the
    /// oracle does not know (its runs are counted, not checked).
    static func expectation(program: String, input: [UInt8]) -> Expectation? {
        let text = String(decoding: input, as: UTF8.self)
        let numbers = text.split(whereSeparator: \.isWhitespace).compactMap { Int($0) }
        switch program {
        case "wc":
            let lines = input.filter { $0 == UInt8(ascii: "\n") }.count
            let words = text.split(whereSeparator: \.isWhitespace).count
            return .output("\(lines) \(words) \(input.count)\n", status: 0)
        case "sort":
            return .output(numbers.sorted().map { "\($0)\n" }.joined(), status: 0)
        case "sum":
            if numbers.contains(where: { $0 < 0 }) { return .output("", status: 1) }
            return .output("\(numbers.reduce(0, +))\n", status: 0)
        case "spin":
            return .stopped
        default:
            return nil
        }
    }
}
