import Runtime
import Scheduler
import WasmCore

/// Host functions granted to guests by module and name. An engine has one (every call may import
/// its functions); a call may bring its own, which come first. A guest that imports a name no
/// linker (and, for WASI programs, no WASI context) defines fails to link.
///
/// Guest memory is reached only from the guest's own fiber: a synchronous function gets the
/// `Caller` while the guest waits for it; an asynchronous one reads what it needs in `prepare`
/// and writes its results in `finish`, both on the fiber, and its `await`ing middle part sees no
/// memory at all — so a call cancelled while its host work is in flight can never have its
/// slot's memory (by then another tenant's) written by that work.
public struct Linker: Sendable {
    var definitions: [HostImport] = []

    /// An empty linker.
    public init() {}

    /// The names defined, as (module, name).
    public var names: [(module: String, name: String)] { definitions.map { ($0.module, $0.name) } }

    /// Defines a synchronous host function. Throwing from `body` traps the guest with
    /// `TrapCode.hostError`; the trap's `underlying` is the error thrown.
    public mutating func define(_ module: String, _ name: String, _ type: FuncType,
                                _ body: @escaping @Sendable (Caller, [Value]) throws -> [Value]) {
        add(HostImport(module: module, name: name, function: Function(HostFunction(type: type, body: body))))
    }

    /// Defines an asynchronous host function: the guest parks (no thread waits) while `body`
    /// runs as a Swift task; its results resume the guest. It does not see guest memory.
    public mutating func defineAsync(_ module: String, _ name: String, _ type: FuncType,
                                     _ body: @escaping @Sendable ([Value]) async throws -> [Value]) {
        defineAsync(module, name, type, prepare: { _, arguments in arguments }, run: body, finish: { _, results in results })
    }

    /// Defines an asynchronous host function in three parts: `prepare` runs on the guest's fiber
    /// (it may read guest memory through the `Caller`), `run` is awaited as a Swift task with
    /// what `prepare` returned while the guest is parked, and `finish` runs on the fiber again
    /// when the guest resumes (it may write guest memory) and returns the function's results.
    public mutating func defineAsync<Input: Sendable, Output: Sendable>(
        _ module: String, _ name: String, _ type: FuncType,
        prepare: @escaping @Sendable (Caller, [Value]) throws -> Input,
        run: @escaping @Sendable (Input) async throws -> Output,
        finish: @escaping @Sendable (Caller, Output) throws -> [Value]
    ) {
        let function = AsyncHostFunction(type: type) { caller, arguments, completion in
            let input: Input
            do {
                input = try prepare(caller, arguments)
            } catch {
                return completion.resume(throwing: error)
            }
            // The caller is used again only by `finish`, on the guest's fiber after it resumes.
            nonisolated(unsafe) let resumedCaller = caller
            Task {
                do {
                    let output = try await run(input)
                    completion.resume(running: { try finish(resumedCaller, output) })
                } catch {
                    completion.resume(throwing: error)
                }
            }
        }
        add(HostImport(module: module, name: name, function: Function(function)))
    }

    /// Defines an asynchronous host function in callback style, for the hottest paths: `body`
    /// starts the work and returns; whoever finishes it calls `completion` once, from any thread,
    /// and the guest resumes. No task is made per call. It does not see guest memory.
    public mutating func defineAsync(_ module: String, _ name: String, _ type: FuncType,
                                     callback body: @escaping @Sendable ([Value], HostCompletion) -> Void) {
        let function = AsyncHostFunction(type: type) { _, arguments, completion in
            body(arguments, HostCompletion(completion: completion))
        }
        add(HostImport(module: module, name: name, function: Function(function)))
    }

    /// Adds the definitions of another linker; its names replace ours.
    public mutating func merge(_ other: Linker) {
        for d in other.definitions { add(d) }
    }

    private mutating func add(_ d: HostImport) {
        definitions.removeAll { $0.module == d.module && $0.name == d.name }
        definitions.append(d)
    }
}

/// The other end of a callback-style asynchronous host function: call one of its methods once.
public struct HostCompletion: Sendable {
    let completion: Completion

    /// Resumes the guest with these results (they must match the function's result types, or
    /// the guest traps with `TrapCode.hostError`).
    public func resume(returning results: [Value]) { completion.resume(returning: results) }

    /// Resumes the guest with a `TrapCode.hostError` trap whose `underlying` is `error`.
    public func resume(throwing error: any Error) { completion.resume(throwing: error) }
}
