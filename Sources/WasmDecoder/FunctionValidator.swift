import WasmCore

/// Type-checks a function body one instruction at a time: the operand-stack algorithm of the spec's
/// validation appendix, with the polymorphic stack after `unreachable`, `br`, `br_table` and `return`.
///
/// It is driven from outside (`validate(_:at:)` per instruction) so that a single-pass compiler can run
/// it in lockstep with code generation and read the operand types and control frames it keeps.
public struct FunctionValidator: Sendable {
    public struct ControlFrame: Sendable {
        public enum Kind: Sendable { case function, block, loop, `if`, `else` }
        public var kind: Kind
        public var params: [ValueType]
        public var results: [ValueType]
        /// Operand stack height when the frame was entered (below its params).
        public var height: Int
        /// Set after an unconditional branch: the rest of the frame is unreachable and its stack
        /// polymorphic.
        public var unreachable: Bool
        /// The types a branch to this frame's label carries.
        public var labelTypes: [ValueType] { kind == .loop ? params : results }
    }

    public let context: ValidationContext
    public let type: FuncType
    /// Operand types; `nil` is the unknown type of the polymorphic stack.
    public private(set) var operands: [ValueType?] = []
    public private(set) var frames: [ControlFrame] = [] {
        didSet { syncTop() }
    }
    private let locals: LocalTypes
    /// Copies of the innermost frame's `height` and `unreachable`, read on every pop without
    /// copying the frame (whose type arrays would cost a retain and release each time).
    private var topHeight = 0
    private var topUnreachable = false

    @inline(__always)
    private mutating func syncTop() {
        if let last = frames.last {
            topHeight = last.height
            topUnreachable = last.unreachable
        }
    }

    /// Whether the function's final `end` has been seen.
    public var isFinished: Bool { frames.isEmpty }

    public init(context: ValidationContext, type: FuncType, localCounts: [UInt32], localTypes: [ValueType]) {
        self.context = context
        self.type = type
        self.locals = LocalTypes(params: type.params, counts: localCounts, types: localTypes)
        frames.append(ControlFrame(kind: .function, params: [], results: type.results, height: 0, unreachable: false))
        syncTop()
        operands.reserveCapacity(16)
    }

    public func localType(_ index: UInt32) -> ValueType? { locals[index] }

    // MARK: Operand stack

    @inline(__always)
    mutating func push(_ t: ValueType?) { operands.append(t) }

    @inline(__always)
    mutating func pop(at offset: Int) throws(WasmError) -> ValueType? {
        if operands.count == topHeight {
            if topUnreachable { return nil }
            throw .invalid("type mismatch", at: offset)
        }
        return operands.removeLast()
    }

    @inline(__always)
    @discardableResult
    mutating func pop(_ expected: ValueType, at offset: Int) throws(WasmError) -> ValueType {
        let actual = try pop(at: offset)
        if let actual, actual != expected { throw .invalid("type mismatch", at: offset) }
        return expected
    }

    mutating func pop(_ expected: [ValueType], at offset: Int) throws(WasmError) {
        for t in expected.reversed() { try pop(t, at: offset) }
    }

    /// Pops `expected` and returns what was actually there (unknowns stay unknown), for br_table.
    mutating func popKeepingTypes(_ expected: [ValueType], at offset: Int) throws(WasmError) -> [ValueType?] {
        var popped = [ValueType?](repeating: nil, count: expected.count)
        for i in stride(from: expected.count - 1, through: 0, by: -1) {
            let actual = try pop(at: offset)
            if let actual, actual != expected[i] { throw .invalid("type mismatch", at: offset) }
            popped[i] = actual
        }
        return popped
    }

    mutating func push(_ types: [ValueType]) {
        for t in types { operands.append(t) }
    }

    mutating func markUnreachable() {
        operands.removeSubrange(frames[frames.count - 1].height...)
        frames[frames.count - 1].unreachable = true
    }

