import Foundation
import FuzzSupport

/// Shoal's own module generator, for what wasm-smith rarely makes: many values live at once.
///
/// smith's bodies seldom keep more than a handful of operands on the stack, so a single-pass
/// compiler's register allocator is hardly ever pushed to its last registers, or to spilling, by
/// them (the rbx/r12/r13 ABI bug went unseen by 1,000s of smith modules). This generator writes
/// typed expression trees whose "wide" nodes push 6 to 20 values of mixed types before folding them,
/// multi-value calls, blocks and returns, calls (direct and indirect) while values are live,
/// bounded loops, selects, branches out of blocks with values, and loads and stores.
///
/// Every module is valid by construction and terminates (function i calls only functions above i;
/// loops count down from at most 4). It avoids what WebAssembly leaves nondeterministic or what
/// would only trap: floats are never reinterpreted as integers, copysign is not used, a float is
/// made the canonical NaN before it is stored (memory would show its payload), division is by a
/// nonzero positive value, float-to-int conversions saturate, addresses are masked into the page.
struct PressureGenerator {
    typealias Kind = Num.Kind
    struct Signature: Hashable {
        var params: [Kind]
        var results: [Kind]
    }

    var rng: SplitMix64
    var functions: [Signature] = []
    /// Function types first (type i is function i's), then block types as they are needed.
    var types: [Signature] = []
    // The function being written.
    var current = 0
    var locals: [Kind] = []
    /// Locals that statements may assign (not parameters' scratch or loop counters).
    var general: [Kind: [Int]] = [:]
    var scratch: [Kind: Int] = [:]
    var counters: [Int] = []
    var budget = 0
    var loopDepth = 0

    init(seed: UInt64, index: Int) {
        rng = Generator.stream(seed: seed ^ 0x5052_4553_5355_5245, index: index)  // "PRESSURE"
    }

    static func kindCode(_ k: Kind) -> UInt8 { [.i32: 0x7F, .i64: 0x7E, .f32: 0x7D, .f64: 0x7C][k]! }

    mutating func pick<T>(_ xs: [T]) -> T { xs[rng.below(xs.count)] }
    mutating func randomKind() -> Kind { pick(Kind.allCases) }

    /// The module and the calls to make (every function is exported as f0, f1, ...).
    mutating func generate() -> (bytes: [UInt8], calls: [Call]) {
        let count = 2 + rng.below(5)
        for _ in 0..<count {
            let params = (0..<rng.below(9)).map { _ in randomKind() }
            let results = (0..<[0, 1, 1, 2, 3, 4][rng.below(6)]).map { _ in randomKind() }
            functions.append(Signature(params: params, results: results))
        }
        types = functions
        var bodies: [[UInt8]] = []
        for i in 0..<count { bodies.append(function(i)) }

        var calls: [Call] = []
        for (i, f) in functions.enumerated() {
            for wild in [false, true] {
                calls.append(Call(export: "f\(i)", arguments: f.params.map { Generator.argument($0, wild: wild, rng: &rng) }, resultKinds: f.results))
            }
        }
        return (assemble(bodies), calls)
    }

    // MARK: functions

    mutating func function(_ index: Int) -> [UInt8] {
        current = index
        let sig = functions[index]
        locals = sig.params
        general = [:]
        for (i, k) in sig.params.enumerated() { general[k, default: []].append(i) }
        for k in Kind.allCases {
            for _ in 0..<(1 + rng.below(3)) {
                general[k, default: []].append(locals.count)
                locals.append(k)
            }
            scratch[k] = locals.count
            locals.append(k)
        }
        counters = (0..<3).map { _ in
            locals.append(.i32)
            return locals.count - 1
        }
        budget = 150 + rng.below(450)
        loopDepth = 0
        var code: [UInt8] = []
        for _ in 0..<(1 + rng.below(6)) { code += statement(depth: 3) }
        // The results, all live together, then the end.
        for k in sig.results { code += expr(k, depth: 4) }
        code += [0x0B]
        // Locals: one entry per local (after the parameters).
        let declared = locals[sig.params.count...]
        var header = uleb(declared.count)
        for k in declared { header += [0x01, Self.kindCode(k)] }
        let body = header + code
        return uleb(body.count) + body
    }

