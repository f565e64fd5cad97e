import EdgeServer
import Foundation
import XCTest

/// The server on loopback, driven as a client drives it: one test per kind of request the issue
/// names (normal, trapping, looping, sleeping, overload), and the handler protocol's edges.
final class EdgeServerTests: XCTestCase {
    func testHelloAnswersFromAFreshInstance() async throws {
        let s = try await TestServer.start()
        let r = try await s.get("/hello?name=Ada%20L")
        XCTAssertEqual(r.status, 200)
        XCTAssertEqual(r.text, "Hello, Ada L!\n")
        XCTAssertEqual(r.headers["content-type"], "text/plain")
        XCTAssertEqual(r.headers["x-request-id"]?.count, 16)
        let other = try await s.get("/hello/some/path")
        XCTAssertEqual(other.text, "Hello, world!\n")
        XCTAssertNotEqual(other.headers["x-request-id"], r.headers["x-request-id"])
        await s.stop()
    }

    func testJSONTransform() async throws {
        let s = try await TestServer.start()
        let r = try await s.post("/json", #"{"b": "hi\n there", "a": -1.5e3, "c": true, "d": null}"#,
                                 headers: [("Content-Type", "application/json")])
        XCTAssertEqual(r.status, 200)
        XCTAssertEqual(r.headers["content-type"], "application/json")
        XCTAssertEqual(r.text, #"{"_fields":4,"a":-1.5e3,"b":"HI\n THERE","c":true,"d":null}"# + "\n")
        let malformed = try await s.post("/json", #"{"a": 01}"#)
        XCTAssertEqual(malformed.status, 400)
        let nested = try await s.post("/json", #"{"a": {"b": 1}}"#)
        XCTAssertEqual(nested.status, 422)
        let duplicate = try await s.post("/json", #"{"a": 1, "a": 2}"#)
        XCTAssertEqual(duplicate.status, 422)
        let empty = try await s.post("/json", "")
        XCTAssertEqual(empty.status, 400)
        await s.stop()
    }

    func testFileThroughAPreopenAndNothingElse() async throws {
        let s = try await TestServer.start()
        let r = try await s.get("/file")
        XCTAssertEqual(r.status, 200)
        XCTAssertEqual(r.text, try String(contentsOfFile: TestServer.handlersDirectory + "/file.data/greeting.txt", encoding: .utf8))
        // The guest sees /data only: climbing out is refused by WASI, and the handler says 404.
        for escape in ["..%2F..%2F..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd", "..%2Ffile.wasm"] {
            let denied = try await s.get("/file?name=\(escape)")
            XCTAssertEqual(denied.status, 404, escape)
            XCTAssertFalse(denied.text.contains("root:"))
        }
        // Only the handler named file gets the directory.
        let hello = try await s.get("/hello")
        XCTAssertEqual(hello.status, 200)
        await s.stop()
    }

    func testTrapIs500WithRequestIDAndTheBacktraceGoesToTheLog() async throws {
        let s = try await TestServer.start()
        let r = try await s.get("/trap")
        XCTAssertEqual(r.status, 500)
        let id = try XCTUnwrap(r.headers["x-request-id"])
        XCTAssertTrue(r.text.contains("request id: \(id)"), r.text)
        // Nothing of the trap reaches the client, not even the body the handler wrote first.
        for secret in ["unreachable", "check_invariant", "never sent", "backtrace"] {
            XCTAssertFalse(r.text.contains(secret), secret)
        }
        let logged = try XCTUnwrap(s.log.entries("handler trapped").first { $0.metadata["request-id"] == id })
        XCTAssertEqual(logged.level, .error)
        XCTAssertEqual(logged.metadata["trap"], "unreachable")
        let backtrace = try XCTUnwrap(logged.metadata["backtrace"])
        XCTAssertTrue(backtrace.hasPrefix("check_invariant"), backtrace)
        XCTAssertTrue(backtrace.contains("handle_request"), backtrace)
        // The next request is served by a fresh instance as if nothing happened.
        let after = try await s.get("/hello")
        XCTAssertEqual(after.status, 200)
        await s.stop()
    }

    func testLoopIsStoppedByItsTimeLimitWhileOthersAreServed() async throws {
        // One worker thread: the hello requests are served on the thread the loop runs on. The
        // limit is long (5 s) so that the 20 requests are done well before it even on a busy machine:
        // the test checks that they were served while the loop was still running.
        let s = try await TestServer.start { $0.threads = 1; $0.wallTime = .seconds(5) }
        let loop = Task { try await s.get("/loop") }
        try await s.waitForLive(1)
        for i in 0..<20 {
            let r = try await s.get("/hello?name=\(i)")
            XCTAssertEqual(r.status, 200)
            XCTAssertEqual(r.text, "Hello, \(i)!\n")
        }
        let servedWhileLooping = s.server.engine.counts.live >= 1
        let stopped = try await loop.value
        XCTAssertTrue(servedWhileLooping, "the loop had ended before the other requests were served")
        XCTAssertEqual(stopped.status, 504)
        XCTAssertTrue(stopped.text.contains("request id: \(stopped.headers["x-request-id"] ?? "?")"))
        XCTAssertEqual(s.log.entries("handler stopped by its limit").first?.metadata["trap"], "interrupted")
        await s.stop()
    }

    func testLoopIsStoppedByFuel() async throws {
        let s = try await TestServer.start { $0.fuel = 5_000_000 }
        let r = try await s.get("/loop")
        XCTAssertEqual(r.status, 504)
        XCTAssertEqual(s.log.entries("handler stopped by its limit").first?.metadata["trap"], "all fuel consumed")
        // Fuel is enough for the real handlers.
        let hello = try await s.get("/hello")
        XCTAssertEqual(hello.status, 200)
        await s.stop()
    }

    func testSleepingInstancesParkWithoutHoldingTheThread() async throws {
        // 20 requests sleeping 300 ms each on one worker thread: all are answered.
        let s = try await TestServer.start { $0.threads = 1 }
        let responses = try await withThrowingTaskGroup(of: RawHTTP.Response.self) { group in
            for _ in 0..<20 { group.addTask { try await s.get("/sleep?ms=300") } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        XCTAssertEqual(responses.map(\.status), Array(repeating: 200, count: 20))
        XCTAssertTrue(responses.allSatisfy { $0.text == "slept 300 ms\n" })
        let bad = try await s.get("/sleep?ms=-1")
        XCTAssertEqual(bad.status, 400)
        await s.stop()
    }

    func testOverloadIs503WithRetryAfter() async throws {
        // Two slots, no queue: with two requests asleep in their instances, a third is refused.
        let s = try await TestServer.start { $0.slots = 2; $0.queueLimit = 0 }
        let sleepers = (0..<2).map { _ in Task { try await s.get("/sleep?ms=3000") } }
        try await s.waitForLive(2)
        let refused = try await s.get("/hello")
        XCTAssertEqual(refused.status, 503)
        XCTAssertEqual(refused.headers["retry-after"], "1")
        XCTAssertNotNil(refused.headers["x-request-id"])
        for sleeper in sleepers {
            let r = try await sleeper.value
            XCTAssertEqual(r.status, 200)
        }
        // The slots are free again.
        let served = try await s.get("/hello")
        XCTAssertEqual(served.status, 200)
        await s.stop()
    }

    func testUnknownAndInvalidNamesAre404() async throws {
        let s = try await TestServer.start()
        for target in ["/nope", "/..%2Fhello", "/hello.wasm", "/file.data", "/" + String(repeating: "a", count: 65)] {
            let r = try await s.get(target)
            XCTAssertEqual(r.status, 404, target)
        }
        await s.stop()
    }

    func testMetricsEndpoint() async throws {
        let s = try await TestServer.start()
        _ = try await s.get("/hello")
        _ = try await s.get("/trap")
        let r = try await s.get("/metrics")
        XCTAssertEqual(r.status, 200)
        for series in ["edge_requests_total{handler=\"hello\",result=\"ok\"}", "edge_requests_total{handler=\"trap\",result=\"trap\"}",
                       "edge_request_duration_seconds_bucket", "shoal_instances_completed_total", "shoal_traps_total",
                       "process_resident_memory_bytes"] {
            XCTAssertTrue(r.text.contains(series), series)
        }
        await s.stop()
    }
}
