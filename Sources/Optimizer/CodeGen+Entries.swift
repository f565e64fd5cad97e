import RuntimeABI
import WasmCore
import X64

/// The two entries and the two returns of an optimized function.
///
/// Both entries build the same frame: rbp chain, two words at [rbp - 8] and [rbp - 16], the
/// allocator's slots and the callee-saved save slots below them, the outgoing area at rsp. The
/// standard entry saves r14 and r15 in those two words; the fast entry (r14 and r15 already
/// right) stores 0 at [rbp - 8] instead, and that word tells a shared body's return which
/// convention the function was entered by (a duplicated body's fast copy never reads it, so
/// its fast entry leaves the word unwritten). Each entry has its own stack/yield check and fuel check, where the
/// baseline has them, then moves the params to their locations and goes to the first block.
extension CodeGen {
    /// Whether `f` calls an import or uses call_indirect: a standard-ABI callee may clobber the
    /// callee-saved registers, so the fast entry must save all of them.
    static func makesStandardCalls(_ f: IRFunction, importedFunctions: Int) -> Bool {
        f.blocks.contains { block in
            block.insts.contains { inst in
                switch inst.op {
                case .call(let index): index < importedFunctions
                case .callIndirect: true
                default: false
                }
            }
        }
    }

    /// Offset 0: the standard ABI (vmctx in rdi, params at [rbp + 16 + 8*i]). Then it jumps to
    /// the body, or falls into its own copy of it.
    mutating func emitStandardEntry(fallThrough: Bool) {
        asm.push(.rbp)
        asm.mov(.b64, .rbp, .rsp)
        asm.push(.r14)
        asm.push(.r15)
        asm.mov(.b64, .r14, .rdi)
        asm.load(.b64, .r15, Mem(.r14, Int32(VMContextLayout.memoryBase)))
        asm.alu(.sub, .b64, .rsp, imm: 0x7FFF_FFF0)
        frameSizePositions.append((asm.offset - 4, 0))
        emitYieldCheck()
        if shared.options.fuel { emitFuelCheck() }
        for (i, p) in f.blocks[0].params.enumerated() {
            let arg = Mem(.rbp, Int32(16 + 8 * i))
            switch loc[p.id] {
            case .reg(let r): asm.load(width(p), r, arg)
            case .xreg(let x): asm.fload(f.types[p.id] == .f32 ? .single : .double, x, arg)
            case .slot(let k):
                asm.load(width(p), .rax, arg)
                asm.store(.b64, slotMem(k), .rax)
            case .none, .imm: break
            }
        }
        if !fallThrough { asm.jmp(labels[0]) }
    }

    /// The fast entry (`FastCallABI`): params in registers (overflow at [rbp + 16 + 8*k]); it
    /// saves the callee-saved registers the body uses. Falls through into the first block.
    mutating func emitFastEntry() {
        asm.align(16)
        fastEntryOffset = asm.offset
        asm.push(.rbp)
        asm.mov(.b64, .rbp, .rsp)
        if duplicatesBody {
            // Its own copy of the body returns by the fast convention without reading [rbp - 8].
            asm.alu(.sub, .b64, .rsp, imm: 0x7FFF_FFF0)
            frameSizePositions.append((asm.offset - 4, 16))
        } else {
            asm.push(imm: 0)
            asm.alu(.sub, .b64, .rsp, imm: 0x7FFF_FFF0)
            frameSizePositions.append((asm.offset - 4, 8))
        }
        emitYieldCheck()
        if shared.options.fuel { emitFuelCheck() }
        if saves.block == 0 { emitSaves() }
        let params = f.blocks[0].params
        parallelMove(zip(params, abi.params).compactMap { p, place in
            switch place {
            case .reg(let r): (loc[p.id], .reg(r))
            case .xreg(let x): (loc[p.id], .xreg(x))
            case .stack: nil
            }
        })
        for (p, place) in zip(params, abi.params) {
            guard case .stack(let k) = place else { continue }
            loadFromMemory(p, Mem(.rbp, Int32(16 + 8 * k)))
        }
    }

    /// `ret`: the values go to the fast convention's places; a function entered by its standard
    /// entry then goes on to the standard return, which moves them to the caller's slots. In a
    /// duplicated body each copy knows its entry, and returns by it directly.
    /// `restores`: whether the callee-saved registers were saved on the way here (`SavePlacement`).
    mutating func emitReturn(_ values: [Value], restores: Bool) {
        if returnKind == .standard {
            for (i, v) in values.enumerated() { storeToMemory(v, Mem(.rbp, Int32(16 + 8 * i))) }
            emitStandardEpilogue()
            return
        }
        for (v, place) in zip(values, abi.results) {
            guard case .stack(let k) = place else { continue }
            storeToMemory(v, Mem(.rbp, Int32(16 + 8 * k)))
        }
        parallelMove(zip(values, abi.results).compactMap { v, place in
            switch place {
            case .reg(let r): (.reg(r), loc[v.id])
            case .xreg(let x): (.xreg(x), loc[v.id])
            case .stack: nil
            }
        })
        if returnKind == .checked {
            let standard = standardReturn ?? asm.newLabel()
            standardReturn = standard
            asm.alu(.cmp, .b64, Mem(.rbp, -8), imm: 0)
            asm.jcc(.ne, standard)
        }
        if restores { for (j, r) in savedRegs.enumerated() { asm.load(.b64, r, slotMem(slotCount + j)) } }
        asm.mov(.b64, .rsp, .rbp)
        asm.pop(.rbp)
        asm.ret()
    }

