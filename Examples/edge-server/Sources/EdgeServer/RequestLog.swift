import Logging

/// The log of one request: every entry carries its `request-id` and `handler`.
///
/// The ids are added when an entry is written, not set on a copy of the logger per request:
/// swift-log's stream handler re-renders its metadata on every change, which cost about 5% of
/// a hello request's CPU under load while nearly no request logs anything.
struct RequestLog {
    let logger: Logger
    let id: String
    var handler: String?

    func error(_ message: Logger.Message, _ metadata: @autoclosure () -> Logger.Metadata = [:]) {
        log(.error, message, metadata())
    }

    func warning(_ message: Logger.Message, _ metadata: @autoclosure () -> Logger.Metadata = [:]) {
        log(.warning, message, metadata())
    }

    func debug(_ message: Logger.Message, _ metadata: @autoclosure () -> Logger.Metadata = [:]) {
        guard logger.logLevel <= .debug else { return }
        log(.debug, message, metadata())
    }

    private func log(_ level: Logger.Level, _ message: Logger.Message, _ metadata: Logger.Metadata) {
        var all = metadata
        all["request-id"] = "\(id)"
        if let handler { all["handler"] = "\(handler)" }
        logger.log(level: level, message, metadata: all)
    }
}