    // MARK: statements

    mutating func statement(depth: Int) -> [UInt8] {
        budget -= 1
        let choice = depth <= 0 || budget <= 0 ? rng.below(3) : rng.below(10)
        switch choice {
        case 0, 1:
            let k = randomKind()
            return expr(k, depth: depth) + [0x21] + uleb(pick(general[k]!))  // local.set
        case 2:
            let k = randomKind()
            return expr(k, depth: depth) + [0x24] + uleb(Kind.allCases.firstIndex(of: k)!)  // global.set
        case 3: return store(depth: depth)
        case 4:  // if/else
            var code = expr(.i32, depth: depth - 1) + [0x04, 0x40]
            for _ in 0..<(1 + rng.below(3)) { code += statement(depth: depth - 1) }
            if rng.below(2) == 0 {
                code += [0x05]
                for _ in 0..<(1 + rng.below(3)) { code += statement(depth: depth - 1) }
            }
            return code + [0x0B]
        case 5 where loopDepth < counters.count:  // a loop of 1 to 4 rounds
            let counter = counters[loopDepth]
            loopDepth += 1
            var code: [UInt8] = [0x41] + sleb(Int64(1 + rng.below(4))) + [0x21] + uleb(counter) + [0x03, 0x40]
            for _ in 0..<(1 + rng.below(3)) { code += statement(depth: depth - 1) }
            code += [0x20] + uleb(counter) + [0x41, 0x01, 0x6B, 0x22] + uleb(counter) + [0x0D, 0x00, 0x0B]
            loopDepth -= 1
            return code
        case 6:  // a call whose results are dropped
            guard let callee = callee(where: { _ in true }) else { return statement(depth: 0) }
            return call(callee, depth: depth) + Array(repeating: 0x1A, count: functions[callee].results.count)
        case 7:  // an early return under a condition, with all results live
            var code = expr(.i32, depth: 1) + [0x04, 0x40]
            for k in functions[current].results { code += expr(k, depth: depth - 1) }
            return code + [0x0F, 0x0B]
        case 8:  // a multi-value block, folded into a local
            let k = randomKind()
            return multiValueBlock(k, depth: depth) + [0x21] + uleb(pick(general[k]!))
        default:
            let k = randomKind()
            return expr(k, depth: depth) + [0x21] + uleb(pick(general[k]!))
        }
    }

    mutating func store(depth: Int) -> [UInt8] {
        let k = randomKind()
        let (op, align, width): (UInt8, Int, Int) = switch k {
        case .i32: pick([(0x36, 2, 4), (0x3A, 0, 1), (0x3B, 1, 2)])
        case .i64: pick([(0x37, 3, 8), (0x3C, 0, 1), (0x3D, 1, 2), (0x3E, 2, 4)])
        case .f32: (0x38, 2, 4)
        case .f64: (0x39, 3, 8)
        }
        _ = width
        var value = expr(k, depth: depth - 1)
        if k == .f32 || k == .f64 { value += canonicalizeNaN(k) }
        return address(depth: depth - 1) + value + [op] + uleb(rng.below(align + 1)) + uleb(rng.below(0x7000))
    }

    /// An address in [0, 0x8000) (8-aligned); with offsets below 0x7000 and 8-byte accesses, every
    /// access stays in the one page.
    mutating func address(depth: Int) -> [UInt8] {
        expr(.i32, depth: depth) + [0x41] + sleb(0x7FF8) + [0x71]
    }

