import Foundation

/// A number crossing the harness: exact bits, so that Shoal's results can be compared with
/// wasmtime's to the last bit (NaNs excepted: any NaN equals any NaN, since wasmtime's CLI prints
/// every NaN as `NaN` and WebAssembly leaves most NaN payloads nondeterministic).
enum Num: Equatable, Sendable {
    case i32(UInt32)
    case i64(UInt64)
    case f32(UInt32)
    case f64(UInt64)

    enum Kind: String, CaseIterable, Sendable { case i32, i64, f32, f64 }

    var kind: Kind {
        switch self {
        case .i32: .i32
        case .i64: .i64
        case .f32: .f32
        case .f64: .f64
        }
    }

    /// Equal, counting every NaN as the same value.
    func matches(_ other: Num) -> Bool {
        switch (self, other) {
        case (.f32(let a), .f32(let b)):
            return a == b || (Float(bitPattern: a).isNaN && Float(bitPattern: b).isNaN)
        case (.f64(let a), .f64(let b)):
            return a == b || (Double(bitPattern: a).isNaN && Double(bitPattern: b).isNaN)
        default:
            return self == other
        }
    }

    /// `i32:-5`, `f64:1.5`, `f32:nan`, `f64:-inf`: readable and exact (Swift prints the shortest
    /// decimal that reads back to the same bits; NaN payloads are not kept).
    var token: String { "\(kind.rawValue):\(text)" }

    /// The value alone, as wasmtime's CLI reads arguments: signed decimal integers, floats in
    /// decimal or `inf`/`-inf`/`NaN`.
    var text: String {
        switch self {
        case .i32(let v): return "\(Int32(bitPattern: v))"
        case .i64(let v): return "\(Int64(bitPattern: v))"
        case .f32(let b):
            let f = Float(bitPattern: b)
            return f.isNaN ? "NaN" : f.isInfinite ? (f < 0 ? "-inf" : "inf") : "\(f)"
        case .f64(let b):
            let d = Double(bitPattern: b)
            return d.isNaN ? "NaN" : d.isInfinite ? (d < 0 ? "-inf" : "inf") : "\(d)"
        }
    }

    /// Reads a token written by `token`.
    init?(token: String) {
        guard let colon = token.firstIndex(of: ":"), let kind = Kind(rawValue: String(token[..<colon])) else { return nil }
        self.init(text: String(token[token.index(after: colon)...]), kind: kind)
    }

    /// Reads a value as `text` writes it, or as wasmtime prints results (integers in signed
    /// decimal, floats as plain decimals such as `340000000000000000000000000000000000000`).
    init?(text: String, kind: Kind) {
        let t = text.trimmingCharacters(in: .whitespaces)
        switch kind {
        case .i32:
            if let v = Int32(t) { self = .i32(UInt32(bitPattern: v)) } else if let v = UInt32(t) { self = .i32(v) } else { return nil }
        case .i64:
            if let v = Int64(t) { self = .i64(UInt64(bitPattern: v)) } else if let v = UInt64(t) { self = .i64(v) } else { return nil }
        case .f32:
            switch t.lowercased() {
            case "nan", "-nan", "+nan": self = .f32(Float.nan.bitPattern)
            case "inf", "+inf", "infinity": self = .f32(Float.infinity.bitPattern)
            case "-inf", "-infinity": self = .f32((-Float.infinity).bitPattern)
            default:
                guard let f = Float(t) else { return nil }
                self = .f32(f.bitPattern)
            }
        case .f64:
            switch t.lowercased() {
            case "nan", "-nan", "+nan": self = .f64(Double.nan.bitPattern)
            case "inf", "+inf", "infinity": self = .f64(Double.infinity.bitPattern)
            case "-inf", "-infinity": self = .f64((-Double.infinity).bitPattern)
            default:
                guard let d = Double(t) else { return nil }
                self = .f64(d.bitPattern)
            }
        }
    }
}

/// Trap kinds, as both sides are mapped onto them. Shoal's trap codes and wasmtime's messages name
/// the same conditions in different words (wasmtime: "undefined element: out of bounds table
/// access" where Shoal says "undefined element"; both split memory traps differently).
enum TrapKind: String, Sendable, CaseIterable {
    case unreachable
    case divideByZero = "divide-by-zero"
    case overflow
    case conversion
    case memory = "memory-oob"
    case table = "table-oob"
    case uninitialized
    case signature
    case null
    /// Implementation-defined depth: never compared.
    case stack
    case other

