import Foundation

/// Where a WASI program's standard input comes from.
public enum WASIInput: Sendable {
    /// The host process's standard input.
    case inherit
    /// These bytes, then end of file.
    case bytes([UInt8])
    /// Chunks pulled from an async sequence as the guest reads, then end of file when it ends.
    /// The guest parks while the next chunk is awaited; no thread waits.
    case stream(WASIInputStream)
}

/// Where a WASI program's standard output or error goes.
public enum WASIOutput: Sendable {
    /// The host process's descriptor (1 or 2), written through io_uring as the guest writes.
    case inherit
    /// Kept in memory, up to `WASIConfiguration.captureLimit` bytes (stderr: `errorCaptureLimit`,
    /// if set) (then ENOSPC), and handed
    /// back when the call ends (`WASIContext.stdout` / `stderr`).
    case capture
    /// Thrown away (the guest's writes succeed).
    case discard
    /// Handed to a consumer as the guest writes (an `AsyncSequence` of chunks), with
    /// back-pressure: a guest that gets ahead of its consumer by more than the stream's buffer
    /// parks until the consumer catches up.
    case stream(WASIOutputStream)
}

/// A guest's output as an `AsyncSequence` of byte chunks, in the order written, ending when the
/// call ends. One consumer iterates it. The producer side (the guest's fd_write) is bounded by
/// `bufferLimit`: past it, the write completes only when the consumer has taken enough.
public final class WASIOutputStream: AsyncSequence, @unchecked Sendable {  // state under `lock`
    /// A chunk, as the guest wrote it.
    public typealias Element = [UInt8]
    /// Bytes written but not yet consumed before a writing guest parks.
    public let bufferLimit: Int
    private let lock = NSLock()
    private var chunks: [[UInt8]] = []
    private var buffered = 0
    private var finished = false
    private var consumer: CheckedContinuation<[UInt8]?, Never>?
    /// Writers waiting for room, each resumed once the buffer is back under the limit.
    private var blockedWriters: [@Sendable () -> Void] = []

    /// `bufferLimit`: bytes written but not yet consumed before a writing guest parks (1 MiB).
    public init(bufferLimit: Int = 1 << 20) {
        self.bufferLimit = Swift.max(1, bufferLimit)
    }

    /// Adds a chunk. Returns true if there is still room; otherwise `resume` is kept and called
    /// when the consumer has drained the buffer below the limit (or the stream is finished).
    func write(_ bytes: [UInt8], whenRoom resume: @escaping @Sendable () -> Void) -> Bool {
        lock.lock()
        if finished {
            lock.unlock()
            return true  // nobody listens any more: the bytes are dropped, the guest goes on
        }
        if let consumer {
            self.consumer = nil
            lock.unlock()
            consumer.resume(returning: bytes)
            return true
        }
        chunks.append(bytes)
        buffered += bytes.count
        if buffered <= bufferLimit {
            lock.unlock()
            return true
        }
        blockedWriters.append(resume)
        lock.unlock()
        return false
    }

    /// No more chunks: the consumer's iteration ends after what is buffered; blocked writers go on.
    public func finish() {
        lock.lock()
        finished = true
        let consumer = chunks.isEmpty ? self.consumer : nil
        if consumer != nil { self.consumer = nil }
        let writers = blockedWriters
        blockedWriters.removeAll()
        lock.unlock()
        consumer?.resume(returning: nil)
        for w in writers { w() }
    }

    private func next() async -> [UInt8]? {
        await withCheckedContinuation { (continuation: CheckedContinuation<[UInt8]?, Never>) in
            lock.lock()
            if !chunks.isEmpty {
                let chunk = chunks.removeFirst()
                buffered -= chunk.count
                var writers: [@Sendable () -> Void] = []
                if buffered <= bufferLimit {
                    writers = blockedWriters
                    blockedWriters.removeAll()
                }
                lock.unlock()
                continuation.resume(returning: chunk)
                for w in writers { w() }
            } else if finished {
                lock.unlock()
                continuation.resume(returning: nil)
            } else {
                consumer = continuation
                lock.unlock()
            }
        }
    }

    /// Iterates the chunks in the order written; nil once the call has ended and all were read.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let stream: WASIOutputStream
        /// The next chunk, waiting for the guest to write one.
        public mutating func next() async -> [UInt8]? { await stream.next() }
    }

    /// The iterator (one consumer per stream).
    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(stream: self) }

    /// Everything written, collected until the stream ends.
    public func collect() async -> [UInt8] {
        var all: [UInt8] = []
        for await chunk in self { all += chunk }
        return all
    }
}

/// A guest's standard input pulled from an async sequence of byte chunks. The guest reads one
/// chunk at a time (a chunk larger than its read is kept for the next read).
public final class WASIInputStream: @unchecked Sendable {  // one reader at a time: the guest's fd_read
    private let nextChunk: @Sendable () async -> [UInt8]?
    private var leftover: [UInt8] = []
    private var leftoverOffset = 0
    private var ended = false

    /// Reads from `sequence`; its end (or an error it throws) is the guest's end of file.
    public init<S: AsyncSequence & Sendable>(_ sequence: S) where S.Element == [UInt8] {
        let box = IteratorBox(sequence.makeAsyncIterator())
        nextChunk = { await box.next() }
    }

    /// Bytes already here (a rest of the last chunk), or nil when the next chunk must be awaited.
    func takeBuffered(max count: Int) -> ArraySlice<UInt8>? {
        if leftoverOffset < leftover.count {
            let end = min(leftover.count, leftoverOffset + count)
            defer { leftoverOffset = end }
            return leftover[leftoverOffset..<end]
        }
        return ended ? [] : nil
    }

    /// Awaits the next chunk and keeps it as the buffered rest; `then` runs when it is here.
    func fill(then: @escaping @Sendable () -> Void) {
        Task {
            let chunk = await nextChunk()
            if let chunk {
                leftover = chunk
                leftoverOffset = 0
            } else {
                ended = true
            }
            then()
        }
    }

    /// The iterator of a sequence whose iterator type is not Sendable, used by one reader at a time.
    private final class IteratorBox<I: AsyncIteratorProtocol>: @unchecked Sendable where I.Element == [UInt8] {
        var iterator: I
        init(_ iterator: I) { self.iterator = iterator }
        func next() async -> [UInt8]? {
            do {
                while let chunk = try await iterator.next() {
                    if !chunk.isEmpty { return chunk }  // an empty chunk would read as end of file
                }
            } catch {}  // a failing source ends the input
            return nil
        }
    }
}
