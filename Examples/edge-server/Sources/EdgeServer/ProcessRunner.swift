import CEdgeProcess
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOPosix
import Logging

/// The process-per-request baseline: `/process/NAME` runs the native build of handler NAME as a
/// new process for every request, CGI-style (posix_spawn, the request in its environment and on
/// its stdin, the response from its stdout), the way a CGI server runs scripts. It exists so that
/// the load test compares instances with processes inside the same HTTP server.
///
/// Nothing waits on a thread while a process runs: its stdout is read by a NIO pipe channel on an
/// event loop, and it is reaped (waitpid with WNOHANG, retried on the loop) once that reaches end
/// of file. A process still running at the wall-time limit is killed (SIGKILL) and the request
/// gets 504. (A first version read through DispatchIO; under 1,000 concurrent processes
/// libdispatch's event loop crashed, so the pipes are NIO's, as the server's sockets are.)
final class ProcessRunner: Sendable {
    let directory: String
    let wallTime: Duration
    /// The most a request body may be here: it is written to the pipe before the output is read,
    /// so it must fit the pipe's buffer (64 KiB on Linux).
    static let maxBody = 60 * 1024
    /// The most output kept; a process that writes more is killed (its request gets 504).
    static let maxOutput = 4 << 20

    init(directory: String, wallTime: Duration) {
        self.directory = directory
        self.wallTime = wallTime
    }

    /// What a process did: its output and how it ended.
    struct Finished: Sendable {
        var output: [UInt8]
        var status: Int32
        var killed: Bool
    }

    func serve(_ request: Request, handler name: String, id: String, server: EdgeServer) async -> Response {
        let path = (directory as NSString).appendingPathComponent(name)
        guard HandlerRegistry.isValidName(name), FileManager.default.isExecutableFile(atPath: path) else {
            return server.failure(.notFound, id: id, "no native handler named like that")
        }
        var request = request
        guard let body = try? await request.collectBody(upTo: Self.maxBody) else {
            return server.failure(.contentTooLarge, id: id, "the body is over \(Self.maxBody) bytes")
        }
        let environment = CGIEnvironment.variables(
            method: request.method.rawValue, handler: name, pathInfo: "", query: request.uri.query,
            headers: request.headers.map { ($0.name.rawName, $0.value) }, contentLength: body.readableBytes,
            requestID: id, serverPort: server.configuration.port)
        let finished: Finished
        do {
            finished = try await run(path, environment: environment.map { "\($0)=\($1)" }, input: Array(buffer: body))
        } catch {
            server.logger.error("cannot start process", metadata: ["request-id": "\(id)", "error": "\(error)"])
            return server.failure(.internalServerError, id: id, "the handler could not be run")
        }
        if finished.killed { return server.failure(.gatewayTimeout, id: id, "the handler did not finish within its limits") }
        guard finished.status == 0, let parsed = try? CGIResponse(parsing: finished.output) else {
            return server.failure(finished.status == 0 ? .badGateway : .internalServerError, id: id, "the handler failed")
        }
        var headers: HTTPFields = [.requestID: id]
        for header in parsed.headers {
            if let name = HTTPField.Name(header.name) { headers.append(HTTPField(name: name, value: header.value)) }
        }
        return Response(status: HTTPResponse.Status(code: parsed.status), headers: headers,
                        body: .init(byteBuffer: ByteBuffer(bytes: parsed.body)))
    }

    /// Spawns `path` with `environment`, writes `input` to its stdin, collects its stdout.
    func run(_ path: String, environment: [String], input: [UInt8]) async throws -> Finished {
        let spawned = try Spawned(path: path, environment: environment)
        // The input fits the pipe's buffer (maxBody), so this write does not block.
        input.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let n = write(spawned.stdin, bytes.baseAddress! + offset, bytes.count - offset)
                if n <= 0 { if errno == EINTR { continue }; break }  // EPIPE: the program did not read it all
                offset += n
            }
        }
        close(spawned.stdin)
        return try await spawned.collect(killAfter: wallTime, limit: Self.maxOutput).get()
    }
}

