import WasmCore

/// The initial contents of a module's own memory: only the bytes its active data segments put
/// there, as sorted runs of (offset, bytes), prepared once per `LoadedModule`.
///
/// Why sparse: a memory's size says nothing about how much data it starts with. A module can
/// declare 4 GiB and place one byte (or an empty segment) near the top; an image built densely
/// from address 0 would cost gigabytes to build and to copy into every instance. Here the image
/// holds exactly the union of the segments — later segments overwrite earlier ones where they
/// overlap, runs that touch are merged into one copy, empty segments vanish — and instantiating
/// copies each run into the zeroed memory. Building is O(n log n + bytes) for n segments, and
/// applying is O(bytes + runs), whatever the offsets.
///
/// Segments run in order (Wasm 2.0, as if by `memory.init` then `data.drop`): the first one that
/// does not fit the memory's initial size traps before writing anything, and the ones before it
/// stay applied. The image keeps exactly those earlier segments and says that a trap follows.
public struct MemoryImage: Sendable, Equatable {
    /// `count` bytes of `bytes` from `start` go to memory offset `offset`.
    public struct Run: Sendable, Equatable {
        public let offset: Int
        let start: Int
        public let count: Int
    }

    /// Sorted by offset; no two overlap or touch.
    public let runs: [Run]
    /// Every run's bytes, back to back (one allocation, however many runs there are).
    let bytes: [UInt8]
    /// Whether instantiation traps once the runs are applied: a segment did not fit.
    public let trapsAfterApplying: Bool

    /// The bytes each instantiation copies.
    public var byteCount: Int { bytes.count }

    /// The distinct 4 KiB pages the runs write: what each instantiation makes resident at most.
    public var pagesTouched: Int {
        var pages = 0
        var last = -1
        for run in runs {
            let first = run.offset / 4096, end = (run.offset + run.count - 1) / 4096
            pages += end - max(first, last + 1) + 1
            last = end
        }
        return pages
    }

    /// The contents of `run`.
    public func bytes(of run: Run) -> ArraySlice<UInt8> { bytes[run.start..<(run.start + run.count)] }

    /// The image of a module's own (defined) memory, or nil when there is none or a segment's
    /// offset is not a constant (it reads an imported global): those go segment by segment.
    init?(module: Module) {
        guard let memory = module.memories.first else { return nil }
        var segments: [Segment] = []
        for segment in module.data {
            guard case .active(_, let offset) = segment.mode else { continue }
            guard case .i32(let value) = offset else { return nil }
            segments.append(Segment(offset: UInt64(UInt32(bitPattern: value)), source: segment.range))
        }
        self.init(segments: segments, source: module.bytes, memoryBytes: memory.limits.min * UInt64(MemoryType.pageSize))
    }

    /// A segment of the image: `source` bytes (a range of the module's bytes) placed at `offset`.
    public struct Segment: Sendable {
        public var offset: UInt64
        public var source: Range<Int>
        public init(offset: UInt64, source: Range<Int>) {
            self.offset = offset
            self.source = source
        }
    }

    /// The image of `segments`, applied in order to a memory of `memoryBytes` bytes.
    public init(segments all: [Segment], source: [UInt8], memoryBytes: UInt64) {
        // Only the segments before the first that does not fit are applied.
        var segments: [Segment] = []
        var traps = false
        for segment in all {
            guard segment.offset <= memoryBytes, UInt64(segment.source.count) <= memoryBytes - segment.offset else {
                traps = true
                break
            }
            if !segment.source.isEmpty { segments.append(segment) }
        }
        trapsAfterApplying = traps

        // Cut the address space at every segment boundary into elementary intervals, then paint
        // them from the last segment to the first: an interval belongs to the last segment that
        // covers it. `next` (union-find, path halving) skips intervals already painted, so each
        // is painted once.
        var points: [UInt64] = []
        points.reserveCapacity(2 * segments.count)
        for segment in segments {
            points.append(segment.offset)
            points.append(segment.offset + UInt64(segment.source.count))
        }
        points.sort()
        points = points.uniquedSorted()
        let intervals = max(points.count - 1, 0)
        var owner = [Int](repeating: -1, count: intervals)
        var next = Array(0...intervals)  // next[i]: some interval >= i not yet painted (or intervals)
        func find(_ i: Int) -> Int {
            var i = i
            while next[i] != i {
                next[i] = next[next[i]]
                i = next[i]
            }
            return i
        }
        for index in segments.indices.reversed() {
            let segment = segments[index]
            let first = points.lowerBound(of: segment.offset)
            let end = points.lowerBound(of: segment.offset + UInt64(segment.source.count))
            var i = find(first)
            while i < end {
                owner[i] = index
                next[i] = i + 1
                i = find(i + 1)
            }
        }

        // Emit painted intervals in address order, merging those that touch into one run.
        var runs: [Run] = []
        var bytes: [UInt8] = []
        for i in 0..<intervals where owner[i] >= 0 {
            let segment = segments[owner[i]]
            let low = Int(points[i]), high = Int(points[i + 1])
            let from = segment.source.lowerBound + (low - Int(segment.offset))
            bytes.append(contentsOf: source[from..<(from + high - low)])
            if let last = runs.last, last.offset + last.count == low {
                runs[runs.count - 1] = Run(offset: last.offset, start: last.start, count: last.count + high - low)
            } else {
                runs.append(Run(offset: low, start: bytes.count - (high - low), count: high - low))
            }
        }
        self.runs = runs
        self.bytes = bytes
    }

    /// Copies every run into the memory at `base` (which must be zero elsewhere and at least as
    /// large as the memory the image was built for). Returns the bytes copied.
    @discardableResult
    func apply(to base: UnsafeMutableRawPointer) -> Int {
        bytes.withUnsafeBytes { source in
            for run in runs {
                (base + run.offset).copyMemory(from: source.baseAddress! + run.start, byteCount: run.count)
            }
        }
        return bytes.count
    }
}

extension Array where Element == UInt64 {
    /// A sorted array without repeats.
    fileprivate func uniquedSorted() -> [UInt64] {
        var out: [UInt64] = []
        out.reserveCapacity(count)
        for x in self where out.last != x { out.append(x) }
        return out
    }

    /// The first index whose element is >= `value` (the array is sorted).
    fileprivate func lowerBound(of value: UInt64) -> Int {
        var low = 0, high = count
        while low < high {
            let mid = (low + high) / 2
            if self[mid] < value { low = mid + 1 } else { high = mid }
        }
        return low
    }
}
