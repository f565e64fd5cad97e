import Compiler
import Foundation
import Runtime
import RuntimeABI
import Testing
import WasmCore
import WasmDecoder
import WasmText

/// A v128 from four i32 lanes (lane 0 in the low bits).
private func i32x4(_ a: UInt32, _ b: UInt32, _ c: UInt32, _ d: UInt32) -> Value {
    .v128(V128(low: UInt64(a) | UInt64(b) << 32, high: UInt64(c) | UInt64(d) << 32))
}

/// `count` v128 values live at once (more than the 15 allocatable XMM registers when count > 15),
/// each `x + splat(k)`, then summed with i32x4.add: every lane is count*x + (1 + ... + count).
private func vectorPressure(_ count: Int) -> String {
    (1...count).map { "(i32x4.add (local.get $x) (i32x4.splat (i32.const \($0))))" }.joined(separator: " ")
        + String(repeating: " (i32x4.add)", count: count - 1)
}

private let simdModule = """
    (module
      (import "host" "mix" (func $mix (param v128 i32) (result v128)))
      (type $vv (func (param v128 i64 v128) (result v128 i32 v128)))
      (memory 1)
      (table 1 funcref)
      (elem (i32.const 0) $swap)
      (global $g (export "g") (mut v128) (v128.const i32x4 1 2 3 4))
      (global $k v128 (v128.const i64x2 -1 0x0123456789abcdef))
      ;; Mixed-width signature: v128 slots take 16 bytes, the i64 and i32 8 each.
      (func $swap (export "swap") (type $vv)
        (local.get 2) (i32.wrap_i64 (local.get 1)) (local.get 0))
      (func (export "direct") (param $a v128) (param $b v128) (result v128)
        (call $swap (local.get $a) (i64.const 7) (local.get $b))
        (local.set $a) (i32x4.splat) (i32x4.add) (local.get $a) (i32x4.add))
      (func (export "indirect") (param $a v128) (param $b v128) (result v128)
        (call_indirect (type $vv) (local.get $a) (i64.const 7) (local.get $b) (i32.const 0))
        (local.set $a) (i32x4.splat) (i32x4.add) (local.get $a) (i32x4.add))
      (func (export "host") (param $a v128) (result v128)
        (i32x4.add (call $mix (local.get $a) (i32.const 100)) (v128.const i32x4 1 1 1 1)))
      (func (export "bumpGlobal") (result v128)
        (global.set $g (i32x4.add (global.get $g) (global.get $g)))
        (v128.xor (global.get $g) (global.get $k)))
      (func (export "pick") (param $c i32) (param $a v128) (param $b v128) (result v128)
        (if (result v128) (local.get $c)
          (then (i32x4.mul (local.get $a) (local.get $b)))
          (else (i32x4.sub (local.get $a) (local.get $b)))))
      (func (export "selectV") (param $c i32) (param $a v128) (param $b v128) (result v128)
        (select (local.get $a) (local.get $b) (local.get $c)))
      ;; A loop carrying a v128 as a block param, and a v128 local across iterations.
      (func (export "loop") (param $n i32) (result v128) (local $acc v128)
        (v128.const i32x4 0 0 0 0)
        (loop $again (param v128) (result v128)
          (i32x4.add (v128.const i32x4 1 2 3 4))
          (local.set $acc (i32x4.add (local.get $acc) (v128.const i32x4 10 10 10 10)))
          (br_if $again (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
        (i32x4.add (local.get $acc)))
      (func (export "pressure") (param $x v128) (result v128) \(vectorPressure(24)))
      ;; Live vectors across a call: everything is spilled as 16 bytes and reloaded.
      (func (export "pressureCall") (param $x v128) (result v128)
        \(vectorPressure(8)) (call $swap (local.get $x) (i64.const 0) (local.get $x)) (drop) (drop) (i32x4.add))
      ;; A 16-byte access must trap if any byte is out of bounds.
      (func (export "loadAt") (param $addr i32) (param $x v128) (result v128)
        (i32x4.add (local.get $x) (v128.load (local.get $addr))))
      (func (export "storeAt") (param $addr i32) (param $x v128)
        (v128.store offset=4 (local.get $addr) (i32x4.add (local.get $x) (local.get $x))))
      (func (export "spin") (param $n i32) (result v128) (local $acc v128)
        (loop $again
          (local.set $acc (i32x4.add (local.get $acc) (v128.const i32x4 1 1 1 1)))
          (br_if $again (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
        (local.get $acc)))
    """

