import RuntimeABI
import WasmCore
import WasmDecoder
import X64

/// The optimizing tier's intermediate form: SSA values in basic blocks with block parameters
/// (Cranelift's form of phis). Built from a validated function body by `SSABuilder`, rewritten by
/// the passes, then register-allocated and emitted by `CodeGen`.
///
/// i32, i64, f32 and f64 values are represented; a function using anything else (v128,
/// references, bulk memory and table instructions) is refused by the builder and compiled by
/// the baseline tier.
public struct Value: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let id: Int
    public init(_ id: Int) { self.id = id }
    public static func < (a: Value, b: Value) -> Bool { a.id < b.id }
    public var description: String { "v\(id)" }
}

/// Integer comparisons (the result is an i32 0 or 1).
public enum CompareOp: String, Sendable, CaseIterable {
    case eq, ne, ltS = "lt_s", ltU = "lt_u", gtS = "gt_s", gtU = "gt_u", leS = "le_s", leU = "le_u", geS = "ge_s", geU = "ge_u"
}

public enum BinaryOp: String, Sendable, CaseIterable {
    case add, sub, mul, and, or, xor, shl, shrS = "shr_s", shrU = "shr_u", rotl, rotr
    case divS = "div_s", divU = "div_u", remS = "rem_s", remU = "rem_u"

    /// May trap (a zero divisor, or MIN / -1): never removed, moved or merged.
    var mayTrap: Bool {
        switch self {
        case .divS, .divU, .remS, .remU: true
        default: false
        }
    }
    var isCommutative: Bool {
        switch self {
        case .add, .mul, .and, .or, .xor: true
        default: false
        }
    }
}

public enum UnaryOp: String, Sendable, CaseIterable {
    case eqz, clz, ctz, popcnt
    case extend8S = "extend8_s", extend16S = "extend16_s", extend32S = "extend32_s"
    /// i64 -> i32.
    case wrap
    /// i32 -> i64.
    case extendI32S = "extend_i32_s", extendI32U = "extend_i32_u"
}

public enum Op: Sendable, Hashable {
    case const(UInt64)
    case binary(BinaryOp)
    case compare(CompareOp)
    case unary(UnaryOp)
    /// args: condition, value if non-zero, value if zero.
    case select
    /// args: address.
    case load(LoadOp, offset: UInt32)
    /// args: address, value.
    case store(StoreOp, offset: UInt32)
    case globalGet(Int)
    /// args: value.
    case globalSet(Int)
    /// args: the callee's params; results: its results.
    case call(Int)
    /// args: the params, then the table index.
    case callIndirect(typeIndex: Int, table: Int)
    case memorySize
    /// args: delta pages.
    case memoryGrow
    /// args: destination, byte value, length (the runtime's builtin; traps out of bounds).
    case memoryFill
    /// args: destination, source, length.
    case memoryCopy
    /// A call of a runtime builtin with the baseline's register assignment (table.grow/fill/copy/
    /// init, elem.drop, memory.init, data.drop): args go to `argRegs`, constants to `constRegs`.
    case builtin(BuiltinCall)
    /// The funcref of function i. results: funcref.
    case refFunc(Int)
    /// args: index. results: the element (bounds-checked).
    case tableGet(Int)
    /// args: index, value.
    case tableSet(Int)
    case tableSize(Int)
    /// A numeric operator with a float operand or result (arithmetic, comparisons, conversions,
    /// reinterpretations), with the baseline's semantics; args per its signature.
    case float(NumericOp)

    /// Whether the instruction may be removed when its results are unused.
    var isPure: Bool {
        switch self {
        case .const, .compare, .unary, .select, .globalGet, .memorySize, .refFunc, .tableSize: true
        case .binary(let op): !op.mayTrap
        case .float(let op): !Op.trappingTruncations.contains(op)
        case .load, .store, .globalSet, .call, .callIndirect, .memoryGrow, .memoryFill, .memoryCopy, .builtin, .tableGet, .tableSet: false
        }
    }

    static let trappingTruncations: Set<NumericOp> = [.i32TruncF32S, .i32TruncF32U, .i32TruncF64S, .i32TruncF64U,
                                                      .i64TruncF32S, .i64TruncF32U, .i64TruncF64S, .i64TruncF64U]

