import HTTPTypes
import Hummingbird
import NIOCore

/// The hello and sleep handlers' logic written as ordinary Hummingbird routes: the load test's
/// lower bound, what serving the same answers costs with no instance at all.
enum NativeRoutes {
    static func add(to router: Router<BasicRequestContext>) {
        router.get("/native/hello") { request, _ in
            let name = request.uri.queryParameters["name"].map(String.init) ?? "world"
            return Response(status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "Hello, \(name)!\n")))
        }
        router.get("/native/sleep") { request, _ in
            guard let ms = Int(request.uri.queryParameters["ms"].map(String.init) ?? "10"), (0...60_000).contains(ms) else {
                return Response(status: .badRequest, headers: [.contentType: "text/plain"],
                                body: .init(byteBuffer: ByteBuffer(string: "ms must be an integer from 0 to 60000\n")))
            }
            try await Task.sleep(for: .milliseconds(ms))
            return Response(status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "slept \(ms) ms\n")))
        }
    }
}
