import Foundation
import Shoal

// A service that embeds Shoal: one engine for the process, a module compiled once and found in
// the compile service's cache by every request after, and many thousands of concurrent calls,
// each with its own input served by host functions, each result checked.
//
//   swift run embed [--calls N]       (from Examples/embed; see its README)

let options = Options.parse(CommandLine.arguments.dropFirst())

// MARK: The engine

/// Host functions every call may import. `env.lookup` stands for a remote key-value read: it is
/// asynchronous, so the guest parks (its slot stays, no thread waits) while the host awaits.
var shared = Linker()
shared.defineAsync("env", "lookup", FuncType(params: [.i32], results: [.i32])) { arguments in
    guard case .i32(let key) = arguments[0] else { throw LookupError.badKey }
    try await Task.sleep(for: .milliseconds(1))  // the network round trip
    return [.i32(Workload.lookup(key))]
}
enum LookupError: Error { case badKey }

// Every setting spelled out: these are the knobs a service tunes.
var configuration = EngineConfiguration()
configuration.threads = ProcessInfo.processInfo.activeProcessorCount  // workers running guests
configuration.slots = 1_024                   // instances alive at once (running or parked)
configuration.memoryPages = 8                 // 512 KiB per instance at most; the guest needs 2 pages
configuration.timeSlice = .milliseconds(2)    // how long a guest runs before the next gets the thread
configuration.admission = .queue(limit: options.calls)  // calls beyond the slots wait: room for all
let engine = try Engine(configuration, linker: shared)
defer { engine.shutdown() }

/// The guest, built from guest/guest.c by guest/build.sh.
let guestURL = Bundle.module.url(forResource: "guest", withExtension: "wasm")!
let guestBytes = [UInt8](try Data(contentsOf: guestURL))

// MARK: One call

/// The per-call host functions: the request's bytes, served to this call only. A per-call
/// linker is how one engine serves many requests without the guest seeing any but its own.
func requestLinker(_ request: [UInt8]) -> Linker {
    var linker = Linker()
    linker.define("env", "input_len", FuncType(params: [], results: [.i32])) { _, _ in
        [.i32(UInt32(request.count))]
    }
    linker.define("env", "input_read", FuncType(params: [.i32], results: [])) { caller, arguments in
        guard case .i32(let address) = arguments[0], caller.write(address, request) else {
            throw RequestError.outOfBounds  // traps the guest with TrapCode.hostError
        }
        return []
    }
    return linker
}
enum RequestError: Error { case outOfBounds }

/// Handles one request as a service would: find the module (compiled once, then from the
/// cache), call its `handle` in a fresh instance, and return how that ended.
func handle(_ request: [UInt8]) async throws -> CallResult {
    let module = try await engine.compile(guestBytes)
    let call = Call(entry: "handle", limits: Limits(wallTime: .seconds(10)), linker: requestLinker(request))
    return try await engine.call(module, call)
}

// MARK: A trapped call

// A request larger than the guest's buffer: the guest refuses it with a trap. A trap is an
// outcome, not an error: the service matches on it and carries on.
let tooLarge = [UInt8](repeating: 0x2A, count: Workload.guestBufferSize + 1)
switch try await handle(tooLarge).outcome {
case .trapped(let trap):
    print("oversized request (\(tooLarge.count) bytes): trapped, code \(trap.code) (\(trap.message))")
case let other:
    print("oversized request: expected a trap, got \(other)")
    exit(1)
}

// MARK: Many calls

/// What became of one call.
struct Record: Sendable {
    var latency: Duration
    var returned = false
    var trapped: TrapCode?
    var mismatch = false
}

print("running \(options.calls) concurrent calls (\(configuration.threads) threads, \(configuration.slots) slots)...")
let clock = ContinuousClock()
let started = clock.now
// One task per call: the engine, not the caller, bounds how many run (slots, then its queue).
let records = try await withThrowingTaskGroup(of: Record.self) { group in
    for i in 0..<options.calls {
        group.addTask {
            let request = Workload.request(i)
            let begin = clock.now
            let result = try await handle(request)
            var record = Record(latency: clock.now - begin)
            switch result.outcome {
            case .returned(let values):
                record.returned = true
                record.mismatch = values != [.i32(Workload.expectedChecksum(request))]
            case .trapped(let trap):
                record.trapped = trap.code
            case .exited:
                record.mismatch = true  // not a WASI program: cannot happen
            }
            return record
        }
    }
    var records: [Record] = []
    records.reserveCapacity(options.calls)
    for try await record in group { records.append(record) }
    return records
}
let wall = clock.now - started

// MARK: Summary

let returned = records.filter(\.returned).count
let trapped = records.filter { $0.trapped != nil }.count
let mismatches = records.filter(\.mismatch).count
let latencies = Latencies(records.map(\.latency))
let statistics = await engine.compiler.statistics
print("""
    calls        \(records.count)
    returned     \(returned)
    trapped      \(trapped)
    mismatches   \(mismatches)
    wall time    \(String(format: "%.3f s", wall.seconds))
    calls/s      \(String(format: "%.0f", Double(records.count) / wall.seconds))
    latency      p50 \(latencies.percentile(50).milliseconds), p99 \(latencies.percentile(99).milliseconds), \
    max \(latencies.percentile(100).milliseconds)
    compiles     \(statistics.compilations) compilation(s), \(statistics.cacheHits) cache hits, \
    \(statistics.joinedInFlight) joined in flight
    """)
if mismatches > 0 || trapped > 0 || returned != options.calls {
    print("FAILED: every call should have returned its request's checksum")
    exit(1)
}
print("OK: every result matches the checksum computed in Swift")