    /// Whether the instruction clobbers every allocatable register (calls out).
    var isCall: Bool {
        switch self {
        case .call, .callIndirect, .memoryGrow, .memoryFill, .memoryCopy, .builtin: true
        default: false
        }
    }
}

public struct BuiltinCall: Sendable, Hashable {
    public var builtin: Builtin
    public var argRegs: [Reg]
    public var constRegs: [Reg]
    public var constants: [Int64]
    /// An i32 result in eax.
    public var hasResult: Bool
    /// eax is a trap code.
    public var traps: Bool
}

public struct Inst: Sendable {
    public var op: Op
    public var args: [Value]
    public var results: [Value]
}

/// A branch to `target`, passing `args` to its params.
public struct Edge: Sendable {
    public var target: Int
    public var args: [Value]
}

public enum Terminator: Sendable {
    case jump(Edge)
    /// To `then` when the i32 `condition` is non-zero.
    case branch(condition: Value, then: Edge, else: Edge)
    case table(index: Value, targets: [Edge], default: Edge)
    case ret([Value])
    case trap(TrapCode)

    var edges: [Edge] {
        switch self {
        case .jump(let e): [e]
        case .branch(_, let t, let e): [t, e]
        case .table(_, let targets, let d): targets + [d]
        case .ret, .trap: []
        }
    }

    mutating func mapEdges(_ f: (inout Edge) -> Void) {
        switch self {
        case .jump(var e):
            f(&e)
            self = .jump(e)
        case .branch(let c, var t, var e):
            f(&t)
            f(&e)
            self = .branch(condition: c, then: t, else: e)
        case .table(let i, var targets, var d):
            for k in targets.indices { f(&targets[k]) }
            f(&d)
            self = .table(index: i, targets: targets, default: d)
        case .ret, .trap: break
        }
    }

    /// Values the terminator reads, edge arguments included.
    var uses: [Value] {
        var out: [Value] = []
        switch self {
        case .branch(let c, _, _): out.append(c)
        case .table(let i, _, _): out.append(i)
        case .ret(let values): out += values
        case .jump, .trap: break
        }
        for e in edges { out += e.args }
        return out
    }

    mutating func mapUses(_ f: (Value) -> Value) {
        switch self {
        case .branch(let c, let t, let e): self = .branch(condition: f(c), then: t, else: e)
        case .table(let i, let ts, let d): self = .table(index: f(i), targets: ts, default: d)
        case .ret(let values): self = .ret(values.map(f))
        case .jump, .trap: break
        }
        mapEdges { e in e.args = e.args.map(f) }
    }
}

public struct Block: Sendable {
    public var params: [Value] = []
    public var insts: [Inst] = []
    public var terminator: Terminator = .trap(.unreachable)
    /// A wasm loop header: where the yield and fuel checks go. Never merged into a predecessor.
    public var isLoopHeader = false
}

/// One function in SSA form. Block 0 is the entry; its params are the function's params. The
/// order of `blocks` is the code layout order.
public struct IRFunction: Sendable {
    public var blocks: [Block] = []
    /// The type of each value, by id.
    public var types: [ValueType] = []
    public var resultTypes: [ValueType] = []

    mutating func newValue(_ type: ValueType) -> Value {
        types.append(type)
        return Value(types.count - 1)
    }

    /// The constant each constant value holds.
    func constants() -> [Value: UInt64] {
        var out: [Value: UInt64] = [:]
        for block in blocks {
            for inst in block.insts { if case .const(let bits) = inst.op { out[inst.results[0]] = bits } }
        }
        return out
    }

    /// Replaces every use of a value by its image under `map` (followed to a fixed point).
    mutating func substitute(_ map: [Value: Value]) {
        guard !map.isEmpty else { return }
        func resolve(_ v: Value) -> Value {
            var v = v
            while let next = map[v], next != v { v = next }
            return v
        }
        for b in blocks.indices {
            for i in blocks[b].insts.indices { blocks[b].insts[i].args = blocks[b].insts[i].args.map(resolve) }
            blocks[b].terminator.mapUses(resolve)
        }
    }

