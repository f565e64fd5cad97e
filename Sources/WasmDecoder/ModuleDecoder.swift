import WasmCore

/// Decodes and validates a complete WebAssembly 2.0 module binary.
///
/// Sections are read in one pass in their required order; each is validated against the ones before
/// it, and every function body is type-checked by a `FunctionValidator` as its instructions are
/// decoded. The first problem ends decoding with a `WasmError` carrying its byte offset and section.
public struct ModuleDecoder {
    var reader: ByteReader
    var module: Module
    var lastSectionOrder = 0
    var currentSection: SectionID?
    /// Set once the code section has been read; function bodies are validated there.
    var declaredFunctions: Set<UInt32> = []
    /// Export names seen so far, as UTF-8 bytes: names are distinct when their code points differ, while
    /// Swift's `String` equality would merge canonically equivalent names ("\u{C5}" and "A\u{30A}").
    var exportNames: Set<[UInt8]> = []
    var sawCodeSection = false
    var sawDataSection = false

    /// Decodes and validates `bytes`. Function bodies are validated too unless `validateFunctions`
    /// is false (a compiler that validates in lockstep passes false and validates as it compiles).
    public static func decode(_ bytes: [UInt8], validateFunctions: Bool = true) throws(WasmError) -> Module {
        var decoder = ModuleDecoder(bytes: bytes)
        do throws(WasmError) {
            try decoder.run()
            if validateFunctions {
                let context = decoder.validationContext
                for index in decoder.module.functionBodies.indices {
                    try decoder.validateFunction(index, context: context)
                }
            }
        } catch {
            var e = error
            if e.section == nil { e.section = decoder.currentSection?.name }
            throw e
        }
        return decoder.module
    }

    init(bytes: [UInt8]) {
        self.reader = ByteReader(bytes: bytes)
        self.module = Module(bytes: bytes)
    }

    mutating func run() throws(WasmError) {
        guard reader.bytes.count >= 4 else { throw .malformed("unexpected end", at: reader.bytes.count) }
        guard reader.bytes[0..<4].elementsEqual([0x00, 0x61, 0x73, 0x6D]) else {
            throw .malformed("magic header not detected", at: 0)
        }
        guard reader.bytes.count >= 8 else { throw .malformed("unexpected end", at: reader.bytes.count) }
        guard reader.bytes[4..<8].elementsEqual([0x01, 0x00, 0x00, 0x00]) else {
            throw .malformed("unknown binary version", at: 4)
        }
        reader.position = 8
        while !reader.isAtEnd {
            let idOffset = reader.position
            let idByte = try reader.readByte()
            guard let id = SectionID(rawValue: idByte) else { throw .malformed("malformed section id", at: idOffset) }
            let size = Int(try reader.readU32())
            guard size <= reader.remaining else { throw .malformed("length out of bounds", at: idOffset) }
            if id != .custom {
                guard id.order > lastSectionOrder else {
                    throw .malformed("unexpected content after last section", at: idOffset)
                }
                lastSectionOrder = id.order
            }
            currentSection = id
            var section = ByteReader(bytes: reader.bytes, position: reader.position, limit: reader.position + size)
            try readSection(id, &section)
            guard section.position == section.limit else { throw .malformed("section size mismatch", at: section.position) }
            reader.position = section.limit
            currentSection = nil
        }
        try finish()
    }

    mutating func readSection(_ id: SectionID, _ r: inout ByteReader) throws(WasmError) {
        switch id {
        case .custom: try readCustomSection(&r)
        case .type: try readTypeSection(&r)
        case .import: try readImportSection(&r)
        case .function:
            let count = try r.readCount()
            for _ in 0..<count {
                let offset = r.position
                let typeIndex = try r.readU32()
                guard Int(typeIndex) < module.types.count else { throw .invalid("unknown type", at: offset) }
                module.functionTypeIndices.append(typeIndex)
            }
        case .table:
            let count = try r.readCount()
            for _ in 0..<count { module.tables.append(try readTableType(&r)) }
        case .memory:
            let count = try r.readCount()
            for _ in 0..<count {
                let offset = r.position
                let memory = try readMemoryType(&r)
                module.memories.append(memory)
                guard module.allMemories.count <= 1 else { throw .invalid("multiple memories", at: offset) }
            }
        case .global: try readGlobalSection(&r)
        case .export: try readExportSection(&r)
        case .start:
            let offset = r.position
            let index = try r.readU32()
            let type = try validationContext.functionType(index, at: offset)
            guard type.params.isEmpty && type.results.isEmpty else { throw .invalid("start function", at: offset) }
            module.start = index
        case .element: try readElementSection(&r)
        case .dataCount: module.dataCount = try r.readU32()
        case .code: try readCodeSection(&r)
        case .data: try readDataSection(&r)
        }
    }