private func instantiate(_ heapMode: HeapMode, options: CompileOptions? = nil, store: Store? = nil) throws -> (Store, Instance) {
    let store = store ?? Store(heapMode: heapMode)
    // Host side: lane i becomes lane i * the i32 argument (the two v128 slots arrive in order).
    let mix = Function(HostFunction(type: FuncType(params: [.v128, .i32], results: [.v128])) { _, arguments in
        guard case .v128(let v) = arguments[0], case .i32(let k) = arguments[1] else { throw RuntimeError("bad arguments \(arguments)") }
        let lanes = [UInt32(truncatingIfNeeded: v.low), UInt32(truncatingIfNeeded: v.low >> 32),
                     UInt32(truncatingIfNeeded: v.high), UInt32(truncatingIfNeeded: v.high >> 32)].map { $0 &* k }
        return [i32x4(lanes[0], lanes[1], lanes[2], lanes[3])]
    })
    let compiled = try ModuleCompiler.compile(bytes: try TextFormat.wat2wasm(simdModule),
                                              options: options ?? CompileOptions(heapMode: heapMode))
    let instance = try store.instantiate(compiled) { module, name in
        module == "host" && name == "mix" ? .function(mix) : nil
    }
    return (store, instance)
}

@Suite("SIMD: v128 values through calls, globals, merges, spills, traps and the host boundary")
struct SIMDTests {
    @Test(arguments: HeapMode.allCases)
    func v128ParamsAndResultsCrossCallsAndTheHost(heapMode: HeapMode) throws {
        let (store, instance) = try instantiate(heapMode)
        defer { withExtendedLifetime(store) {} }
        let a = i32x4(1, 2, 3, 4), b = i32x4(10, 20, 30, 40)
        // Host -> wasm -> host: results in the order and slots they were written.
        #expect(try instance.invoke("swap", [a, .i64(5), b]) == [b, .i32(5), a])
        // swap gives (b, 7, a); the caller adds splat(7) to b, then a.
        #expect(try instance.invoke("direct", [a, b]) == [i32x4(18, 29, 40, 51)])
        #expect(try instance.invoke("indirect", [a, b]) == [i32x4(18, 29, 40, 51)])
        // A host import taking and returning v128.
        #expect(try instance.invoke("host", [a]) == [i32x4(101, 201, 301, 401)])
        // Full 128-bit patterns survive the round trip (no lane is truncated to 8 bytes).
        let pattern = Value.v128(V128(low: 0xFEDC_BA98_7654_3210, high: 0x0123_4567_89AB_CDEF))
        #expect(try instance.invoke("swap", [pattern, .i64(0), pattern]) == [pattern, .i32(0), pattern])
    }

    @Test(arguments: HeapMode.allCases)
    func v128Globals(heapMode: HeapMode) throws {
        let (store, instance) = try instantiate(heapMode)
        defer { withExtendedLifetime(store) {} }
        guard case .global(let g) = instance.export("g") else {
            Issue.record("no global g")
            return
        }
        #expect(g.value == i32x4(1, 2, 3, 4))
        let k = V128(low: UInt64.max, high: 0x0123_4567_89AB_CDEF)
        let bumped = V128(low: 2 | 4 << 32, high: 6 | 8 << 32)
        #expect(try instance.invoke("bumpGlobal", []) == [.v128(V128(low: bumped.low ^ k.low, high: bumped.high ^ k.high))])
        #expect(g.value == .v128(bumped))
        g.value = i32x4(0xFFFF_FFFF, 0, 1, 0x8000_0000)
        #expect(try instance.invoke("bumpGlobal", []).count == 1)
        #expect(g.value == i32x4(0xFFFF_FFFE, 0, 2, 0))
    }

    @Test(arguments: HeapMode.allCases)
    func v128ThroughMergesLoopsAndSelect(heapMode: HeapMode) throws {
        let (store, instance) = try instantiate(heapMode)
        defer { withExtendedLifetime(store) {} }
        let a = i32x4(6, 7, 8, 9), b = i32x4(1, 2, 3, 4)
        #expect(try instance.invoke("pick", [.i32(1), a, b]) == [i32x4(6, 14, 24, 36)])
        #expect(try instance.invoke("pick", [.i32(0), a, b]) == [i32x4(5, 5, 5, 5)])
        #expect(try instance.invoke("selectV", [.i32(1), a, b]) == [a])
        #expect(try instance.invoke("selectV", [.i32(0), a, b]) == [b])
        // 5 iterations: the block param gains (1,2,3,4) each time, the local 10 per lane.
        #expect(try instance.invoke("loop", [.i32(5)]) == [i32x4(55, 60, 65, 70)])
    }

