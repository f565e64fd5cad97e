import RuntimeABI
import WasmCore
import WasmDecoder
import X64

extension CodeGen {
    mutating func emit(_ inst: Inst) {
        if inst.results.count == 1 && fused.contains(inst.results[0]) { return }  // emitted by the branch
        switch inst.op {
        case .const: break  // rematerialized where used
        case .binary(let op): emitBinary(op, inst)
        case .compare(let op):
            let r = inst.results[0]
            let cc = emitCompare(op, inst.args[0], inst.args[1])
            setFlag(cc, r)
        case .unary(let op): emitUnary(op, inst)
        case .select: emitSelect(inst)
        case .load(let op, let offset): emitLoad(op, offset: offset, inst)
        case .store(let op, let offset): emitStore(op, offset: offset, inst)
        case .globalGet(let i):
            let r = inst.results[0]
            if isFloat(r) {
                let d = xdest(r)
                asm.fload(precision(r), d, globalAddress(i))
                finish(r, d)
            } else {
                let d = dest(r)
                asm.load(width(r), d, globalAddress(i))
                finish(r, d)
            }
        case .globalSet(let i):
            let v = inst.args[0]
            if isFloat(v) {
                let value = xreg(v, Self.floatA)
                asm.fstore(precision(v), globalAddress(i), value)
            } else {
                let value = reg(v, .rax)
                asm.store(width(v), globalAddress(i), value)
            }
        case .call(let index): emitCall(index, inst)
        case .callIndirect(let typeIndex, let table): emitCallIndirect(typeIndex: typeIndex, table: table, inst)
        case .memorySize:
            let r = inst.results[0]
            let d = dest(r)
            asm.load(.b64, d, Mem(.r14, Int32(VMContextLayout.memorySize)))
            asm.shift(.shr, .b64, d, imm: 16)
            finish(r, d)
        case .float(let op): emitFloat(op, inst)
        case .builtin(let call):
            // Every value live across lives in a slot (a call): only the arguments need placing.
            parallelMove(zip(call.argRegs, inst.args).map { (Location.reg($0), loc[$1.id]) })
            for (r, value) in zip(call.constRegs, call.constants) { asm.mov(.b64, r, imm: value) }
            asm.mov(.b64, .rdi, .r14)
            asm.load(.b64, .rax, Mem(.r14, Int32(VMContextLayout.builtins)))
            asm.call(Mem(.rax, Int32(8 * call.builtin.rawValue)))
            if call.traps { trapIfEAXNonZero() }
            if call.hasResult {
                asm.mov(.b32, .rax, .rax)
                move(loc[inst.results[0].id], .reg(.rax))
            }
        case .refFunc(let index):
            let r = inst.results[0]
            let d = dest(r)
            asm.load(.b64, d, Mem(.r14, Int32(VMContextLayout.funcRefs)))
            asm.lea(.b64, d, Mem(d, Int32(index * FuncRefLayout.size)))
            finish(r, d)
        case .tableSize(let t):
            let r = inst.results[0]
            let d = dest(r)
            asm.load(.b64, d, Mem(.r14, Int32(shared.layout.table(t))))
            asm.load(.b32, d, Mem(d, Int32(TableLayout.size)))
            finish(r, d)
        case .tableGet(let t):
            let r = inst.results[0]
            let index = reg(inst.args[0], .rax)  // an i32: zero-extended
            tableElements(t, index: index)
            let d = dest(r)
            asm.load(.b64, d, Mem(.rcx, index: index, scale: 8))
            finish(r, d)
        case .tableSet(let t):
            let index = reg(inst.args[0], .rax)
            let value = reg(inst.args[1], .rdx)
            tableElements(t, index: index)
            asm.store(.b64, Mem(.rcx, index: index, scale: 8), value)
        case .memoryFill, .memoryCopy:
            // (vmctx, destination, value or source, length) -> trap code; every value live
            // across lives in a slot (a call), so only the arguments need placing.
            parallelMove(zip([Reg.rsi, .rdx, .rcx], inst.args).map { (Location.reg($0), loc[$1.id]) })
            let builtin: Builtin = inst.op == .memoryFill ? .memoryFill : .memoryCopy
            asm.mov(.b64, .rdi, .r14)
            asm.load(.b64, .rax, Mem(.r14, Int32(VMContextLayout.builtins)))
            asm.call(Mem(.rax, Int32(8 * builtin.rawValue)))
            trapIfEAXNonZero()
        case .memoryGrow:
            load(inst.args[0], into: .rsi)
            asm.mov(.b64, .rdi, .r14)
            asm.load(.b64, .rax, Mem(.r14, Int32(VMContextLayout.builtins)))
            asm.call(Mem(.rax, Int32(8 * Builtin.memoryGrow.rawValue)))
            asm.mov(.b32, .rax, .rax)
            move(loc[inst.results[0].id], .reg(.rax))
        }
    }