    mutating func finish() throws(WasmError) {
        if !sawCodeSection && !module.functionTypeIndices.isEmpty {
            throw .malformed("function and code section have inconsistent lengths", at: reader.position)
        }
        if !sawDataSection, let count = module.dataCount, count != 0 {
            throw .malformed("data count and data section have inconsistent lengths", at: reader.position)
        }
    }

    // MARK: Sections

    mutating func readCustomSection(_ r: inout ByteReader) throws(WasmError) {
        let name = try r.readName()
        let range = r.position..<r.limit
        module.customSections.append(CustomSection(name: name, range: range))
        if name == "name" {
            // Errors in the name section are not fatal: it is advisory, as the spec says.
            var sub = ByteReader(bytes: r.bytes, position: r.position, limit: r.limit)
            if let names = try? NameSection.readFunctionNames(&sub) { module.functionNames = names }
        }
        r.position = r.limit
    }

    mutating func readTypeSection(_ r: inout ByteReader) throws(WasmError) {
        let count = try r.readCount()
        module.types.reserveCapacity(count)
        for _ in 0..<count {
            let offset = r.position
            guard try r.readByte() == 0x60 else { throw .malformed("malformed functype", at: offset) }
            let params = try readValueTypes(&r)
            let results = try readValueTypes(&r)
            module.types.append(FuncType(params: params, results: results))
        }
    }

    func readValueTypes(_ r: inout ByteReader) throws(WasmError) -> [ValueType] {
        let count = try r.readCount()
        var types: [ValueType] = []
        types.reserveCapacity(count)
        for _ in 0..<count { types.append(try readValueType(&r)) }
        return types
    }

    func readValueType(_ r: inout ByteReader) throws(WasmError) -> ValueType {
        let offset = r.position
        guard let t = ValueType(rawValue: try r.readByte()) else { throw .malformed("malformed value type", at: offset) }
        return t
    }

    func readRefType(_ r: inout ByteReader) throws(WasmError) -> RefType {
        let offset = r.position
        guard let t = RefType(rawValue: try r.readByte()) else { throw .malformed("malformed reference type", at: offset) }
        return t
    }

    func readLimits(_ r: inout ByteReader) throws(WasmError) -> Limits {
        let offset = r.position
        let flags = try r.readByte()
        switch flags {
        case 0x00: return Limits(min: UInt64(try r.readU32()))
        case 0x01:
            let min = UInt64(try r.readU32())
            return Limits(min: min, max: UInt64(try r.readU32()))
        default: throw .malformed("integer too large", at: offset)
        }
    }

    func readTableType(_ r: inout ByteReader) throws(WasmError) -> TableType {
        let elementType = try readRefType(&r)
        let offset = r.position
        let limits = try readLimits(&r)
        if let max = limits.max, max < limits.min {
            throw .invalid("size minimum must not be greater than maximum", at: offset)
        }
        return TableType(elementType: elementType, limits: limits)
    }

    func readMemoryType(_ r: inout ByteReader) throws(WasmError) -> MemoryType {
        let offset = r.position
        let limits = try readLimits(&r)
        guard limits.min <= MemoryType.maxPages, (limits.max ?? 0) <= MemoryType.maxPages else {
            throw .invalid("memory size must be at most 65536 pages (4GiB)", at: offset)
        }
        if let max = limits.max, max < limits.min {
            throw .invalid("size minimum must not be greater than maximum", at: offset)
        }
        return MemoryType(limits: limits)
    }

    func readGlobalType(_ r: inout ByteReader) throws(WasmError) -> GlobalType {
        let valueType = try readValueType(&r)
        let offset = r.position
        switch try r.readByte() {
        case 0: return GlobalType(valueType: valueType, isMutable: false)
        case 1: return GlobalType(valueType: valueType, isMutable: true)
        default: throw .malformed("malformed mutability", at: offset)
        }
    }

