import ShoalWASI
import Testing

/// The CPU-time clocks would show the host process's and the worker thread's time, which every
/// tenant shares: a guest could watch its neighbours' load. They are refused with EBADF, as
/// wasmtime 49 refuses them (checked with a C program calling clock_gettime and clock_getres).
@Suite("clocks: no window on other tenants")
struct ClockIsolationTests {
    @Test func cpuTimeClocksAreRefusedAndTheOthersWork() throws {
        let guest = try HostileGuest(heap: .bounded)
        for id: UInt64 in [2, 3] {
            #expect(try guest.call("clock_time_get", id, 0, 0x100) == WASIErrno.badf.value)
            #expect(try guest.call("clock_res_get", id, 0x100) == WASIErrno.badf.value)
        }
        for id: UInt64 in [0, 1] {
            #expect(try guest.call("clock_time_get", id, 0, 0x100) == 0)
            #expect(try guest.call("clock_res_get", id, 0x100) == 0)
        }
        #expect(try guest.call("clock_time_get", 4, 0, 0x100) == WASIErrno.inval.value)
    }
}

/// Output captured for an embedder is bounded: past `captureLimit` the guest gets a short write,
/// then ENOSPC, and the host holds no more than the limit.
@Suite("captured output is bounded")
struct CaptureLimitTests {
    @Test func writesPastTheCaptureLimitAreShortThenRefused() throws {
        var configuration = WASIConfiguration(captureOutput: true)
        configuration.captureLimit = 100
        let guest = try HostileGuest(heap: .bounded, configuration: configuration)
        guest.poke(0x1000, [UInt8](repeating: UInt8(ascii: "x"), count: 80))
        guest.pokeIovecs(0x100, [(base: 0x1000, length: 80)])
        #expect(try guest.call("fd_write", 1, 0x100, 1, 0x200) == 0)
        #expect(guest.peekU32(0x200) == 80)
        #expect(try guest.call("fd_write", 1, 0x100, 1, 0x200) == 0)
        #expect(guest.peekU32(0x200) == 20, "a short write: what fits")
        #expect(try guest.call("fd_write", 1, 0x100, 1, 0x200) == WASIErrno.nospc.value)
        #expect(guest.wasi.stdout.count == 100)
        #expect(try guest.call("fd_write", 2, 0x100, 1, 0x200) == 0, "stderr has a limit of its own")
    }

    @Test func standardErrorMayHaveASmallerLimit() throws {
        var configuration = WASIConfiguration(captureOutput: true)
        configuration.captureLimit = 100
        configuration.errorCaptureLimit = 30
        let guest = try HostileGuest(heap: .bounded, configuration: configuration)
        guest.poke(0x1000, [UInt8](repeating: UInt8(ascii: "x"), count: 80))
        guest.pokeIovecs(0x100, [(base: 0x1000, length: 80)])
        #expect(try guest.call("fd_write", 2, 0x100, 1, 0x200) == 0)
        #expect(guest.peekU32(0x200) == 30, "a short write: what fits under stderr's limit")
        #expect(try guest.call("fd_write", 2, 0x100, 1, 0x200) == WASIErrno.nospc.value)
        #expect(guest.wasi.stderr.count == 30)
        #expect(try guest.call("fd_write", 1, 0x100, 1, 0x200) == 0)
        #expect(guest.peekU32(0x200) == 80, "stdout keeps captureLimit")
        // At the edges: no error output at all, and a limit of zero.
        configuration.errorCaptureLimit = 0
        let silent = try HostileGuest(heap: .bounded, configuration: configuration)
        silent.poke(0x1000, [UInt8](repeating: UInt8(ascii: "x"), count: 8))
        silent.pokeIovecs(0x100, [(base: 0x1000, length: 8)])
        #expect(try silent.call("fd_write", 2, 0x100, 1, 0x200) == WASIErrno.nospc.value)
        #expect(silent.wasi.stderr.isEmpty)
        silent.pokeIovecs(0x100, [(base: 0x1000, length: 0)])
        #expect(try silent.call("fd_write", 2, 0x100, 1, 0x200) == 0, "an empty write succeeds")
    }
}
