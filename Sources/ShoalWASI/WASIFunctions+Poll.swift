import Foundation
import Glibc
import IOUring
import Runtime
import WasmCore

/// poll_oneoff: waiting on clocks and descriptors.
extension WASIContext {
    func addPollFunctions(_ f: WASIFunctionTable) {
        f.async("poll_oneoff") { (m: GuestMemory, input: GuestAddress, output: GuestAddress, count: GuestSize,
                                  result: GuestAddress, done: Done) throws(Errno) in
            try self.pollOneoff(m, input: input, output: output, count: count.value, result: result, done)
        }
    }

    /// poll_oneoff. Regular files and stdio are always ready, so their subscriptions are reported
    /// at once; sockets wait with io_uring poll operations and clocks with an io_uring timeout.
    /// The first completion ends the call with every event ready by then and cancels the
    /// operations still armed (a guest polling a quiet socket in a loop would otherwise pile up
    /// polls in the kernel and callbacks in the host); their late completions find the call
    /// finished and are dropped.
    func pollOneoff(_ m: GuestMemory, input: GuestAddress, output: GuestAddress, count: UInt32, result: GuestAddress,
                    _ done: Done) throws(Errno) {
        guard count > 0, count <= 4096 else { throw .inval }
        _ = try m.check(input, UInt64(count) * 48)
        _ = try m.check(output, UInt64(count) * 32)
        _ = try m.check(result, 4)
        var clocks: [(userdata: UInt64, timeout: UInt64)] = []
        var ready: [Event] = []
        var waits: [(userdata: UInt64, type: UInt8, fd: Int32)] = []
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let realtime = Self.nanoseconds(now)
        clock_gettime(CLOCK_MONOTONIC, &now)
        let monotonic = Self.nanoseconds(now)
        for i in 0..<UInt64(count) {
            let p = try m.check(input.element(i, stride: 48), 48)
            let userdata = p.loadUnaligned(as: UInt64.self)
            let tag = p.load(fromByteOffset: 8, as: UInt8.self)
            switch tag {
            case 0:
                let id = p.loadUnaligned(fromByteOffset: 16, as: UInt32.self)
                var timeout = p.loadUnaligned(fromByteOffset: 24, as: UInt64.self)
                let flags = p.loadUnaligned(fromByteOffset: 40, as: UInt16.self)
                if flags & 1 != 0 {  // absolute time
                    let base = id == 0 ? realtime : monotonic
                    timeout = timeout > base ? timeout - base : 0
                }
                clocks.append((userdata, timeout))
            case 1, 2:
                let fd = p.loadUnaligned(fromByteOffset: 16, as: UInt32.self)
                do throws(Errno) {
                    // Stdio holds only FD_READ (stdin) or FD_WRITE: that is what polling it needs.
                    let d = try descriptor(fd)
                    let right = d.kind != .stdio ? Rights.pollFdReadwrite : tag == 1 ? Rights.fdRead : Rights.fdWrite
                    _ = try descriptor(fd, requiring: right)
                    if d.kind == .socket {
                        waits.append((userdata, tag, d.hostFD))
                    } else {
                        ready.append(Event(userdata: userdata, error: 0, type: tag, hangup: false))
                    }
                } catch {
                    ready.append(Event(userdata: userdata, error: error.rawValue, type: tag, hangup: false))
                }
            default:
                throw .inval
            }
        }
        if !ready.isEmpty {
            try Self.writeEvents(m, ready, output: output, result: result)
            return done(.success)
        }
        let call = PollCall()
        let finish: @Sendable ([Event]) -> Void = { events in
            guard let armed = call.finish() else { return }
            for operation in armed { operation.cancel() }
            done.then { () throws(Errno) in try Self.writeEvents(m, events, output: output, result: result) }
        }
        for wait in waits {
            let events: UInt32 = wait.type == 1 ? UInt32(POLLIN) : UInt32(POLLOUT)
            call.armed(ring.poll(fd: wait.fd, events: events) { mask in
                let hangup = mask > 0 && Int16(truncatingIfNeeded: mask) & Int16(POLLHUP) != 0
                let error: UInt16 = mask < 0 ? Errno(host: -mask).rawValue : 0
                finish([Event(userdata: wait.userdata, error: error, type: wait.type, hangup: hangup)])
            })
        }
        if let shortest = clocks.min(by: { $0.timeout < $1.timeout }) {
            let due = clocks.filter { $0.timeout <= shortest.timeout }.map { Event(userdata: $0.userdata, error: 0, type: 0, hangup: false) }
            call.armed(ring.sleep(nanoseconds: shortest.timeout) { _ in finish(due) })
        }
    }

    struct Event: Sendable {
        var userdata: UInt64
        var error: UInt16
        var type: UInt8
        var hangup: Bool
    }

    /// One poll_oneoff call: finished exactly once, and the operations it armed, to cancel then.
    final class PollCall: @unchecked Sendable {  // state under `lock`
        private let lock = NSLock()
        private var finished = false
        private var operations: [IOCancellation] = []

        /// Records an armed operation; one armed after the call finished (a submission that
        /// completed inline ended it) is cancelled at once.
        func armed(_ operation: IOCancellation) {
            let late: Bool = lock.withLock {
                if finished { return true }
                operations.append(operation)
                return false
            }
            if late { operation.cancel() }
        }

        /// Marks the call finished; the operations to cancel the first time, nil afterwards.
        func finish() -> [IOCancellation]? {
            lock.withLock {
                if finished { return nil }
                finished = true
                defer { operations = [] }
                return operations
            }
        }
    }

    static func writeEvents(_ m: GuestMemory, _ events: [Event], output: GuestAddress, result: GuestAddress) throws(Errno) {
        for (i, event) in events.enumerated() {
            let e = output.element(UInt64(i), stride: 32)
            _ = try m.check(e, 32)
            try m.storeU64(e, event.userdata)
            try m.storeU16(e + 8, event.error)
            try m.storeU8(e + 10, event.type)
            try m.storeU64(e + 16, 0)
            try m.storeU16(e + 24, event.hangup ? 1 : 0)
        }
        try m.storeU32(result, UInt32(events.count))
    }
}