    mutating func readImportSection(_ r: inout ByteReader) throws(WasmError) {
        let count = try r.readCount()
        for _ in 0..<count {
            let moduleName = try r.readName()
            let name = try r.readName()
            let kindOffset = r.position
            let descriptor: ImportDescriptor
            switch try r.readByte() {
            case 0x00:
                let offset = r.position
                let typeIndex = try r.readU32()
                guard Int(typeIndex) < module.types.count else { throw .invalid("unknown type", at: offset) }
                descriptor = .function(typeIndex: typeIndex)
            case 0x01: descriptor = .table(try readTableType(&r))
            case 0x02: descriptor = .memory(try readMemoryType(&r))
            case 0x03: descriptor = .global(try readGlobalType(&r))
            default: throw .malformed("malformed import kind", at: kindOffset)
            }
            module.imports.append(Import(module: moduleName, name: name, descriptor: descriptor))
            if case .memory = descriptor, module.allMemories.count > 1 {
                throw .invalid("multiple memories", at: kindOffset)
            }
        }
    }

    var constExprReader: ConstExprReader {
        let imported = module.imports.compactMap { if case .global(let g) = $0.descriptor { g } else { nil } }
        return ConstExprReader(importedGlobals: imported, functionCount: module.importedFunctionCount + module.functionTypeIndices.count)
    }

    mutating func readConstExpr(_ r: inout ByteReader, expecting type: ValueType) throws(WasmError) -> ConstExpr {
        let expr = try constExprReader.read(&r, expecting: type)
        if case .refFunc(let index) = expr { declaredFunctions.insert(index) }
        return expr
    }

    mutating func readGlobalSection(_ r: inout ByteReader) throws(WasmError) {
        let count = try r.readCount()
        for _ in 0..<count {
            let type = try readGlobalType(&r)
            let initializer = try readConstExpr(&r, expecting: type.valueType)
            module.globals.append(Global(type: type, initializer: initializer))
        }
    }

    mutating func readExportSection(_ r: inout ByteReader) throws(WasmError) {
        let count = try r.readCount()
        let context = validationContext
        for _ in 0..<count {
            let nameOffset = r.position
            let name = try r.readName()
            let kindOffset = r.position
            guard let kind = ExternalKind(rawValue: try r.readByte()) else {
                throw .malformed("malformed export kind", at: kindOffset)
            }
            let indexOffset = r.position
            let index = try r.readU32()
            switch kind {
            case .function:
                _ = try context.functionType(index, at: indexOffset)
                declaredFunctions.insert(index)
            case .table: _ = try context.table(index, at: indexOffset)
            case .memory: try context.requireMemory(index, at: indexOffset)
            case .global: _ = try context.global(index, at: indexOffset)
            }
            guard exportNames.insert(Array(name.utf8)).inserted else { throw .invalid("duplicate export name", at: nameOffset) }
            module.exports.append(Export(name: name, kind: kind, index: index))
        }
    }

    mutating func readElementSection(_ r: inout ByteReader) throws(WasmError) {
        let count = try r.readCount()
        let context = validationContext
        for _ in 0..<count {
            let flagsOffset = r.position
            let flags = try r.readU32()
            guard flags <= 7 else { throw .malformed("malformed elements segment kind", at: flagsOffset) }
            let isPassiveOrDeclarative = flags & 1 != 0
            let hasTableIndex = flags & 2 != 0
            let usesExpressions = flags & 4 != 0
            var mode: ElementSegment.Mode
            if isPassiveOrDeclarative {
                mode = hasTableIndex ? .declarative : .passive
            } else {
                let tableOffset = r.position
                let table = hasTableIndex ? try r.readU32() : 0
                _ = try context.table(table, at: tableOffset)
                mode = .active(table: table, offset: try readConstExpr(&r, expecting: .i32))
            }
            // Flags 0 and 4 imply funcref; the others name an element kind (byte 0x00) or a reference type.
            var type = RefType.funcref
            if isPassiveOrDeclarative || hasTableIndex {
                if usesExpressions {
                    type = try readRefType(&r)
                } else {
                    let kindOffset = r.position
                    guard try r.readByte() == 0x00 else { throw .malformed("malformed element kind", at: kindOffset) }
                }
            }
            if case .active(let table, _) = mode, context.tables[Int(table)].elementType != type {
                throw .invalid("type mismatch", at: flagsOffset)
            }
            let itemCount = try r.readCount()
            var items: [ConstExpr] = []
            items.reserveCapacity(itemCount)
            for _ in 0..<itemCount {
                if usesExpressions {
                    items.append(try readConstExpr(&r, expecting: type.valueType))
                } else {
                    let offset = r.position
                    let index = try r.readU32()
                    _ = try context.functionType(index, at: offset)
                    declaredFunctions.insert(index)
                    items.append(.refFunc(index))
                }
            }
            module.elements.append(ElementSegment(type: type, mode: mode, initializers: items))
        }
    }

