import WasmCore
import WasmDecoder
import WasmText

/// Builds module binaries section by section for tests.
struct ModuleBytes {
    var bytes: [UInt8] = [0x00, 0x61, 0x73, 0x6D, 0x01, 0x00, 0x00, 0x00]

    func section(_ id: UInt8, _ payload: [UInt8]) -> ModuleBytes {
        var copy = self
        copy.bytes += [id] + uleb(UInt64(payload.count)) + payload
        return copy
    }
}

func uleb(_ value: UInt64) -> [UInt8] {
    var v = value
    var out: [UInt8] = []
    repeat {
        var b = UInt8(v & 0x7F)
        v >>= 7
        if v != 0 { b |= 0x80 }
        out.append(b)
    } while v != 0
    return out
}

/// Decodes a text-format module; fails the calling test on a text-parser error.
func decodeText(_ text: String) throws -> Module {
    try ModuleDecoder.decode(TextFormat.wat2wasm(text))
}

/// The error decoding `text` gives, or nil if it decodes.
func errorDecodingText(_ text: String) throws -> WasmError? {
    let binary = try TextFormat.wat2wasm(text)
    do {
        _ = try ModuleDecoder.decode(binary)
        return nil
    } catch {
        return error
    }
}

func errorDecoding(_ bytes: [UInt8]) -> WasmError? {
    do {
        _ = try ModuleDecoder.decode(bytes)
        return nil
    } catch {
        return error
    }
}
