import Foundation

/// Compiles a module's function bodies on a fixed number of threads. Each function is compiled
/// into its own `FunctionPiece`, so the threads share nothing but the read-only `ModuleContext`
/// and the work queue; pieces are stored by function index, and `ModuleLinker` places them in
/// index order, so the code does not depend on which thread compiled what, or when.
///
/// Work is handed out biggest body first: a large function taken last would leave the other
/// threads idle while it compiles. After a failure, functions after the lowest failing one are no
/// longer handed out (their result cannot matter), but every function before it still is: the
/// error reported is the lowest-index function's, the one a sequential compile reports.
final class ParallelCompile: @unchecked Sendable {
    /// Compiling is iterative, but the validator's and compiler's state for very large or deeply
    /// nested bodies lives partly on the stack: give workers at least the 8 MiB of a main thread.
    static let stackSize = 16 << 20

    private let shared: ModuleContext
    /// Defined-function indices, biggest body first.
    private let order: [Int]
    // Guarded by `lock` (hence the unchecked Sendable conformance): the queue position, the lowest
    // failing index so far and the results. The results are read only after every worker is done.
    private let lock = NSLock()
    private var next = 0
    private var firstFailure = Int.max
    private var results: [Result<FunctionPiece, any Error>?]

    private init(_ shared: ModuleContext) {
        self.shared = shared
        let bodies = shared.module.functionBodies
        order = bodies.indices.sorted { (bodies[$0].code.count, $1) > (bodies[$1].code.count, $0) }
        results = Array(repeating: nil, count: bodies.count)
    }

    /// The pieces of every defined function, in index order, or the lowest-index function's error.
    static func compile(_ shared: ModuleContext, threads: Int) throws -> [FunctionPiece] {
        let job = ParallelCompile(shared)
        let count = min(threads, job.order.count)
        let done = DispatchSemaphore(value: 0)
        for _ in 0..<count {
            let thread = Thread {
                job.work()
                done.signal()
            }
            thread.stackSize = stackSize
            thread.start()
        }
        for _ in 0..<count { done.wait() }
        return try job.collect()
    }

    private func take() -> Int? {
        lock.withLock {
            while next < order.count {
                let index = order[next]
                next += 1
                if index < firstFailure { return index }
            }
            return nil
        }
    }

    private func work() {
        while let index = take() {
            let result = Result { try FunctionPiece.compile(shared, definedIndex: index) }
            lock.withLock {
                results[index] = result
                if case .failure = result { firstFailure = min(firstFailure, index) }
            }
        }
    }

    private func collect() throws -> [FunctionPiece] {
        if firstFailure != Int.max, case .failure(let error)? = results[firstFailure] { throw error }
        return try results.map { try $0!.get() }
    }
}
