import Foundation
import Histogram
import Shoal

/// `shoal run --instances N`: N concurrent instances of one program on the scheduler, and a summary
/// (the density and throughput stress tool).
enum RunMany {
    /// Host functions the stress tool offers under the module name "shoal".
    static let linker: Linker = {
        var linker = Linker()
        // sleep_ms(ms: i32): parks the instance for that long; no thread waits.
        linker.defineAsync("shoal", "sleep_ms", FuncType(params: [.i32], results: []), callback: { arguments, completion in
            guard case .i32(let ms) = arguments.first else { return completion.resume(returning: []) }
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Int(ms))) { completion.resume(returning: []) }
        })
        return linker
    }()

    /// Current resident set size, from /proc/self/statm (read with open/read: it is small, and
    /// this must keep working when the process has a million of everything).
    static func residentBytes() -> Int {
        let fd = open("/proc/self/statm", O_RDONLY)
        guard fd >= 0 else { return 0 }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 256)
        let n = read(fd, &buffer, buffer.count)
        guard n > 0 else { return 0 }
        let fields = String(decoding: buffer[0..<n], as: UTF8.self).split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// Peak resident set size of the process: VmHWM from /proc/self/status, the high-water mark
    /// of this program's own address space. (getrusage's ru_maxrss is not: the kernel folds in
    /// the peak of the address space replaced at exec, which for a process started with vfork or
    /// posix_spawn is its parent's — a test runner with 300 MiB resident made every child report
    /// at least that.) Falls back to ru_maxrss where /proc is missing.
    static func peakResidentBytes() -> Int {
        if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
           let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
           let kib = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") {
            return kib * 1024
        }
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return usage.ru_maxrss * 1024
    }

    /// In a WASI program's arguments, replaced by the instance's number (0 to N-1): one command
    /// line gives each instance its own input, e.g. `--instances 1000 stream.wasm /data/f{i}`.
    static let instancePlaceholder = "{i}"

    static func numberedCall(_ call: Call, instance: Int) -> Call {
        guard var wasi = call.wasi else { return call }
        wasi.arguments = wasi.arguments.map { $0.replacingOccurrences(of: instancePlaceholder, with: String(instance)) }
        var call = call
        call.wasi = wasi
        return call
    }

    static func run(_ engine: Engine, _ module: Shoal.Module, _ call: Call, instances: Int, creationMs: Double) throws -> Int32 {
        final class Tally: @unchecked Sendable {
            let lock = NSLock()
            var completed = 0, trapped = 0, exitedNonZero = 0, failed = 0
            var firstError: String?
            var latencies = Histogram<UInt64>(highestTrackableValue: 3_600_000_000_000, numberOfSignificantValueDigits: .three)
        }
        let tally = Tally()
        let baseline = residentBytes()
        let start = DispatchTime.now().uptimeNanoseconds
        let done = DispatchSemaphore(value: 0)
        var peakLive = 0
        var peakRSSWhileLive = baseline
        let numbered = call.wasi?.arguments.contains { $0.contains(instancePlaceholder) } ?? false
        for i in 0..<instances {
            let submitted = DispatchTime.now().uptimeNanoseconds
            engine.submit(module, numbered ? numberedCall(call, instance: i) : call) { result in
                let latency = DispatchTime.now().uptimeNanoseconds - submitted
                tally.lock.withLock {
                    tally.latencies.record(latency)
                    switch result {
                    case .success(let r):
                        switch r.outcome {
                        case .returned, .exited(0): tally.completed += 1
                        case .exited(let code):
                            tally.exitedNonZero += 1
                            if tally.firstError == nil { tally.firstError = "exit status \(code)" }
                        case .trapped(let trap):
                            tally.trapped += 1
                            if tally.firstError == nil { tally.firstError = trap.message }
                        }
                    case .failure(let error):
                        tally.failed += 1
                        if tally.firstError == nil { tally.firstError = "\(error)" }
                    }
                    if tally.completed + tally.trapped + tally.exitedNonZero + tally.failed == instances { done.signal() }
                }
            }
        }
        // Progress, once a second, while it runs; the peak is sampled on the way.
        var lastReport = start
        while done.wait(timeout: .now() + .milliseconds(50)) == .timedOut {
            let counts = engine.counts
            peakLive = max(peakLive, counts.live)
            peakRSSWhileLive = max(peakRSSWhileLive, residentBytes())
            let t = DispatchTime.now().uptimeNanoseconds
            if t - lastReport > 1_000_000_000 {
                lastReport = t
                let finished = tally.lock.withLock { tally.completed + tally.trapped + tally.exitedNonZero + tally.failed }
                FileHandle.standardError.write(Data(
                    "  \(String(format: "%.1f", Double(t - start) / 1e9))s: \(counts.live) live (\(counts.parked) parked), \(counts.waiting) waiting, \(finished) finished\n".utf8))
            }
        }
        let wall = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let peak = max(peakResidentBytes(), peakRSSWhileLive)
        tally.lock.withLock {
            let c = engine.configuration
            print("instances:      \(instances) (\(c.slots) slots, \(c.heapMode) heap, guard pages \(engine.hasGuardPages ? "on" : "off"))")
            print(String(format: "region setup:   %.1f ms (scheduler created)", creationMs))
            print("completed:      \(tally.completed)")
            print("trapped:        \(tally.trapped)" + (tally.firstError.map { " (first problem: \($0))" } ?? ""))
            if tally.exitedNonZero > 0 { print("exit status≠0:  \(tally.exitedNonZero)") }
            if tally.failed > 0 { print("failed:         \(tally.failed)") }
            print(String(format: "wall time:      %.3f s", wall))
            print(String(format: "instances/s:    %.0f", Double(instances) / wall))
            print(String(format: "peak live:      %d", peakLive))
            print(String(format: "peak RSS:       %.1f MiB", Double(peak) / 1_048_576))
            if peakLive > 0 {
                print(String(format: "bytes/instance: %.0f (RSS growth at peak / peak live)", Double(peakRSSWhileLive - baseline) / Double(peakLive)))
            }
            print(String(format: "latency p50:    %.3f ms", Double(tally.latencies.valueAtPercentile(50)) / 1e6))
            print(String(format: "latency p99:    %.3f ms", Double(tally.latencies.valueAtPercentile(99)) / 1e6))
        }
        return tally.trapped + tally.exitedNonZero + tally.failed > 0 ? 1 : 0
    }
}
