import EdgeServer
import Foundation
import Shoal
import XCTest

/// Handlers that come and go and change, and handlers that answer badly: the directory is read
/// live, and a guest's output is never trusted.
final class HandlerFilesTests: XCTestCase {
    var directory: String!

    override func setUp() {
        directory = NSTemporaryDirectory() + "edge-handlers-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func install(_ handler: String, as name: String) throws {
        let target = directory + "/" + name + ".wasm"
        try? FileManager.default.removeItem(atPath: target)
        try FileManager.default.copyItem(atPath: TestServer.handlersDirectory + "/" + handler + ".wasm", toPath: target)
    }

    /// A handler in WebAssembly text (the compile service takes text too) that writes `output`.
    func installWriting(_ output: String, as name: String) throws {
        let bytes = Array(output.utf8)
        let data = bytes.map { String(format: "\\%02x", $0) }.joined()
        let wat = """
        (module
          (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
          (memory (export "memory") 1)
          (data (i32.const 16) "\(data)")
          (func (export "_start")
            (i32.store (i32.const 0) (i32.const 16))
            (i32.store (i32.const 4) (i32.const \(bytes.count)))
            (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
        """
        try wat.write(toFile: directory + "/" + name + ".wasm", atomically: true, encoding: .utf8)
    }

    func testMemoryLimitPerRequest() async throws {
        // Grows its memory by 16 pages (1 MiB) and says whether it got them (an empty head: "\n", then the body).
        let wat = """
        (module
          (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
          (memory (export "memory") 1)
          (data (i32.const 16) "\\ngrown")
          (data (i32.const 32) "\\nrefused")
          (func (export "_start")
            (if (i32.eq (memory.grow (i32.const 16)) (i32.const -1))
              (then (i32.store (i32.const 0) (i32.const 32)) (i32.store (i32.const 4) (i32.const 8)))
              (else (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const 6))))
            (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
        """
        try wat.write(toFile: directory + "/grow.wasm", atomically: true, encoding: .utf8)
        let small = try await TestServer.start { [directory] in $0.handlersDirectory = directory!; $0.memoryPages = 8 }
        let refused = try await small.get("/grow")
        XCTAssertEqual(refused.text, "refused")
        await small.stop()
        let large = try await TestServer.start { [directory] in $0.handlersDirectory = directory!; $0.memoryPages = 32 }
        let grown = try await large.get("/grow")
        XCTAssertEqual(grown.text, "grown")
        await large.stop()
    }

    /// A handler that writes an empty head ("\n") to stdout, then 64 KiB to `fd` 100 times (6.4 MB),
    /// then, if `trap`, traps.
    func installFlooding(fd: Int, trap: Bool, as name: String) throws {
        let wat = """
        (module
          (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
          (memory 2)
          (data (i32.const 16) "\\n")
          (func (export "_start") (local $i i32)
            (i32.store (i32.const 0) (i32.const 16))
            (i32.store (i32.const 4) (i32.const 1))
            (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
            (memory.fill (i32.const 1024) (i32.const 120) (i32.const 65536))
            (i32.store (i32.const 0) (i32.const 1024))
            (i32.store (i32.const 4) (i32.const 65536))
            (loop $again
              (drop (call $fd_write (i32.const \(fd)) (i32.const 0) (i32.const 1) (i32.const 8)))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br_if $again (i32.lt_u (local.get $i) (i32.const 100))))
            \(trap ? "(unreachable)" : "")))
        """
        try wat.write(toFile: directory + "/" + name + ".wasm", atomically: true, encoding: .utf8)
    }

    func testOutputIsBounded() async throws {
        try installFlooding(fd: 1, trap: false, as: "big")
        try installFlooding(fd: 2, trap: true, as: "noisy")
        let s = try await TestServer.start { [directory] in $0.handlersDirectory = directory!; $0.maxResponseBytes = 100_000 }
        let big = try await s.get("/big")
        XCTAssertEqual(big.status, 502)
        XCTAssertEqual(s.log.entries("handler response over the limit").count, 1)
        let noisy = try await s.get("/noisy")
        XCTAssertEqual(noisy.status, 500)
        let logged = try XCTUnwrap(s.log.entries("handler trapped").first)
        XCTAssertEqual(logged.metadata["stderr"], String(repeating: "x", count: 512), "the end of stderr, 512 bytes")
        await s.stop()
    }