    /// Saves the callee-saved registers the fast entry keeps for its caller.
    mutating func emitSaves() {
        for (j, r) in savedRegs.enumerated() { asm.store(.b64, slotMem(slotCount + j), r) }
    }

    /// The standard entry's return, shared by every `ret`: overflow results move from their
    /// overflow slot to their own (k <= i; descending, so none is overwritten before it is
    /// read), then the register results are stored; the standard epilogue restores r14 and r15.
    mutating func emitStandardReturn() {
        guard let label = standardReturn else { return }
        asm.bind(label)
        for (i, place) in abi.results.enumerated().reversed() {
            guard case .stack(let k) = place, k != i else { continue }
            asm.load(.b64, .rax, Mem(.rbp, Int32(16 + 8 * k)))
            asm.store(.b64, Mem(.rbp, Int32(16 + 8 * i)), .rax)
        }
        for (i, place) in abi.results.enumerated() {
            let mem = Mem(.rbp, Int32(16 + 8 * i))
            switch place {
            case .reg(let r): asm.store(.b64, mem, r)
            case .xreg(let x): asm.fstore(.double, mem, x)
            case .stack: break
            }
        }
        emitStandardEpilogue()
    }

    mutating func emitStandardEpilogue() {
        asm.lea(.b64, .rsp, Mem(.rbp, -16))
        asm.pop(.r15)
        asm.pop(.r14)
        asm.pop(.rbp)
        asm.ret()
    }

    /// Loads `v` from an 8-byte argument or result slot into its location.
    mutating func loadFromMemory(_ v: Value, _ mem: Mem) {
        switch loc[v.id] {
        case .reg(let r): asm.load(width(v), r, mem)
        case .xreg(let x): asm.fload(precision(v), x, mem)
        case .slot(let k):
            asm.load(width(v), .rax, mem)
            asm.store(.b64, slotMem(k), .rax)
        case .none, .imm: break
        }
    }

    /// Stores `v` to an 8-byte argument or result slot (rax carries slots and wide constants).
    mutating func storeToMemory(_ v: Value, _ mem: Mem) {
        switch loc[v.id] {
        case .reg(let r): asm.store(.b64, mem, r)
        case .xreg(let x): asm.fstore(.double, mem, x)
        case .slot(let k):
            asm.load(.b64, .rax, slotMem(k))
            asm.store(.b64, mem, .rax)
        case .imm(let bits): asm.store64(mem, imm: Int64(bitPattern: bits), via: .rax)
        case .none: break
        }
    }

    /// A direct call to a defined function of this module, through its fast entry. Values live
    /// across it are in callee-saved registers or slots; the rest may be clobbered.
    mutating func emitFastCall(definedIndex: Int, _ inst: Inst) {
        emitFastCall(args: inst.args[...], results: inst.results) { $0.asm.call($0.externalLabel(FastCallABI.symbol(definedIndex: definedIndex))) }
    }

    /// Moves `args` to their `FastCallABI` places, calls (`call` emits the call instruction; the
    /// moves leave rax, rcx and rdx alone, so it may use rcx), and takes the results.
    mutating func emitFastCall(args: ArraySlice<Value>, results: [Value], call: (inout CodeGen) -> Void) {
        let callee = FastCallABI(FuncType(params: args.map { f.types[$0.id] }, results: results.map { f.types[$0.id] }))
        maxOutgoing = max(maxOutgoing, callee.stackSlots)
        for (a, place) in zip(args, callee.params) {
            guard case .stack(let k) = place else { continue }
            storeToMemory(a, Mem(.rsp, Int32(8 * k)))
        }
        parallelMove(zip(args, callee.params).compactMap { a, place in
            switch place {
            case .reg(let r): (.reg(r), loc[a.id])
            case .xreg(let x): (.xreg(x), loc[a.id])
            case .stack: nil
            }
        })
        call(&self)
        parallelMove(zip(results, callee.results).compactMap { r, place in
            switch place {
            case .reg(let reg): (loc[r.id], .reg(reg))
            case .xreg(let x): (loc[r.id], .xreg(x))
            case .stack: nil
            }
        })
        for (r, place) in zip(results, callee.results) {
            guard case .stack(let k) = place else { continue }
            loadFromMemory(r, Mem(.rsp, Int32(8 * k)))
        }
    }
}
