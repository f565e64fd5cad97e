import Foundation
import Glibc

/// How many more memory mappings (VMAs) the process may make, for regions whose slots split their
/// mapping (guard pages, guarded heaps).
///
/// Linux refuses mappings beyond vm.max_map_count per process (65,530 by default): mmap and
/// mprotect then fail with ENOMEM — not only for Shoal, but for malloc and thread creation
/// anywhere in the process. A region therefore asks before it is created: its worst case, plus
/// what the process has now (/proc/self/maps), plus what other live regions may still add, plus
/// `headroom` for everything else, must fit the limit. Otherwise creation fails with
/// `MapBudgetExceeded`, naming the limit the slot count needs.
public enum MapBudget {
    /// Mappings left for the rest of the process: thread stacks, allocator arenas, loaded modules,
    /// executions' own fiber stacks.
    public static let headroom = 1_000

    /// vm.max_map_count, or nil if it cannot be read.
    /// (Read with open/read: Foundation's file reading and trimming cost more than the rest of a
    /// small region's creation.)
    public static func systemLimit() -> Int? {
        let fd = open("/proc/sys/vm/max_map_count", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 32)
        var n: Int
        repeat { n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) } } while n < 0 && errno == EINTR
        guard n > 0 else { return nil }
        let digits = buffer[0..<n].prefix { $0 != UInt8(ascii: "\n") && $0 != UInt8(ascii: " ") }
        return Int(String(decoding: digits, as: UTF8.self))
    }

    /// The process's mappings now: the lines of /proc/self/maps.
    public static func currentMappings() -> Int? {
        let fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var lines = 0
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            guard n >= 0 else { return nil }
            if n == 0 { break }
            for i in 0..<n where buffer[i] == UInt8(ascii: "\n") { lines += 1 }
        }
        return lines
    }

    /// The vm.max_map_count that `needed` more mappings require, given `current` mappings and
    /// `promised` ones other regions may still make.
    public static func requiredLimit(needed: Int, current: Int, promised: Int) -> Int {
        needed + current + promised + headroom
    }

    // Mappings that live regions reserved and may still make: counted against the budget of
    // regions created after them, including one being created at the same time. (A guarded-mode
    // region keeps its reservation while some of it already shows in /proc/self/maps: counted
    // twice, which errs on the safe side.)
    private static let lock = NSLock()
    nonisolated(unsafe) private static var promised = 0

    /// Reserves `needed` mappings or throws `MapBudgetExceeded`; `release` gives them back (when
    /// they have been made, and so show in /proc/self/maps, or will not be).
    static func reserve(needed: Int, slots: Int, mappingsPerSlot: Int, guardPages: Bool) throws {
        guard let limit = systemLimit(), let current = currentMappings() else {
            lock.withLock { promised += needed }
            return  // no /proc: nothing to check against
        }
        try lock.withLock {
            let required = requiredLimit(needed: needed, current: current, promised: promised)
            guard required <= limit else {
                throw MapBudgetExceeded(slots: slots, mappingsPerSlot: mappingsPerSlot, needed: needed, current: current,
                                        promised: promised, limit: limit, guardPages: guardPages)
            }
            promised += needed
        }
    }

    static func release(_ count: Int) { lock.withLock { promised -= count } }
}

/// A region's slots would need more memory mappings than vm.max_map_count allows.
public struct MapBudgetExceeded: Error, CustomStringConvertible {
    public let slots: Int
    public let mappingsPerSlot: Int
    public let needed: Int
    public let current: Int
    public let promised: Int
    public let limit: Int
    /// Whether the mappings come from guard pages (else from guarded heaps).
    public let guardPages: Bool

    /// The smallest vm.max_map_count with which the region would be created.
    public var requiredLimit: Int { MapBudget.requiredLimit(needed: needed, current: current, promised: promised) }

    public var description: String {
        let what = guardPages ? "with guard pages" : "with guarded heaps"
        let others = promised > 0 ? ", the \(promised) that other regions may still make" : ""
        let optOut = guardPages
            ? "or create the region with guardPages: .never (`shoal run --guard-pages never`), which leaves the code's bounds and stack checks alone to protect"
            : "or use bounded heaps, whose slots share one mapping"
        return "a region of \(slots) slots \(what) needs up to \(needed) memory mappings (\(mappingsPerSlot) per slot); with the "
            + "\(current) this process has\(others) and \(MapBudget.headroom) kept for the rest of it, vm.max_map_count must be at "
            + "least \(requiredLimit), and it is \(limit). Raise it (`sysctl -w vm.max_map_count=\(requiredLimit)`; "
            + "vm.max_map_count=\(requiredLimit) in /etc/sysctl.d/ to keep it), \(optOut)"
    }
}