    @Test(arguments: HeapMode.allCases)
    func spilledV128ValuesKeepAllSixteenBytes(heapMode: HeapMode) throws {
        let (store, instance) = try instantiate(heapMode)
        defer { withExtendedLifetime(store) {} }
        let x = i32x4(1, 1000, 0x10000, 0x7000_0000)
        func expected(_ count: UInt32, _ lanes: [UInt32]) -> Value {
            let base = count * (count + 1) / 2
            let l = lanes.map { $0 &* count &+ base }
            return i32x4(l[0], l[1], l[2], l[3])
        }
        #expect(try instance.invoke("pressure", [x]) == [expected(24, [1, 1000, 0x10000, 0x7000_0000])])
        // Eight live vectors, then a call returning x: 8x + 36 + x.
        let e = expected(8, [1, 1000, 0x10000, 0x7000_0000])
        guard case .v128(let ev) = e, case .v128(let xv) = x else { return }
        let sum = [UInt32(truncatingIfNeeded: ev.low) &+ UInt32(truncatingIfNeeded: xv.low),
                   UInt32(truncatingIfNeeded: ev.low >> 32) &+ UInt32(truncatingIfNeeded: xv.low >> 32),
                   UInt32(truncatingIfNeeded: ev.high) &+ UInt32(truncatingIfNeeded: xv.high),
                   UInt32(truncatingIfNeeded: ev.high >> 32) &+ UInt32(truncatingIfNeeded: xv.high >> 32)]
        #expect(try instance.invoke("pressureCall", [x]) == [i32x4(sum[0], sum[1], sum[2], sum[3])])
    }

    @Test(arguments: HeapMode.allCases)
    func sixteenByteAccessesTrapWhenAnyByteIsOutOfBounds(heapMode: HeapMode) throws {
        let (store, instance) = try instantiate(heapMode)
        defer { withExtendedLifetime(store) {} }
        let x = i32x4(1, 2, 3, 4)
        _ = try instance.invoke("storeAt", [.i32(65_536 - 20), x])
        #expect(try instance.invoke("loadAt", [.i32(65_536 - 16), x]) == [i32x4(3, 6, 9, 12)])
        for address: UInt32 in [65_536 - 15, 65_536 - 1, 65_536, 0xFFFF_FFF0] {
            do {
                _ = try instance.invoke("loadAt", [.i32(address), x])
                Issue.record("v128.load at \(address) did not trap")
            } catch let trap as Trap {
                #expect(trap.code == .outOfBoundsMemoryAccess)
            }
        }
        do {
            // offset=4: bytes 65,521 ... 65,536, one past the end.
            _ = try instance.invoke("storeAt", [.i32(65_536 - 19), x])
            Issue.record("v128.store did not trap")
        } catch let trap as Trap {
            #expect(trap.code == .outOfBoundsMemoryAccess)
        }
        // The instance still works after the traps, and the partial store wrote nothing.
        #expect(try instance.invoke("loadAt", [.i32(65_536 - 16), i32x4(0, 0, 0, 0)]) == [i32x4(2, 4, 6, 8)])
    }

    @Test(arguments: HeapMode.allCases)
    func v128StateSurvivesYieldsOnAFiber(heapMode: HeapMode) throws {
        let store = Store(heapMode: heapMode)
        store.fuelPolicy = .yield
        let (_, instance) = try instantiate(heapMode, options: CompileOptions(heapMode: heapMode, fuel: true), store: store)
        store.setFuel(5)
        let execution = try Execution(try export(instance, "spin"), arguments: [.i32(100)])
        var stops = 0
        while !execution.state.isFinished {
            if case .yielded(.outOfFuel) = try execution.resume() {
                stops += 1
                store.setFuel(5)
            }
        }
        #expect(stops > 10)
        guard case .exited(let values) = execution.state else {
            Issue.record("\(execution.state)")
            return
        }
        #expect(values == [i32x4(100, 100, 100, 100)])
    }

