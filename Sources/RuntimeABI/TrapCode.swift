/// Why a WebAssembly activation stopped abnormally. The raw values cross the boundary between
/// generated code, the C signal handler and Swift, so they are fixed here once.
public enum TrapCode: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    case unreachable = 1
    case integerDivideByZero = 2
    case integerOverflow = 3
    case invalidConversionToInteger = 4
    case outOfBoundsMemoryAccess = 5
    case outOfBoundsTableAccess = 6
    case undefinedElement = 7
    case uninitializedElement = 8
    case indirectCallTypeMismatch = 9
    case callStackExhausted = 10
    /// A host function reported an error (its message is kept by the runtime).
    case hostError = 11
    case outOfBoundsDataSegmentAccess = 12
    case nullReference = 13
    /// Fuel ran out and the store's policy is to trap.
    case outOfFuel = 14
    /// A yield was requested where the code cannot yield (it is not running on a fiber).
    case interrupted = 15

    /// The spec suite's wording for each trap.
    public var description: String {
        switch self {
        case .unreachable: "unreachable"
        case .integerDivideByZero: "integer divide by zero"
        case .integerOverflow: "integer overflow"
        case .invalidConversionToInteger: "invalid conversion to integer"
        case .outOfBoundsMemoryAccess: "out of bounds memory access"
        case .outOfBoundsTableAccess: "out of bounds table access"
        case .undefinedElement: "undefined element"
        case .uninitializedElement: "uninitialized element"
        case .indirectCallTypeMismatch: "indirect call type mismatch"
        case .callStackExhausted: "call stack exhausted"
        case .hostError: "host function error"
        case .outOfBoundsDataSegmentAccess: "out of bounds memory access"
        case .nullReference: "null reference"
        case .outOfFuel: "all fuel consumed"
        case .interrupted: "interrupted"
        }
    }
}
