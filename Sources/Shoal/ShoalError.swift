/// Why a call or a compilation did not run. What the guest itself did — returned, exited,
/// trapped, ran out of time or fuel — is a `CallResult`, not an error.
public enum ShoalError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The bytes are not a valid module (decoding, validation or code generation failed).
    case invalidModule(String)
    /// An import is missing or has the wrong type.
    case link(String)
    /// The module has no exported function by that name (nor a WASI entry point).
    case noSuchExport(String)
    /// The arguments do not match the function's parameters, or the limits cannot be honoured.
    case invalidCall(String)
    /// Instantiation failed for a reason other than a trap (no memory for the slot, say).
    case instantiation(String)
    /// Every slot is taken and the admission policy refuses more calls.
    case overloaded(String)
    /// The engine has been shut down.
    case shutDown

    /// The error in words.
    public var description: String {
        switch self {
        case .invalidModule(let m): "invalid module: \(m)"
        case .link(let m): "link error: \(m)"
        case .noSuchExport(let name): "no exported function named \(name)"
        case .invalidCall(let m): "invalid call: \(m)"
        case .instantiation(let m): "instantiation failed: \(m)"
        case .overloaded(let m): "overloaded: \(m)"
        case .shutDown: "the engine is shut down"
        }
    }
}
