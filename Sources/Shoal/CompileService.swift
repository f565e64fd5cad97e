import Compiler
import Crypto
import Foundation
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
    }

    /// What the service has done so far.
    public private(set) var statistics = Statistics()
    let options: CompileOptions
    let capacity: Int
    let parallelism: Int
    private var cache: [String: (module: Module, lastUse: UInt64)] = [:]
    private var inFlight: [String: Task<Module, any Error>] = [:]
    private var clock: UInt64 = 0

    init(options: CompileOptions, capacity: Int, parallelism: Int) {
        self.options = options
        self.capacity = max(1, capacity)
        self.parallelism = max(1, parallelism)
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
        let options = options, parallelism = parallelism
        let task = Task<Module, any Error> {
            try await Self.compileOnThread(bytes, digest: digest, options: options, parallelism: parallelism)
        }
        inFlight[digest] = task
        do {
            let module = try await task.value
            inFlight[digest] = nil
            statistics.compilations += 1
            insert(module)
            return module
        } catch {
            inFlight[digest] = nil
            statistics.failures += 1
            throw error
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

    static func digest(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }

    /// Compiles on a thread with a large stack (deeply nested modules), not on the cooperative
    /// pool, whose threads must not be held for the milliseconds to seconds a compile takes.
    static func compileOnThread(_ bytes: [UInt8], digest: String, options: CompileOptions, parallelism: Int) async throws -> Module {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Module, any Error>) in
            let thread = Thread {
                continuation.resume(with: Result { try compile(bytes, digest: digest, options: options, parallelism: parallelism) })
            }
            thread.name = "shoal-compile"
            thread.stackSize = 16 << 20
            thread.start()
        }
    }

    static func compile(_ bytes: [UInt8], digest: String, options: CompileOptions, parallelism: Int) throws -> Module {
        let binary: [UInt8]
        do {
            binary = try TextFormat.binary(from: bytes)
        } catch {
            throw ShoalError.invalidModule("neither a binary module (no \"\\0asm\" header) nor WebAssembly text: \(error)")
        }
        let compiled: CompiledModule
        do {
            compiled = try ModuleCompiler.compile(bytes: binary, options: options, parallelism: parallelism)
        } catch {
            throw ShoalError.invalidModule("\(error)")
        }
        do {
            return Module(try LoadedModule(compiled), digest: digest)
        } catch {
            throw ShoalError.invalidModule("cannot load the compiled code: \(error)")
        }
    }
}
