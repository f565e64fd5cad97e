import EdgeServer
import Foundation
import Hummingbird
import Logging
import Synchronization

/// An edge server started in-process on a free loopback port for one test, with its log kept in
/// memory so that tests can check what was logged (a trap's backtrace) as well as what was sent.
final class TestServer: Sendable {
    let server: EdgeServer
    let port: Int
    let log: LogStore
    private let task: Task<Void, any Error>

    /// The committed handlers (this package's handlers/ directory).
    static let handlersDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("handlers").path

    static func start(_ configure: (inout EdgeConfiguration) -> Void = { _ in }) async throws -> TestServer {
        var configuration = EdgeConfiguration(handlersDirectory: handlersDirectory)
        configuration.port = 0
        configuration.slots = 64
        configuration.queueLimit = 64
        configuration.threads = 2
        configure(&configuration)
        let log = LogStore()
        let logger = Logger(label: "edge-test") { _ in CapturingLogHandler(store: log) }
        let server = try EdgeServer(configuration, logger: logger)
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = server.application { channel in
            continuation.yield(channel.localAddress?.port ?? 0)
            continuation.finish()
        }
        let task = Task { try await app.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else {
            task.cancel()
            throw RawHTTP.Failure(description: "the server did not start")
        }
        return TestServer(server: server, port: port, log: log, task: task)
    }

    private init(server: EdgeServer, port: Int, log: LogStore, task: Task<Void, any Error>) {
        self.server = server
        self.port = port
        self.log = log
        self.task = task
    }

    func get(_ target: String) async throws -> RawHTTP.Response {
        try await RawHTTP.request(port: port, "GET", target)
    }

    func post(_ target: String, _ body: String, headers: [(String, String)] = []) async throws -> RawHTTP.Response {
        try await RawHTTP.request(port: port, "POST", target, body: Array(body.utf8), headers: headers)
    }

    /// Waits (polling the engine, at most `seconds`) until `live` instances are running.
    func waitForLive(_ live: Int, seconds: Double = 20) async throws {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while server.engine.counts.live < live {
            guard ContinuousClock.now < deadline else { throw RawHTTP.Failure(description: "never \(live) live instances") }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Stops the server (its engine stops with it) and waits until it has.
    func stop() async {
        task.cancel()
        _ = await task.result
    }
}

/// Log entries kept in memory.
final class LogStore: Sendable {
    struct Entry: Sendable {
        var level: Logger.Level
        var message: String
        var metadata: [String: String]
    }

    private let entries = Mutex<[Entry]>([])

    func append(_ entry: Entry) { entries.withLock { $0.append(entry) } }

    /// The entries with this message.
    func entries(_ message: String) -> [Entry] { entries.withLock { $0.filter { $0.message == message } } }
}

struct CapturingLogHandler: LogHandler {
    let store: LogStore
    var logLevel: Logger.Level = .debug
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var fields: [String: String] = [:]
        for (k, v) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) { fields[k] = "\(v)" }
        store.append(.init(level: event.level, message: "\(event.message)", metadata: fields))
    }
}
