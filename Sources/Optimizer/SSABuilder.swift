import RuntimeABI
import WasmCore
import WasmDecoder
import X64

/// Why the optimizing tier left a function to the baseline compiler.
public struct Unsupported: Error, Sendable, CustomStringConvertible {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// What the optimizing tier needs to know about the module (all read-only).
public struct OptimizerContext: Sendable {
    public let module: Module
    public let context: ValidationContext
    public let layout: VMContextLayout
    public let options: CompileOptions

    public init(module: Module, context: ValidationContext, layout: VMContextLayout, options: CompileOptions) {
        self.module = module
        self.context = context
        self.layout = layout
        self.options = options
    }

    func functionType(_ index: Int) -> FuncType { module.types[Int(context.functionTypeIndices[index])] }
}

/// Builds SSA form directly from the structured body while the validator checks it.
///
/// Structured control flow makes this simple: every local is an SSA variable; every merge point
/// (a block's or if's end, a loop header) is an IR block whose params are all the locals plus
/// the label's values, and every branch passes the current definitions. Params that turn out to
/// receive one value on every edge are removed afterwards (`CopyPropagation`), which leaves the
/// minimal form of Braun et al.'s construction for the locals that really merge.
struct SSABuilder {
    let shared: OptimizerContext
    let type: FuncType
    var validator: FunctionValidator
    var f = IRFunction()
    var localTypes: [ValueType]
    var locals: [Value] = []
    var stack: [Value] = []
    var frames: [Frame] = []
    /// The block instructions are appended to; nil in unreachable code.
    var current: Int?
    var constants: [ConstKey: Value] = [:]
    var predecessorCount: [Int] = []
    var constInsts: [Inst] = []
    /// Blocks in the order they became current: the code layout.
    var startOrder: [Int] = []

    struct ConstKey: Hashable {
        let type: ValueType
        let bits: UInt64
    }

    struct Frame {
        enum Kind { case function, block, loop, `if` }
        var kind: Kind
        var params: [ValueType]
        var results: [ValueType]
        /// Operand stack height below the params.
        var height: Int
        /// Branch target: the end block, or the loop header.
        var target: Int
        /// The block after an if's else arm (nil for other frames).
        var elseBlock: Int?
        var entryLocals: [Value] = []
        var entryParams: [Value] = []
        var sawElse = false
        var reachableAtEntry: Bool
        var labelTypes: [ValueType] { kind == .loop ? params : results }
    }

    static let maxMergeValues = 2_000_000

    init(shared: OptimizerContext, functionIndex: Int, body: FunctionBody) throws {
        self.shared = shared
        type = shared.functionType(functionIndex)
        localTypes = type.params + body.localTypes
        validator = FunctionValidator(context: shared.context, type: type, localCounts: body.localCounts, localTypes: body.localTypes)
        var declared = 0
        for c in body.localCounts { declared += Int(c) }
        guard declared <= 4096 else { throw Unsupported("\(declared) locals") }
        var expanded = type.params
        for (count, t) in zip(body.localCounts, body.localTypes) {
            expanded += Array(repeating: t, count: Int(count))
        }
        localTypes = expanded
        for t in localTypes + type.results where !Self.supported(t) { throw Unsupported("a \(t) value") }
    }

    static func supported(_ t: ValueType) -> Bool { t != .v128 }

    mutating func newBlock(params: [ValueType]) -> Int {
        var block = Block()
        block.params = params.map { f.newValue($0) }
        f.blocks.append(block)
        predecessorCount.append(0)
        return f.blocks.count - 1
    }

    mutating func start(_ block: Int) {
        current = block
        startOrder.append(block)
    }

    mutating func const(_ t: ValueType, _ bits: UInt64) -> Value {
        let key = ConstKey(type: t, bits: bits)
        if let v = constants[key] { return v }
        let v = f.newValue(t)
        constInsts.append(Inst(op: .const(bits), args: [], results: [v]))
        constants[key] = v
        return v
    }

    mutating func append(_ op: Op, _ args: [Value], results: [ValueType]) -> [Value] {
        let values = results.map { f.newValue($0) }
        f.blocks[current!].insts.append(Inst(op: op, args: args, results: values))
        return values
    }

    mutating func push1(_ op: Op, _ args: [Value], _ t: ValueType) {
        stack.append(append(op, args, results: [t])[0])
    }

