import EdgeServer
import Foundation
import XCTest

/// The load test's two baselines answer what the handler answers: the native routes, and the
/// handler's native build run as a process per request (killed at the time limit).
final class BaselineRoutesTests: XCTestCase {
    func testNativeRoutes() async throws {
        let s = try await TestServer.start()
        let hello = try await s.get("/native/hello?name=Ada")
        XCTAssertEqual(hello.text, "Hello, Ada!\n")
        let slept = try await s.get("/native/sleep?ms=5")
        XCTAssertEqual(slept.text, "slept 5 ms\n")
        await s.stop()
    }

    func testProcessPerRequest() async throws {
        let native = NSTemporaryDirectory() + "edge-native-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: native) }
        let build = Process()
        build.executableURL = URL(fileURLWithPath: "/bin/bash")
        build.arguments = [TestServer.handlersDirectory + "/build.sh", "--native", native]
        try build.run()
        build.waitUntilExit()
        XCTAssertEqual(build.terminationStatus, 0, "handlers/build.sh --native needs a C compiler (cc)")
        let s = try await TestServer.start { $0.processHandlersDirectory = native; $0.wallTime = .milliseconds(500) }
        let hello = try await s.get("/process/hello?name=Ada%20L")
        XCTAssertEqual(hello.status, 200)
        XCTAssertEqual(hello.text, "Hello, Ada L!\n")
        let json = try await s.post("/process/json", #"{"b": "x", "a": 1}"#)
        XCTAssertEqual(json.text, #"{"_fields":2,"a":1,"b":"X"}"# + "\n")
        let concurrent = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<20 { group.addTask { try await s.get("/process/sleep?ms=20").status } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        XCTAssertEqual(concurrent, Array(repeating: 200, count: 20))
        let killed = try await s.get("/process/sleep?ms=20000")
        XCTAssertEqual(killed.status, 504)
        let missing = try await s.get("/process/loop")
        XCTAssertEqual(missing.status, 404)
        await s.stop()
    }
}
