import Foundation

/// How an edge server is set up: where its handlers are, where it listens, and what one request
/// may use. Fixed when the server starts.
public struct EdgeConfiguration: Sendable {
    /// The directory of handlers: `NAME.wasm` (a module, compiled on first use) or `NAME.shoal`
    /// (an artifact from `shoal compile`), served at `/NAME` and `/NAME/...`. A directory
    /// `NAME.data/` beside it is preopened for that handler as `/data`.
    public var handlersDirectory: String
    /// The address to listen on (loopback by default) and the port (0: any free port).
    public var host = "127.0.0.1"
    public var port = 8080

    /// Instances alive at once, and what happens beyond that: up to `queueLimit` requests wait
    /// for a slot; beyond it (or at once with a limit of 0) they get 503 with Retry-After.
    public var slots = 1_000
    public var queueLimit = 1_000
    /// Worker threads that run instances (default: one per core).
    public var threads = ProcessInfo.processInfo.activeProcessorCount

    /// Per request: memory in 64 KiB pages, wall time (waiting for a slot included), and fuel
    /// (one unit per call and loop iteration; nil: fuel is not compiled in at all).
    public var memoryPages = 64
    public var wallTime: Duration = .seconds(5)
    public var fuel: Int64? = nil

    /// The largest request body read (larger: 413) and the most response bytes a handler may
    /// write (beyond it: its writes fail and the request gets 502).
    /// Both are held in memory while the request runs: the worst case is slots x (body +
    /// response + 64 KiB of stderr), besides each instance's own memory (`memoryPages`).
    public var maxBodyBytes = 1 << 20
    public var maxResponseBytes = 1 << 20
    /// How long a handler file's state is trusted before it is checked again for a change.
    public var reloadCheckInterval: Duration = .milliseconds(500)
    /// What 503 responses tell the client, in seconds.
    public var retryAfterSeconds = 1
    /// Where the compile service keeps artifacts across restarts and processes (nil: memory only).
    public var cacheDirectory: String?
    /// An Ed25519 private key (raw, 32 bytes) the engine signs its cache entries with, and
    /// without whose signature it uses no entry: for a cache directory that others can write to
    /// (a shared volume), where an unsigned entry would be code anyone could plant.
    public var cacheSigningKey: [UInt8]?
    /// Ed25519 public keys: when set, `NAME.shoal` handlers load only if signed by one of them.
    public var trustedKeys: [[UInt8]] = []
    /// The native builds of the handlers, for `/process/NAME`: each request runs the program as
    /// a new process (the fork/exec baseline). nil: that route is not served.
    public var processHandlersDirectory: String?

    /// A configuration serving the handlers in `handlersDirectory`, defaults otherwise.
    public init(handlersDirectory: String) {
        self.handlersDirectory = handlersDirectory
    }
}
