import ShoalWASI
import Testing

/// Answers the official WebAssembly/wasi-testsuite checks (its wasm32-wasip1 programs: 72 of 72
/// pass under `shoal run`, as under wasmtime 49 — see Docs/WASI.md) where Shoal once differed.
@Suite("wasi-testsuite behaviours")
struct TestsuiteBehaviourTests {
    static let notsock = WASIErrno(57)

    @Test func shutdownOfANonSocketIsNotsockWhateverItsRights() throws {
        let guest = try HostileGuest(heap: .bounded)
        #expect(try guest.call("sock_shutdown", 1, 1) == Self.notsock.value)  // stdout, which holds no socket rights
    }

    @Test func directoriesHoldNoSeekRightAndTellOnThemIsBadf() throws {
        let sandbox = try HostDirectory("testsuite")
        defer { sandbox.remove() }
        var configuration = WASIConfiguration(captureOutput: true)
        configuration.preopens = [(sandbox.path, "/")]
        let guest = try HostileGuest(heap: .bounded, configuration: configuration)
        #expect(try guest.call("fd_tell", 3, 0x300) == WASIErrno.badf.value)
        // path_open(".", O_DIRECTORY) asking for every right but FD_WRITE (EISDIR, as in
        // wasmtime), FD_SEEK among them.
        guest.poke(0x100, ".")
        let all = UInt64(WASIRights.all)
        #expect(try guest.call("path_open", 3, 1, 0x100, 1, 2, all & ~WASIRights.fdWrite, all, 0, 0x200) == 0)
        let fd = UInt64(guest.peekU32(0x200))
        #expect(try guest.call("fd_fdstat_get", fd, 0x300) == 0)
        let base = guest.peek(0x308, 8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * $1.offset) }
        #expect(base & WASIRights.fdSeek == 0, "a directory has no seek right")
        #expect(base & ~WASIRights.directoryBase == 0, "only directory rights")
        #expect(try guest.call("fd_tell", fd, 0x300) == WASIErrno.badf.value)
    }
}
