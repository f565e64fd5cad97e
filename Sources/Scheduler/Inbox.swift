import Synchronization

/// What other threads ask of a worker. Everything that crosses to a worker from outside goes
/// through its inbox — new calls, wake-ups of its parked instances, cancellations, and the jobs
/// of tasks awaiting the worker actor — and the worker handles it on its own thread, between
/// time slices, with no lock.
enum WorkerMessage {
    /// A newly admitted call: queue it.
    case admit(Job)
    /// A parked instance of this worker can resume (its completion was delivered on another thread).
    case unpark(Job)
    /// A call was cancelled: stop it if it is parked here.
    case cancel(Job)
    /// Fail parked calls whose wall-time limit has passed (sent by the scheduler's timer).
    case sweep
    /// The scheduler is shutting down.
    case stop
    /// A job of a task isolated to the worker actor (see `WorkerExecutor`).
    case run(UnownedJob)
}

/// A worker's inbox: many producers, one consumer, lock-free. Producers push onto an atomic
/// stack (a compare-and-exchange on its head); the consumer takes the whole stack at once (an
/// exchange) and reverses it into arrival order. Taking everything at once means the consumer
/// never races producers over individual nodes, so there is no ABA problem to guard against.
///
/// Once closed (at shutdown) pushes fail and the producer handles the message itself.
final class Inbox: @unchecked Sendable {  // the head is atomic; nodes are owned by whoever holds them
    private final class Node {
        let message: WorkerMessage
        var next: UInt = 0  // the node below, as raw bits of a retained reference
        init(_ message: WorkerMessage) { self.message = message }
    }

    private static let closed: UInt = 1  // never a node address (nodes are aligned)
    private let head = Atomic<UInt>(0)

    /// False when the inbox is closed.
    func push(_ message: WorkerMessage) -> Bool {
        let node = Node(message)
        let bits = UInt(bitPattern: Unmanaged.passRetained(node).toOpaque())
        var old = head.load(ordering: .relaxed)
        while true {
            if old == Self.closed {
                Unmanaged<Node>.fromOpaque(UnsafeRawPointer(bitPattern: bits)!).release()
                return false
            }
            node.next = old
            let (exchanged, current) = head.compareExchange(expected: old, desired: bits, successOrdering: .releasing,
                                                            failureOrdering: .relaxed)
            if exchanged { return true }
            old = current
        }
    }

    var isEmpty: Bool {
        let h = head.load(ordering: .relaxed)
        return h == 0 || h == Self.closed
    }

    /// Consumer only: hands every message pushed so far to `body`, oldest first, without
    /// collecting them (the worker's loop does this on every turn: no array per turn).
    func drain(_ body: (WorkerMessage) -> Void) {
        guard head.load(ordering: .relaxed) != 0 else { return }
        var bits = head.exchange(0, ordering: .acquiring)
        guard bits != 0, bits != Self.closed else { return }
        // Reverse the links in place (newest-first to oldest-first), then walk.
        var previous: UInt = 0
        while bits != 0 {
            let node = Unmanaged<Node>.fromOpaque(UnsafeRawPointer(bitPattern: bits)!).takeUnretainedValue()
            let next = node.next
            node.next = previous
            previous = bits
            bits = next
        }
        bits = previous
        while bits != 0 {
            let node = Unmanaged<Node>.fromOpaque(UnsafeRawPointer(bitPattern: bits)!).takeRetainedValue()
            bits = node.next
            body(node.message)
        }
    }

    /// Consumer only: closes the inbox and returns what was still in it.
    func close() -> [WorkerMessage] { Self.unwind(head.exchange(Self.closed, ordering: .acquiring)) }

    private static func unwind(_ top: UInt) -> [WorkerMessage] {
        guard top != 0, top != closed else { return [] }
        var messages: [WorkerMessage] = []
        var bits = top
        while bits != 0 {
            let node = Unmanaged<Node>.fromOpaque(UnsafeRawPointer(bitPattern: bits)!).takeRetainedValue()
            messages.append(node.message)
            bits = node.next
        }
        return messages.reversed()
    }
}