    // MARK: Integer operations

    mutating func emitBinary(_ op: BinaryOp, _ inst: Inst) {
        let (a, b, r) = (inst.args[0], inst.args[1], inst.results[0])
        let w = width(r)
        let d = dest(r)
        switch op {
        case .add where fusedShifts[a] != nil || fusedShifts[b] != nil:
            fusedShifts[a] != nil ? emitScaledAdd(a, plus: b, w, into: d) : emitScaledAdd(b, plus: a, w, into: d)
        case .add, .sub, .and, .or, .xor:
            let alu: ALUOp = switch op {
            case .add: .add
            case .sub: .sub
            case .and: .and
            case .or: .or
            default: .xor
            }
            if let y = imm32(b) {
                if op == .add, case .reg(let x) = loc[a.id], x != d {
                    asm.lea(w, d, Mem(x, y))  // three-address add
                } else {
                    load(a, into: d)
                    asm.alu(alu, w, d, imm: y)
                }
            } else if isReg(b, d) && !isReg(a, d) {
                if op.isCommutative {
                    asm.alu(alu, w, d, reg(a, .rax))
                } else {
                    load(a, into: .rax)
                    asm.alu(alu, w, .rax, d)
                    asm.mov(.b64, d, .rax)
                }
            } else if op == .add, case .reg(let x) = loc[a.id], case .reg(let y) = loc[b.id], x != d {
                asm.lea(w, d, Mem(x, index: y))
            } else {
                load(a, into: d)
                switch loc[b.id] {
                case .reg(let y): asm.alu(alu, w, d, y)
                case .slot(let k): asm.alu(alu, w, d, slotMem(k))
                default: asm.alu(alu, w, d, reg(b, .rcx))
                }
            }
        case .mul:
            if let y = imm32(b) {
                asm.imul(w, d, reg(a, .rax), imm: y)
            } else if isReg(b, d) {
                asm.imul(w, d, reg(a, .rax))
            } else {
                load(a, into: d)
                asm.imul(w, d, reg(b, .rcx))
            }
        case .shl, .shrS, .shrU, .rotl, .rotr:
            let shift: ShiftOp = switch op {
            case .shl: .shl
            case .shrS: .sar
            case .shrU: .shr
            case .rotl: .rol
            default: .ror
            }
            if let y = imm32(b) {
                load(a, into: d)
                asm.shift(shift, w, d, imm: UInt8(truncatingIfNeeded: y) & (w == .b32 ? 31 : 63))
            } else {
                load(b, into: .rcx)
                load(a, into: d)
                asm.shift(shift, w, d)
            }
        case .divS, .divU, .remS, .remU:
            if op == .divU || op == .remU, let divisor = constantDivisor(b, w),
               let result = emitUnsignedDivByConstant(a, divisor, w, remainder: op == .remU) {
                asm.mov(.b64, d, result)
                break
            }
            if op == .divS || op == .remS, let k = signedPowerOfTwoDivisor(b, w) {
                asm.mov(.b64, d, emitSignedDivByPowerOfTwo(a, k, w, remainder: op == .remS))
                break
            }
            emitDivRem(a, b, w, signed: op == .divS || op == .remS, remainder: op == .remS || op == .remU)
            asm.mov(.b64, d, op == .remS || op == .remU ? .rdx : .rax)
        }
        finish(r, d)
    }

