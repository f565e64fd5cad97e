import Runtime
import WasmCore

/// A value a WASI function takes, read from its argument slot: the Wasm type of the import's
/// parameter and the conversion from the raw slot. Every conversion truncates (an i32 slot is
/// never converted with a trapping `UInt32(_:)`), and pointers come out as `GuestAddress`es.
protocol WASIParameter: Sendable {
    static var wasmType: ValueType { get }
    init(slot: UInt64)
}

extension UInt32: WASIParameter {
    static var wasmType: ValueType { .i32 }
    init(slot: UInt64) { self = UInt32(truncatingIfNeeded: slot) }
}

extension UInt64: WASIParameter {
    static var wasmType: ValueType { .i64 }
    init(slot: UInt64) { self = slot }
}

extension GuestAddress: WASIParameter {
    static var wasmType: ValueType { .i32 }
    init(slot: UInt64) { self.init(UInt32(truncatingIfNeeded: slot)) }
}

/// A guest length or count (i32): a byte count for a buffer, or a number of elements.
struct GuestSize: WASIParameter, Equatable, CustomStringConvertible {
    let value: UInt32
    init(_ value: UInt32) { self.value = value }
    static var wasmType: ValueType { .i32 }
    init(slot: UInt64) { value = UInt32(truncatingIfNeeded: slot) }
    var description: String { String(value) }
}

/// A guest descriptor number (i32).
struct FD: WASIParameter, Equatable, CustomStringConvertible {
    let value: UInt32
    init(_ value: UInt32) { self.value = value }
    static var wasmType: ValueType { .i32 }
    init(slot: UInt64) { value = UInt32(truncatingIfNeeded: slot) }
    var description: String { String(value) }
}

/// The table of WASI functions being built: each function is declared once, with its import name
/// and a typed Swift closure; the import's Wasm parameter types come from the closure's parameter
/// types, and its result is the i32 errno. A Function (with its host context) is only built for
/// the names a module actually imports.
final class WASIFunctionTable {
    typealias SyncBody = @Sendable (GuestMemory, [Value]) throws(Errno) -> Void
    typealias AsyncBody = @Sendable (GuestMemory, [Value], Done) throws(Errno) -> Void

    private(set) var makers: [String: () -> Function] = [:]
    /// The types of the functions registered with an errno result (every one but those `add`ed).
    private(set) var types: [String: FuncType] = [:]
    /// The names to build (nil: all). An instance imports a few of the 46; the rest are skipped
    /// before any of their wrappers are made (this table is built once per instance).
    let wanted: Set<String>?

    init(wanted: Set<String>? = nil) { self.wanted = wanted }

    @inline(__always)
    func wants(_ name: String) -> Bool { wanted?.contains(name) ?? true }

    /// A function that does not fit the errno shape (proc_exit, proc_raise), made as is.
    func add(_ name: String, _ make: @escaping () -> Function) {
        guard wants(name) else { return }
        makers[name] = make
    }

    func registerSync(_ name: String, _ params: [ValueType], _ body: @escaping SyncBody) {
        types[name] = FuncType(params: params, results: [.i32])
        makers[name] = { Function(HostFunction(type: FuncType(params: params, results: [.i32])) { caller, args in
            do throws(Errno) {
                try body(GuestMemory(caller), args)
                return Done.success
            } catch {
                return Done.result(error)
            }
        }) }
    }

    /// `inline`: the function's inline attempt (WASIContext+FastPath.swift), tried before `body`.
    func registerAsync(_ name: String, _ params: [ValueType], inline: InlineHostCall? = nil, _ body: @escaping AsyncBody) {
        types[name] = FuncType(params: params, results: [.i32])
        makers[name] = { Function(AsyncHostFunction(type: FuncType(params: params, results: [.i32]), inline: inline) { caller, args, completion in
            do throws(Errno) {
                try body(GuestMemory(caller), args, Done(completion: completion))
            } catch {
                Done(completion: completion)(error)
            }
        }) }
    }

    // One sync and one async registration per arity (path_open takes nine values). The
    // parameter types are generic so that the import's Wasm types follow from the closure's.

    func sync(
        _ name: String, _ body: @escaping @Sendable (GuestMemory) throws(Errno) -> Void
    ) {
        guard wants(name) else { return }
        registerSync(name, []) { m, s throws(Errno) in
            try body(m)
        }
    }