    /// x == x ? x : canonical NaN (through the scratch local): NaN payloads stay out of memory.
    func canonicalizeNaN(_ k: Kind) -> [UInt8] {
        let s = uleb(scratch[k]!)
        let nan: [UInt8] = k == .f32 ? [0x43, 0x00, 0x00, 0xC0, 0x7F] : [0x44, 0, 0, 0, 0, 0, 0, 0xF8, 0x7F]
        return [0x22] + s + nan + [0x20] + s + [0x20] + s + [k == .f32 ? 0x5B : 0x61, 0x1B]
    }

    // MARK: expressions

    mutating func expr(_ k: Kind, depth: Int) -> [UInt8] {
        budget -= 1
        if depth <= 0 || budget <= 0 { return leaf(k) }
        switch rng.below(16) {
        case 0, 1: return leaf(k)
        case 2, 3: return unary(k, depth: depth)
        case 4, 5: return expr(k, depth: depth - 1) + expr(k, depth: depth - 1) + binary(k)
        case 6, 7: return wide(k, depth: depth)
        case 8: return convert(from: randomKind(), depth: depth, to: k)
        case 9:  // a call (direct or indirect) in the middle of the expression, its results folded
            guard let callee = callee(where: { !$0.results.isEmpty }) else { return leaf(k) }
            return call(callee, depth: depth - 1) + fold(functions[callee].results, into: k)
        case 10: return multiValueBlock(k, depth: depth)
        case 11:  // if/else with a result
            return expr(.i32, depth: depth - 1) + [0x04, Self.kindCode(k)] + expr(k, depth: depth - 1) + [0x05]
                + expr(k, depth: depth - 1) + [0x0B]
        case 12:  // select
            return expr(k, depth: depth - 1) + expr(k, depth: depth - 1) + expr(.i32, depth: depth - 1) + [0x1B]
        case 13:  // block (result k): a value, a conditional branch out with it, else another
            return [0x02, Self.kindCode(k)] + expr(k, depth: depth - 1) + expr(.i32, depth: depth - 1) + [0x0D, 0x00, 0x1A]
                + expr(k, depth: depth - 1) + [0x0B]
        case 14: return load(k, depth: depth)
        default:  // local.tee into a general local, keeping the value
            return expr(k, depth: depth - 1) + [0x22] + uleb(pick(general[k]!))
        }
    }

    mutating func leaf(_ k: Kind) -> [UInt8] {
        switch rng.below(5) {
        case 0, 1: return [0x20] + uleb(pick(general[k]!))  // local.get
        case 2: return [0x23] + uleb(Kind.allCases.firstIndex(of: k)!)  // global.get
        default: return constant(k)
        }
    }

    mutating func constant(_ k: Kind) -> [UInt8] {
        switch Generator.argument(k, wild: rng.below(2) == 0, rng: &rng) {
        case .i32(let v): return [0x41] + sleb(Int64(Int32(bitPattern: v)))
        case .i64(let v): return [0x42] + sleb(Int64(bitPattern: v))
        case .f32(let b): return [0x43] + withUnsafeBytes(of: b.littleEndian) { Array($0) }
        case .f64(let b): return [0x44] + withUnsafeBytes(of: b.littleEndian) { Array($0) }
        }
    }

    /// The register-pressure node: 6 to 20 values of mixed types on the stack at once, then folded.
    mutating func wide(_ k: Kind, depth: Int) -> [UInt8] {
        let kinds = (0..<(6 + rng.below(15))).map { _ in rng.below(3) == 0 ? randomKind() : k }
        var code: [UInt8] = []
        for x in kinds { code += expr(x, depth: min(depth - 1, 1 + rng.below(2))) }
        return code + fold(kinds, into: k)
    }

    /// Reduces values of `kinds` (the last on top) to one of kind `k`: the top is converted to the
    /// kind below it and combined with it, until one is left.
    mutating func fold(_ kinds: [Kind], into k: Kind) -> [UInt8] {
        var code: [UInt8] = []
        var stack = kinds
        while stack.count > 1 {
            let top = stack.removeLast()
            code += conversion(top, stack.last!) + binary(stack.last!)
        }
        return code + conversion(stack[0], k)
    }

