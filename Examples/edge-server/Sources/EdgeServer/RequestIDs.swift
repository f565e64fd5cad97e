import Foundation
import Synchronization

/// Request ids: a random per-process prefix and a counter, as 16 hex digits. Unique across the
/// processes behind one load balancer (with high probability), cheap to make, and told to the
/// client on every response (X-Request-Id) so that an error it saw can be found in the log.
public final class RequestIDs: Sendable {
    private let prefix = UInt32.random(in: .min ... .max)
    private let counter = Atomic<UInt32>(0)

    public init() {}

    /// The next id.
    public func next() -> String {
        let n = counter.wrappingAdd(1, ordering: .relaxed).newValue
        let value = UInt64(prefix) << 32 | UInt64(n)
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
