import Foundation
import Metrics
import Prometheus
import Shoal

/// The process's metrics, in Prometheus's text format at `/metrics`.
///
/// swift-metrics is bootstrapped with swift-prometheus's factory once per process, before the
/// first engine is made, so that what Shoal's scheduler records (shoal_instances_live,
/// shoal_instances_queued, shoal_traps_total, shoal_instances_completed_total, shoal_yields_total)
/// lands in the same registry as the server's own counters.
public enum EdgeMetrics {
    /// The registry `/metrics` renders. Touching it bootstraps the metrics system (once).
    public static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
            .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
            .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
        ]
        MetricsSystem.bootstrap(factory)
        return registry
    }()

    static let residentMemory = registry.makeGauge(descriptor: MetricNameDescriptor(
        namespace: "process", metricName: "resident_memory", unitName: "bytes", helpText: "Resident set size of the server process."))
    static let slotsInUse = registry.makeGauge(descriptor: MetricNameDescriptor(
        namespace: "edge", metricName: "instances", unitName: "live", helpText: "Instances alive now (the engine's count)."))
    static let waiting = registry.makeGauge(descriptor: MetricNameDescriptor(
        namespace: "edge", metricName: "instances", unitName: "waiting", helpText: "Requests waiting for an instance slot."))

    static let compilations = registry.makeGauge(descriptor: MetricNameDescriptor(
        namespace: "edge", metricName: "compile", unitName: "compilations",
        helpText: "Modules the compile service compiled (CompileService.Statistics.compilations)."))
    static let diskHits = registry.makeGauge(descriptor: MetricNameDescriptor(
        namespace: "edge", metricName: "compile", unitName: "disk_hits",
        helpText: "Modules loaded from the shared artifact cache directory instead of compiled."))
    static let diskWrites = registry.makeGauge(descriptor: MetricNameDescriptor(
        namespace: "edge", metricName: "compile", unitName: "disk_writes", helpText: "Artifacts written to the cache directory."))

    /// What one request came to, by handler and result (`ok`, `handler_error`, `trap`, `limit`,
    /// `overloaded`, `bad_response`, `not_found`, ...). Handler names are only ever those of
    /// handlers that exist, so a client cannot make new series by asking for new paths.
    static func count(handler: String, result: String, duration: Duration) {
        Counter(label: "edge_requests_total", dimensions: [("handler", handler), ("result", result)]).increment()
        Metrics.Timer(label: "edge_request_duration_seconds", dimensions: [("handler", handler)]).recordNanoseconds(duration.nanoseconds)
    }

    /// The metrics as text; the gauges read now are refreshed first.
    static func render(engine: Engine) async -> [UInt8] {
        residentMemory.set(Double(residentBytes() ?? 0))
        let counts = engine.counts
        slotsInUse.set(Double(counts.live))
        waiting.set(Double(counts.waiting))
        let statistics = await engine.compiler.statistics
        compilations.set(Double(statistics.compilations))
        diskHits.set(Double(statistics.diskHits))
        diskWrites.set(Double(statistics.diskWrites))
        return registry.emitToBuffer()
    }

    /// This process's resident set size, from /proc/self/statm (pages).
    public static func residentBytes() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}

extension Duration {
    /// The duration in whole nanoseconds (saturating).
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : product + attoseconds / 1_000_000_000
    }
}