    mutating func pop() -> Value { stack.removeLast() }
    mutating func pop(_ n: Int) -> [Value] {
        let values = Array(stack.suffix(n))
        stack.removeLast(n)
        return values
    }

    mutating func terminate(_ t: Terminator) {
        for e in t.edges { predecessorCount[e.target] += 1 }
        f.blocks[current!].terminator = t
        current = nil
    }

    /// Starts a merge block: the locals and the label values are its params.
    mutating func enter(_ block: Int, valueCount: Int) {
        start(block)
        let params = f.blocks[block].params
        locals = Array(params.prefix(localTypes.count))
        stack += params.suffix(valueCount)
    }

    /// The edge a branch to frame `depth` (0 = innermost) takes from here; nil for the function.
    mutating func edge(toDepth depth: Int) -> Edge? {
        let frame = frames[frames.count - 1 - depth]
        if frame.kind == .function { return nil }
        let count = frame.labelTypes.count
        return Edge(target: frame.target, args: locals + stack.suffix(count))
    }

    mutating func branchTerminator(depth: Int) -> Terminator {
        if let e = edge(toDepth: depth) { return .jump(e) }
        return .ret(Array(stack.suffix(type.results.count)))
    }

    func blockSignature(_ blockType: BlockType) -> (params: [ValueType], results: [ValueType]) {
        switch blockType {
        case .empty: ([], [])
        case .value(let t): ([], t.asList)
        case .typeIndex(let i): (shared.module.types[Int(i)].params, shared.module.types[Int(i)].results)
        }
    }

    // MARK: Driving

    mutating func build(code: Range<Int>) throws -> IRFunction {
        var reader = InstructionReader(reader: ByteReader(bytes: shared.module.bytes, position: code.lowerBound, limit: code.upperBound),
                                       hasDataCount: shared.module.dataCount != nil)
        let entry = newBlock(params: type.params)
        start(entry)
        locals = f.blocks[entry].params
        for t in localTypes.dropFirst(type.params.count) { locals.append(const(t, 0)) }
        frames.append(Frame(kind: .function, params: [], results: type.results, height: 0, target: -1, reachableAtEntry: true))
        while !frames.isEmpty {
            if reader.isAtEnd { throw WasmError.malformed("END opcode expected", at: reader.offset) }
            let offset = reader.offset
            let instruction = try reader.next()
            try validator.validate(instruction, at: offset)
            if current == nil {
                try deadCode(instruction)
            } else {
                try translate(instruction)
            }
            if f.blocks.count * (localTypes.count + 1) > Self.maxMergeValues {
                throw Unsupported("too many merge values for the optimizing tier")
            }
        }
        guard reader.isAtEnd else { throw WasmError.malformed("section size mismatch", at: reader.offset) }
        f.blocks[entry].insts = constInsts + f.blocks[entry].insts
        f.resultTypes = type.results
        return removeUnstarted()
    }

    /// Puts the blocks in the order code reached them (the layout), dropping those it never
    /// reached (a block end no branch targeted).
    func removeUnstarted() -> IRFunction {
        var out = f
        let keep = startOrder
        var map = Array(repeating: -1, count: f.blocks.count)
        for (n, b) in keep.enumerated() { map[b] = n }
        out.blocks = keep.map { f.blocks[$0] }
        for b in out.blocks.indices { out.blocks[b].terminator.mapEdges { $0.target = map[$0.target] } }
        return out
    }

    mutating func deadCode(_ instruction: Instruction) throws {
        switch instruction {
        case .block(let bt), .loop(let bt), .if(let bt):
            let (params, results) = blockSignature(bt)
            frames.append(Frame(kind: .block, params: params, results: results, height: stack.count, target: -1,
                                reachableAtEntry: false))
        case .else: elseArm()
        case .end: end()
        default: break
        }
    }

    // MARK: Control

    mutating func elseArm() {
        var frame = frames.removeLast()
        if current != nil {
            terminate(.jump(Edge(target: frame.target, args: locals + stack.suffix(frame.results.count))))
        }
        stack.removeLast(stack.count - frame.height)
        if frame.reachableAtEntry, let elseBlock = frame.elseBlock {
            start(elseBlock)
            locals = frame.entryLocals
            stack += frame.entryParams
        }
        frame.sawElse = true
        frames.append(frame)
    }