    /// One function per `SIMDOp` (its operands as params, its result as the result): each must
    /// compile in both heap modes and run on all-ones inputs without a trap.
    @Test(arguments: HeapMode.allCases)
    func everySIMDOperatorCompilesAndRuns(heapMode: HeapMode) throws {
        func code(_ t: ValueType) -> UInt8 {
            switch t {
            case .i32: 0x7F
            case .i64: 0x7E
            case .f32: 0x7D
            case .f64: 0x7C
            case .v128: 0x7B
            default: 0x70
            }
        }
        var module = BinaryModule()
        for (i, op) in SIMDOp.allCases.enumerated() {
            let signature = op.signature
            module.types.append(.init(params: signature.operands.map(code), results: [code(signature.result)]))
            let body = signature.operands.indices.flatMap { BinaryModule.localGet($0) } + [0xFD] + BinaryModule.uleb(Int(op.rawValue))
            module.functions.append(.init(type: i, code: body))
            module.exports.append((name: "\(op)", function: i))
        }
        let store = Store(heapMode: heapMode)
        let compiled = try ModuleCompiler.compile(bytes: module.bytes, heapMode: heapMode)
        let instance = try store.instantiate(compiled) { _, _ in nil }
        for op in SIMDOp.allCases {
            let arguments: [Value] = op.signature.operands.map { t in
                switch t {
                case .i32: .i32(3)
                case .i64: .i64(3)
                case .f32: .f32(bits: Float(1.5).bitPattern)
                case .f64: .f64(bits: Double(1.5).bitPattern)
                default: .v128(V128(low: .max, high: .max))
                }
            }
            let results = try instance.invoke("\(op)", arguments)
            #expect(results.count == 1 && results[0].type == op.signature.result, "\(op)")
        }
    }

    /// An async host function's attempt with a v128 in its signature: `HostSlots` finds each
    /// argument after the two slots of a v128, and a v128 result is written whole; when the attempt
    /// declines, the parked body gets the same values as `Value`s.
    @Test func asyncHostAttemptWithV128Slots() throws {
        let compiled = try compile(
            """
            (module
              (import "host" "f" (func $f (param v128 i32) (result i32 v128)))
              (func (export "go") (param i32) (result i32 v128)
                (v128.const i32x4 1 2 3 4) (local.get 0) (call $f)))
            """, .guarded)
        let fn = Function(AsyncHostFunction(type: FuncType(params: [.v128, .i32], results: [.i32, .v128]), attempt: { _, slots in
            guard slots[1] & 1 == 0 else { return false }  // odd: decline
            // slots[0] is the v128's low half (lanes 0 and 1); read before the results overwrite it.
            let low = slots[0], x = slots[1]
            slots.setResult(0, .i32(UInt32(truncatingIfNeeded: low >> 32) &+ UInt32(truncatingIfNeeded: x)))
            slots.setResult(1, .v128(V128(low: x, high: low)))
            return true
        }) { _, args, completion in
            guard case .v128(let v) = args[0], case .i32(let x) = args[1] else { return }
            completion.resume(returning: [.i32(x &* 100), .v128(V128(low: v.high, high: v.low))])
        })
        let store = Store(heapMode: .guarded)
        let instance = try store.instantiate(compiled) { _, _ in .function(fn) }
        let inline = try Execution(try export(instance, "go"), arguments: [.i32(40)])
        guard case .exited(let values) = try inline.resume() else { Issue.record("not finished inline"); return }
        #expect(values == [.i32(42), .v128(V128(low: 40, high: 1 | 2 << 32))])
        let declined = try Execution(try export(instance, "go"), arguments: [.i32(3)])
        var state = try declined.resume()
        if case .parked = state { state = try declined.resume() }
        guard case .exited(let results) = state else { Issue.record("\(state)"); return }
        #expect(results == [.i32(300), i32x4(3, 4, 1, 2)])
    }

    /// Code with SIMD instructions records SSE4.1 and SSSE3 among the CPU features it needs (an
    /// artifact of it is refused on a CPU without them); code without SIMD does not.
    @Test func simdCodeRequiresSSE41AndSSSE3() throws {
        let simd = try compile("(module (func (param v128) (result v128) (i8x16.abs (local.get 0))))", .guarded)
        #expect(simd.cpuFeatures.isSuperset(of: [.sse41, .ssse3]))
        let scalar = try compile("(module (func (param i32) (result i32) (i32.const 0xFD) (local.get 0) (i32.add)))", .guarded)
        #expect(scalar.cpuFeatures.isDisjoint(with: [.sse41, .ssse3]))
    }

    @Test func valueV128SlotsRoundTrip() {
        let values: [Value] = [.i32(7), .v128(V128(low: 0x1122_3344_5566_7788, high: 0x99AA_BBCC_DDEE_FF00)), .f64(bits: 42)]
        let types = values.map(\.type)
        #expect(Value.slotCount(types) == 4)
        var slots = [UInt64](repeating: 0, count: 4)
        slots.withUnsafeMutableBufferPointer { Value.store(values, into: $0.baseAddress!) }
        #expect(slots == [7, 0x1122_3344_5566_7788, 0x99AA_BBCC_DDEE_FF00, 42])
        #expect(slots.withUnsafeBufferPointer { Value.load(types, from: $0.baseAddress!) } == values)
    }
}