    func async(
        _ name: String, _ body: @escaping @Sendable (GuestMemory, Done) throws(Errno) -> Void
    ) {
        guard wants(name) else { return }
        registerAsync(name, []) { m, s, done throws(Errno) in
            try body(m, done)
        }
    }

    func sync<P0: WASIParameter>(
        _ name: String, _ body: @escaping @Sendable (GuestMemory, P0) throws(Errno) -> Void
    ) {
        guard wants(name) else { return }
        registerSync(name, [P0.wasmType]) { m, s throws(Errno) in
            try body(m, P0(slot: s[0].slot))
        }
    }

    func async<P0: WASIParameter>(
        _ name: String, _ body: @escaping @Sendable (GuestMemory, P0, Done) throws(Errno) -> Void
    ) {
        guard wants(name) else { return }
        registerAsync(name, [P0.wasmType]) { m, s, done throws(Errno) in
            try body(m, P0(slot: s[0].slot), done)
        }
    }

    func sync<P0: WASIParameter, P1: WASIParameter>(
        _ name: String, _ body: @escaping @Sendable (GuestMemory, P0, P1) throws(Errno) -> Void
    ) {
        guard wants(name) else { return }
        registerSync(name, [P0.wasmType, P1.wasmType]) { m, s throws(Errno) in
            try body(m, P0(slot: s[0].slot), P1(slot: s[1].slot))
        }
    }

    func async<P0: WASIParameter, P1: WASIParameter>(
        _ name: String, _ body: @escaping @Sendable (GuestMemory, P0, P1, Done) throws(Errno) -> Void
    ) {
        guard wants(name) else { return }
        registerAsync(name, [P0.wasmType, P1.wasmType]) { m, s, done throws(Errno) in
            try body(m, P0(slot: s[0].slot), P1(slot: s[1].slot), done)
        }
    }

    func sync<P0: WASIParameter, P1: WASIParameter, P2: WASIParameter>(
        _ name: String, _ body: @escaping @Sendable (GuestMemory, P0, P1, P2) throws(Errno) -> Void
    ) {
        guard wants(name) else { return }
        registerSync(name, [P0.wasmType, P1.wasmType, P2.wasmType]) { m, s throws(Errno) in
            try body(m, P0(slot: s[0].slot), P1(slot: s[1].slot), P2(slot: s[2].slot))
        }
    }

    func async<P0: WASIParameter, P1: WASIParameter, P2: WASIParameter>(
        _ name: String, _ body: @escaping @Sendable (GuestMemory, P0, P1, P2, Done) throws(Errno) -> Void
    ) {
        guard wants(name) else { return }
        registerAsync(name, [P0.wasmType, P1.wasmType, P2.wasmType]) { m, s, done throws(Errno) in
            try body(m, P0(slot: s[0].slot), P1(slot: s[1].slot), P2(slot: s[2].slot), done)
        }
    }

    func sync<P0: WASIParameter, P1: WASIParameter, P2: WASIParameter, P3: WASIParameter>(
        _ name: String, _ body: @escaping @Sendable (GuestMemory, P0, P1, P2, P3) throws(Errno) -> Void
    ) {
        guard wants(name) else { return }
        registerSync(name, [P0.wasmType, P1.wasmType, P2.wasmType, P3.wasmType]) { m, s throws(Errno) in
            try body(m, P0(slot: s[0].slot), P1(slot: s[1].slot), P2(slot: s[2].slot), P3(slot: s[3].slot))
        }
    }

    func async<P0: WASIParameter, P1: WASIParameter, P2: WASIParameter, P3: WASIParameter>(
        _ name: String, inline: InlineHostCall? = nil,
        _ body: @escaping @Sendable (GuestMemory, P0, P1, P2, P3, Done) throws(Errno) -> Void
    ) {
        guard wants(name) else { return }
        registerAsync(name, [P0.wasmType, P1.wasmType, P2.wasmType, P3.wasmType], inline: inline) { m, s, done throws(Errno) in
            try body(m, P0(slot: s[0].slot), P1(slot: s[1].slot), P2(slot: s[2].slot), P3(slot: s[3].slot), done)
        }
    }

