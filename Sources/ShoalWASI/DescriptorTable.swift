import Glibc
import Synchronization

/// One open descriptor in a guest's table.
struct Descriptor {
    enum Kind { case stdio, file, directory, socket }
    var hostFD: Int32
    var kind: Kind
    /// For preopened directories: the name the guest knows it by.
    var preopenName: String?
    /// Whether this entry owns `hostFD` (opened or accepted for this instance, closed with it).
    /// Inherited stdio and listeners shared between instances are not owned: other instances, or
    /// the embedder, use the same host descriptor, so this instance must never close it.
    var ownsHostFD: Bool
    /// WASI rights: what this descriptor may do, and what descriptors opened through it may get.
    var rightsBase: UInt64 = Rights.all
    var rightsInheriting: UInt64 = Rights.all
    /// Whether the host file refused a non-blocking read or write (EOPNOTSUPP: a FIFO opened by
    /// path, a terminal, ext4's buffered writes): it never will accept one, so the inline fast
    /// path stops asking and the calls go straight to the ring (WASIContext+FastPath.swift).
    var refusesNowaitReads = false
    var refusesNowaitWrites = false
    /// Whether this stdio descriptor's data goes to or comes from the embedder (stdin from a
    /// buffer or a stream; stdout or stderr captured, discarded or streamed) rather than through
    /// `hostFD`: such reads and writes never take the inline fast path. Set when the context is
    /// made; it moves with the descriptor (fd_renumber), as the stream does.
    var viaEmbedder = false
    /// The file position, kept here for a regular file the guest opened itself and not in append
    /// mode; nil for every other descriptor, whose position (if any) is the kernel's.
    ///
    /// Reads and writes of such a file go to the kernel at this explicit offset (preadv2 and
    /// pwritev2, or io_uring with an offset) and advance it here. The kernel then skips its
    /// file-position lock, which a multithreaded process takes on every read(2) of a descriptor
    /// (fdget_pos): 2-4% of a guest's 4 KiB page-cached read (issue 17). The host descriptor
    /// is this entry's alone (opened for it, never shared), so nobody else sees the kernel's
    /// position go stale. fd_seek brings the kernel's position up to date first and then seeks
    /// there (so every check and result is still the kernel's); fd_tell answers from here. Append
    /// mode keeps the kernel's position: a write at an explicit offset to an O_APPEND file
    /// appends anyway, and only the kernel knows where the end was (fd_fdstat_set_flags hands
    /// the position over each way).
    var position: Int64?

    /// Moves `position` (if this descriptor keeps one) past `count` bytes read or written at it.
    mutating func advance(by count: Int) {
        guard let p = position, count > 0 else { return }
        let (next, overflow) = p.addingReportingOverflow(Int64(count))
        position = overflow ? .max : next
    }
}

/// A guest's descriptor table: guest numbers to host descriptors, with a cap on how many may be
/// open at once.
///
/// - **Ownership.** Some entries name host descriptors the instance does not own (inherited
///   stdio, listeners shared by every instance of `shoal run --instances`). Closing one of those
///   on the host would free its number for the next open or accept anywhere in the process, and
///   other instances' entries for it would then read and write a stranger's file or connection.
///   So removing an entry only drops it; `closeIfOwned` closes the host descriptor of an entry
///   that owned it, and nothing else does.
/// - **The cap** (`limit`, 1,024 by default). Host descriptors are a process-wide resource
///   (RLIMIT_NOFILE) shared by every tenant: one guest opening files in a loop must run out of its
///   own descriptors (EMFILE), not the process's.
/// - **Reservations.** An open or accept takes its slot before it is submitted, so the cap holds
///   before any host descriptor exists, and two opens in flight cannot both take the last slot.
/// - **Numbers** are the lowest free ones, as POSIX allocates them: they stay small and are never
///   exhausted, however many descriptors a guest opens and closes over its life. That also lets
///   the table be an array indexed by number (never longer than `limit`): every data-moving call
///   looks its descriptor up, so the lookup is an index and a lock, not a hash.
final class DescriptorTable: Sendable {
    private struct State: ~Copyable {
        /// Entry `fd` is the descriptor numbered fd, nil when that number is free.
        var slots: [Descriptor?] = []
        var count = 0
        var reserved = 0

        func lookup(_ fd: UInt32) -> Descriptor? { Int(fd) < slots.count ? slots[Int(fd)] : nil }

        /// Puts `descriptor` at the lowest free number.
        mutating func insert(_ descriptor: Descriptor) -> UInt32 {
            let fd = slots.firstIndex { $0 == nil } ?? slots.count  // at most `limit` steps
            if fd == slots.count { slots.append(descriptor) } else { slots[fd] = descriptor }
            count += 1
            return UInt32(fd)
        }

        mutating func remove(_ fd: UInt32) -> Descriptor? {
            guard let d = lookup(fd) else { return nil }
            slots[Int(fd)] = nil
            count -= 1
            return d
        }
    }

    private let state = Mutex(State())
    /// The most descriptors (stdio, preopens and listeners included) open at once.
    let limit: Int