    mutating func end() {
        let frame = frames.removeLast()
        if frame.kind == .function {
            if current != nil { terminate(.ret(Array(stack.suffix(type.results.count)))) }
            return
        }
        guard frame.reachableAtEntry else {  // a frame entered in dead code
            stack.removeLast(stack.count - frame.height)
            return
        }
        if frame.kind == .loop {
            // The loop's end is no branch target: the code just goes on.
            if current == nil { stack.removeLast(stack.count - frame.height) }
            return
        }
        if current != nil {
            terminate(.jump(Edge(target: frame.target, args: locals + stack.suffix(frame.results.count))))
        }
        if frame.kind == .if, !frame.sawElse, let elseBlock = frame.elseBlock {
            // No else arm: the false edge carries the if's params as its results.
            start(elseBlock)
            terminate(.jump(Edge(target: frame.target, args: frame.entryLocals + frame.entryParams)))
        }
        stack.removeLast(stack.count - frame.height)
        if predecessorCount[frame.target] > 0 {
            enter(frame.target, valueCount: frame.results.count)
        }
    }

    mutating func translate(_ instruction: Instruction) throws {
        switch instruction {
        case .unreachable: terminate(.trap(.unreachable))
        case .nop: break
        case .block(let bt):
            let (params, results) = blockSignature(bt)
            try check(params + results)
            let target = newBlock(params: localTypes + results)
            frames.append(Frame(kind: .block, params: params, results: results, height: stack.count - params.count,
                                target: target, reachableAtEntry: true))
        case .loop(let bt):
            let (params, results) = blockSignature(bt)
            try check(params + results)
            let header = newBlock(params: localTypes + params)
            f.blocks[header].isLoopHeader = true
            let height = stack.count - params.count
            terminate(.jump(Edge(target: header, args: locals + stack.suffix(params.count))))
            stack.removeLast(params.count)
            frames.append(Frame(kind: .loop, params: params, results: results, height: height, target: header,
                                reachableAtEntry: true))
            enter(header, valueCount: params.count)
        case .if(let bt):
            let (params, results) = blockSignature(bt)
            try check(params + results)
            let condition = pop()
            let thenBlock = newBlock(params: [])
            let elseBlock = newBlock(params: [])
            let target = newBlock(params: localTypes + results)
            var frame = Frame(kind: .if, params: params, results: results, height: stack.count - params.count, target: target,
                              elseBlock: elseBlock, reachableAtEntry: true)
            frame.entryLocals = locals
            frame.entryParams = Array(stack.suffix(params.count))
            terminate(.branch(condition: condition, then: Edge(target: thenBlock, args: []), else: Edge(target: elseBlock, args: [])))
            start(thenBlock)
            frames.append(frame)
        case .else: elseArm()
        case .end: end()
        case .br(let depth): terminate(branchTerminator(depth: Int(depth)))
        case .brIf(let depth):
            let condition = pop()
            let next = newBlock(params: [])
            if let e = edge(toDepth: Int(depth)) {
                terminate(.branch(condition: condition, then: e, else: Edge(target: next, args: [])))
            } else {
                // A conditional return: through a block of its own.
                let ret = newBlock(params: [])
                let values = Array(stack.suffix(type.results.count))
                terminate(.branch(condition: condition, then: Edge(target: ret, args: []), else: Edge(target: next, args: [])))
                start(ret)
                terminate(.ret(values))
            }
            start(next)
        case .brTable(let targets, let defaultTarget):
            let index = pop()
            var edges: [Edge] = []
            var returnBlock: Int?
            for depth in targets + [defaultTarget] {
                if let e = edge(toDepth: Int(depth)) {
                    edges.append(e)
                } else {
                    if returnBlock == nil { returnBlock = newBlock(params: []) }
                    edges.append(Edge(target: returnBlock!, args: []))
                }
            }
            let values = Array(stack.suffix(type.results.count))
            let last = edges.removeLast()
            terminate(.table(index: index, targets: edges, default: last))
            if let returnBlock {
                start(returnBlock)
                terminate(.ret(values))
            }
        case .return: terminate(.ret(Array(stack.suffix(type.results.count))))
        case .call(let index):
            let callee = shared.functionType(Int(index))
            try check(callee.params + callee.results)
            let args = pop(callee.params.count)
            stack += append(.call(Int(index)), args, results: callee.results)
        case .callIndirect(let typeIndex, let table):
            let callee = shared.module.types[Int(typeIndex)]
            try check(callee.params + callee.results)
            let index = pop()
            let args = pop(callee.params.count)
            stack += append(.callIndirect(typeIndex: Int(typeIndex), table: Int(table)), args + [index], results: callee.results)
        case .drop: _ = pop()
        case .select, .selectTyped:
            let condition = pop()
            let second = pop()
            let first = pop()
            push1(.select, [condition, first, second], f.types[first.id])
        case .localGet(let i): stack.append(locals[Int(i)])
        case .localSet(let i): locals[Int(i)] = pop()
        case .localTee(let i): locals[Int(i)] = stack.last!
        case .globalGet(let i):
            let t = shared.context.globals[Int(i)].valueType
            try check([t])
            push1(.globalGet(Int(i)), [], t)
        case .globalSet(let i):
            _ = append(.globalSet(Int(i)), [pop()], results: [])
        case .load(let op, let memarg):
            push1(.load(op, offset: memarg.offset), [pop()], op.resultType)
        case .store(let op, let memarg):
            let value = pop()
            let address = pop()
            _ = append(.store(op, offset: memarg.offset), [address, value], results: [])
        case .memorySize: push1(.memorySize, [], .i32)
        case .memoryGrow: push1(.memoryGrow, [pop()], .i32)
        case .memoryFill: _ = append(.memoryFill, pop(3), results: [])
        case .memoryCopy: _ = append(.memoryCopy, pop(3), results: [])
        case .memoryInit(let segment):
            builtin(.memoryInit, args: [.rdx, .rcx, .r8], constants: [(.rsi, Int64(segment))], result: false, traps: true)
        case .dataDrop(let segment):
            builtin(.dataDrop, args: [], constants: [(.rsi, Int64(segment))], result: false, traps: false)
        case .tableGrow(let t):
            builtin(.tableGrow, args: [.rdx, .rcx], constants: [(.rsi, Int64(t))], result: true, traps: false)
        case .tableFill(let t):
            builtin(.tableFill, args: [.rdx, .rcx, .r8], constants: [(.rsi, Int64(t))], result: false, traps: true)
        case .tableCopy(let destination, let source):
            builtin(.tableCopy, args: [.rcx, .r8, .r9], constants: [(.rsi, Int64(destination)), (.rdx, Int64(source))],
                    result: false, traps: true)
        case .tableInit(let element, let table):
            builtin(.tableInit, args: [.rcx, .r8, .r9], constants: [(.rsi, Int64(table)), (.rdx, Int64(element))],
                    result: false, traps: true)
        case .elemDrop(let element):
            builtin(.elemDrop, args: [], constants: [(.rsi, Int64(element))], result: false, traps: false)
        case .tableGet(let t): push1(.tableGet(Int(t)), [pop()], elementType(Int(t)))
        case .tableSet(let t):
            let value = pop()
            let index = pop()
            _ = append(.tableSet(Int(t)), [index, value], results: [])
        case .tableSize(let t): push1(.tableSize(Int(t)), [], .i32)
        case .refNull(let t): stack.append(const(t == .funcref ? .funcref : .externref, 0))
        case .refIsNull: push1(.unary(.eqz), [pop()], .i32)
        case .refFunc(let index): push1(.refFunc(Int(index)), [], .funcref)
        case .i32Const(let v): stack.append(const(.i32, UInt64(UInt32(bitPattern: v))))
        case .i64Const(let v): stack.append(const(.i64, UInt64(bitPattern: v)))
        case .f32Const(let bits): stack.append(const(.f32, UInt64(bits)))
        case .f64Const(let bits): stack.append(const(.f64, bits))
        case .numeric(let op): try numeric(op)
        default:
            throw Unsupported("instruction " + String(describing: instruction).prefix { $0 != "(" })
        }
    }

