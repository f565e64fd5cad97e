import Foundation

/// Latencies of the calls, for the summary's percentiles.
struct Latencies {
    private(set) var sorted: [Duration] = []

    init(_ samples: [Duration]) { sorted = samples.sorted() }

    /// The `p`-th percentile (0...100), nearest rank.
    func percentile(_ p: Double) -> Duration {
        guard !sorted.isEmpty else { return .zero }
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1
        return sorted[min(max(rank, 0), sorted.count - 1)]
    }
}

extension Duration {
    /// Seconds as a Double, for rates and printing.
    var seconds: Double {
        let (s, attoseconds) = components
        return Double(s) + Double(attoseconds) / 1e18
    }

    /// Milliseconds with two decimals.
    var milliseconds: String { String(format: "%.2f ms", seconds * 1_000) }
}