    func sync<P0: WASIParameter, P1: WASIParameter, P2: WASIParameter, P3: WASIParameter, P4: WASIParameter>(
        _ name: String, _ body: @escaping @Sendable (GuestMemory, P0, P1, P2, P3, P4) throws(Errno) -> Void
    ) {
        guard wants(name) else { return }
        registerSync(name, [P0.wasmType, P1.wasmType, P2.wasmType, P3.wasmType, P4.wasmType]) { m, s throws(Errno) in
            try body(m, P0(slot: s[0].slot), P1(slot: s[1].slot), P2(slot: s[2].slot), P3(slot: s[3].slot), P4(slot: s[4].slot))
        }
    }

    func async<P0: WASIParameter, P1: WASIParameter, P2: WASIParameter, P3: WASIParameter, P4: WASIParameter>(
        _ name: String, inline: InlineHostCall? = nil,
        _ body: @escaping @Sendable (GuestMemory, P0, P1, P2, P3, P4, Done) throws(Errno) -> Void
    ) {
        guard wants(name) else { return }
        registerAsync(name, [P0.wasmType, P1.wasmType, P2.wasmType, P3.wasmType, P4.wasmType], inline: inline) { m, s, done throws(Errno) in
            try body(m, P0(slot: s[0].slot), P1(slot: s[1].slot), P2(slot: s[2].slot), P3(slot: s[3].slot), P4(slot: s[4].slot), done)
        }
    }

    func sync<P0: WASIParameter, P1: WASIParameter, P2: WASIParameter, P3: WASIParameter, P4: WASIParameter,
              P5: WASIParameter>(
        _ name: String, _ body: @escaping @Sendable (GuestMemory, P0, P1, P2, P3, P4, P5) throws(Errno) -> Void
    ) {
        guard wants(name) else { return }
        registerSync(name, [P0.wasmType, P1.wasmType, P2.wasmType, P3.wasmType, P4.wasmType,
            P5.wasmType]) { m, s throws(Errno) in
            try body(m, P0(slot: s[0].slot), P1(slot: s[1].slot), P2(slot: s[2].slot), P3(slot: s[3].slot), P4(slot: s[4].slot), P5(slot: s[5].slot))
        }
    }

    func async<P0: WASIParameter, P1: WASIParameter, P2: WASIParameter, P3: WASIParameter, P4: WASIParameter,
               P5: WASIParameter>(
        _ name: String, inline: InlineHostCall? = nil,
        _ body: @escaping @Sendable (GuestMemory, P0, P1, P2, P3, P4, P5, Done) throws(Errno) -> Void
    ) {
        guard wants(name) else { return }
        registerAsync(name, [P0.wasmType, P1.wasmType, P2.wasmType, P3.wasmType, P4.wasmType,
            P5.wasmType], inline: inline) { m, s, done throws(Errno) in
            try body(m, P0(slot: s[0].slot), P1(slot: s[1].slot), P2(slot: s[2].slot), P3(slot: s[3].slot), P4(slot: s[4].slot), P5(slot: s[5].slot), done)
        }
    }

    func sync<P0: WASIParameter, P1: WASIParameter, P2: WASIParameter, P3: WASIParameter, P4: WASIParameter,
              P5: WASIParameter, P6: WASIParameter>(
        _ name: String, _ body: @escaping @Sendable (GuestMemory, P0, P1, P2, P3, P4, P5, P6) throws(Errno) -> Void
    ) {
        guard wants(name) else { return }
        registerSync(name, [P0.wasmType, P1.wasmType, P2.wasmType, P3.wasmType, P4.wasmType, P5.wasmType,
            P6.wasmType]) { m, s throws(Errno) in
            try body(m, P0(slot: s[0].slot), P1(slot: s[1].slot), P2(slot: s[2].slot), P3(slot: s[3].slot), P4(slot: s[4].slot), P5(slot: s[5].slot),
                P6(slot: s[6].slot))
        }
    }

    func async<P0: WASIParameter, P1: WASIParameter, P2: WASIParameter, P3: WASIParameter, P4: WASIParameter,
               P5: WASIParameter, P6: WASIParameter>(
        _ name: String, _ body: @escaping @Sendable (GuestMemory, P0, P1, P2, P3, P4, P5, P6, Done) throws(Errno) -> Void
    ) {
        guard wants(name) else { return }
        registerAsync(name, [P0.wasmType, P1.wasmType, P2.wasmType, P3.wasmType, P4.wasmType, P5.wasmType,
            P6.wasmType]) { m, s, done throws(Errno) in
            try body(m, P0(slot: s[0].slot), P1(slot: s[1].slot), P2(slot: s[2].slot), P3(slot: s[3].slot), P4(slot: s[4].slot), P5(slot: s[5].slot),
                P6(slot: s[6].slot), done)
        }
    }