/// One spawned process and the ends of its pipes that the server holds. After `init`, its state
/// is touched only on its event loop.
private final class Spawned: @unchecked Sendable {
    let pid: pid_t
    let stdin: Int32
    let stdout: Int32
    private var reaped = false
    private var killed = false

    init(path: String, environment: [String]) throws {
        var input: [Int32] = [0, 0], output: [Int32] = [0, 0]
        guard edge_pipe_cloexec(&input) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        guard edge_pipe_cloexec(&output) == 0 else {
            close(input[0]); close(input[1])
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, input[0], 0)
        posix_spawn_file_actions_adddup2(&actions, output[1], 1)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup(path), nil]
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid = pid_t()
        let rc = posix_spawn(&pid, path, &actions, nil, argv, envp)
        close(input[0])
        close(output[1])
        guard rc == 0 else {
            close(input[1]); close(output[0])
            throw POSIXError(POSIXErrorCode(rawValue: rc) ?? .EIO)
        }
        self.pid = pid
        stdin = input[1]
        stdout = output[0]
    }

    /// Reads stdout to its end (at most `limit` bytes; past that the process is killed), reaps
    /// the process, and reports both. Kills it if it runs past `killAfter`, only while it is not
    /// yet reaped, so the pid cannot be another process's by then.
    func collect(killAfter: Duration, limit: Int) -> EventLoopFuture<ProcessRunner.Finished> {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let read = loop.makePromise(of: [UInt8].self)
        let collector = OutputCollector(done: read, limit: limit) { [self] in kill() }
        NIOPipeBootstrap(group: loop)
            .channelInitializer { channel in channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(collector) } }
            .takingOwnershipOfDescriptor(input: stdout)
            .whenFailure { [stdout] error in
                close(stdout)
                read.fail(error)
            }
        let (seconds, attoseconds) = killAfter.components
        let deadline = loop.scheduleTask(in: .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)) { [self] in kill() }
        return read.futureResult.flatMap { [self] output in
            let exited = loop.makePromise(of: Int32.self)
            reap(on: loop, into: exited)
            return exited.futureResult.map { [self] status in
                deadline.cancel()
                return ProcessRunner.Finished(output: output, status: status, killed: killed)
            }
        }.flatMapErrorThrowing { [self] error in
            kill()
            reap(on: loop, into: loop.makePromise(of: Int32.self))
            throw error
        }
    }

    private func kill() {
        guard !reaped else { return }
        killed = true
        Glibc.kill(pid, SIGKILL)
    }

    /// waitpid without blocking the loop: the process closed its stdout, so it is exiting; look
    /// again every millisecond until it has.
    private func reap(on loop: any EventLoop, into exited: EventLoopPromise<Int32>) {
        var status: Int32 = 0
        let rc = waitpid(pid, &status, WNOHANG)
        if rc == 0 || (rc < 0 && errno == EINTR) {
            loop.scheduleTask(in: .milliseconds(1)) { [self] in reap(on: loop, into: exited) }
            return
        }
        reaped = true
        if rc < 0 { return exited.succeed(-1) }
        exited.succeed(status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f))
    }
}

/// Collects what arrives on a process's stdout until end of file (the channel closes).
private final class OutputCollector: ChannelInboundHandler, @unchecked Sendable {  // used on its channel's loop only
    typealias InboundIn = ByteBuffer
    private let done: EventLoopPromise<[UInt8]>
    private let limit: Int
    private let tooMuch: () -> Void
    private var output: [UInt8] = []

    init(done: EventLoopPromise<[UInt8]>, limit: Int, tooMuch: @escaping () -> Void) {
        self.done = done
        self.limit = limit
        self.tooMuch = tooMuch
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        guard output.count + buffer.readableBytes <= limit else {
            tooMuch()
            context.close(promise: nil)
            return
        }
        output += buffer.readableBytesView
    }

    func channelInactive(context: ChannelHandlerContext) {
        done.succeed(output)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