    /// `b`'s value as an unsigned divisor, if it is a constant `emitUnsignedDivByConstant` handles.
    func constantDivisor(_ b: Value, _ w: Width) -> UInt64? {
        guard case .imm(let bits) = loc[b.id] else { return nil }
        let d = w == .b32 ? bits & 0xFFFF_FFFF : bits
        return UnsignedDivisor(d, bits: w == .b32 ? 32 : 64) == nil ? nil : d
    }

    /// Results of `x | c` with a constant c that has a bit set in the type's width: never zero,
    /// so dividing by one cannot trap (hash loops divide by `i | 1`, which C code writes to
    /// avoid a zero divisor).
    static func knownNonZero(_ f: IRFunction) -> Set<Value> {
        let constants = f.constants()
        var out: Set<Value> = []
        for block in f.blocks {
            for inst in block.insts {
                guard case .binary(.or) = inst.op, let r = inst.results.first else { continue }
                let mask: UInt64 = f.types[r.id] == .i32 ? 0xFFFF_FFFF : .max
                if inst.args.contains(where: { (constants[$0] ?? 0) & mask != 0 }) { out.insert(r) }
            }
        }
        return out
    }

    /// Division through rax:rdx with the baseline's traps (`Assembler.wasmDivide`). A divisor
    /// that is constant, or known not to be zero, skips the checks it cannot fail.
    mutating func emitDivRem(_ a: Value, _ b: Value, _ w: Width, signed: Bool, remainder: Bool) {
        var known: Int64?
        if case .imm(let bits) = loc[b.id] {
            known = w == .b32 ? Int64(Int32(truncatingIfNeeded: bits)) : Int64(bitPattern: bits)
        }
        load(b, into: .rcx)
        load(a, into: .rax)
        let checksZero = (known == nil && !nonZero.contains(b)) || known == 0
        let checksMinusOne = signed && (known == nil || known == -1)
        asm.wasmDivide(w, by: .rcx, signed: signed, remainder: remainder,
                       divideByZero: checksZero ? trapLabel(.integerDivideByZero) : nil, checksMinusOne: checksMinusOne,
                       overflow: checksMinusOne && !remainder ? trapLabel(.integerOverflow) : nil, scratch: Self.scratch)
    }

    static func condition(_ op: CompareOp) -> Condition {
        switch op {
        case .eq: .e
        case .ne: .ne
        case .ltS: .l
        case .ltU: .b
        case .gtS: .g
        case .gtU: .a
        case .leS: .le
        case .leU: .be
        case .geS: .ge
        case .geU: .ae
        }
    }

    /// Sets the flags for `a op b` and returns the condition that holds when it is true.
    mutating func emitCompare(_ op: CompareOp, _ a: Value, _ b: Value) -> Condition {
        let w = width(a)
        if imm32(a) != nil && imm32(b) == nil {
            return emitCompare(op.swapped, b, a)
        }
        let x = reg(a, .rax)
        if let y = imm32(b) {
            if y == 0 && (op == .eq || op == .ne) {
                asm.test(w, x, x)
            } else {
                asm.alu(.cmp, w, x, imm: y)
            }
        } else {
            switch loc[b.id] {
            case .reg(let y): asm.alu(.cmp, w, x, y)
            case .slot(let k): asm.alu(.cmp, w, x, slotMem(k))
            default: asm.alu(.cmp, w, x, reg(b, .rcx))
            }
        }
        return Self.condition(op)
    }