    init(limit: Int) { self.limit = limit }

    /// Adds one of the descriptors a context starts with, at the lowest free number; past the
    /// limit, nil (a configuration error, not a guest's).
    func addInitial(_ descriptor: Descriptor) -> UInt32? {
        state.withLock { s in
            guard s.count + s.reserved < limit else { return nil }
            return s.insert(descriptor)
        }
    }

    /// Takes a slot for a descriptor about to be opened; EMFILE when the table is full. Follow
    /// with exactly one `insert(reserved:)` or `cancelReservation()`.
    func reserve() throws(Errno) {
        let ok = state.withLock { s in
            guard s.count + s.reserved < limit else { return false }
            s.reserved += 1
            return true
        }
        guard ok else { throw .mfile }
    }

    func cancelReservation() {
        state.withLock { $0.reserved -= 1 }
    }

    /// Fills a reserved slot; the descriptor's guest number.
    func insert(reserved descriptor: Descriptor) -> UInt32 {
        state.withLock { s in
            s.reserved -= 1
            return s.insert(descriptor)
        }
    }

    func get(_ fd: UInt32) throws(Errno) -> Descriptor {
        guard let d = state.withLock({ $0.lookup(fd) }) else { throw .badf }
        return d
    }

    /// Runs `body` on entry `fd` in place, under the table's lock (EBADF if there is none): the
    /// inline fast path's one lookup per call, which copies nothing (a `Descriptor` holds a
    /// string: copying one costs value-witness calls) and may update the entry as it goes.
    ///
    /// `body` may make one non-blocking system call while the lock is held: it never sleeps, and
    /// the only other users of a guest's table are that guest's own calls (one at a time, on its
    /// fiber), completions of operations it is parked on, and the embedder's rare snapshots.
    @inline(__always)
    func withDescriptor<R>(_ fd: UInt32, _ body: (inout Descriptor) throws(Errno) -> R) throws(Errno) -> R {
        try state.withLock { s throws(Errno) -> R in
            guard Int(fd) < s.slots.count, s.slots[Int(fd)] != nil else { throw .badf }
            return try body(&s.slots[Int(fd)]!)
        }
    }

    /// Changes an entry in place (rights); EBADF if it is gone.
    func update(_ fd: UInt32, _ change: (inout Descriptor) -> Void) throws(Errno) {
        let found = state.withLock { s -> Bool in
            guard s.lookup(fd) != nil else { return false }
            change(&s.slots[Int(fd)]!)
            return true
        }
        guard found else { throw .badf }
    }

    /// Drops an entry and returns it (EBADF if there is none). The host descriptor stays open:
    /// the caller decides with `closeIfOwned`.
    func remove(_ fd: UInt32) throws(Errno) -> Descriptor {
        guard let d = state.withLock({ $0.remove(fd) }) else { throw .badf }
        return d
    }

    /// fd_renumber: `from`'s entry moves to `to`, and the entry `to` had is returned (the caller
    /// closes it if owned). Both must exist (EBADF). Renumbering a descriptor onto itself changes
    /// nothing and displaces nothing — it must not close it, as a naive "close `to`, move `from`"
    /// would.
    func renumber(from: UInt32, to: UInt32) throws(Errno) -> Descriptor? {
        let outcome = state.withLock { s -> Result<Descriptor?, Errno> in
            guard let moving = s.lookup(from), let displaced = s.lookup(to) else { return .failure(.badf) }
            if from == to { return .success(nil) }
            s.slots[Int(to)] = moving
            s.slots[Int(from)] = nil
            s.count -= 1
            return .success(displaced)
        }
        return try outcome.get()
    }

    /// Whether some entry still names `hostFD`.
    func references(host hostFD: Int32) -> Bool {
        state.withLock { s in s.slots.contains { $0?.hostFD == hostFD } }
    }

    /// The host descriptor to close for an entry already removed from the table: its own, if it
    /// owned one and no other entry still names it; nil for everything the instance must leave
    /// open (inherited stdio, shared listeners).
    func hostDescriptorToClose(_ descriptor: Descriptor) -> Int32? {
        guard descriptor.ownsHostFD, !references(host: descriptor.hostFD) else { return nil }
        return descriptor.hostFD
    }

    /// Closes what `hostDescriptorToClose` names, now, on this thread.
    func closeIfOwned(_ descriptor: Descriptor) {
        if let fd = hostDescriptorToClose(descriptor) { Glibc.close(fd) }
    }

    /// Every entry, by number.
    var snapshot: [(fd: UInt32, descriptor: Descriptor)] {
        state.withLock { s in s.slots.enumerated().compactMap { i, d in d.map { (UInt32(i), $0) } } }
    }

    var count: Int { state.withLock { $0.count } }

    /// Empties the table, closing the host descriptors it owned (the context is going away).
    func closeAll() {
        let all = state.withLock { s -> [Descriptor] in
            defer { s = State() }
            return s.slots.compactMap { $0 }
        }
        for d in all where d.ownsHostFD { Glibc.close(d.hostFD) }
    }
}