    /// From wasmtime's stderr (`wasm trap: ...`, or an instantiation error's text).
    init(wasmtimeMessage m: String) {
        let s = m.lowercased()
        if s.contains("call stack exhausted") || s.contains("stack overflow") { self = .stack }
        else if s.contains("unreachable") { self = .unreachable }
        else if s.contains("integer divide by zero") { self = .divideByZero }
        else if s.contains("integer overflow") { self = .overflow }
        else if s.contains("invalid conversion to integer") { self = .conversion }
        else if s.contains("out of bounds memory access") || s.contains("memory access out of bounds") { self = .memory }
        else if s.contains("out of bounds table access") || s.contains("undefined element") || s.contains("table index is out of bounds") { self = .table }
        else if s.contains("uninitialized element") { self = .uninitialized }
        else if s.contains("indirect call type mismatch") || s.contains("signature mismatch") { self = .signature }
        else if s.contains("null reference") || s.contains("null function") { self = .null }
        else { self = .other }
    }
}

/// What one call did, on one side.
enum Outcome: Equatable, Sendable {
    case values([Num])
    case trap(TrapKind, String)
    /// The call ran past the time limit (Shoal: stopped through a yield request; wasmtime: killed).
    case timeout
    /// The process running it died: a signal, or an exit status that is neither 0 nor a trap's.
    case crash(String)
    /// The engine refused the module or the call (a compile, link or resource error).
    case error(String)

    var summary: String {
        switch self {
        case .values(let v): return v.isEmpty ? "(no results)" : v.map(\.token).joined(separator: " ")
        case .trap(let k, let m): return "trap \(k.rawValue)" + (m.isEmpty ? "" : " (\(m))")
        case .timeout: return "timeout"
        case .crash(let why): return "crash (\(why))"
        case .error(let m): return "error (\(m))"
        }
    }

    /// The `.expect` form: `i32:1 f64:nan`, `trap memory-oob`, `(none)` for no results.
    var expectation: String {
        switch self {
        case .values(let v): return v.isEmpty ? "(none)" : v.map(\.token).joined(separator: " ")
        case .trap(let k, _): return "trap \(k.rawValue)"
        case .timeout: return "timeout"
        case .crash: return "crash"
        case .error: return "error"
        }
    }

    init?(expectation text: String) {
        let t = text.trimmingCharacters(in: .whitespaces)
        if t == "(none)" { self = .values([]); return }
        if t.hasPrefix("trap ") {
            guard let k = TrapKind(rawValue: String(t.dropFirst(5))) else { return nil }
            self = .trap(k, "")
            return
        }
        var values: [Num] = []
        for part in t.split(separator: " ") {
            guard let v = Num(token: String(part)) else { return nil }
            values.append(v)
        }
        self = .values(values)
    }

    /// Same behaviour: equal values (NaN = NaN), or traps of the same kind.
    func agrees(with other: Outcome) -> Bool {
        switch (self, other) {
        case (.values(let a), .values(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.matches($1) }
        case (.trap(let a, _), .trap(let b, _)): return a == b
        case (.timeout, .timeout): return true
        default: return false
        }
    }
}

/// One call to make: an export and its arguments.
struct Call: Equatable, Sendable {
    var export: String
    var arguments: [Num]
    var resultKinds: [Num.Kind]

    /// `f0 i32:1 f64:0.5` (the worker protocol and `.expect` files).
    var line: String { ([export] + arguments.map(\.token)).joined(separator: " ") }
}

/// How a difference between Shoal and wasmtime is classified (a finding's kind).
enum FindingKind: String, Sendable, CaseIterable {
    case crash, hang, result, trapVsValue = "trap-vs-value", trapKind = "trap-kind", rejected
    /// The worker's address space grew by at least 1 GiB over one module's calls, every store
    /// dropped (per module, not per call).
    case leak
}

/// Compares one call: nil when Shoal agrees with wasmtime or the call is not comparable.
/// `skip` is set when it is not comparable (stack exhaustion on either side, wasmtime timing out
/// or failing for a reason of its own).
func classify(shoal: Outcome, reference: Outcome, skip: inout Bool) -> FindingKind? {
    if case .crash = shoal { return .crash }
    if case .trap(.stack, _) = shoal { skip = true; return nil }
    if case .trap(.stack, _) = reference { skip = true; return nil }
    switch reference {
    case .timeout, .crash, .error:
        skip = true
        return nil
    default: break
    }
    if shoal.agrees(with: reference) { return nil }
    switch (shoal, reference) {
    case (.timeout, _): return .hang
    case (.error, _): return .rejected
    case (.values, .values): return .result
    case (.trap, .trap): return .trapKind
    default: return .trapVsValue
    }
}
