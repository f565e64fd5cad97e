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
