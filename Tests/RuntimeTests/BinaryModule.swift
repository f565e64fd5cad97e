/// A minimal WebAssembly binary writer for tests whose modules are too large to write as text
/// (functions with tens of thousands of params or results).
struct BinaryModule {
    struct FunctionType { var params: [UInt8]; var results: [UInt8] }
    struct Body { var type: Int; var locals: [(count: Int, type: UInt8)] = []; var code: [UInt8] }

    static let i32: UInt8 = 0x7F
    static let i64: UInt8 = 0x7E

    var types: [FunctionType] = []
    var imports: [(module: String, name: String, type: Int)] = []
    var functions: [Body] = []
    var tableSize: Int?
    /// Function indices placed in the table from element 0.
    var elements: [Int] = []
    var exports: [(name: String, function: Int)] = []

    static func uleb(_ value: Int) -> [UInt8] {
        var v = UInt64(value)
        var out: [UInt8] = []
        repeat {
            var byte = UInt8(v & 0x7F)
            v >>= 7
            if v != 0 { byte |= 0x80 }
            out.append(byte)
        } while v != 0
        return out
    }

    static func sleb(_ value: Int64) -> [UInt8] {
        var v = value
        var out: [UInt8] = []
        while true {
            let byte = UInt8(v & 0x7F)
            v >>= 7
            if (v == 0 && byte & 0x40 == 0) || (v == -1 && byte & 0x40 != 0) {
                out.append(byte)
                return out
            }
            out.append(byte | 0x80)
        }
    }

    static func name(_ s: String) -> [UInt8] { uleb(s.utf8.count) + Array(s.utf8) }

    static func vector(_ items: [[UInt8]]) -> [UInt8] { uleb(items.count) + items.flatMap { $0 } }

    static func section(_ id: UInt8, _ payload: [UInt8]) -> [UInt8] { [id] + uleb(payload.count) + payload }

    // Instruction helpers.
    static func localGet(_ i: Int) -> [UInt8] { [0x20] + uleb(i) }
    static func i32Const(_ v: Int32) -> [UInt8] { [0x41] + sleb(Int64(v)) }
    static func call(_ f: Int) -> [UInt8] { [0x10] + uleb(f) }
    static func callIndirect(type: Int) -> [UInt8] { [0x11] + uleb(type) + [0x00] }
    static let i32Add: [UInt8] = [0x6A]
    static let drop: [UInt8] = [0x1A]
    static let end: [UInt8] = [0x0B]

    var bytes: [UInt8] {
        var out: [UInt8] = [0x00, 0x61, 0x73, 0x6D, 0x01, 0x00, 0x00, 0x00]
        out += Self.section(1, Self.vector(types.map { [0x60] + Self.vector($0.params.map { [$0] }) + Self.vector($0.results.map { [$0] }) }))
        if !imports.isEmpty {
            out += Self.section(2, Self.vector(imports.map { Self.name($0.module) + Self.name($0.name) + [0x00] + Self.uleb($0.type) }))
        }
        out += Self.section(3, Self.vector(functions.map { Self.uleb($0.type) }))
        if let tableSize { out += Self.section(4, Self.vector([[0x70, 0x00] + Self.uleb(tableSize)])) }
        out += Self.section(7, Self.vector(exports.map { Self.name($0.name) + [0x00] + Self.uleb($0.function) }))
        if !elements.isEmpty {
            out += Self.section(9, Self.vector([[0x00] + Self.i32Const(0) + Self.end + Self.vector(elements.map { Self.uleb($0) })]))
        }
        out += Self.section(10, Self.vector(functions.map { body in
            let locals = Self.vector(body.locals.map { Self.uleb($0.count) + [$0.type] })
            let payload = locals + body.code + Self.end
            return Self.uleb(payload.count) + payload
        }))
        return out
    }
}