    mutating func setFlag(_ cc: Condition, _ r: Value) {
        let d = dest(r)
        asm.setcc(cc, d)
        asm.movzx(from: .b8, d, d)
        finish(r, d)
    }

    mutating func emitUnary(_ op: UnaryOp, _ inst: Inst) {
        let (a, r) = (inst.args[0], inst.results[0])
        let w = width(a)
        let d = dest(r)
        switch op {
        case .eqz:
            let x = reg(a, .rax)
            asm.test(w, x, x)
            setFlag(.e, r)
            return
        case .clz: asm.countLeadingZeros(w, d, reg(a, .rax), scratch: .rcx)
        case .ctz: asm.countTrailingZeros(w, d, reg(a, .rax), scratch: .rcx)
        case .popcnt:
            load(a, into: .rax)
            if CPUFeatures.hasPOPCNT {
                asm.bitCount(.popcnt, w, d, .rax)
            } else {
                asm.softwarePopcount(w, value: .rax, temp: .rcx, scratch: .rdx)
                asm.mov(.b64, d, .rax)
            }
        case .extend8S: asm.movsx(from: .b8, to: w, d, reg(a, .rax))
        case .extend16S: asm.movsx(from: .b16, to: w, d, reg(a, .rax))
        case .extend32S, .extendI32S: asm.movsx(from: .b32, to: .b64, d, reg(a, .rax))
        case .wrap, .extendI32U: asm.mov(.b32, d, reg(a, .rax))
        }
        finish(r, d)
    }

    /// select: the first value, replaced by the second with cmov when the condition is zero.
    func isFloat(_ v: Value) -> Bool { f.types[v.id] == .f32 || f.types[v.id] == .f64 }

    mutating func emitSelect(_ inst: Inst) {
        let (c, x, y, r) = (inst.args[0], inst.args[1], inst.args[2], inst.results[0])
        if isFloat(r) {
            // In xmm14, with a branch around the move (no cmov for XMM registers), as the baseline.
            let cond = reg(c, .rcx)
            let second = xreg(y, Self.floatB)
            let first = xreg(x, Self.floatA)
            if first != Self.floatA { asm.fmov(Self.floatA, first) }
            let keep = asm.newLabel()
            asm.test(.b32, cond, cond)
            asm.jcc(.ne, keep)
            asm.fmov(Self.floatA, second)
            asm.bind(keep)
            move(loc[r.id], .xreg(Self.floatA))
            return
        }
        var d = dest(r)
        if isReg(y, d) || isReg(c, d) { d = .rax }
        load(x, into: d)
        let cond = reg(c, .rcx)
        let second = reg(y, .rdx)  // before the test: materializing 0 is an xor, which sets flags
        asm.test(.b32, cond, cond)
        asm.cmov(.e, .b64, d, second)
        if d == .rax { move(loc[r.id], .reg(.rax)) } else { finish(r, d) }
    }

    // MARK: Memory

    /// The operand for an access of `size` bytes at `address + offset`, by the baseline's scheme
    /// (`Assembler.guardedHeapOperand` and `boundedHeapOperand`), except that a bounded access
    /// that a dominating one has checked goes unchecked. i32 values are kept zero-extended, so
    /// the address needs no extension.
    mutating func effectiveAddress(_ address: Value, offset: UInt32, size: Int) -> Mem {
        let index = reg(address, .rax)
        switch shared.options.heapMode {
        case .guarded:
            return asm.guardedHeapOperand(base: .r15, index: index, offset: offset, scratch: Self.scratch)
        case .bounded:
            if uncheckedAccesses.contains(currentAccess) {  // proven in bounds (offset fits: BoundsChecks)
                return Mem(.r15, index: index, scale: 1, disp: Int32(offset))
            }
            return asm.boundedHeapOperand(base: .r15, index: index, offset: offset, size: size,
                                          limit: Mem(.r14, Int32(VMContextLayout.memorySize)), scratch: Self.scratch,
                                          outOfBounds: trapLabel(.outOfBoundsMemoryAccess))
        }
    }

