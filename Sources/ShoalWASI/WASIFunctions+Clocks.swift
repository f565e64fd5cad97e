import Foundation
import Glibc
import IOUring
import Runtime
import WasmCore

/// Clocks, randomness, scheduling and the process: clock_*, random_get, sched_yield, proc_exit
/// and proc_raise.
extension WASIContext {
    func addClockFunctions(_ f: WASIFunctionTable) {
        @Sendable func clock(_ id: UInt32) throws(Errno) -> clockid_t {
            switch id {
            case 0: return CLOCK_REALTIME
            case 1: return CLOCK_MONOTONIC
            // The process's and the worker thread's CPU time are every tenant's together: a
            // guest must not observe its neighbours' load. Refused as wasmtime does (EBADF).
            case 2, 3: throw .badf
            default: throw .inval
            }
        }
        f.sync("clock_res_get") { (m: GuestMemory, id: UInt32, resolution: GuestAddress) throws(Errno) in
            var ts = timespec()
            clock_getres(try clock(id), &ts)
            try m.storeU64(resolution, Self.nanoseconds(ts))
        }
        f.sync("clock_time_get") { (m: GuestMemory, id: UInt32, precision: UInt64, time: GuestAddress) throws(Errno) in
            var ts = timespec()
            clock_gettime(try clock(id), &ts)
            try m.storeU64(time, Self.nanoseconds(ts))
        }
        f.sync("random_get") { (m: GuestMemory, buffer: GuestAddress, length: GuestSize) throws(Errno) in
            // Written straight into guest memory: no host buffer, whatever the length.
            let count = Int(length.value)
            let p = try m.check(buffer, UInt64(count))
            var generator = SystemRandomNumberGenerator()  // the OS's CSPRNG (getrandom)
            var filled = 0
            while filled < count {
                var word = generator.next()
                let chunk = min(8, count - filled)
                withUnsafeBytes(of: &word) { (p + filled).copyMemory(from: $0.baseAddress!, byteCount: chunk) }
                filled += chunk
            }
        }

        // Process.
        f.add("proc_exit") { Function(HostFunction(type: FuncType(params: [UInt32.wasmType], results: [])) { _, args in
            let code = Int32(bitPattern: UInt32(slot: args[0].slot))
            self.recordExit(code)
            throw WASIExit(code: code)
        }) }
        // proc_raise: a signal can only end this instance (there is no handler to run): the
        // instance stops with exit status 128 + signal, as a shell reports a killed process.
        f.add("proc_raise") { Function(HostFunction(type: FuncType(params: [UInt32.wasmType], results: [.i32])) { _, args in
            let signal = UInt32(slot: args[0].slot)
            guard signal > 0, signal < 32 else { return [.i32(UInt32(Errno.inval.rawValue))] }
            self.recordExit(128 + Int32(signal))
            throw WASIExit(code: 128 + Int32(signal))
        }) }
        // A real yield: a zero timeout on the worker's ring, so the guest parks and comes back
        // when the worker next reaps its ring — after the instances queued before it have run.
        // (Completing inside the call would not park at all: `Execution.park` returns at once
        // when the completion is already there.)
        f.async("sched_yield") { (_: GuestMemory, done: Done) throws(Errno) in
            _ = self.ring.sleep(nanoseconds: 0) { _ in done(.success) }
        }
    }
}
