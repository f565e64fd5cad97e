/// An error found while reading or checking a module.
///
/// `malformed` errors break the binary format (the spec's "decoding" errors); `invalid` errors are
/// well-formed modules that fail validation. Messages use the spec's wording where its test suite
/// expects one ("type mismatch", "unknown function", "integer too large", ...), so that the spec
/// runner can compare them, and callers can show `description` to users as is.
public struct WasmError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        case malformed
        case invalid
    }

    public var kind: Kind
    public var message: String
    /// Byte offset in the module binary where the problem was found.
    public var offset: Int
    /// The section being read, if any ("code", "type", ...).
    public var section: String?

    public init(_ kind: Kind, _ message: String, offset: Int, section: String? = nil) {
        self.kind = kind
        self.message = message
        self.offset = offset
        self.section = section
    }

    public static func malformed(_ message: String, at offset: Int) -> WasmError {
        WasmError(.malformed, message, offset: offset)
    }

    public static func invalid(_ message: String, at offset: Int) -> WasmError {
        WasmError(.invalid, message, offset: offset)
    }

    public var description: String {
        let place = section.map { " in \($0) section" } ?? ""
        return "\(kind.rawValue) module: \(message) (at byte offset 0x\(String(offset, radix: 16))\(place))"
    }
}
