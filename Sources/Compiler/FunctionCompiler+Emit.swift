import RuntimeABI
import WasmCore
import WasmDecoder
import X64

extension FunctionCompiler {
    /// Generates code for one (already validated) instruction.
    mutating func emit(_ instruction: Instruction) throws {
        guard reachable else {
            emitUnreachableControl(instruction)
            return
        }
        switch instruction {
        case .unreachable:
            asm.jmp(trapLabel(.unreachable))
            reachable = false
        case .nop: break
        case .block(let bt): emitBlock(bt)
        case .loop(let bt): emitLoop(bt)
        case .if(let bt): emitIf(bt)
        case .else: emitElse()
        case .end: emitEnd()
        case .br(let depth): emitBr(depth)
        case .brIf(let depth): emitBrIf(depth)
        case .brTable(let targets, let defaultTarget): emitBrTable(targets, defaultTarget)
        case .return: emitReturn()
        case .call(let index): emitCall(index)
        case .callIndirect(let typeIndex, let table): emitCallIndirect(typeIndex: typeIndex, table: table)

        case .refNull(let t): push(t == .funcref ? .funcref : .externref, .imm(0))
        case .refIsNull:
            let r = popGPR()
            asm.test(.b64, r, r)
            setFlagResult(.e, into: r)
        case .refFunc(let index):
            let r = allocGPR()
            asm.load(.b64, r, Mem(Registers.vmctx, Int32(VMContextLayout.funcRefs)))
            asm.lea(.b64, r, Mem(r, Int32(Int(index) * FuncRefLayout.size)))
            pushGPR(.funcref, r)

        case .drop: freeLocation(popEntry().location)
        case .select: emitSelect()
        case .selectTyped: emitSelect()

        case .localGet(let i): emitLocalGet(Int(i))
        case .localSet(let i): emitLocalSet(Int(i), keep: false)
        case .localTee(let i): emitLocalSet(Int(i), keep: true)
        case .globalGet(let i): emitGlobalGet(Int(i))
        case .globalSet(let i): emitGlobalSet(Int(i))

        case .tableGet(let t): emitTableGet(Int(t))
        case .tableSet(let t): emitTableSet(Int(t))
        case .tableSize(let t):
            let r = allocGPR()
            asm.load(.b64, r, Mem(Registers.vmctx, Int32(shared.layout.table(Int(t)))))
            asm.load(.b32, r, Mem(r, Int32(TableLayout.size)))
            pushGPR(.i32, r)
        case .tableGrow(let t):
            // (vmctx, table, initial, delta) -> old size or -1
            callBuiltin(.tableGrow, operands: [.rdx, .rcx], constants: [(.rsi, Int64(t))], result: .i32)
        case .tableFill(let t):
            callBuiltin(.tableFill, operands: [.rdx, .rcx, .r8], constants: [(.rsi, Int64(t))], result: nil, traps: true)
        case .tableCopy(let destination, let source):
            callBuiltin(.tableCopy, operands: [.rcx, .r8, .r9], constants: [(.rsi, Int64(destination)), (.rdx, Int64(source))],
                        result: nil, traps: true)
        case .tableInit(let element, let table):
            callBuiltin(.tableInit, operands: [.rcx, .r8, .r9], constants: [(.rsi, Int64(table)), (.rdx, Int64(element))],
                        result: nil, traps: true)
        case .elemDrop(let element):
            callBuiltin(.elemDrop, operands: [], constants: [(.rsi, Int64(element))], result: nil)

        case .load(let op, let memarg): emitLoad(op, memarg)
        case .store(let op, let memarg): emitStore(op, memarg)
        case .memorySize:
            let r = allocGPR()
            asm.load(.b64, r, Mem(Registers.vmctx, Int32(VMContextLayout.memorySize)))
            asm.shift(.shr, .b64, r, imm: 16)
            pushGPR(.i32, r)
        case .memoryGrow:
            callBuiltin(.memoryGrow, operands: [.rsi], constants: [], result: .i32)
        case .memoryInit(let segment):
            callBuiltin(.memoryInit, operands: [.rdx, .rcx, .r8], constants: [(.rsi, Int64(segment))], result: nil, traps: true)
        case .dataDrop(let segment):
            callBuiltin(.dataDrop, operands: [], constants: [(.rsi, Int64(segment))], result: nil)
        case .memoryCopy:
            callBuiltin(.memoryCopy, operands: [.rsi, .rdx, .rcx], constants: [], result: nil, traps: true)
        case .memoryFill:
            callBuiltin(.memoryFill, operands: [.rsi, .rdx, .rcx], constants: [], result: nil, traps: true)

        case .i32Const(let v): push(.i32, .imm(UInt64(UInt32(bitPattern: v))))
        case .i64Const(let v): push(.i64, .imm(UInt64(bitPattern: v)))
        case .f32Const(let bits): push(.f32, .imm(UInt64(bits)))
        case .f64Const(let bits): push(.f64, .imm(bits))
        case .numeric(let op): emitNumeric(op)

        case .v128Const(let v): emitV128Const(v)
        case .i8x16Shuffle(let lanes): emitShuffle(lanes)
        case .simd(let op): try emitSIMD(op)
        case .simdLoad(let op, let memarg): emitSIMDLoad(op, memarg)
        case .simdStore(let memarg): emitSIMDStore(memarg)
        case .simdExtractLane(let op, let lane): emitExtractLane(op, lane: lane)
        case .simdReplaceLane(let op, let lane): emitReplaceLane(op, lane: lane)
        case .simdLoadLane(let op, let memarg, let lane): emitLoadLane(op, memarg, lane: lane)
        case .simdStoreLane(let op, let memarg, let lane): emitStoreLane(op, memarg, lane: lane)
        }
    }

