/// Where to pad before loop headers so that small loops span fewer 64-byte lines of code.
///
/// Measured on the AMD EPYC this tier is tuned on, a hot loop nest runs much slower when its
/// code touches one 64-byte line more than it needs: sieve's i-loop (106 bytes, the j-loop
/// inside) took 181 ms across three lines and 164 ms across two, the same instructions
/// shifted by a few bytes, while aligning headers to 16 or 32 bytes regardless of the loop's
/// size made it slower. So a header is moved to the next 64-byte boundary only when that
/// lowers the number of lines its loop touches and raises it for no other small loop but those
/// enclosing it (which run their own code once per round of it); a loop inside it that the
/// padding pushes across a line gets its header aligned too.
///
/// The code generator emits the function once, reports where every block went, and emits it
/// again aligning the chosen headers (`CodeGen.alignedHeaders`): every jump is rel32, so a
/// block's size does not depend on where it lands, and the first emission's offsets, shifted
/// by the padding before them, are the second's (up to the fast entry's 16-byte alignment
/// between two copies of a body, which is why the second emission pads to the boundary rather
/// than by a planned count). The function is then placed on a 64-byte boundary.
enum LoopAlignment {
    static let line = 64
    /// Loops longer than this are not worth padding: a line fewer out of five or more.
    static let maxLoopBytes = 4 * line
    /// The choice costs a cube of the loop count; a function with more small loops than this
    /// has only its first ones (by position) considered.
    static let maxLoops = 64

    /// A loop's code, from its header's first byte to the end of the last block, in layout
    /// order, that jumps back to it; `index` is the header's emission index.
    struct Loop {
        let index: Int
        let start: Int
        let end: Int

        func encloses(_ other: Loop) -> Bool { start < other.start && other.end <= end }
    }

    /// The emission indexes of the loop headers to align (empty when nothing pays).
    static func headersToAlign(_ f: IRFunction, spans: [Range<Int>]) -> Set<Int> {
        let loops = smallLoops(f, spans: spans)
        var pads: [Int: Int] = [:]
        for (k, loop) in loops.enumerated() {
            var trial = pads
            guard align(loop, &trial, loops) else { continue }
            // A later loop (one inside this one, typically) that now straddles a line more
            // gets its own header aligned too, if that brings it back.
            for other in loops[(k + 1)...] where lines(other, trial, loops) > lines(other, pads, loops) {
                var refined = trial
                if align(other, &refined, loops), lines(other, refined, loops) <= lines(other, pads, loops) { trial = refined }
            }
            let better = lines(loop, trial, loops) < lines(loop, pads, loops)
            // An enclosing loop may take a line more: it runs its code once per round of this one.
            let harmless = loops.allSatisfy { other in
                other.encloses(loop) || lines(other, trial, loops) <= lines(other, pads, loops)
            }
            if better && harmless { pads = trial }
        }
        return Set(pads.keys)
    }

    /// Adds the padding that puts `loop`'s header on the next line boundary; false if it is
    /// on one already.
    static func align(_ loop: Loop, _ pads: inout [Int: Int], _ loops: [Loop]) -> Bool {
        let start = shifted(loop.start, pads, loops)
        let pad = (line - start % line) % line
        guard pad > 0 else { return false }
        pads[loop.index, default: 0] += pad
        return true
    }

    /// Every loop of at most `maxLoopBytes` that makes no call, in every emitted copy of the
    /// body, by start.
    static func smallLoops(_ f: IRFunction, spans: [Range<Int>]) -> [Loop] {
        let n = f.blocks.count
        guard n > 0 else { return [] }
        var loops: [Loop] = []
        for copy in 0..<(spans.count / n) {
            for (h, header) in f.blocks.enumerated() where header.isLoopHeader {
                var end: Int?
                for b in h..<n where f.blocks[b].terminator.edges.contains(where: { $0.target == h }) {
                    end = max(end ?? 0, spans[copy * n + b].upperBound)
                }
                let start = spans[copy * n + h].lowerBound
                guard let end, end - start <= maxLoopBytes,
                      !(h..<n).contains(where: { spans[copy * n + $0].lowerBound < end && calls(f.blocks[$0]) })
                else { continue }
                loops.append(Loop(index: copy * n + h, start: start, end: end))
            }
        }
        return Array(loops.sorted { $0.start < $1.start }.prefix(maxLoops))
    }

    /// Whether `block` calls out: a loop that does runs code beyond its own lines every round,
    /// so its line count matters little, and padding for it would cost a second emission of
    /// the function for nothing.
    static func calls(_ block: Block) -> Bool {
        block.insts.contains { inst in
            switch inst.op {
            case .call, .callIndirect, .builtin, .memoryGrow, .memoryFill, .memoryCopy: true
            default: false
            }
        }
    }

    /// Where byte `position` of the first emission lands once `pads` are inserted before their
    /// headers (a header's own first byte moves with its padding).
    static func shifted(_ position: Int, _ pads: [Int: Int], _ loops: [Loop]) -> Int {
        var out = position
        for loop in loops where loop.start <= position { out += pads[loop.index] ?? 0 }
        return out
    }

    /// The 64-byte lines `loop` touches with `pads` inserted.
    static func lines(_ loop: Loop, _ pads: [Int: Int], _ loops: [Loop]) -> Int {
        let first = shifted(loop.start, pads, loops) / line
        let last = shifted(loop.end - 1, pads, loops) / line
        return last - first + 1
    }
}