    func elementType(_ table: Int) -> ValueType {
        shared.context.tables[table].elementType == .funcref ? .funcref : .externref
    }

    /// A builtin call with the baseline's register assignment; args are popped (bottom to top).
    mutating func builtin(_ b: Builtin, args: [Reg], constants: [(Reg, Int64)], result: Bool, traps: Bool) {
        let call = BuiltinCall(builtin: b, argRegs: args, constRegs: constants.map(\.0), constants: constants.map(\.1),
                               hasResult: result, traps: traps)
        let values = append(.builtin(call), pop(args.count), results: result ? [.i32] : [])
        stack += values
    }

    func check(_ types: [ValueType]) throws {
        for t in types where !Self.supported(t) { throw Unsupported("a \(t) value") }
    }

    mutating func numeric(_ op: NumericOp) throws {
        func binary(_ b: BinaryOp, _ t: ValueType) {
            let rhs = pop()
            let lhs = pop()
            push1(.binary(b), [lhs, rhs], t)
        }
        func compare(_ c: CompareOp) {
            let rhs = pop()
            let lhs = pop()
            push1(.compare(c), [lhs, rhs], .i32)
        }
        func unary(_ u: UnaryOp, _ t: ValueType) { push1(.unary(u), [pop()], t) }
        switch op {
        case .i32Eqz, .i64Eqz: unary(.eqz, .i32)
        case .i32Eq, .i64Eq: compare(.eq)
        case .i32Ne, .i64Ne: compare(.ne)
        case .i32LtS, .i64LtS: compare(.ltS)
        case .i32LtU, .i64LtU: compare(.ltU)
        case .i32GtS, .i64GtS: compare(.gtS)
        case .i32GtU, .i64GtU: compare(.gtU)
        case .i32LeS, .i64LeS: compare(.leS)
        case .i32LeU, .i64LeU: compare(.leU)
        case .i32GeS, .i64GeS: compare(.geS)
        case .i32GeU, .i64GeU: compare(.geU)
        case .i32Clz: unary(.clz, .i32)
        case .i32Ctz: unary(.ctz, .i32)
        case .i32Popcnt: unary(.popcnt, .i32)
        case .i64Clz: unary(.clz, .i64)
        case .i64Ctz: unary(.ctz, .i64)
        case .i64Popcnt: unary(.popcnt, .i64)
        case .i32Add: binary(.add, .i32)
        case .i32Sub: binary(.sub, .i32)
        case .i32Mul: binary(.mul, .i32)
        case .i32DivS: binary(.divS, .i32)
        case .i32DivU: binary(.divU, .i32)
        case .i32RemS: binary(.remS, .i32)
        case .i32RemU: binary(.remU, .i32)
        case .i32And: binary(.and, .i32)
        case .i32Or: binary(.or, .i32)
        case .i32Xor: binary(.xor, .i32)
        case .i32Shl: binary(.shl, .i32)
        case .i32ShrS: binary(.shrS, .i32)
        case .i32ShrU: binary(.shrU, .i32)
        case .i32Rotl: binary(.rotl, .i32)
        case .i32Rotr: binary(.rotr, .i32)
        case .i64Add: binary(.add, .i64)
        case .i64Sub: binary(.sub, .i64)
        case .i64Mul: binary(.mul, .i64)
        case .i64DivS: binary(.divS, .i64)
        case .i64DivU: binary(.divU, .i64)
        case .i64RemS: binary(.remS, .i64)
        case .i64RemU: binary(.remU, .i64)
        case .i64And: binary(.and, .i64)
        case .i64Or: binary(.or, .i64)
        case .i64Xor: binary(.xor, .i64)
        case .i64Shl: binary(.shl, .i64)
        case .i64ShrS: binary(.shrS, .i64)
        case .i64ShrU: binary(.shrU, .i64)
        case .i64Rotl: binary(.rotl, .i64)
        case .i64Rotr: binary(.rotr, .i64)
        case .i32WrapI64: unary(.wrap, .i32)
        case .i64ExtendI32S: unary(.extendI32S, .i64)
        case .i64ExtendI32U: unary(.extendI32U, .i64)
        case .i32Extend8S: unary(.extend8S, .i32)
        case .i32Extend16S: unary(.extend16S, .i32)
        case .i64Extend8S: unary(.extend8S, .i64)
        case .i64Extend16S: unary(.extend16S, .i64)
        case .i64Extend32S: unary(.extend32S, .i64)
        default:
            let signature = op.signature
            let args = pop(signature.operands.count)
            push1(.float(op), args, signature.result)
        }
    }
}