    mutating func markHeapAccess() {
        if shared.options.heapMode == .guarded { trapSites.append(asm.offset) }
    }

    mutating func emitLoad(_ op: LoadOp, offset: UInt32, _ inst: Inst) {
        let r = inst.results[0]
        let mem = effectiveAddress(inst.args[0], offset: offset, size: 1 << op.naturalAlignment)
        if op == .f32Load || op == .f64Load {
            let d = xdest(r)
            markHeapAccess()
            asm.fload(op == .f32Load ? .single : .double, d, mem)
            finish(r, d)
            return
        }
        let d = dest(r)
        markHeapAccess()
        asm.load(op, d, mem)
        finish(r, d)
    }

    mutating func emitStore(_ op: StoreOp, offset: UInt32, _ inst: Inst) {
        let size = 1 << op.naturalAlignment
        let w = op.width
        let v = inst.args[1]
        if op == .f32Store || op == .f64Store {
            let value = xreg(v, Self.floatA)
            let mem = effectiveAddress(inst.args[0], offset: offset, size: size)
            markHeapAccess()
            asm.fstore(op == .f32Store ? .single : .double, mem, value)
            return
        }
        let constant = imm32(v)
        let value = constant == nil ? reg(v, .rcx) : .rcx
        let mem = effectiveAddress(inst.args[0], offset: offset, size: size)
        markHeapAccess()
        if let constant {
            let narrowed: Int32 = switch w {
            case .b8: Int32(Int8(truncatingIfNeeded: constant))
            case .b16: Int32(Int16(truncatingIfNeeded: constant))
            default: constant
            }
            asm.store(w, mem, imm: narrowed)
        } else {
            asm.store(w, mem, value)
        }
    }

    mutating func globalAddress(_ index: Int) -> Mem {
        let offset = Int32(shared.layout.global(index))
        if shared.layout.isImportedGlobal(index) {
            asm.load(.b64, Self.scratch, Mem(.r14, offset))
            return Mem(Self.scratch, 0)
        }
        return Mem(.r14, offset)
    }

    /// Bounds-checks `index` against table `t` (the baseline's trap) and leaves its elements
    /// pointer in rcx.
    mutating func tableElements(_ t: Int, index: Reg) {
        asm.load(.b64, .rcx, Mem(.r14, Int32(shared.layout.table(t))))
        asm.alu(.cmp, .b64, index, Mem(.rcx, Int32(TableLayout.size)))
        asm.jcc(.ae, trapLabel(.outOfBoundsTableAccess))
        asm.load(.b64, .rcx, Mem(.rcx, Int32(TableLayout.elements)))
    }

    // MARK: Calls

    /// Stores the arguments to the outgoing area (r11 carries slots and wide constants).
    mutating func storeOutgoing(_ args: ArraySlice<Value>) {
        for (i, a) in args.enumerated() {
            let mem = Mem(.rsp, Int32(8 * i))
            switch loc[a.id] {
            case .reg(let r): asm.store(.b64, mem, r)
            case .xreg(let x): asm.fstore(.double, mem, x)
            case .slot(let k):
                asm.load(.b64, Self.scratch, slotMem(k))
                asm.store(.b64, mem, Self.scratch)
            case .imm(let bits): asm.store64(mem, imm: Int64(bitPattern: bits), via: Self.scratch)
            case .none: break
            }
        }
    }

    mutating func loadResults(_ results: [Value]) {
        for (i, r) in results.enumerated() {
            let mem = Mem(.rsp, Int32(8 * i))
            switch loc[r.id] {
            case .reg(let d): asm.load(width(r), d, mem)
            case .xreg(let x): asm.fload(precision(r), x, mem)
            case .slot(let k):
                asm.load(width(r), .rax, mem)
                asm.store(.b64, slotMem(k), .rax)
            case .none, .imm: break
            }
        }
    }

