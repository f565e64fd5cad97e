import Foundation
import Logging
import Shoal

/// The C programs of Tests/wasi-programs (committed .wasm files; build.sh rebuilds them).
enum Programs {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("wasi-programs")

    static func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: directory.appendingPathComponent("\(name).wasm")))
    }
}

/// A small engine for tests: two threads, few slots, a small memory per slot.
func makeEngine(slots: Int = 64, fuel: Bool = false, admission: EngineConfiguration.Admission = .queue(limit: 100_000),
                linker: Linker = Linker(), configure: (inout EngineConfiguration) -> Void = { _ in }) throws -> Engine {
    var c = EngineConfiguration()
    c.threads = 2
    c.slots = slots
    c.memoryPages = 64
    c.fuel = fuel
    c.admission = admission
    configure(&c)
    var logger = Logger(label: "shoal.tests")
    logger.logLevel = .warning
    return try Engine(c, linker: linker, logger: logger)
}

extension Array where Element == UInt8 {
    /// WebAssembly text as bytes, for `Engine.compile`.
    static func wat(_ text: String) -> [UInt8] { Array(text.utf8) }
}
