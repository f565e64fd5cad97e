import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Logging
import Shoal

extension EdgeServer {
    /// One request to a handler: find (or load) it, run it in a fresh instance with the request
    /// as its CGI world, and turn what it did into a response.
    func serve(_ request: Request, handler name: String) async -> Response {
        let id = ids.next(), start = ContinuousClock.now
        var log = RequestLog(logger: logger, id: id)
        let handler: HandlerRegistry.Handler
        do {
            guard let found = try await handlers.handler(named: name) else {
                EdgeMetrics.count(handler: "unknown", result: "not_found", duration: ContinuousClock.now - start)
                return failure(.notFound, id: id, "no handler named \(HandlerRegistry.isValidName(name) ? name : "like that")")
            }
            handler = found
        } catch {
            // The file is there but does not load (logged with its reason when it was tried).
            log.error("handler unavailable", ["handler": "\(name)", "error": "\(error)"])
            EdgeMetrics.count(handler: "unknown", result: "handler_unavailable", duration: ContinuousClock.now - start)
            return failure(.internalServerError, id: id, "the handler could not be loaded")
        }
        log.handler = name
        var request = request
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: configuration.maxBodyBytes)
        } catch {
            EdgeMetrics.count(handler: name, result: "body_too_large", duration: ContinuousClock.now - start)
            return failure(.contentTooLarge, id: id, "the body is over \(configuration.maxBodyBytes) bytes")
        }
        let (response, result) = await run(handler, request: request, body: body, id: id, log: log)
        let duration = ContinuousClock.now - start
        EdgeMetrics.count(handler: name, result: result, duration: duration)
        log.debug("request served", ["status": "\(response.status.code)", "result": "\(result)",
                                     "duration-us": "\(duration.nanoseconds / 1000)"])
        return response
    }

    /// Runs the handler's instance; returns the response and the result's name for the metrics.
    private func run(_ handler: HandlerRegistry.Handler, request: Request, body: ByteBuffer, id: String,
                     log: RequestLog) async -> (Response, String) {
        let path = request.uri.path
        let prefix = "/" + handler.name
        let pathInfo = path.count > prefix.count ? String(path.dropFirst(prefix.count)) : ""
        var wasi = WASIConfiguration(
            arguments: [handler.name],
            environment: CGIEnvironment.variables(
                method: request.method.rawValue, handler: handler.name, pathInfo: pathInfo, query: request.uri.query,
                headers: request.headers.map { ($0.name.rawName, $0.value) }, contentLength: body.readableBytes,
                requestID: id, serverPort: configuration.port),
            preopens: handler.preopens, captureOutput: true)
        wasi.stdin = Array(buffer: body)
        wasi.captureLimit = configuration.maxResponseBytes
        wasi.errorCaptureLimit = Self.stderrLimit
        let limits = Limits(wallTime: configuration.wallTime, fuel: configuration.fuel, memoryPages: UInt64(configuration.memoryPages))
        let result: CallResult
        do {
            result = try await engine.call(handler.module, .wasi(wasi, limits: limits))
        } catch ShoalError.overloaded {
            log.warning("admission refused the request")
            return (failure(.serviceUnavailable, id: id, "the server is at capacity; try again",
                            extra: [.retryAfter: String(configuration.retryAfterSeconds)]), "overloaded")
        } catch {
            log.error("the request's instance could not run", ["error": "\(error)"])
            return (failure(.internalServerError, id: id, "the handler could not be run"), "not_run")
        }
        return respond(to: result, id: id, log: log)
    }

    /// What the instance did, as a response. Traps and failures are logged in full (code,
    /// message, backtrace, the end of stderr) and answered with only the request's id.
    private func respond(to result: CallResult, id: String, log: RequestLog) -> (Response, String) {
        switch result.outcome {
        case .trapped(let trap) where trap.code == .interrupted || trap.code == .outOfFuel:
            log.warning("handler stopped by its limit", ["trap": "\(trap.code)", "message": "\(trap.message)"])
            return (failure(.gatewayTimeout, id: id, "the handler did not finish within its limits"), "limit")
        case .trapped(let trap):
            log.error("handler trapped", [
                "trap": "\(trap.code)", "message": "\(trap.message)",
                "backtrace": "\(trap.backtrace.map { $0.name ?? "func[\($0.functionIndex)]" }.joined(separator: " <- "))",
                "stderr": "\(Self.tail(result.stderr))",
            ])
            return (failure(.internalServerError, id: id, "the handler failed"), "trap")
        case .exited(let status) where status != 0:
            log.error("handler exited with a failure status", ["status": "\(status)", "stderr": "\(Self.tail(result.stderr))"])
            return (failure(.internalServerError, id: id, "the handler failed"), "handler_error")
        case .exited, .returned:
            break
        }
        if result.stdout.count >= configuration.maxResponseBytes {
            log.error("handler response over the limit", ["limit": "\(configuration.maxResponseBytes)"])
            return (failure(.badGateway, id: id, "the handler's response is too large"), "bad_response")
        }
        let parsed: CGIResponse
        do {
            parsed = try CGIResponse(parsing: result.stdout)
        } catch {
            log.error("handler response malformed", ["error": "\(error)"])
            return (failure(.badGateway, id: id, "the handler's response is malformed"), "bad_response")
        }
        var headers: HTTPFields = [.requestID: id]
        for header in parsed.headers {
            if let name = HTTPField.Name(header.name) { headers.append(HTTPField(name: name, value: header.value)) }
        }
        let status = parsed.reason.map { HTTPResponse.Status(code: parsed.status, reasonPhrase: $0) } ?? HTTPResponse.Status(code: parsed.status)
        return (Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: parsed.body))), "ok")
    }

    /// The most of a handler's stderr kept: only its end is logged, and at thousands of instances
    /// the host should not hold megabytes of error output per instance.
    static let stderrLimit = 64 * 1024

    /// The last 512 bytes of a stream, for the log.
    static func tail(_ bytes: [UInt8]) -> String {
        String(decoding: bytes.suffix(512), as: UTF8.self)
    }
}
