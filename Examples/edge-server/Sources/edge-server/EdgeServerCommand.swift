import ArgumentParser
import EdgeServer
import Foundation
import Logging
import Shoal

/// `edge-server HANDLERS_DIR`: serves every handler in the directory, one fresh Shoal instance
/// per request. See the README for the routes and the handler protocol.
@main
struct EdgeServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "edge-server",
                                                    abstract: "Serve WebAssembly handlers over HTTP, one fresh instance per request.")

    @Argument(help: "The directory of handlers (NAME.wasm or NAME.shoal, served at /NAME).")
    var handlers: String
    @Option(help: "The address to listen on.") var host = "127.0.0.1"
    @Option(help: "The port to listen on (0: any free port).") var port = 8080
    @Option(help: "Instances alive at once.") var slots = 1_000
    @Option(help: "Requests that may wait for a slot; beyond that they get 503 (0: refuse at once).") var queue = 1_000
    @Option(help: "Worker threads that run instances (default: one per core).") var threads: Int?
    @Option(help: "Each request's memory limit, in 64 KiB pages.") var memoryPages = 64
    @Option(help: "Each request's wall-time limit, e.g. 500ms or 2s (default: 5s).", transform: parseDuration) var timeout: Duration = .seconds(5)
    @Option(help: "Each request's fuel (compiles fuel counting into every handler).") var fuel: Int64?
    @Option(help: "The largest request body, in bytes.") var maxBody = 1 << 20
    @Option(help: "The largest response a handler may write, in bytes (beyond it: 502). Output is held in memory until the handler ends.")
    var maxResponse = 1 << 20
    @Option(help: "A directory for compiled artifacts, shared across restarts and processes.") var cacheDirectory: String?
    @Option(help: ArgumentHelp("Sign cache entries with this private key (shoal keygen's .key) and use only entries so signed.",
                               valueName: "key")) var cacheSigningKey: String?
    @Option(help: ArgumentHelp("Load NAME.shoal handlers only if signed by this public key (repeatable).", valueName: "key.pub"))
    var requireSigned: [String] = []
    @Option(help: "A directory of native builds of the handlers, served at /process/NAME, one process per request.")
    var processHandlers: String?
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.") var logLevel = "info"
    @Flag(help: "Logs as JSON lines (one object per entry) instead of text.") var jsonLogs = false

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        let json = jsonLogs
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler = json ? JSONLogHandler(label: label) : StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var configuration = EdgeConfiguration(handlersDirectory: handlers)
        configuration.host = host
        configuration.port = port
        configuration.slots = slots
        configuration.queueLimit = queue
        if let threads { configuration.threads = threads }
        configuration.memoryPages = memoryPages
        configuration.wallTime = timeout
        configuration.fuel = fuel
        configuration.maxBodyBytes = maxBody
        configuration.maxResponseBytes = maxResponse
        configuration.cacheDirectory = cacheDirectory
        configuration.processHandlersDirectory = processHandlers
        configuration.cacheSigningKey = try cacheSigningKey.map { try Signing.readKey(at: $0) }
        configuration.trustedKeys = try requireSigned.map { try Signing.readKey(at: $0) }
        let logger = Logger(label: "edge-server")
        let server = try EdgeServer(configuration, logger: logger)
        let app = server.application { channel in
            let address = channel.localAddress.map { "\($0.ipAddress ?? "?"):\($0.port ?? 0)" } ?? "?"
            logger.notice("listening", metadata: ["address": "\(address)",
                                                  "handlers": "\(handlers)"])
        }
        try await app.runService()
    }
}

/// "500ms", "2s", "1.5s" as a Duration.
func parseDuration(_ text: String) throws -> Duration {
    if text.hasSuffix("ms"), let v = Double(text.dropLast(2)), v > 0 { return .milliseconds(v) }
    if text.hasSuffix("s"), let v = Double(text.dropLast()), v > 0 { return .seconds(v) }
    throw ValidationError("a duration is a positive number with ms or s, like 500ms or 2s: \(text)")
}

