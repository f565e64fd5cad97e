import Foundation
import WasmCore

/// Canonical signature ids, process-wide: two function types get the same id exactly when they are
/// equal, so `call_indirect` compares one integer, across modules and stores.
enum TypeRegistry {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var ids: [FuncType: UInt32] = [:]

    static func id(of type: FuncType) -> UInt32 {
        lock.withLock {
            if let id = ids[type] { return id }
            let id = UInt32(ids.count + 1)  // 0 is never a valid id
            ids[type] = id
            return id
        }
    }
}
