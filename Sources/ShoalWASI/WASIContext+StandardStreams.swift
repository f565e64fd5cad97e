import Foundation
import Runtime

/// Standard input and output that are not the host's: buffers, captures and streams
/// (`WASIInput`, `WASIOutput`). Bytes reach guest memory only on the guest's fiber (in the
/// completion's `then`), as with every other read.
extension WASIContext {
    /// Whether reads of `d` come from the embedder's stdin (bytes or a stream it gave) rather than
    /// from a host descriptor: those never take the inline path.
    func readsEmbedderInput(_ d: Descriptor) -> Bool {
        guard d.kind == .stdio, d.hostFD == 0 else { return false }
        if case .inherit = configuration.standardInput { return false }
        return true
    }

    /// Where writes to `d` go when it is stdout or stderr and the embedder does not inherit the
    /// host's (captured, discarded or streamed): nil for every descriptor written with a system call.
    func standardOutput(of d: Descriptor) -> WASIOutput? {
        guard d.kind == .stdio, d.hostFD == 1 || d.hostFD == 2 else { return nil }
        let output = d.hostFD == 1 ? configuration.standardOutput : configuration.standardError
        if case .inherit = output { return nil }
        return output
    }

    /// The bytes of a write's iovecs, in order.
    static func gather(_ iovs: [(UnsafeMutableRawPointer, Int)]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(iovs.reduce(0) { $0 + $1.1 })
        for (p, n) in iovs { bytes += UnsafeRawBufferPointer(start: p, count: n) }
        return bytes
    }

    /// fd_write to stdout (1) or stderr (2) when it is captured, discarded or streamed.
    func writeStandard(_ output: WASIOutput, stream fd: Int32, _ bytes: [UInt8], _ m: GuestMemory, _ resultPointer: GuestAddress,
                       _ done: Done) throws(Errno) {
        switch output {
        case .inherit:
            preconditionFailure("the host's own descriptor is written through the ring")
        case .discard:
            try m.storeU32(resultPointer, UInt32(bytes.count))
            done(.success)
        case .capture:
            let limit = fd == 2 ? configuration.errorCaptureLimit ?? configuration.captureLimit : configuration.captureLimit
            let stored: Int = lock.withLock {
                let held = fd == 1 ? capturedStdout.count : capturedStderr.count
                let kept = bytes.prefix(max(0, limit - held))
                if fd == 1 { capturedStdout += kept } else { capturedStderr += kept }
                return kept.count
            }
            if stored == 0 && !bytes.isEmpty { return done(.nospc) }
            try m.storeU32(resultPointer, UInt32(stored))
            done(.success)
        case .stream(let stream):
            let count = UInt32(bytes.count)
            // Past the stream's buffer the guest parks until its consumer has caught up.
            let room = stream.write(bytes) { done.then { () throws(Errno) in try m.storeU32(resultPointer, count) } }
            if room {
                try m.storeU32(resultPointer, count)
                done(.success)
            }
        }
    }

    /// fd_read from stdin (0) when it is a buffer or a stream.
    func readStandardInput(_ iovs: [(UnsafeMutableRawPointer, Int)], _ m: GuestMemory, _ result: GuestAddress,
                           _ done: Done) throws(Errno) {
        switch configuration.standardInput {
        case .inherit:
            preconditionFailure("the host's own descriptor is read through the ring")
        case .bytes(let input):
            let n = lock.withLock { () -> Int in
                var copied = 0
                for (p, length) in iovs where stdinOffset < input.count {
                    let chunk = min(length, input.count - stdinOffset)
                    input.withUnsafeBytes { p.copyMemory(from: $0.baseAddress! + stdinOffset, byteCount: chunk) }
                    stdinOffset += chunk
                    copied += chunk
                }
                return copied
            }
            try m.storeU32(result, UInt32(n))
            done(.success)
        case .stream(let input):
            nonisolated(unsafe) let targets = iovs
            let copy: @Sendable () throws(Errno) -> Void = { () throws(Errno) in
                var copied = 0
                for (p, length) in targets {
                    guard let chunk = input.takeBuffered(max: length), !chunk.isEmpty else { break }
                    chunk.withUnsafeBytes { p.copyMemory(from: $0.baseAddress!, byteCount: chunk.count) }
                    copied += chunk.count
                    if chunk.count < length { break }  // the chunk ended: return what we have
                }
                try m.storeU32(result, UInt32(copied))
            }
            if input.takeBuffered(max: 0) != nil {
                try copy()
                done(.success)
            } else {
                input.fill { done.then(copy) }  // park until the next chunk (or the end) is here
            }
        }
    }
}
