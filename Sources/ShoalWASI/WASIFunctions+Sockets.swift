import Foundation
import Glibc
import IOUring
import Runtime
import WasmCore

/// Sockets: sock_accept, sock_recv, sock_send and sock_shutdown, on the listeners the embedder
/// hands in and the connections accepted from them. sock_recv and sock_send complete inline when
/// they cannot block (WASIContext+FastPath.swift).
extension WASIContext {
    func addSocketFunctions(_ f: WASIFunctionTable) {
        f.async("sock_accept") { (m: GuestMemory, fd: FD, flags: UInt32, result: GuestAddress, done: Done) throws(Errno) in
            let d = try self.descriptor(fd.value, requiring: Rights.sockAccept)
            guard d.kind == .socket else { throw .notsock }
            _ = try m.check(result, 4)
            try self.table.reserve()  // EMFILE past the limit, before a connection is taken
            self.ring.accept(fd: d.hostFD) { hostFD in
                guard hostFD >= 0 else {
                    self.table.cancelReservation()
                    return done(Errno(host: -hostFD))
                }
                let guestFD = self.table.insert(reserved: Descriptor(hostFD: hostFD, kind: .socket, ownsHostFD: true))
                done.then { () throws(Errno) in try m.storeU32(result, guestFD) }
            }
        }
        // Inline when bytes are queued (WASIContext+FastPath.swift), except with WAITALL.
        f.async("sock_recv", inline: inline(Self.sockRecvInline)) {
            (m: GuestMemory, fd: FD, iovecs: GuestAddress, iovsCount: GuestSize, riFlags: UInt32,
              dataLength: GuestAddress, outFlags: GuestAddress, done: Done) throws(Errno) in
            let d = try self.descriptor(fd.value, requiring: Rights.fdRead)
            guard d.kind == .socket else { throw .notsock }
            let flags = Self.receiveFlags(riFlags)
            let iovs = try m.iovecs(iovecs, iovsCount.value, limit: self.transferLimit(m))
            _ = try m.check(dataLength, 4)
            _ = try m.check(outFlags, 2)
            let total = iovs.reduce(0) { $0 + $1.1 }
            let buffer = IOBuffer(count: total)
            nonisolated(unsafe) let targets = iovs
            self.ring.receive(fd: d.hostFD, into: buffer.pointer, count: total, flags: flags) { n in
                guard n >= 0 else { return done(Errno(host: -n)) }
                done.then { () throws(Errno) in
                    buffer.scatter(Int(n), into: targets)
                    try m.storeU32(dataLength, UInt32(n))
                    try m.storeU16(outFlags, 0)
                }
            }
        }
        f.async("sock_send", inline: inline(Self.sockSendInline)) {
            (m: GuestMemory, fd: FD, iovecs: GuestAddress, iovsCount: GuestSize, siFlags: UInt32,
              result: GuestAddress, done: Done) throws(Errno) in
            let d = try self.descriptor(fd.value, requiring: Rights.fdWrite)
            guard d.kind == .socket else { throw .notsock }
            let iovs = try m.iovecs(iovecs, iovsCount.value, limit: self.transferLimit(m))
            _ = try m.check(result, 4)
            let buffer = IOBuffer(gathering: iovs)
            self.ring.send(fd: d.hostFD, from: buffer.pointer, count: buffer.count, flags: 0) { n in
                withExtendedLifetime(buffer) {}  // the kernel reads it until now
                guard n >= 0 else { return done(Errno(host: -n)) }
                done.then { () throws(Errno) in try m.storeU32(result, UInt32(n)) }
            }
        }
        f.async("sock_shutdown") { (_: GuestMemory, fd: FD, sdflags: UInt32, done: Done) throws(Errno) in
            // Not a socket is ENOTSOCK whatever its rights (as wasmtime), before the rights check.
            guard try self.descriptor(fd.value).kind == .socket else { throw .notsock }
            let d = try self.descriptor(fd.value, requiring: Rights.sockShutdown)
            // shutdown acts on the socket, not the descriptor: on a listener shared with other
            // instances it would stop it for all of them. Only the instance's own sockets.
            guard d.ownsHostFD else { throw .notconn }
            let how: Int32 = switch sdflags & 3 {
            case 1: Int32(SHUT_RD)
            case 2: Int32(SHUT_WR)
            case 3: Int32(SHUT_RDWR)
            default: -1
            }
            guard how >= 0, sdflags & ~3 == 0 else { throw .inval }
            self.ring.shutdown(fd: d.hostFD, how: how) { r in done(r < 0 ? Errno(host: -r) : .success) }
        }
    }
}