    func sync<P0: WASIParameter, P1: WASIParameter, P2: WASIParameter, P3: WASIParameter, P4: WASIParameter,
              P5: WASIParameter, P6: WASIParameter, P7: WASIParameter>(
        _ name: String, _ body: @escaping @Sendable (GuestMemory, P0, P1, P2, P3, P4, P5, P6, P7) throws(Errno) -> Void
    ) {
        guard wants(name) else { return }
        registerSync(name, [P0.wasmType, P1.wasmType, P2.wasmType, P3.wasmType, P4.wasmType, P5.wasmType, P6.wasmType,
            P7.wasmType]) { m, s throws(Errno) in
            try body(m, P0(slot: s[0].slot), P1(slot: s[1].slot), P2(slot: s[2].slot), P3(slot: s[3].slot), P4(slot: s[4].slot), P5(slot: s[5].slot),
                P6(slot: s[6].slot), P7(slot: s[7].slot))
        }
    }

    func async<P0: WASIParameter, P1: WASIParameter, P2: WASIParameter, P3: WASIParameter, P4: WASIParameter,
               P5: WASIParameter, P6: WASIParameter, P7: WASIParameter>(
        _ name: String, _ body: @escaping @Sendable (GuestMemory, P0, P1, P2, P3, P4, P5, P6, P7, Done) throws(Errno) -> Void
    ) {
        guard wants(name) else { return }
        registerAsync(name, [P0.wasmType, P1.wasmType, P2.wasmType, P3.wasmType, P4.wasmType, P5.wasmType, P6.wasmType,
            P7.wasmType]) { m, s, done throws(Errno) in
            try body(m, P0(slot: s[0].slot), P1(slot: s[1].slot), P2(slot: s[2].slot), P3(slot: s[3].slot), P4(slot: s[4].slot), P5(slot: s[5].slot),
                P6(slot: s[6].slot), P7(slot: s[7].slot), done)
        }
    }

    func sync<P0: WASIParameter, P1: WASIParameter, P2: WASIParameter, P3: WASIParameter, P4: WASIParameter,
              P5: WASIParameter, P6: WASIParameter, P7: WASIParameter, P8: WASIParameter>(
        _ name: String, _ body: @escaping @Sendable (GuestMemory, P0, P1, P2, P3, P4, P5, P6, P7, P8) throws(Errno) -> Void
    ) {
        guard wants(name) else { return }
        registerSync(name, [P0.wasmType, P1.wasmType, P2.wasmType, P3.wasmType, P4.wasmType, P5.wasmType, P6.wasmType,
            P7.wasmType, P8.wasmType]) { m, s throws(Errno) in
            try body(m, P0(slot: s[0].slot), P1(slot: s[1].slot), P2(slot: s[2].slot), P3(slot: s[3].slot), P4(slot: s[4].slot), P5(slot: s[5].slot),
                P6(slot: s[6].slot), P7(slot: s[7].slot), P8(slot: s[8].slot))
        }
    }

    func async<P0: WASIParameter, P1: WASIParameter, P2: WASIParameter, P3: WASIParameter, P4: WASIParameter,
               P5: WASIParameter, P6: WASIParameter, P7: WASIParameter, P8: WASIParameter>(
        _ name: String, _ body: @escaping @Sendable (GuestMemory, P0, P1, P2, P3, P4, P5, P6, P7, P8, Done) throws(Errno) -> Void
    ) {
        guard wants(name) else { return }
        registerAsync(name, [P0.wasmType, P1.wasmType, P2.wasmType, P3.wasmType, P4.wasmType, P5.wasmType, P6.wasmType,
            P7.wasmType, P8.wasmType]) { m, s, done throws(Errno) in
            try body(m, P0(slot: s[0].slot), P1(slot: s[1].slot), P2(slot: s[2].slot), P3(slot: s[3].slot), P4(slot: s[4].slot), P5(slot: s[5].slot),
                P6(slot: s[6].slot), P7(slot: s[7].slot), P8(slot: s[8].slot), done)
        }
    }
}
