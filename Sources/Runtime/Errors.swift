import RuntimeABI

/// A WebAssembly trap: the activation stopped, the instance (and the host) did not.
public struct Trap: Error, CustomStringConvertible, Sendable {
    public struct Frame: Sendable, Equatable {
        /// Module function index.
        public var functionIndex: Int
        /// From the name section, when the module has one.
        public var name: String?
    }

    public var code: TrapCode
    public var message: String
    /// Innermost first.
    public var backtrace: [Frame]
    /// For `TrapCode.hostError`: the error the host function threw, as it threw it (a WASI
    /// program's proc_exit is `WASIExit`; an embedder's own errors come back as themselves), so
    /// nobody needs to match on `message`.
    public var underlying: (any Error)?

    public init(code: TrapCode, message: String? = nil, backtrace: [Frame] = [], underlying: (any Error)? = nil) {
        self.code = code
        self.message = message ?? code.description
        self.backtrace = backtrace
        self.underlying = underlying
    }

    public var description: String { "trap: \(message)" }
}

/// An import that cannot be satisfied. Messages begin with the spec's wording ("unknown import",
/// "incompatible import type").
public struct LinkError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "link error: \(message)" }
}

/// A resource the runtime could not get (address space, memory).
public struct RuntimeError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
