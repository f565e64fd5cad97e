import Foundation

/// Runs work on a thread with a large stack: deep WebAssembly recursion must end in the "call stack
/// exhausted" trap, with room to spare, not in the small stack of a default or pool thread.
public enum LargeStack {
    public static let size = 64 << 20

    /// Calls `body` on a new thread with a `size`-byte stack and waits for its result.
    public static func run<T>(_ body: @escaping () -> T) -> T {
        let box = Handoff(body)
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            box.run()
            done.signal()
        }
        thread.stackSize = size
        thread.start()
        done.wait()
        return box.result!
    }

    /// Carries the closure to the thread and the result back. The semaphore orders the accesses,
    /// which the compiler cannot see, hence the unchecked conformance.
    private final class Handoff<T>: @unchecked Sendable {
        let body: () -> T
        var result: T?
        init(_ body: @escaping () -> T) { self.body = body }
        func run() { result = body() }
    }
}