    mutating func pushFrame(_ kind: ControlFrame.Kind, _ blockType: BlockType, at offset: Int) throws(WasmError) {
        let (params, results) = try expand(blockType, at: offset)
        try pop(params, at: offset)
        frames.append(ControlFrame(kind: kind, params: params, results: results, height: operands.count, unreachable: false))
        push(params)
    }

    mutating func popFrame(at offset: Int) throws(WasmError) -> ControlFrame {
        let frame = frames[frames.count - 1]
        try pop(frame.results, at: offset)
        guard operands.count == frame.height else { throw .invalid("type mismatch", at: offset) }
        frames.removeLast()
        return frame
    }

    func expand(_ blockType: BlockType, at offset: Int) throws(WasmError) -> (params: [ValueType], results: [ValueType]) {
        switch blockType {
        case .empty: return ([], [])
        case .value(let t): return ([], t.asList)
        case .typeIndex(let i):
            let t = try context.type(i, at: offset)
            return (t.params, t.results)
        }
    }

    func label(_ depth: UInt32, at offset: Int) throws(WasmError) -> [ValueType] {
        guard Int(depth) < frames.count else { throw .invalid("unknown label", at: offset) }
        return frames[frames.count - 1 - Int(depth)].labelTypes
    }

    // MARK: Instructions