    func testAHandlerIsReloadedWhenItsFileChangesAndGoneWhenRemoved() async throws {
        try install("hello", as: "app")
        let s = try await TestServer.start { [directory] in $0.handlersDirectory = directory!; $0.reloadCheckInterval = .zero }
        let first = try await s.get("/app")
        XCTAssertEqual(first.text, "Hello, world!\n")
        try install("sleep", as: "app")
        let second = try await s.get("/app?ms=1")
        XCTAssertEqual(second.text, "slept 1 ms\n")
        XCTAssertEqual(s.log.entries("handler reloaded").count, 1)
        try FileManager.default.removeItem(atPath: directory + "/app.wasm")
        let gone = try await s.get("/app")
        XCTAssertEqual(gone.status, 404)
        await s.stop()
    }

    func testAnArtifactHandlerAndTheSignatureItMustCarry() async throws {
        let key = Signing.generateKeyPair(), other = Signing.generateKeyPair()
        let s = try await TestServer.start { [directory] in $0.handlersDirectory = directory!; $0.trustedKeys = [key.publicKey] }
        // Compiled by the server's own engine, so the artifact fits its slots; then signed.
        let module = try await s.server.engine.compile(Array(try Data(contentsOf: URL(fileURLWithPath: TestServer.handlersDirectory + "/hello.wasm"))))
        try Data(try module.artifact(signingKey: key.privateKey)).write(to: URL(fileURLWithPath: directory + "/signed.shoal"))
        try Data(try module.artifact(signingKey: other.privateKey)).write(to: URL(fileURLWithPath: directory + "/forged.shoal"))
        let signed = try await s.get("/signed?name=artifact")
        XCTAssertEqual(signed.status, 200)
        XCTAssertEqual(signed.text, "Hello, artifact!\n")
        let forged = try await s.get("/forged")
        XCTAssertEqual(forged.status, 500)
        XCTAssertEqual(s.log.entries("handler failed to load").count, 1)
        await s.stop()
    }

    func testABrokenHandlerIs500AndIsCompiledOncePerVersion() async throws {
        try "not a module".write(toFile: directory + "/broken.wasm", atomically: true, encoding: .utf8)
        let s = try await TestServer.start { [directory] in $0.handlersDirectory = directory!; $0.reloadCheckInterval = .zero }
        for _ in 0..<3 {
            let r = try await s.get("/broken")
            XCTAssertEqual(r.status, 500)
            XCTAssertFalse(r.text.contains("not a module"))
        }
        XCTAssertEqual(s.log.entries("handler failed to load").count, 1)
        let failures = await s.server.engine.compiler.statistics.failures
        XCTAssertEqual(failures, 1)
        await s.stop()
    }

    func testMalformedOutputIs502() async throws {
        let cases = [
            "no-head": "just a body, no empty line",
            "empty": "",
            "bad-status": "Status: 99 Nope\r\n\r\n",
            "bad-name": "Bad Name: x\r\n\r\nbody",
            "bad-value": "X-Thing: a\u{1}b\r\n\r\nbody",
        ]
        for (name, output) in cases { try installWriting(output, as: name) }
        try installWriting("HTTP/1.1 201 Made\r\nX-Thing: yes\r\nContent-Length: 999\r\n\r\nmade", as: "good")
        let s = try await TestServer.start { [directory] in $0.handlersDirectory = directory! }
        for name in cases.keys {
            let r = try await s.get("/" + name)
            XCTAssertEqual(r.status, 502, name)
        }
        let good = try await s.get("/good")
        XCTAssertEqual(good.status, 201)
        XCTAssertEqual(good.headers["x-thing"], "yes")
        XCTAssertEqual(good.headers["content-length"], "4")  // the server frames the body, not the guest
        XCTAssertEqual(good.text, "made")
        await s.stop()
    }
}