    /// A call to an import goes through the standard ABI; to a defined function, through its
    /// fast entry (`emitFastCall`).
    mutating func emitCall(_ index: Int, _ inst: Inst) {
        guard index < shared.layout.importedFunctionCount else {
            emitFastCall(definedIndex: index - shared.layout.importedFunctionCount, inst)
            return
        }
        maxOutgoing = max(maxOutgoing, inst.args.count, inst.results.count)
        storeOutgoing(inst.args[...])
        let slot = Int32(shared.layout.importedFunction(index))
        asm.load(.b64, .rdi, Mem(.r14, slot + 8))
        asm.call(Mem(.r14, slot))
        loadResults(inst.results)
    }

    /// The table-bounds, null and signature checks, then the callee's fast entry with register
    /// arguments when the funcref has one and runs with our own vmctx (same instance: r14 and r15
    /// are right), else its standard entry. Both paths keep rbx/r12/r13 (the fast entry by its
    /// convention, the standard path by saving those the allocation uses around the call) and
    /// clobber every other allocatable register.
    mutating func emitCallIndirect(typeIndex: Int, table: Int, _ inst: Inst) {
        let args = inst.args.dropLast()
        maxOutgoing = max(maxOutgoing, args.count, inst.results.count)
        load(inst.args[inst.args.count - 1], into: .rax)
        let ref = Reg.rcx
        asm.load(.b64, ref, Mem(.r14, Int32(shared.layout.table(table))))
        asm.alu(.cmp, .b64, .rax, Mem(ref, Int32(TableLayout.size)))
        asm.jcc(.ae, trapLabel(.undefinedElement))
        asm.load(.b64, ref, Mem(ref, Int32(TableLayout.elements)))
        asm.load(.b64, ref, Mem(ref, index: .rax, scale: 8))
        asm.test(.b64, ref, ref)
        asm.jcc(.e, trapLabel(.uninitializedElement))
        asm.load(.b64, Self.scratch, Mem(.r14, Int32(VMContextLayout.typeIDs)))
        asm.load(.b32, Self.scratch, Mem(Self.scratch, Int32(4 * typeIndex)))
        asm.alu(.cmp, .b32, Self.scratch, Mem(ref, Int32(FuncRefLayout.typeID)))
        asm.jcc(.ne, trapLabel(.indirectCallTypeMismatch))
        let type = FuncType(params: args.map { f.types[$0.id] }, results: inst.results.map { f.types[$0.id] })
        var done: Label?
        if FastCallABI.applies(to: type) {
            let standard = asm.newLabel()
            done = asm.newLabel()
            asm.alu(.cmp, .b64, .r14, Mem(ref, Int32(FuncRefLayout.vmctx)))
            asm.jcc(.ne, standard)
            asm.alu(.cmp, .b64, Mem(ref, Int32(FuncRefLayout.fast)), imm: 0)
            asm.jcc(.e, standard)
            emitFastCall(args: args, results: inst.results) { $0.asm.call(Mem(ref, Int32(FuncRefLayout.fast))) }
            asm.jmp(done!)
            asm.bind(standard)
        }
        storeOutgoing(args)
        for (j, r) in indirectSaves.enumerated() { asm.store(.b64, slotMem(slotCount + savedRegs.count + j), r) }
        asm.load(.b64, .rdi, Mem(ref, Int32(FuncRefLayout.vmctx)))
        asm.call(Mem(ref, Int32(FuncRefLayout.code)))
        for (j, r) in indirectSaves.enumerated() { asm.load(.b64, r, slotMem(slotCount + savedRegs.count + j)) }
        loadResults(inst.results)
        if let done { asm.bind(done) }
    }
}