    mutating func multiValueBlock(_ k: Kind, depth: Int) -> [UInt8] {
        let kinds = (0..<(2 + rng.below(4))).map { _ in randomKind() }
        let type = blockType(Signature(params: [], results: kinds))
        var code: [UInt8] = [0x02] + sleb(Int64(type))
        for x in kinds { code += expr(x, depth: depth - 1) }
        return code + [0x0B] + fold(kinds, into: k)
    }

    mutating func blockType(_ s: Signature) -> Int {
        if let i = types.firstIndex(of: s) { return i }
        types.append(s)
        return types.count - 1
    }

    /// A function above the current one (so calls always end), or nil.
    mutating func callee(where ok: (Signature) -> Bool) -> Int? {
        let candidates = ((current + 1)..<functions.count).filter { ok(functions[$0]) }
        return candidates.isEmpty ? nil : pick(candidates)
    }

    mutating func call(_ callee: Int, depth: Int) -> [UInt8] {
        var code: [UInt8] = []
        for p in functions[callee].params { code += expr(p, depth: min(depth, 2)) }
        if rng.below(3) == 0 {  // call_indirect through the table, whose element i is function i
            return code + [0x41] + sleb(Int64(callee)) + [0x11] + uleb(callee) + [0x00]
        }
        return code + [0x10] + uleb(callee)
    }

    mutating func load(_ k: Kind, depth: Int) -> [UInt8] {
        let (op, align): (UInt8, Int) = switch k {
        case .i32: pick([(0x28, 2), (0x2C, 0), (0x2D, 0), (0x2E, 1), (0x2F, 1)])
        case .i64: pick([(0x29, 3), (0x30, 0), (0x31, 0), (0x32, 1), (0x33, 1), (0x34, 2), (0x35, 2)])
        case .f32: (0x2A, 2)
        case .f64: (0x2B, 3)
        }
        return address(depth: depth - 1) + [op] + uleb(rng.below(align + 1)) + uleb(rng.below(0x7000))
    }

    mutating func unary(_ k: Kind, depth: Int) -> [UInt8] {
        switch k {
        case .i32:
            if rng.below(3) == 0 {  // a comparison of another kind's values
                let x = randomKind()
                let op: UInt8 = switch x {
                case .i32: UInt8(0x46 + rng.below(10))
                case .i64: UInt8(0x51 + rng.below(10))
                case .f32: UInt8(0x5B + rng.below(6))
                case .f64: UInt8(0x61 + rng.below(6))
                }
                return expr(x, depth: depth - 1) + expr(x, depth: depth - 1) + [op]
            }
            return expr(k, depth: depth - 1) + [pick([0x45, 0x67, 0x68, 0x69, 0xC0, 0xC1])]
        case .i64: return expr(k, depth: depth - 1) + [pick([0x79, 0x7A, 0x7B, 0xC2, 0xC3, 0xC4])]
        case .f32: return expr(k, depth: depth - 1) + [UInt8(0x8B + rng.below(7))]
        case .f64: return expr(k, depth: depth - 1) + [UInt8(0x99 + rng.below(7))]
        }
    }

    /// A binary operator on two values of kind `k` (both already on the stack). Division and
    /// remainder get a divisor made positive and nonzero first.
    mutating func binary(_ k: Kind) -> [UInt8] {
        switch k {
        case .i32:
            let op = UInt8(0x6A + rng.below(15))
            if (0x6D...0x70).contains(op) { return [0x41] + sleb(0x7FFF) + [0x71, 0x41, 0x01, 0x72, op] }
            return [op]
        case .i64:
            let op = UInt8(0x7C + rng.below(15))
            if (0x7F...0x82).contains(op) { return [0x42] + sleb(0x7FFF) + [0x83, 0x42, 0x01, 0x84, op] }
            return [op]
        case .f32: return [UInt8(0x92 + rng.below(6))]  // add sub mul div min max
        case .f64: return [UInt8(0xA0 + rng.below(6))]
        }
    }