    /// Checks one instruction at byte `offset` and applies its effect on the operand and control stacks.
    public mutating func validate(_ instruction: Instruction, at offset: Int) throws(WasmError) {
        switch instruction {
        case .unreachable: markUnreachable()
        case .nop: break
        case .block(let bt): try pushFrame(.block, bt, at: offset)
        case .loop(let bt): try pushFrame(.loop, bt, at: offset)
        case .if(let bt):
            try pop(.i32, at: offset)
            try pushFrame(.if, bt, at: offset)
        case .else:
            guard frames.count > 1, frames[frames.count - 1].kind == .if else {
                throw .malformed("else without matching if", at: offset)
            }
            let frame = try popFrame(at: offset)
            frames.append(ControlFrame(kind: .else, params: frame.params, results: frame.results, height: operands.count, unreachable: false))
            push(frame.params)
        case .end:
            let frame = try popFrame(at: offset)
            // An `if` without `else` behaves as if its else branch passed its params through.
            if frame.kind == .if && frame.params != frame.results { throw .invalid("type mismatch", at: offset) }
            if frame.kind != .function { push(frame.results) }
        case .br(let depth):
            try pop(try label(depth, at: offset), at: offset)
            markUnreachable()
        case .brIf(let depth):
            try pop(.i32, at: offset)
            let types = try label(depth, at: offset)
            try pop(types, at: offset)
            push(types)
        case .brTable(let targets, let defaultTarget):
            try pop(.i32, at: offset)
            let defaultTypes = try label(defaultTarget, at: offset)
            for target in targets {
                let types = try label(target, at: offset)
                guard types.count == defaultTypes.count else { throw .invalid("type mismatch", at: offset) }
                for t in try popKeepingTypes(types, at: offset) { push(t) }
            }
            try pop(defaultTypes, at: offset)
            markUnreachable()
        case .return:
            try pop(type.results, at: offset)
            markUnreachable()
        case .call(let index):
            let t = try context.functionType(index, at: offset)
            try pop(t.params, at: offset)
            push(t.results)
        case .callIndirect(let typeIndex, let tableIndex):
            let table = try context.table(tableIndex, at: offset)
            guard table.elementType == .funcref else { throw .invalid("type mismatch", at: offset) }
            let t = try context.type(typeIndex, at: offset)
            try pop(.i32, at: offset)
            try pop(t.params, at: offset)
            push(t.results)
        case .refNull(let t): push(t.valueType)
        case .refIsNull:
            if let t = try pop(at: offset), !t.isReference { throw .invalid("type mismatch", at: offset) }
            push(.i32)
        case .refFunc(let index):
            _ = try context.functionType(index, at: offset)
            guard context.declaredFunctions.contains(index) else {
                throw .invalid("undeclared function reference", at: offset)
            }
            push(.funcref)
        case .drop: _ = try pop(at: offset)
        case .select:
            try pop(.i32, at: offset)
            let t1 = try pop(at: offset)
            let t2 = try pop(at: offset)
            if let t1, t1.isReference { throw .invalid("type mismatch", at: offset) }
            if let t2, t2.isReference { throw .invalid("type mismatch", at: offset) }
            if let t1, let t2, t1 != t2 { throw .invalid("type mismatch", at: offset) }
            push(t1 ?? t2)
        case .selectTyped(let t):
            try pop(.i32, at: offset)
            try pop(t, at: offset)
            try pop(t, at: offset)
            push(t)
        case .localGet(let i): push(try local(i, at: offset))
        case .localSet(let i): try pop(try local(i, at: offset), at: offset)
        case .localTee(let i):
            let t = try local(i, at: offset)
            try pop(t, at: offset)
            push(t)
        case .globalGet(let i): push(try context.global(i, at: offset).valueType)
        case .globalSet(let i):
            let g = try context.global(i, at: offset)
            guard g.isMutable else { throw .invalid("global is immutable", at: offset) }
            try pop(g.valueType, at: offset)
        case .tableGet(let i):
            let t = try context.table(i, at: offset)
            try pop(.i32, at: offset)
            push(t.elementType.valueType)
        case .tableSet(let i):
            let t = try context.table(i, at: offset)
            try pop(t.elementType.valueType, at: offset)
            try pop(.i32, at: offset)
        case .tableInit(let element, let tableIndex):
            let table = try context.table(tableIndex, at: offset)
            let elementType = try context.elementType(element, at: offset)
            guard table.elementType == elementType else { throw .invalid("type mismatch", at: offset) }
            try popI32s(3, at: offset)
        case .elemDrop(let element): _ = try context.elementType(element, at: offset)
        case .tableCopy(let destination, let source):
            let d = try context.table(destination, at: offset)
            let s = try context.table(source, at: offset)
            guard d.elementType == s.elementType else { throw .invalid("type mismatch", at: offset) }
            try popI32s(3, at: offset)
        case .tableGrow(let i):
            let t = try context.table(i, at: offset)
            try pop(.i32, at: offset)
            try pop(t.elementType.valueType, at: offset)
            push(.i32)
        case .tableSize(let i):
            _ = try context.table(i, at: offset)
            push(.i32)
        case .tableFill(let i):
            let t = try context.table(i, at: offset)
            try pop(.i32, at: offset)
            try pop(t.elementType.valueType, at: offset)
            try pop(.i32, at: offset)
        case .load(let op, let memarg):
            try checkMemory(memarg, natural: op.naturalAlignment, at: offset)
            try pop(.i32, at: offset)
            push(op.resultType)
        case .store(let op, let memarg):
            try checkMemory(memarg, natural: op.naturalAlignment, at: offset)
            try pop(op.valueType, at: offset)
            try pop(.i32, at: offset)
        case .memorySize:
            try context.requireMemory(at: offset)
            push(.i32)
        case .memoryGrow:
            try context.requireMemory(at: offset)
            try pop(.i32, at: offset)
            push(.i32)
        case .memoryInit(let segment):
            try context.requireMemory(at: offset)
            try context.requireDataSegment(segment, at: offset)
            try popI32s(3, at: offset)
        case .dataDrop(let segment): try context.requireDataSegment(segment, at: offset)
        case .memoryCopy, .memoryFill:
            try context.requireMemory(at: offset)
            try popI32s(3, at: offset)
        case .i32Const: push(.i32)
        case .i64Const: push(.i64)
        case .f32Const: push(.f32)
        case .f64Const: push(.f64)
        case .numeric(let op): try apply(op.signature, at: offset)
        case .v128Const: push(.v128)
        case .i8x16Shuffle(let lanes):
            for lane in lanes.bytes where lane >= 32 { throw .invalid("invalid lane index", at: offset) }
            try apply(Signatures.binary(.v128, .v128), at: offset)
        case .simd(let op): try apply(op.signature, at: offset)
        case .simdLoad(let op, let memarg):
            try checkMemory(memarg, natural: op.naturalAlignment, at: offset)
            try pop(.i32, at: offset)
            push(.v128)
        case .simdStore(let memarg):
            try checkMemory(memarg, natural: 4, at: offset)
            try pop(.v128, at: offset)
            try pop(.i32, at: offset)
        case .simdExtractLane(let op, let lane):
            guard lane < op.laneCount else { throw .invalid("invalid lane index", at: offset) }
            try pop(.v128, at: offset)
            push(op.scalarType)
        case .simdReplaceLane(let op, let lane):
            guard lane < op.laneCount else { throw .invalid("invalid lane index", at: offset) }
            try pop(op.scalarType, at: offset)
            try pop(.v128, at: offset)
            push(.v128)
        case .simdLoadLane(let op, let memarg, let lane):
            try checkMemory(memarg, natural: op.naturalAlignment, at: offset)
            guard lane < op.laneCount else { throw .invalid("invalid lane index", at: offset) }
            try pop(.v128, at: offset)
            try pop(.i32, at: offset)
            push(.v128)
        case .simdStoreLane(let op, let memarg, let lane):
            try checkMemory(memarg, natural: op.naturalAlignment, at: offset)
            guard lane < op.laneCount else { throw .invalid("invalid lane index", at: offset) }
            try pop(.v128, at: offset)
            try pop(.i32, at: offset)
        }
    }

