import WAT
import WasmParser

/// WebAssembly text format (.wat) input, through WasmKit's WAT module.
///
/// Shoal's own pipeline starts from the binary format; text is a convenience for tests, examples and
/// the CLI, so it is translated to a binary here and then decoded like any other module.
public enum TextFormat {
    /// Features the text parser accepts: WebAssembly 2.0 (reference types, SIMD, bulk memory, ...).
    static let features: WasmFeatureSet = [.referenceTypes, .simd]

    /// An error from the text parser, with its line and column when known.
    public struct ParseError: Error, CustomStringConvertible, Sendable {
        public var message: String
        public var description: String { message }
    }

    /// Translates a module in text format to the binary format.
    public static func wat2wasm(_ text: String) throws(ParseError) -> [UInt8] {
        do {
            return try WAT.wat2wasm(text, features: features)
        } catch {
            throw ParseError(message: "\(error)")
        }
    }

    /// Whether `bytes` look like a binary module (starts with the `\0asm` magic) rather than text.
    public static func isBinary(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 4 && bytes[0] == 0 && bytes[1] == 0x61 && bytes[2] == 0x73 && bytes[3] == 0x6D
    }

    /// Returns the binary form of a module given as either binary or text bytes.
    public static func binary(from bytes: [UInt8]) throws(ParseError) -> [UInt8] {
        if isBinary(bytes) { return bytes }
        return try wat2wasm(String(decoding: bytes, as: UTF8.self))
    }
}
