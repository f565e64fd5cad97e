import WasmCore

/// The module section: everything of a decoded `Module` that instantiation uses — not the
/// function bodies' instructions (the code replaces them) nor custom sections. Data segment
/// contents go to the data section; the decoded module's `bytes` become that section, and each
/// segment's range points into it.
enum ModuleCodec {
    static func encode(_ module: Module, into w: inout ByteWriter, data: inout [UInt8]) {
        w.count(module.types.count)
        for t in module.types { valueTypes(t.params, &w); valueTypes(t.results, &w) }
        w.count(module.imports.count)
        for i in module.imports {
            w.string(i.module)
            w.string(i.name)
            switch i.descriptor {
            case .function(let t): w.u8(0); w.u32(t)
            case .table(let t): w.u8(1); tableType(t, &w)
            case .memory(let m): w.u8(2); limits(m.limits, &w)
            case .global(let g): w.u8(3); globalType(g, &w)
            }
        }
        w.count(module.functionTypeIndices.count)
        for t in module.functionTypeIndices { w.u32(t) }
        w.count(module.tables.count)
        for t in module.tables { tableType(t, &w) }
        w.count(module.memories.count)
        for m in module.memories { limits(m.limits, &w) }
        w.count(module.globals.count)
        for g in module.globals { globalType(g.type, &w); constExpr(g.initializer, &w) }
        w.count(module.exports.count)
        for e in module.exports { w.string(e.name); w.u8(e.kind.rawValue); w.u32(e.index) }
        w.optionalU64(module.start.map(UInt64.init))
        w.count(module.elements.count)
        for e in module.elements {
            w.u8(e.type.rawValue)
            switch e.mode {
            case .passive: w.u8(0)
            case .active(let table, let offset): w.u8(1); w.u32(table); constExpr(offset, &w)
            case .declarative: w.u8(2)
            }
            w.count(e.initializers.count)
            for i in e.initializers { constExpr(i, &w) }
        }
        w.optionalU64(module.dataCount.map(UInt64.init))
        w.count(module.data.count)
        for d in module.data {
            switch d.mode {
            case .passive: w.u8(0)
            case .active(let memory, let offset): w.u8(1); w.u32(memory); constExpr(offset, &w)
            }
            w.u64(UInt64(data.count))
            w.u64(UInt64(d.range.count))
            data += module.bytes[d.range]
        }
        let names = module.functionNames.sorted { $0.key < $1.key }
        w.count(names.count)
        for (index, name) in names { w.u32(index); w.string(name) }
    }