    /// Turns flags into a 0/1 i32 in `reg` (which the caller owns) and pushes it.
    mutating func setFlagResult(_ condition: Condition, into reg: Reg) {
        asm.setcc(condition, reg)
        asm.movzx(from: .b8, reg, reg)
        pushGPR(.i32, reg)
    }

    mutating func emitSelect() {
        let condition = popGPR()
        let type = stack[stack.count - 1].type
        if type.isGPRClass {
            let second = popGPR()
            let first = popGPR()
            asm.test(.b32, condition, condition)
            asm.cmov(.e, .b64, first, second)
            free(second)
            free(condition)
            pushGPR(type, first)
        } else {
            let second = popXMM()
            let first = popXMM()
            let keep = asm.newLabel()
            asm.test(.b32, condition, condition)
            asm.jcc(.ne, keep)
            asm.fmov(first, second)
            asm.bind(keep)
            free(second)
            free(condition)
            pushXMM(type, first)
        }
    }

    // MARK: Locals and globals

    mutating func emitLocalGet(_ index: Int) {
        let type = validator.localType(UInt32(index))!
        let mem = frame.local(index)
        if type.isGPRClass {
            let r = allocGPR()
            loadGPR(type, r, from: mem)
            pushGPR(type, r)
        } else {
            let x = allocXMM()
            loadXMM(type, x, from: mem)
            pushXMM(type, x)
        }
    }

    mutating func emitLocalSet(_ index: Int, keep: Bool) {
        let mem = frame.local(index)
        // A stack operand still in its slot may alias nothing here: locals and slots are disjoint.
        store(stack[stack.count - 1], to: mem)
        if !keep { freeLocation(popEntry().location) }
    }

    /// The address of global `index`'s value: inline in the vmctx, or behind the import's pointer.
    mutating func globalAddress(_ index: Int) -> Mem {
        let offset = Int32(shared.layout.global(index))
        if shared.layout.isImportedGlobal(index) {
            asm.load(.b64, Registers.scratch, Mem(Registers.vmctx, offset))
            return Mem(Registers.scratch, 0)
        }
        return Mem(Registers.vmctx, offset)
    }

    mutating func emitGlobalGet(_ index: Int) {
        let type = shared.context.globals[index].valueType
        if type.isGPRClass {
            let r = allocGPR()
            loadGPR(type, r, from: globalAddress(index))
            pushGPR(type, r)
        } else {
            let x = allocXMM()
            loadXMM(type, x, from: globalAddress(index))
            pushXMM(type, x)
        }
    }

    mutating func emitGlobalSet(_ index: Int) {
        let entry = stack[stack.count - 1]
        let type = entry.type
        // Get the value into a register first: storing a slot or wide constant needs the scratch
        // register, which the imported-global address also uses.
        if type.isGPRClass {
            let r = popGPR()
            let mem = globalAddress(index)
            asm.store(type == .i32 ? .b32 : .b64, mem, r)
            free(r)
        } else {
            let x = popXMM()
            let mem = globalAddress(index)
            if type == .v128 {
                asm.movdqu(mem, x)
            } else {
                asm.fstore(type == .f32 ? .single : .double, mem, x)
            }
            free(x)
        }
    }
}
