/// A module the code generator cannot compile although it is valid (an unsupported feature, or a
/// limit of the generator). Invalid modules are reported as `WasmError`s by the validator.
public struct CompileError: Error, CustomStringConvertible, Sendable {
    public var message: String
    /// Module function index, when the error is inside a function body.
    public var function: Int?

    public init(_ message: String, function: Int? = nil) {
        self.message = message
        self.function = function
    }

    public var description: String {
        if let function { return "compile error in function \(function): \(message)" }
        return "compile error: \(message)"
    }
}