    /// Reads the module section, with `data` as the module's bytes, and checks that every index
    /// in it is in range (what the validator guaranteed when the module was compiled), so that a
    /// crafted artifact cannot make instantiation index out of bounds.
    static func decode(_ r: inout ByteReader, data: [UInt8]) throws(ArtifactError) -> Module {
        var m = Module(bytes: data)
        for _ in 0..<(try r.count(minimumSize: 8)) {
            m.types.append(FuncType(params: try valueTypes(&r), results: try valueTypes(&r)))
        }
        for _ in 0..<(try r.count(minimumSize: 9)) {
            let module = try r.string(), name = try r.string()
            let descriptor: ImportDescriptor
            switch try r.u8() {
            case 0: descriptor = .function(typeIndex: try r.u32())
            case 1: descriptor = .table(try tableType(&r))
            case 2: descriptor = .memory(MemoryType(limits: try limits(&r)))
            case 3: descriptor = .global(try globalType(&r))
            case let k: throw r.fail("import kind \(k)")
            }
            m.imports.append(Import(module: module, name: name, descriptor: descriptor))
        }
        for _ in 0..<(try r.count(minimumSize: 4)) { m.functionTypeIndices.append(try r.u32()) }
        m.functionBodies = m.functionTypeIndices.map { _ in FunctionBody(localCounts: [], localTypes: [], code: 0..<0) }
        for _ in 0..<(try r.count(minimumSize: 10)) { m.tables.append(try tableType(&r)) }
        for _ in 0..<(try r.count(minimumSize: 9)) { m.memories.append(MemoryType(limits: try limits(&r))) }
        for _ in 0..<(try r.count(minimumSize: 3)) {
            m.globals.append(Global(type: try globalType(&r), initializer: try constExpr(&r)))
        }
        for _ in 0..<(try r.count(minimumSize: 9)) {
            let name = try r.string()
            let kindByte = try r.u8()
            guard let kind = ExternalKind(rawValue: kindByte) else { throw r.fail("export kind \(kindByte)") }
            m.exports.append(Export(name: name, kind: kind, index: try r.u32()))
        }
        m.start = try r.optionalU64().map { v throws(ArtifactError) in
            guard v <= UInt64(UInt32.max) else { throw r.fail("start index \(v)") }
            return UInt32(v)
        }
        for _ in 0..<(try r.count(minimumSize: 6)) {
            let typeByte = try r.u8()
            guard let type = RefType(rawValue: typeByte) else { throw r.fail("element type \(typeByte)") }
            let mode: ElementSegment.Mode
            switch try r.u8() {
            case 0: mode = .passive
            case 1: mode = .active(table: try r.u32(), offset: try constExpr(&r))
            case 2: mode = .declarative
            case let k: throw r.fail("element mode \(k)")
            }
            var initializers: [ConstExpr] = []
            for _ in 0..<(try r.count(minimumSize: 2)) { initializers.append(try constExpr(&r)) }
            m.elements.append(ElementSegment(type: type, mode: mode, initializers: initializers))
        }
        m.dataCount = try r.optionalU64().map { UInt32(truncatingIfNeeded: $0) }
        for _ in 0..<(try r.count(minimumSize: 17)) {
            let mode: DataSegment.Mode
            switch try r.u8() {
            case 0: mode = .passive
            case 1: mode = .active(memory: try r.u32(), offset: try constExpr(&r))
            case let k: throw r.fail("data mode \(k)")
            }
            let start = try r.u64(), length = try r.u64()
            guard start <= UInt64(data.count), length <= UInt64(data.count) - start else {
                throw r.fail("data segment \(start)+\(length) outside the data section's \(data.count) bytes")
            }
            m.data.append(DataSegment(mode: mode, range: Int(start)..<Int(start + length)))
        }
        for _ in 0..<(try r.count(minimumSize: 8)) {
            let index = try r.u32()
            m.functionNames[index] = try r.string()
        }
        try r.expectEnd()
        try checkIndices(m, &r)
        return m
    }

    // MARK: Index checks

    private static func checkIndices(_ m: Module, _ r: inout ByteReader) throws(ArtifactError) {
        let functionCount = m.importedFunctionCount + m.functionTypeIndices.count
        let globalCount = m.allGlobals.count
        for i in m.imports {
            if case .function(let t) = i.descriptor, Int(t) >= m.types.count { throw r.fail("import type index \(t)") }
        }
        for t in m.functionTypeIndices where Int(t) >= m.types.count { throw r.fail("function type index \(t)") }
        for e in m.exports {
            let limit = switch e.kind {
            case .function: functionCount
            case .table: m.allTables.count
            case .memory: m.allMemories.count
            case .global: globalCount
            }
            guard Int(e.index) < limit else { throw r.fail("export \(e.name) index \(e.index)") }
        }
        if let s = m.start, Int(s) >= functionCount { throw r.fail("start function \(s)") }
        // Instantiation calls the start function with no arguments and expects no results.
        if let s = m.start, m.functionTypes[Int(s)] != FuncType(params: [], results: []) {
            throw r.fail("start function \(s) of type \(m.functionTypes[Int(s)]), not [] -> []")
        }
        // Constant expressions as the validator allows them (WebAssembly 2.0): `global.get` of an
        // immutable imported global only (instantiation evaluates a defined global's initializer
        // before the later globals exist), and the type the place expects: a funcref global or
        // table must not be initialized from an integer the code would then call through.
        let importedGlobals = m.imports.compactMap { i -> GlobalType? in
            if case .global(let g) = i.descriptor { g } else { nil }
        }
        func check(_ e: ConstExpr, _ expected: ValueType, _ r: inout ByteReader) throws(ArtifactError) {
            let type: ValueType
            switch e {
            case .i32: type = .i32
            case .i64: type = .i64
            case .f32: type = .f32
            case .f64: type = .f64
            case .v128: type = .v128
            case .refNull(let t): type = t.valueType
            case .refFunc(let f):
                guard Int(f) < functionCount else { throw r.fail("ref.func \(f)") }
                type = .funcref
            case .globalGet(let g):
                guard Int(g) < importedGlobals.count, !importedGlobals[Int(g)].isMutable else {
                    throw r.fail("global.get \(g) in a constant expression (not an immutable imported global)")
                }
                type = importedGlobals[Int(g)].valueType
            }
            guard type == expected else { throw r.fail("constant expression of type \(type) where \(expected) is expected") }
        }
        for g in m.globals { try check(g.initializer, g.type.valueType, &r) }
        let tables = m.allTables
        for e in m.elements {
            if case .active(let table, let offset) = e.mode {
                guard Int(table) < tables.count else { throw r.fail("element table \(table)") }
                guard tables[Int(table)].elementType == e.type else { throw r.fail("\(e.type) elements for a \(tables[Int(table)].elementType) table") }
                try check(offset, .i32, &r)
            }
            for i in e.initializers { try check(i, e.type.valueType, &r) }
        }
        for d in m.data {
            if case .active(let memory, let offset) = d.mode {
                guard Int(memory) < m.allMemories.count else { throw r.fail("data memory \(memory)") }
                try check(offset, .i32, &r)
            }
        }
    }