    /// Predecessor block indices of each block (one entry per edge).
    func predecessors() -> [[Int]] {
        var preds = Array(repeating: [Int](), count: blocks.count)
        for (b, block) in blocks.enumerated() {
            for e in block.terminator.edges { preds[e.target].append(b) }
        }
        return preds
    }
}

// MARK: Printing

extension IRFunction: CustomStringConvertible {
    /// The function as text, values renumbered in order of definition (so that golden tests do
    /// not depend on how many values construction and the passes made and dropped).
    public var description: String {
        var number: [Value: Int] = [:]
        for block in blocks {
            for p in block.params { number[p] = number.count }
            for inst in block.insts { for r in inst.results { number[r] = number.count } }
        }
        func name(_ v: Value) -> String { number[v].map { "v\($0)" } ?? "?\(v.id)" }
        var out = ""
        for (b, block) in blocks.enumerated() {
            let params = block.params.map { "\(name($0)): \(types[$0.id])" }.joined(separator: ", ")
            out += "block\(b)(\(params))\(block.isLoopHeader ? " loop" : ""):\n"
            for inst in block.insts { out += "  \(describe(inst, name))\n" }
            out += "  \(describe(block.terminator, name))\n"
        }
        return out
    }

    func describe(_ inst: Inst, _ name: (Value) -> String) -> String {
        let results = inst.results.isEmpty ? "" : inst.results.map(name).joined(separator: ", ") + " = "
        let type = inst.results.first.map { "\(types[$0.id])." } ?? ""
        let args = inst.args.map(name).joined(separator: ", ")
        let opName: String
        switch inst.op {
        case .const(let bits):
            let t = types[inst.results[0].id]
            let shown = switch t {
            case .i32: String(Int32(bitPattern: UInt32(truncatingIfNeeded: bits)))
            case .f32: "\(Float(bitPattern: UInt32(truncatingIfNeeded: bits)))"
            case .f64: "\(Double(bitPattern: bits))"
            default: String(Int64(bitPattern: bits))
            }
            return "\(results)\(t).const \(shown)"
        case .binary(let op): opName = "\(type)\(op.rawValue)"
        case .compare(let op): opName = "\(types[inst.args[0].id]).\(op.rawValue)"
        case .unary(let op): opName = "\(type)\(op.rawValue)"
        case .select: opName = "select"
        case .load(let op, let offset): opName = "\(op)" + (offset == 0 ? "" : " offset=\(offset)")
        case .store(let op, let offset): opName = "\(op)" + (offset == 0 ? "" : " offset=\(offset)")
        case .globalGet(let i): opName = "global.get \(i)"
        case .globalSet(let i): opName = "global.set \(i)"
        case .call(let f): opName = "call \(f)"
        case .callIndirect(let t, let table): opName = "call_indirect type=\(t) table=\(table)"
        case .memorySize: opName = "memory.size"
        case .memoryGrow: opName = "memory.grow"
        case .memoryFill: opName = "memory.fill"
        case .memoryCopy: opName = "memory.copy"
        case .builtin(let call): opName = "builtin \(call.builtin)" + (call.constants.isEmpty ? "" : " \(call.constants)")
        case .refFunc(let i): opName = "ref.func \(i)"
        case .tableGet(let t): opName = "table.get \(t)"
        case .tableSet(let t): opName = "table.set \(t)"
        case .tableSize(let t): opName = "table.size \(t)"
        case .float(let op): opName = "\(op)"
        }
        return results + opName + (args.isEmpty ? "" : " " + args)
    }

    func describe(_ edge: Edge, _ name: (Value) -> String) -> String {
        "block\(edge.target)(\(edge.args.map(name).joined(separator: ", ")))"
    }

    func describe(_ t: Terminator, _ name: (Value) -> String) -> String {
        switch t {
        case .jump(let e): "jump \(describe(e, name))"
        case .branch(let c, let a, let b): "br_if \(name(c)), \(describe(a, name)), \(describe(b, name))"
        case .table(let i, let ts, let d): "br_table \(name(i)), [\(ts.map { describe($0, name) }.joined(separator: ", "))], \(describe(d, name))"
        case .ret(let vs): "return" + (vs.isEmpty ? "" : " " + vs.map(name).joined(separator: ", "))
        case .trap(let code): "trap \(code)"
        }
    }
}
