import WasmCore

/// Folds an i32 address `x + c` (c a constant) into the access's offset: `load offset=o (x + c)`
/// becomes `load offset=o+c x` when `Ranges` proves `x + c` does not wrap 32 bits (x <= 2^32-1-c
/// where the access runs), and a "negative" c (2^32 - d) becomes `offset=o-d` when x >= d and
/// o >= d. Either way the effective address `x + c' + o'` (computed without wrapping, as wasm
/// computes `address + offset`) is the same number as before, so the access reads, writes and
/// traps exactly as it did, in guarded and bounded heaps alike: the code generator addresses
/// `[r15 + x + offset]`, and the bounded check compares `x + offset + size`. The add then usually
/// dies, and the address is one `[base + index + disp]` operand. New offsets stay at or below
/// 2^31 - 1, which the code generator encodes as a displacement.
enum AddressFolding {
    static func run(_ f: inout IRFunction) {
        let constants = f.constants()
        // `(x << k) + c` stays as it is: the code generator makes it one scaled `lea`
        // (`CodeGen.fusableShifts`), and on the AMD machines measured a shift then an access at
        // `[r15 + i + c]` ran crc32's table lookups about 10% slower than that lea.
        var scaledShifts: Set<Value> = []
        for block in f.blocks {
            for inst in block.insts {
                if case .binary(.shl) = inst.op, let amount = constants[inst.args[1]],
                   CodeGen.scale(amount, f.types[inst.results[0].id]) != nil { scaledShifts.insert(inst.results[0]) }
            }
        }
        var adds: [Value: (x: Value, c: UInt64)] = [:]
        for block in f.blocks {
            for inst in block.insts {
                guard case .binary(.add) = inst.op, f.types[inst.results[0].id] == .i32 else { continue }
                let (a, b) = (inst.args[0], inst.args[1])
                if let c = constants[b], constants[a] == nil, !scaledShifts.contains(a) {
                    adds[inst.results[0]] = (a, c & 0xFFFF_FFFF)
                } else if let c = constants[a], constants[b] == nil, !scaledShifts.contains(b) {
                    adds[inst.results[0]] = (b, c & 0xFFFF_FFFF)
                }
            }
        }
        let candidate = f.blocks.contains { block in
            block.insts.contains { inst in
                switch inst.op {
                case .load, .store: adds[inst.args[0]] != nil
                default: false
                }
            }
        }
        guard candidate else { return }
        let ranges = Ranges(f)
        var rewrites: [(block: Int, index: Int, address: Value, offset: UInt32)] = []
        ranges.walk { b, i, rangeOf in
            let inst = f.blocks[b].insts[i]
            let offset: UInt32
            switch inst.op {
            case .load(_, let o), .store(_, let o): offset = o
            default: return
            }
            guard f.types[inst.args[0].id] == .i32, let (x, c) = adds[inst.args[0]], let r = rangeOf(x) else { return }
            let limit = UInt64(Int32.max)
            if r.hi + c <= 0xFFFF_FFFF {
                let folded = UInt64(offset) + c
                // Only where the access keeps its length: a new 32-bit displacement makes it
                // 3-4 bytes longer, and on the AMD EPYC measured `mov byte [r15+rdi+0x400], 1`
                // in a loop ran 1.8x slower than `lea r9d, [rdi+0x400]` + `mov byte [r15+r9], 1`
                // (sieve 10% slower, matmul 4%), while `[r15+rdi+0x10]` ran as fast as its lea.
                if folded <= limit, folded <= 127 || offset > 127 { rewrites.append((b, i, x, UInt32(folded))) }
            } else {
                let d = (1 << 32) - c  // x + c wraps to x - d for every x >= d
                if r.lo >= d, UInt64(offset) >= d { rewrites.append((b, i, x, UInt32(UInt64(offset) - d))) }
            }
        }
        for (b, i, address, offset) in rewrites {
            var inst = f.blocks[b].insts[i]
            switch inst.op {
            case .load(let op, _): inst.op = .load(op, offset: offset)
            case .store(let op, _): inst.op = .store(op, offset: offset)
            default: continue
            }
            inst.args[0] = address
            f.blocks[b].insts[i] = inst
        }
    }
}