    // MARK: Pieces

    private static func valueTypes(_ types: [ValueType], _ w: inout ByteWriter) {
        w.count(types.count)
        for t in types { w.u8(t.rawValue) }
    }

    private static func valueTypes(_ r: inout ByteReader) throws(ArtifactError) -> [ValueType] {
        var result: [ValueType] = []
        for _ in 0..<(try r.count()) { result.append(try valueType(&r)) }
        return result
    }

    private static func valueType(_ r: inout ByteReader) throws(ArtifactError) -> ValueType {
        let b = try r.u8()
        guard let t = ValueType(rawValue: b) else { throw r.fail("value type 0x\(String(b, radix: 16))") }
        return t
    }

    private static func limits(_ l: Limits, _ w: inout ByteWriter) {
        w.u64(l.min)
        w.optionalU64(l.max)
    }

    private static func limits(_ r: inout ByteReader) throws(ArtifactError) -> Limits {
        Limits(min: try r.u64(), max: try r.optionalU64())
    }

    private static func tableType(_ t: TableType, _ w: inout ByteWriter) {
        w.u8(t.elementType.rawValue)
        limits(t.limits, &w)
    }

    private static func tableType(_ r: inout ByteReader) throws(ArtifactError) -> TableType {
        let b = try r.u8()
        guard let type = RefType(rawValue: b) else { throw r.fail("table element type \(b)") }
        return TableType(elementType: type, limits: try limits(&r))
    }

    private static func globalType(_ g: GlobalType, _ w: inout ByteWriter) {
        w.u8(g.valueType.rawValue)
        w.bool(g.isMutable)
    }

    private static func globalType(_ r: inout ByteReader) throws(ArtifactError) -> GlobalType {
        GlobalType(valueType: try valueType(&r), isMutable: try r.bool())
    }

    private static func constExpr(_ e: ConstExpr, _ w: inout ByteWriter) {
        switch e {
        case .i32(let v): w.u8(0); w.u32(UInt32(bitPattern: v))
        case .i64(let v): w.u8(1); w.u64(UInt64(bitPattern: v))
        case .f32(let bits): w.u8(2); w.u32(bits)
        case .f64(let bits): w.u8(3); w.u64(bits)
        case .v128(let v): w.u8(4); w.u64(v.low); w.u64(v.high)
        case .refNull(let t): w.u8(5); w.u8(t.rawValue)
        case .refFunc(let f): w.u8(6); w.u32(f)
        case .globalGet(let g): w.u8(7); w.u32(g)
        }
    }

    private static func constExpr(_ r: inout ByteReader) throws(ArtifactError) -> ConstExpr {
        switch try r.u8() {
        case 0: return .i32(Int32(bitPattern: try r.u32()))
        case 1: return .i64(Int64(bitPattern: try r.u64()))
        case 2: return .f32(bits: try r.u32())
        case 3: return .f64(bits: try r.u64())
        case 4: return .v128(V128(low: try r.u64(), high: try r.u64()))
        case 5:
            let b = try r.u8()
            guard let t = RefType(rawValue: b) else { throw r.fail("ref.null type \(b)") }
            return .refNull(t)
        case 6: return .refFunc(try r.u32())
        case 7: return .globalGet(try r.u32())
        case let k: throw r.fail("constant expression kind \(k)")
        }
    }
}