    @inline(__always)
    mutating func apply(_ signature: OperatorSignature, at offset: Int) throws(WasmError) {
        try pop(signature.operands, at: offset)
        push(signature.result)
    }

    mutating func popI32s(_ n: Int, at offset: Int) throws(WasmError) {
        for _ in 0..<n { try pop(.i32, at: offset) }
    }

    func local(_ index: UInt32, at offset: Int) throws(WasmError) -> ValueType {
        guard let t = locals[index] else { throw .invalid("unknown local \(index)", at: offset) }
        return t
    }

    func checkMemory(_ memarg: MemArg, natural: UInt32, at offset: Int) throws(WasmError) {
        try context.requireMemory(at: offset)
        guard memarg.align <= natural else { throw .invalid("alignment must not be larger than natural", at: offset) }
    }
}

/// The types of a function's parameters and locals, looked up by index without expanding the
/// run-length encoding (a body may declare up to 2^32 - 1 locals in a few bytes).
struct LocalTypes: Sendable {
    let params: [ValueType]
    /// End index (exclusive, counting params) of each run of declared locals.
    let runEnds: [UInt64]
    let runTypes: [ValueType]
    /// Params and locals expanded, when there are few enough (the common case) that a flat array
    /// is cheaper than the binary search; empty otherwise.
    let flat: [ValueType]
    static let flatLimit: UInt64 = 4096

    init(params: [ValueType], counts: [UInt32], types: [ValueType]) {
        self.params = params
        var ends: [UInt64] = []
        ends.reserveCapacity(counts.count)
        var total = UInt64(params.count)
        for c in counts {
            total += UInt64(c)
            ends.append(total)
        }
        self.runEnds = ends
        self.runTypes = types
        if total <= Self.flatLimit {
            var flat = params
            flat.reserveCapacity(Int(total))
            for (c, t) in zip(counts, types) { flat.append(contentsOf: repeatElement(t, count: Int(c))) }
            self.flat = flat
        } else {
            self.flat = []
        }
    }

    @inline(__always)
    subscript(index: UInt32) -> ValueType? {
        let i = Int(index)
        if !flat.isEmpty { return i < flat.count ? flat[i] : nil }
        if i < params.count { return params[i] }
        // Binary search for the first run whose end is past the index.
        var lo = 0
        var hi = runEnds.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if runEnds[mid] > UInt64(index) { hi = mid } else { lo = mid + 1 }
        }
        return lo < runTypes.count ? runTypes[lo] : nil
    }
}
