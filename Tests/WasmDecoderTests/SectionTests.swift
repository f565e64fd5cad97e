import Testing
import WasmCore
import WasmDecoder

@Suite("Sections")
struct SectionTests {
    let empty = ModuleBytes()

    @Test func headerErrors() {
        #expect(errorDecoding([])?.message == "unexpected end")
        #expect(errorDecoding([0x00, 0x61, 0x73])?.message == "unexpected end")
        #expect(errorDecoding([0x61, 0x73, 0x6D, 0x00, 1, 0, 0, 0])?.message == "magic header not detected")
        #expect(errorDecoding([0x00, 0x61, 0x73, 0x6D, 2, 0, 0, 0])?.message == "unknown binary version")
        #expect(errorDecoding(empty.bytes) == nil)
    }

    @Test func sectionOrderAndIds() {
        let typeSection: [UInt8] = [0x01, 0x60, 0x00, 0x00]
        let functionSection: [UInt8] = [0x00]  // no functions
        let outOfOrder = empty.section(3, functionSection).section(1, typeSection)
        #expect(errorDecoding(outOfOrder.bytes)?.message == "unexpected content after last section")
        let duplicate = empty.section(1, typeSection).section(1, typeSection)
        #expect(errorDecoding(duplicate.bytes)?.message == "unexpected content after last section")
        #expect(errorDecoding(empty.section(13, []).bytes)?.message == "malformed section id")
        // Custom sections may appear anywhere, also between ordered ones.
        let custom: [UInt8] = [0x01, UInt8(ascii: "x")]
        #expect(errorDecoding(empty.section(0, custom).section(1, typeSection).section(0, custom).bytes) == nil)
        // The data count section goes between element and code although its id is 12.
        let withDataCount = empty.section(12, [0x00]).section(10, [0x00]).section(11, [0x00])
        #expect(errorDecoding(withDataCount.bytes) == nil)
    }

    @Test func sizeMismatchesCarryOffsetAndSection() throws {
        // A type section that claims 5 bytes but whose content is 4.
        var bytes = empty.section(1, [0x01, 0x60, 0x00, 0x00, 0x00]).bytes
        let error = try #require(errorDecoding(bytes))
        #expect(error.message == "section size mismatch")
        #expect(error.section == "type")
        #expect(error.offset == 14)
        // A section longer than the module.
        bytes = empty.bytes + [0x01, 0x10, 0x00]
        #expect(errorDecoding(bytes)?.message == "length out of bounds")
    }

    @Test func countsMustAgree() {
        let types = empty.section(1, [0x01, 0x60, 0x00, 0x00])
        #expect(
            errorDecoding(types.section(3, [0x01, 0x00]).bytes)?.message
                == "function and code section have inconsistent lengths")
        #expect(
            errorDecoding(empty.section(12, [0x01]).bytes)?.message == "data count and data section have inconsistent lengths")
        // memory.init without a data count section.
        let body: [UInt8] = [0x00, 0x41, 0x00, 0x41, 0x00, 0x41, 0x00, 0xFC, 0x08, 0x00, 0x00, 0x0B]
        let module = types.section(3, [0x01, 0x00]).section(5, [0x01, 0x00, 0x01])
            .section(10, [0x01, UInt8(body.count)] + body).section(11, [0x01, 0x01, 0x00])
        #expect(errorDecoding(module.bytes)?.message == "data count section required")
    }

    @Test func tooManyLocals() {
        let types = empty.section(1, [0x01, 0x60, 0x00, 0x00]).section(3, [0x01, 0x00])
        let body: [UInt8] = [0x02] + uleb(0xFFFF_FFFF) + [0x7F] + [0x01, 0x7F, 0x0B]
        #expect(errorDecoding(types.section(10, [0x01, UInt8(body.count)] + body).bytes)?.message == "too many locals")
        // 2^32 - 1 locals in all is allowed, and checking `local.get` against them must not expand them.
        let many: [UInt8] = [0x01] + uleb(0xFFFF_FFFF) + [0x7E] + [0x20] + uleb(0xFFFF_FFFE) + [0x1A, 0x0B]
        #expect(errorDecoding(types.section(10, [0x01, UInt8(many.count)] + many).bytes) == nil)
    }

    @Test func namesAreUTF8AndKeptForBacktraces() throws {
        let badName = empty.section(0, [0x02, 0xC0, 0x80])  // overlong encoding of NUL
        #expect(errorDecoding(badName.bytes)?.message == "malformed UTF-8 encoding")
        let module = try decodeText(#"(module (func $first) (func $second_fn))"#)
        // WasmKit's encoder writes the name section only when asked; decode a hand-made one instead.
        #expect(module.functionBodies.count == 2)
        let nameSection: [UInt8] = [0x04] + Array("name".utf8) + [0x01, 0x08, 0x01, 0x00, 0x05] + Array("first".utf8)
        let named = empty.section(1, [0x01, 0x60, 0x00, 0x00]).section(3, [0x01, 0x00]).section(10, [0x01, 0x02, 0x00, 0x0B])
            .section(0, nameSection)
        #expect(try ModuleDecoder.decode(named.bytes).functionNames == [0: "first"])
    }

    @Test func exportNamesAreComparedByCodePoints() throws {
        // "Å" as one code point and as A + combining ring are different names to WebAssembly, though
        // Swift's String calls them equal.
        let module = try decodeText(
            #"(module (func) (export "\u{c5}" (func 0)) (export "A\u{30a}" (func 0)))"#)
        #expect(module.exports.count == 2)
        #expect(try errorDecodingText(#"(module (func) (export "a" (func 0)) (export "a" (func 0)))"#)?.message == "duplicate export name")
    }

    @Test func limits() throws {
        #expect(try errorDecodingText("(module (memory 65537))")?.message == "memory size must be at most 65536 pages (4GiB)")
        #expect(try errorDecodingText("(module (memory 2 1))")?.message == "size minimum must not be greater than maximum")
        #expect(try errorDecodingText("(module (memory 1) (memory 1))")?.message == "multiple memories")
        #expect(try errorDecodingText("(module (table 0 funcref) (table 1 externref))") == nil)
    }
}
