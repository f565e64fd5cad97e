import Foundation
import FuzzSupport

/// Makes module number `index` of a seeded run with `wasm-tools smith`, and the calls to make.
///
/// Everything comes from one SplitMix64 stream seeded from (seed, index), so a module can be
/// rebuilt alone: the exports' shape (names f0..fN, numeric parameters and results, written as a
/// small module that smith's `--exports` copies), smith's input bytes and the arguments.
struct Generator {
    /// Which generator makes the modules: wasm-smith, Shoal's own register-pressure generator
    /// (`PressureGenerator`), or both (every fourth module a pressure one).
    enum Source: String, CaseIterable, Sendable { case smith, pressure, mixed }

    var wasmTools: String
    var source: Source = .smith
    /// More smith options (a default they set again is dropped: see `flags(index:extra:)`).
    var extraFlags: [String] = []

    /// Wasm 2.0 without SIMD: every later proposal smith knows is turned off, there are no imports
    /// (nothing to link), and loops and calls burn a global fuel counter (--ensure-termination),
    /// so every call ends; no NaN canonicalisation (NaN results are compared as NaN).
    static let baseFlags: [String] = [
        "--simd-enabled", "false", "--relaxed-simd-enabled", "false", "--exceptions-enabled", "false",
        "--gc-enabled", "false", "--tail-call-enabled", "false", "--threads-enabled", "false",
        "--memory64-enabled", "false", "--extended-const-enabled", "false", "--custom-descriptors-enabled", "false",
        "--compact-imports-enabled", "false", "--custom-page-sizes-enabled", "false", "--wide-arithmetic-enabled", "false",
        "--shared-everything-threads-enabled", "false",
        "--max-imports", "0", "--max-memories", "1", "--max-tables", "3",
        "--max-memory32-bytes", "\(64 << 20)", "--max-table-elements", "10000",
        "--ensure-termination", "--fuel", "1000",
    ]

    /// smith's flags for module `index`, four variants in turn: traps allowed or avoided
    /// (`--disallow-traps`, so that calls run further before stopping), with smith's default body
    /// size (100 instructions) or up to 1,000 instructions (fed a longer input).
    static func flags(index: Int) -> [String] {
        baseFlags + (index % 2 == 1 ? ["--disallow-traps", "true"] : []) + (index % 4 >= 2 ? ["--max-instructions", "1000"] : [])
    }

    /// `flags(index:)` without the options that `extra` sets again (smith refuses an option given
    /// twice), then `extra`: e.g. `--smith=--simd-enabled=true` turns SIMD on.
    static func flags(index: Int, extra: [String]) -> [String] {
        let overridden = Set(extra.filter { $0.hasPrefix("--") }.map { String($0.split(separator: "=", maxSplits: 1)[0]) })
        var result: [String] = []
        var base = flags(index: index)[...]
        while let flag = base.popFirst() {
            // Every default is an option with one value, or a bare switch (--ensure-termination).
            let takesValue = !(base.first?.hasPrefix("--") ?? true)
            let value = takesValue ? base.popFirst() : nil
            if overridden.contains(flag) { continue }
            result.append(flag)
            if let value { result.append(value) }
        }
        return result + extra
    }

    struct Module {
        var index: Int
        var path: String
        var calls: [Call]
    }

    static func stream(seed: UInt64, index: Int) -> SplitMix64 {
        var rng = SplitMix64(state: seed ^ (UInt64(index) &* 0xD1B5_4A32_D192_ED03))
        _ = rng.next()
        return rng
    }

    /// Writes `<directory>/m<index>.wasm`; nil when smith could not make a module from the bytes
    /// (its exit status 2, which it says happens now and then).
    func generate(seed: UInt64, index: Int, directory: String) throws -> Module? {
        if source == .pressure || (source == .mixed && index % 4 == 3) {
            var generator = PressureGenerator(seed: seed, index: index)
            let (bytes, calls) = generator.generate()
            let path = "\(directory)/m\(index).wasm"
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            return Module(index: index, path: path, calls: calls)
        }
        var rng = Self.stream(seed: seed, index: index)
        let kinds = Num.Kind.allCases
        var signatures: [(params: [Num.Kind], results: [Num.Kind])] = []
        for _ in 0..<(1 + rng.below(4)) {
            let params = (0..<rng.below(5)).map { _ in kinds[rng.below(4)] }
            let results = (0..<[0, 1, 1, 1, 2, 3][rng.below(6)]).map { _ in kinds[rng.below(4)] }
            signatures.append((params, results))
        }
        let input = (0..<(256 + rng.below(index % 4 >= 2 ? 24000 : 6000))).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let shapePath = "\(directory)/m\(index).shape.wasm", inputPath = "\(directory)/m\(index).seed", path = "\(directory)/m\(index).wasm"
        defer {
            unlink(shapePath)
            unlink(inputPath)
        }
        try Data(Self.shapeModule(signatures)).write(to: URL(fileURLWithPath: shapePath))
        try Data(input).write(to: URL(fileURLWithPath: inputPath))
        // A smith killed or timed out (a loaded machine) is tried once more before it counts.
        var smith = runProcess(wasmTools, ["smith"] + Self.flags(index: index, extra: extraFlags) + ["--exports", shapePath, inputPath, "-o", path], timeout: 120)
        if smith.signaled || smith.timedOut {
            smith = runProcess(wasmTools, ["smith"] + Self.flags(index: index, extra: extraFlags) + ["--exports", shapePath, inputPath, "-o", path], timeout: 120)
        }
        guard smith.status == 0, !smith.signaled, !smith.timedOut else {
            if smith.status == 2 && !smith.signaled { return nil }
            throw SmithFailure(description: "wasm-tools smith failed on module \(index): \(smith.timedOut ? "timed out" : smith.signaled ? signalName(smith.status) : "status \(smith.status)") \(smith.stderr.prefix(400))")
        }
        var calls: [Call] = []
        for (i, signature) in signatures.enumerated() {
            // Two argument lists per export: small ordinary values, then edge values and random bits.
            for wild in [false, true] {
                calls.append(Call(export: "f\(i)", arguments: signature.params.map { Self.argument($0, wild: wild, rng: &rng) },
                                  resultKinds: signature.results))
            }
        }
        return Module(index: index, path: path, calls: calls)
    }

