import Foundation
import Glibc
import IOUring
import Runtime
import WasmCore

/// Arguments and environment: args_* and environ_*.
extension WASIContext {
    func addArgumentFunctions(_ f: WASIFunctionTable) {
        let argv = configuration.arguments.map { Array($0.utf8) + [0] }
        let envv = configuration.environment.map { Array("\($0.0)=\($0.1)".utf8) + [0] }
        typealias Body = @Sendable (GuestMemory, GuestAddress, GuestAddress) throws(Errno) -> Void
        func sizes(_ list: [[UInt8]]) -> Body {
            { (m: GuestMemory, count: GuestAddress, bufferSize: GuestAddress) throws(Errno) in
                _ = try m.check(count, 4)
                _ = try m.check(bufferSize, 4)
                try m.storeU32(count, UInt32(clamping: list.count))
                try m.storeU32(bufferSize, UInt32(clamping: list.reduce(0) { $0 + $1.count }))
            }
        }
        func fill(_ list: [[UInt8]]) -> Body {
            { (m: GuestMemory, pointers: GuestAddress, strings: GuestAddress) throws(Errno) in
                // Both arrays are checked whole before anything is written: they must fit below
                // the end of memory (computed in 64 bits, so they cannot wrap around to 0).
                _ = try m.check(pointers, UInt64(list.count) * 4)
                _ = try m.check(strings, list.reduce(0) { $0 + UInt64($1.count) })
                var offset: UInt64 = 0
                for (i, item) in list.enumerated() {
                    let string = strings + offset
                    try m.storeU32(pointers.element(UInt64(i), stride: 4), UInt32(truncatingIfNeeded: string.value))
                    try m.write(string, item)
                    offset += UInt64(item.count)
                }
            }
        }
        f.sync("args_sizes_get", sizes(argv))
        f.sync("args_get", fill(argv))
        f.sync("environ_sizes_get", sizes(envv))
        f.sync("environ_get", fill(envv))
    }
}
