import Foundation
import Logging
import Shoal
import Synchronization

/// The handlers in a directory, by name: `NAME.wasm` compiled through the engine's compile
/// service on first use, or `NAME.shoal` loaded as an artifact; reloaded when the file changes.
///
/// A request costs a dictionary lookup under a lock; the file is looked at again (one `stat`) only
/// when its entry is older than the check interval, so a changed file is served within that
/// interval and a busy handler costs no system call per request. Requests that find a handler
/// being (re)loaded wait for that one load instead of starting their own.
final class HandlerRegistry: Sendable {
    /// A loaded handler: its module, what its instances preopen, and the file it came from.
    struct Handler: Sendable {
        let name: String
        let module: Module
        let preopens: [(host: String, guest: String)]
        let stamp: FileStamp
    }

    /// What identifies a version of a file: a rewrite (new inode) or an edit in place (new
    /// modification time or size) changes it.
    struct FileStamp: Sendable, Equatable {
        let path: String
        let device: UInt64, inode: UInt64, size: Int64, modified: Int64

        init?(path: String) {
            var st = stat()
            guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
            self.path = path
            device = UInt64(st.st_dev)
            inode = UInt64(st.st_ino)
            size = Int64(st.st_size)
            modified = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
        }
    }

    /// Why a handler cannot be served (its file is there, but not a module this engine runs).
    struct LoadFailure: Error, CustomStringConvertible {
        let description: String
        let stamp: FileStamp
    }

    /// What the last look at a name found: a handler, or a file that failed to load (kept, so
    /// that a broken file is compiled once per version, not once per request).
    private struct Entry {
        var found: Result<Handler, LoadFailure>
        var checked: ContinuousClock.Instant
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var loading: [String: Task<Handler?, any Error>] = [:]
    }

    let directory: String
    let engine: Engine
    let checkInterval: Duration
    let logger: Logger
    private let state = Mutex(State())

    init(directory: String, engine: Engine, checkInterval: Duration, logger: Logger) {
        self.directory = directory
        self.engine = engine
        self.checkInterval = checkInterval
        self.logger = logger
    }

    /// Whether `name` can name a handler: 1 to 64 of [A-Za-z0-9_-]. Nothing else is ever turned
    /// into a path, so no request reaches a file outside the directory.
    static func isValidName(_ name: some StringProtocol) -> Bool {
        (1...64).contains(name.utf8.count) && name.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b == 0x2d || b == 0x5f
        }
    }

    /// The handler called `name`, loaded or reloaded as needed; nil if there is none. Throws
    /// `LoadFailure` (or the engine's error) if its file does not compile or load.
    func handler(named name: String) async throws -> Handler? {
        guard Self.isValidName(name) else { return nil }
        let now = ContinuousClock.now
        enum Lookup { case ready(Handler), failed(LoadFailure), wait(Task<Handler?, any Error>) }
        let lookup: Lookup = state.withLock { state in
            if let entry = state.entries[name], now - entry.checked < checkInterval {
                switch entry.found {
                case .success(let handler): return .ready(handler)
                case .failure(let failure): return .failed(failure)
                }
            }
            if let running = state.loading[name] { return .wait(running) }
            let previous = state.entries[name]?.found
            let task = Task { try await self.refresh(name, previous: previous) }
            state.loading[name] = task
            return .wait(task)
        }
        switch lookup {
        case .ready(let handler): return handler
        case .failed(let failure): throw failure
        case .wait(let task): return try await task.value
        }
    }

    /// Looks at the file again; loads it if it is new or changed. Runs once per name at a time.
    private func refresh(_ name: String, previous: Result<Handler, LoadFailure>?) async throws -> Handler? {
        let found = await current(name, previous: previous)
        let now = ContinuousClock.now
        state.withLock { state in
            state.loading[name] = nil
            state.entries[name] = found.map { Entry(found: $0, checked: now) }
        }
        return try found?.get()
    }

    /// What the directory holds for `name` now: nil if nothing, the previous result if the file
    /// is unchanged, else the file loaded (or why it failed to).
    private func current(_ name: String, previous: Result<Handler, LoadFailure>?) async -> Result<Handler, LoadFailure>? {
        let base = (directory as NSString).appendingPathComponent(name)
        guard let stamp = FileStamp(path: base + ".wasm") ?? FileStamp(path: base + ".shoal") else {
            if previous != nil { logger.info("handler removed", metadata: ["handler": "\(name)"]) }
            return nil
        }
        switch previous {
        case .success(let handler) where handler.stamp == stamp: return previous
        case .failure(let failure) where failure.stamp == stamp: return previous
        default: break
        }
        let module: Module
        do {
            if stamp.path.hasSuffix(".shoal") {
                module = try await engine.load(artifactAt: stamp.path)
            } else {
                module = try await engine.compile(Array(try Data(contentsOf: URL(fileURLWithPath: stamp.path))))
            }
        } catch {
            logger.error("handler failed to load", metadata: ["handler": "\(name)", "file": "\(stamp.path)", "error": "\(error)"])
            return .failure(LoadFailure(description: "\(stamp.path): \(error)", stamp: stamp))
        }
        var isDirectory: ObjCBool = false
        let data = base + ".data"
        let preopens = FileManager.default.fileExists(atPath: data, isDirectory: &isDirectory) && isDirectory.boolValue
            ? [(host: data, guest: "/data")] : []
        logger.info(previous == nil ? "handler loaded" : "handler reloaded",
                    metadata: ["handler": "\(name)", "file": "\(stamp.path)", "exports": "\(module.exports.count)"])
        return .success(Handler(name: name, module: module, preopens: preopens, stamp: stamp))
    }
}
