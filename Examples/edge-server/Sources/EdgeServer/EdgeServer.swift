import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Logging
import Shoal

/// An edge server: every request to `/NAME` (or `/NAME/...`) runs the handler `NAME` from the
/// handlers directory in a fresh Shoal instance, CGI-style — the request as environment variables
/// and standard input, the response from standard output — under per-request limits.
///
/// Besides the handlers it serves `/metrics` (Prometheus), and, for the load test's baselines,
/// `/native/hello` and `/native/sleep` (the same logic as the hello and sleep handlers written as
/// Hummingbird routes) and `/process/NAME` (the handler's native build run as a process per
/// request). Those names are therefore not available to handlers.
public final class EdgeServer: Sendable {
    public let configuration: EdgeConfiguration
    /// The engine the handlers run on; the server's application runs it as a service.
    public let engine: Engine
    let handlers: HandlerRegistry
    let ids = RequestIDs()
    let logger: Logger
    let processes: ProcessRunner?

    /// Makes the engine (its slots are mapped now) for `configuration`; logs through `logger`.
    public init(_ configuration: EdgeConfiguration, logger: Logger) throws {
        _ = EdgeMetrics.registry  // before the engine: its scheduler's metrics go to Prometheus
        var engineConfiguration = EngineConfiguration()
        engineConfiguration.slots = configuration.slots
        engineConfiguration.threads = configuration.threads
        engineConfiguration.memoryPages = configuration.memoryPages
        engineConfiguration.admission = configuration.queueLimit > 0 ? .queue(limit: configuration.queueLimit) : .refuse
        engineConfiguration.fuel = configuration.fuel != nil
        engineConfiguration.cacheDirectory = configuration.cacheDirectory.map { URL(fileURLWithPath: $0) }
        engineConfiguration.cacheSigningKey = configuration.cacheSigningKey
        engineConfiguration.trustedKeys = configuration.trustedKeys
        self.configuration = configuration
        self.logger = logger
        engine = try Engine(engineConfiguration, logger: logger)
        handlers = HandlerRegistry(directory: configuration.handlersDirectory, engine: engine,
                                   checkInterval: configuration.reloadCheckInterval, logger: logger)
        processes = configuration.processHandlersDirectory.map { ProcessRunner(directory: $0, wallTime: configuration.wallTime) }
    }

    /// The Hummingbird application serving the routes; run it (`runService()`, or in a
    /// ServiceGroup). It runs the engine as a service too, so the engine stops when it does.
    /// `onServerRunning` gets the listening channel (its local address has the port).
    public func application(onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in })
        -> some ApplicationProtocol {
        let router = Router()
        router.get("/metrics") { [engine] _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                     body: .init(byteBuffer: ByteBuffer(bytes: await EdgeMetrics.render(engine: engine))))
        }
        NativeRoutes.add(to: router)
        if let processes {
            for method in [HTTPRequest.Method.get, .post] {
                router.on("/process/{handler}", method: method) { [self] request, context in
                    await processes.serve(request, handler: context.parameters.get("handler") ?? "", id: ids.next(), server: self)
                }
            }
        }
        for method in [HTTPRequest.Method.get, .post, .put, .delete, .patch] {
            for path in ["/{handler}", "/{handler}/**"] {
                router.on(RouterPath(path), method: method) { [self] request, context in
                    await serve(request, handler: context.parameters.get("handler") ?? "")
                }
            }
        }
        return Application(router: router,
                           configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: nil),
                           services: [engine], onServerRunning: onServerRunning, logger: logger)
    }

    /// A plain-text response with the request's id, for the errors the server itself answers.
    func failure(_ status: HTTPResponse.Status, id: String, _ text: String, extra: HTTPFields = [:]) -> Response {
        var headers: HTTPFields = [.contentType: "text/plain; charset=utf-8", .requestID: id]
        headers.append(contentsOf: extra)
        let body = "\(status.code) \(status.reasonPhrase)\n\(text)\nrequest id: \(id)\n"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}

extension HTTPField.Name {
    /// Every response carries its request's id.
    static let requestID = HTTPField.Name("X-Request-Id")!
}