    static func argument(_ kind: Num.Kind, wild: Bool, rng: inout SplitMix64) -> Num {
        switch kind {
        case .i32:
            if !wild { return .i32(UInt32(bitPattern: [0, 1, 2, 3, -1, 7, 100, 16][rng.below(8)])) }
            let edges: [UInt32] = [0, 1, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0xFFFF, 0x1_0000, 0xFF, 0x100, 31, 32, 65536 * 64]
            return .i32(rng.below(2) == 0 ? edges[rng.below(edges.count)] : UInt32(truncatingIfNeeded: rng.next()))
        case .i64:
            if !wild { return .i64(UInt64(bitPattern: [0, 1, 2, 3, -1, 7, 100, 16][rng.below(8)])) }
            let edges: [UInt64] = [0, 1, 0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, UInt64.max, 0xFFFF_FFFF, 0x1_0000_0000, 63, 64, 0x8000_0000]
            return .i64(rng.below(2) == 0 ? edges[rng.below(edges.count)] : rng.next())
        case .f32:
            if !wild { return .f32(Float([0, 1, -1, 0.5, 2, 3.25, 100, -7.5][rng.below(8)]).bitPattern) }
            let edges: [Float] = [-0.0, .nan, .infinity, -.infinity, .greatestFiniteMagnitude, .leastNonzeroMagnitude, .leastNormalMagnitude,
                                  2147483648, -2147483904, 4294967296, 9.2233720e18, 1e-10, -1.5]
            if rng.below(2) == 0 { return .f32(edges[rng.below(edges.count)].bitPattern) }
            let bits = UInt32(truncatingIfNeeded: rng.next())
            return .f32(Float(bitPattern: bits).isNaN ? Float.nan.bitPattern : bits)  // the CLI can only spell the canonical NaN
        case .f64:
            if !wild { return .f64(Double([0, 1, -1, 0.5, 2, 3.25, 100, -7.5][rng.below(8)]).bitPattern) }
            let edges: [Double] = [-0.0, .nan, .infinity, -.infinity, .greatestFiniteMagnitude, .leastNonzeroMagnitude, .leastNormalMagnitude,
                                   2147483648, -2147483649, 4294967296, 9223372036854775808, -9223372036854777856, 1e-300, -1.5]
            if rng.below(2) == 0 { return .f64(edges[rng.below(edges.count)].bitPattern) }
            let bits = rng.next()
            return .f64(Double(bitPattern: bits).isNaN ? Double.nan.bitPattern : bits)
        }
    }

    /// A module whose exports f0..fN have the given types (bodies: `unreachable`), for smith's
    /// `--exports`: smith gives the generated module exactly these exports, with its own bodies.
    static func shapeModule(_ signatures: [(params: [Num.Kind], results: [Num.Kind])]) -> [UInt8] {
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
        func code(_ k: Num.Kind) -> UInt8 { [.i32: 0x7F, .i64: 0x7E, .f32: 0x7D, .f64: 0x7C][k]! }
        func section(_ id: UInt8, _ body: [UInt8]) -> [UInt8] { [id] + uleb(body.count) + body }
        let n = signatures.count
        var types = uleb(n), functions = uleb(n), exports = uleb(n), bodies = uleb(n)
        for (i, s) in signatures.enumerated() {
            types += [0x60] + uleb(s.params.count) + s.params.map(code) + uleb(s.results.count) + s.results.map(code)
            functions += uleb(i)
            let name = Array("f\(i)".utf8)
            exports += uleb(name.count) + name + [0x00] + uleb(i)
            bodies += [0x03, 0x00, 0x00, 0x0B]  // size 3: no locals, unreachable, end
        }
        return [0x00, 0x61, 0x73, 0x6D, 0x01, 0x00, 0x00, 0x00]
            + section(1, types) + section(3, functions) + section(7, exports) + section(10, bodies)
    }
}

/// smith itself failed (not "could not make a module from these bytes"): counted, not fatal.
struct SmithFailure: Error, CustomStringConvertible {
    var description: String
}
