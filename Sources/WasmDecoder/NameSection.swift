import WasmCore

/// Reads the function-name subsection of the `name` custom section (used for trap backtraces).
enum NameSection {
    static func readFunctionNames(_ r: inout ByteReader) throws(WasmError) -> [UInt32: String] {
        var names: [UInt32: String] = [:]
        while !r.isAtEnd {
            let id = try r.readByte()
            let size = Int(try r.readU32())
            let range = try r.readBytes(size)
            guard id == 1 else { continue }
            var sub = ByteReader(bytes: r.bytes, position: range.lowerBound, limit: range.upperBound)
            let count = try sub.readCount()
            for _ in 0..<count {
                let index = try sub.readU32()
                names[index] = try sub.readName()
            }
        }
        return names
    }
}