    mutating func convert(from x: Kind, depth: Int, to k: Kind) -> [UInt8] {
        expr(x, depth: depth - 1) + conversion(x, k)
    }

    /// Converts the top of the stack from `a` to `b` (saturating float-to-int; integers may be
    /// reinterpreted as floats, never the other way).
    mutating func conversion(_ a: Kind, _ b: Kind) -> [UInt8] {
        switch (a, b) {
        case (.i32, .i32), (.i64, .i64), (.f32, .f32), (.f64, .f64): return []
        case (.i32, .i64): return [pick([0xAC, 0xAD])]
        case (.i64, .i32): return [0xA7]
        case (.i32, .f32): return [pick([0xB2, 0xB3, 0xBE])]
        case (.i32, .f64): return [pick([0xB7, 0xB8])]
        case (.i64, .f32): return [pick([0xB4, 0xB5])]
        case (.i64, .f64): return [pick([0xB9, 0xBA, 0xBF])]
        case (.f32, .i32): return [0xFC, UInt8(rng.below(2))]
        case (.f64, .i32): return [0xFC, UInt8(2 + rng.below(2))]
        case (.f32, .i64): return [0xFC, UInt8(4 + rng.below(2))]
        case (.f64, .i64): return [0xFC, UInt8(6 + rng.below(2))]
        case (.f32, .f64): return [0xBB]
        case (.f64, .f32): return [0xB6]
        }
    }

    // MARK: the module

    mutating func assemble(_ bodies: [[UInt8]]) -> [UInt8] {
        func section(_ id: UInt8, _ body: [UInt8]) -> [UInt8] { [id] + uleb(body.count) + body }
        let n = functions.count
        var typeSection = uleb(types.count)
        for t in types {
            typeSection += [0x60] + uleb(t.params.count) + t.params.map(Self.kindCode) + uleb(t.results.count) + t.results.map(Self.kindCode)
        }
        var functionSection = uleb(n)
        for i in 0..<n { functionSection += uleb(i) }
        let tableSection = uleb(1) + [0x70, 0x00] + uleb(n)  // funcref, min n
        let memorySection = uleb(1) + [0x00, 0x01]  // one page, no maximum
        var globalSection = uleb(4)
        for k in Kind.allCases { globalSection += [Self.kindCode(k), 0x01] + constant(k) + [0x0B] }
        var exportSection = uleb(n)
        for i in 0..<n {
            let name = Array("f\(i)".utf8)
            exportSection += uleb(name.count) + name + [0x00] + uleb(i)
        }
        var elementSection = uleb(1) + [0x00, 0x41, 0x00, 0x0B] + uleb(n)
        for i in 0..<n { elementSection += uleb(i) }
        let bytes = (0..<64).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let dataSection = uleb(1) + [0x00, 0x41] + sleb(Int64(rng.below(0x7000))) + [0x0B] + uleb(bytes.count) + bytes
        var codeSection = uleb(n)
        for b in bodies { codeSection += b }
        return [0x00, 0x61, 0x73, 0x6D, 0x01, 0x00, 0x00, 0x00]
            + section(1, typeSection) + section(3, functionSection) + section(4, tableSection) + section(5, memorySection)
            + section(6, globalSection) + section(7, exportSection) + section(9, elementSection) + section(10, codeSection)
            + section(11, dataSection)
    }
}

func uleb(_ value: Int) -> [UInt8] {
    var v = UInt(value), out: [UInt8] = []
    repeat {
        var byte = UInt8(v & 0x7F)
        v >>= 7
        if v != 0 { byte |= 0x80 }
        out.append(byte)
    } while v != 0
    return out
}

func sleb(_ value: Int64) -> [UInt8] {
    var v = value, out: [UInt8] = []
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