    mutating func readCodeSection(_ r: inout ByteReader) throws(WasmError) {
        sawCodeSection = true
        let countOffset = r.position
        let count = try r.readCount()
        guard count == module.functionTypeIndices.count else {
            throw .malformed("function and code section have inconsistent lengths", at: countOffset)
        }
        module.functionBodies.reserveCapacity(count)
        for _ in 0..<count {
            let sizeOffset = r.position
            let size = Int(try r.readU32())
            guard size <= r.remaining else { throw .malformed("length out of bounds", at: sizeOffset) }
            var body = ByteReader(bytes: r.bytes, position: r.position, limit: r.position + size)
            let groups = try body.readCount(minimumElementSize: 2)
            var counts: [UInt32] = []
            var types: [ValueType] = []
            var total: UInt64 = 0
            for _ in 0..<groups {
                let offset = body.position
                let n = try body.readU32()
                total += UInt64(n)
                guard total <= UInt64(UInt32.max) else { throw .malformed("too many locals", at: offset) }
                counts.append(n)
                types.append(try readValueType(&body))
            }
            module.functionBodies.append(FunctionBody(localCounts: counts, localTypes: types, code: body.position..<body.limit))
            r.position = body.limit
        }
    }

    mutating func readDataSection(_ r: inout ByteReader) throws(WasmError) {
        sawDataSection = true
        let countOffset = r.position
        let count = try r.readCount()
        if let expected = module.dataCount, expected != count {
            throw .malformed("data count and data section have inconsistent lengths", at: countOffset)
        }
        let context = validationContext
        for _ in 0..<count {
            let flagsOffset = r.position
            let flags = try r.readU32()
            let mode: DataSegment.Mode
            switch flags {
            case 0:
                try context.requireMemory(0, at: flagsOffset)
                mode = .active(memory: 0, offset: try readConstExpr(&r, expecting: .i32))
            case 1: mode = .passive
            case 2:
                let memoryOffset = r.position
                let memory = try r.readU32()
                try context.requireMemory(memory, at: memoryOffset)
                mode = .active(memory: memory, offset: try readConstExpr(&r, expecting: .i32))
            default: throw .malformed("malformed data segment kind", at: flagsOffset)
            }
            let lengthOffset = r.position
            let length = Int(try r.readU32())
            guard length <= r.remaining else { throw .malformed("unexpected end of section or function", at: lengthOffset) }
            module.data.append(DataSegment(mode: mode, range: try r.readBytes(length)))
        }
    }

    // MARK: Validation

    /// The index spaces as they stand after the sections read so far.
    public var validationContext: ValidationContext {
        var functionTypeIndices: [UInt32] = []
        for i in module.imports { if case .function(let t) = i.descriptor { functionTypeIndices.append(t) } }
        functionTypeIndices += module.functionTypeIndices
        return ValidationContext(
            types: module.types, functionTypeIndices: functionTypeIndices, tables: module.allTables,
            memories: module.allMemories, globals: module.allGlobals, elementTypes: module.elements.map(\.type),
            dataCount: module.dataCount, declaredFunctions: declaredFunctions)
    }

    func validateFunction(_ index: Int, context: ValidationContext) throws(WasmError) {
        let body = module.functionBodies[index]
        let type = module.types[Int(module.functionTypeIndices[index])]
        var validator = FunctionValidator(context: context, type: type, localCounts: body.localCounts, localTypes: body.localTypes)
        var instructions = InstructionReader(
            reader: ByteReader(bytes: module.bytes, position: body.code.lowerBound, limit: body.code.upperBound),
            hasDataCount: module.dataCount != nil)
        do throws(WasmError) {
            while !validator.isFinished {
                if instructions.isAtEnd { throw WasmError.malformed("END opcode expected", at: instructions.offset) }
                let offset = instructions.offset
                try validator.validate(try instructions.next(), at: offset)
            }
            guard instructions.isAtEnd else { throw WasmError.malformed("section size mismatch", at: instructions.offset) }
        } catch {
            var e = error
            e.section = "code (function \(module.importedFunctionCount + index))"
            throw e
        }
    }
}
