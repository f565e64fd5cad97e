import Artifacts
import Compiler
import Crypto
import Foundation
import Logging
import Runtime
import RuntimeABI
import WasmText

/// The compiler as an in-process service: decodes, validates and compiles modules for its
/// engine, with the engine's options, and keeps what it compiled.
///
/// - Requests for the same bytes (by SHA-256) share one compilation: a request that arrives while
///   the bytes are being compiled waits for that compilation instead of starting another.
/// - Compiled modules are kept in memory, at most `capacity`, least recently used evicted first.
/// - The compilation itself runs off the actor, on a thread of its own whose functions are
///   compiled by `parallelism` threads, so the actor stays free to answer cache hits meanwhile.
public actor CompileService {
    /// Counts since the service started.
    public struct Statistics: Sendable, Equatable {
        /// Modules actually compiled (each distinct input, once while it stays cached).
        public var compilations = 0
        /// Requests answered from the cache.
        public var cacheHits = 0
        /// Requests that joined a compilation already under way.
        public var joinedInFlight = 0
        /// Compiled modules dropped to stay within the capacity.
        public var evictions = 0
        /// Requests that failed (invalid modules; failures are not cached).
        public var failures = 0
        /// Modules loaded from the artifact cache directory instead of being compiled.
        public var diskHits = 0
        /// Cache entries refused at load (corrupted, or not meeting the engine's requirements):
        /// each was deleted and its module compiled again.
        public var diskRejected = 0
        /// Artifacts written to the cache directory.
        public var diskWrites = 0
        /// Artifacts loaded with `Engine.load(artifact:)`.
        public var artifactsLoaded = 0
        /// Under `Tiering.auto`: modules whose optimized code replaced their baseline code, and
        /// background compiles that failed (the baseline code stays).
        public var tierUps = 0
        public var tierUpFailures = 0
    }

    /// What the service has done so far.
    public private(set) var statistics = Statistics()
    let options: CompileOptions
    let capacity: Int
    /// Threads per compile: as configured, else one per processor (counted at each compile, not at start).
    var parallelism: Int { max(1, parallelismSetting ?? ProcessInfo.processInfo.activeProcessorCount) }
    let parallelismSetting: Int?
    /// What an artifact must meet to be loaded here (the engine's slots, signatures, grants).
    let requirements: LoadRequirements
    let disk: ArtifactCache?
    /// Under `Tiering.auto`, the options of the background compile, its disk cache, and how many
    /// calls of a module come before it starts.
    let tierUp: (options: CompileOptions, disk: ArtifactCache?, afterCalls: Int)?
    let logger: Logger
    private var cache: [String: (module: Module, lastUse: UInt64)] = [:]
    private var inFlight: [String: Task<Module, any Error>] = [:]
    private var clock: UInt64 = 0

    init(options: CompileOptions, capacity: Int, parallelism: Int?, requirements: LoadRequirements, disk: ArtifactCache?,
         tierUp: (options: CompileOptions, disk: ArtifactCache?, afterCalls: Int)? = nil, logger: Logger) {
        self.options = options
        self.tierUp = tierUp
        self.capacity = max(1, capacity)
        self.parallelismSetting = parallelism
        self.requirements = requirements
        self.disk = disk
        self.logger = logger
    }

    /// The compiled module for `bytes` (a binary module or WebAssembly text): from the cache,
    /// from a compilation under way, or compiled now.
    public func module(for bytes: [UInt8]) async throws -> Module {
        let digest = Self.digest(bytes)
        clock += 1
        if let hit = cache[digest] {
            cache[digest] = (hit.module, clock)
            statistics.cacheHits += 1
            return hit.module
        }
        if let running = inFlight[digest] {
            statistics.joinedInFlight += 1
            return try await running.value
        }
        let options = options, parallelism = parallelism, disk = disk, upDisk = tierUp?.disk
        let task = Task<Obtained, any Error> {
            try await Self.onThread {
                // Under auto, optimized code a previous run left on disk is used at once.
                if let upDisk, case .hit(let loaded) = upDisk.lookup(digest) {
                    return Obtained(module: Module(loaded, sourceSHA256: Self.sha256(bytes)), source: .disk, isFinal: true)
                }
                return try Self.obtain(bytes, digest: digest, options: options, parallelism: parallelism, disk: disk)
            }
        }
        inFlight[digest] = Task { try await task.value.module }
        do {
            let obtained = try await task.value
            inFlight[digest] = nil
            switch obtained.source {
            case .disk: statistics.diskHits += 1
            case .compiled(let rejected, let written):
                statistics.compilations += 1
                if let rejected {
                    statistics.diskRejected += 1
                    logger.warning("artifact cache entry refused and recompiled", metadata: ["digest": "\(digest)", "reason": "\(rejected)"])
                }
                if written { statistics.diskWrites += 1 }
            }
            insert(obtained.module)
            if tierUp != nil && !obtained.isFinal { startTierUp(obtained.module, bytes: bytes, digest: digest) }
            return obtained.module
        } catch {
            inFlight[digest] = nil
            statistics.failures += 1
            throw error
        }
    }

    /// Loads an artifact file: read once into memory, verified there, and its code made
    /// executable in place (the cheapest load; see `load(artifact:)` for the checks).
    public func load(artifactAt path: String) async throws -> Module {
        try await load { try ArtifactImage(contentsOf: path) }
    }

    /// `load(artifactAt:)` on the calling thread, off the actor: the module is not cached (see
    /// `Engine.loadSynchronously(artifactAt:)`).
    nonisolated func loadSynchronously(artifactAt path: String) throws -> Module {
        let (artifact, loaded) = try ArtifactImage(contentsOf: path).load(requirements: requirements)
        return Module(loaded, sourceSHA256: artifact.contract.sourceSHA256)
    }

    /// Loads an artifact (`shoal compile`'s output, or `Module.artifact()`): checked completely
    /// against the engine's requirements before its code is mapped. The module joins the cache
    /// under its source's digest, so compiling the same source later is a hit.
    public func load(artifact bytes: [UInt8]) async throws -> Module {
        try await load { try ArtifactImage(copying: bytes) }
    }

    /// Verifies and maps the image `read` makes (off the actor), then caches the module.
    private func load(_ read: @escaping @Sendable () throws -> ArtifactImage) async throws -> Module {
        let requirements = requirements
        let module = try await Self.onThread { () throws -> Module in
            let (artifact, loaded) = try read().load(requirements: requirements)
            return Module(loaded, sourceSHA256: artifact.contract.sourceSHA256)
        }
        statistics.artifactsLoaded += 1
        clock += 1
        insert(module)
        return module
    }

    /// Arms the optimizing compile of `module`: after the engine's `tierUpAfterCalls` calls it
    /// runs in the background, on half the compile threads (the rest of the machine is running
    /// guests meanwhile), and its code replaces the baseline's for the calls that start afterwards.
    private func startTierUp(_ module: Module, bytes: [UInt8], digest: String) {
        guard let tierUp else { return }
        let threads = max(1, parallelism / 2)
        module.code.arm(after: tierUp.afterCalls) { [weak self] in
            do {
                let obtained = try await Self.onThread {
                    try Self.obtain(bytes, digest: digest, options: tierUp.options, parallelism: threads, disk: tierUp.disk)
                }
                await self?.recordTierUp(failure: nil)
                return obtained.module.loaded
            } catch {
                await self?.recordTierUp(failure: error)
                return nil
            }
        }
    }

    private func recordTierUp(failure: (any Error)?) {
        if let failure {
            statistics.tierUpFailures += 1
            logger.warning("the optimizing tier failed; the module stays on baseline code", metadata: ["error": "\(failure)"])
        } else {
            statistics.tierUps += 1
        }
    }

    /// Modules in the cache.
    public var cachedCount: Int { cache.count }

    /// Drops every cached module (running instances keep theirs).
    public func removeAll() { cache.removeAll() }

    private func insert(_ module: Module) {
        cache[module.digest] = (module, clock)
        while cache.count > capacity, let oldest = cache.min(by: { $0.value.lastUse < $1.value.lastUse }) {
            cache[oldest.key] = nil
            statistics.evictions += 1
        }
    }

    static func digest(_ bytes: [UInt8]) -> String { hex(sha256(bytes)) }

    static func sha256(_ bytes: [UInt8]) -> [UInt8] { Array(SHA256.hash(data: bytes)) }

    /// Lowercase hex. (Not String(format:): its locale and CVarArg machinery cost more than the
    /// SHA-256 it prints, on every artifact load.)
    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0xf)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// Where a module came from.
    struct Obtained: Sendable {
        enum Source: Sendable {
            case disk
            /// Compiled; `rejected` is why a cache entry was refused first, `written` whether the
            /// new artifact was stored.
            case compiled(rejected: ArtifactError?, written: Bool)
        }
        let module: Module
        let source: Source
        /// Already the code the engine's tiering ends with (no tier-up to start).
        var isFinal = false
    }

    /// Runs `body` on a thread with a large stack (deeply nested modules), not on the cooperative
    /// pool, whose threads must not be held for the milliseconds to seconds a compile takes.
    static func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let thread = Thread { continuation.resume(with: Result { try body() }) }
            thread.name = "shoal-compile"
            thread.stackSize = 16 << 20
            thread.start()
        }
    }

    /// From the disk cache if it has a good entry, else compiled (and stored there).
    static func obtain(_ bytes: [UInt8], digest: String, options: CompileOptions, parallelism: Int, disk: ArtifactCache?) throws -> Obtained {
        let source = sha256(bytes)
        var rejected: ArtifactError?
        if let disk {
            switch disk.lookup(digest) {
            case .hit(let loaded):
                return Obtained(module: Module(loaded, sourceSHA256: source), source: .disk)
            case .rejected(let error): rejected = error
            case .miss: break
            }
        }
        let compiled = try compile(bytes, options: options, parallelism: parallelism)
        var written = false
        if let disk {
            written = (try? disk.store(compiled, sourceSHA256: source, digest: digest)) != nil
        }
        do {
            return Obtained(module: Module(try LoadedModule(compiled), sourceSHA256: source), source: .compiled(rejected: rejected, written: written))
        } catch {
            throw ShoalError.invalidModule("cannot load the compiled code: \(error)")
        }
    }

    static func compile(_ bytes: [UInt8], options: CompileOptions, parallelism: Int) throws -> CompiledModule {
        let binary: [UInt8]
        do {
            binary = try TextFormat.binary(from: bytes)
        } catch {
            throw ShoalError.invalidModule("neither a binary module (no \"\\0asm\" header) nor WebAssembly text: \(error)")
        }
        do {
            return try ModuleCompiler.compile(bytes: binary, options: options, parallelism: parallelism)
        } catch {
            throw ShoalError.invalidModule("\(error)")
        }
    }
}
