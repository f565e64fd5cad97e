import Optimizer
import RuntimeABI
import WasmCore
import WasmDecoder
import X64

/// Compiles one function body in a single pass, in the style of V8's Liftoff and Wasmtime's Winch:
/// the validator checks each instruction as it is read, and the code generator keeps a model of
/// the operand stack in which each value is a constant, a register or its spill slot.
///
/// Invariant at every control-flow boundary (block, loop and if entries, branch targets): no
/// operand below the innermost frame holds a register, and merge values (block params and
/// results) are in their spill slots. Inside straight-line code values stay in registers, and
/// constants are folded into instructions where x86 allows.
struct FunctionCompiler {
    var asm: Assembler
    let shared: ModuleContext
    let functionIndex: Int
    let type: FuncType
    let frame: FrameLayout
    var validator: FunctionValidator

    var stack: [StackEntry] = []
    /// Every operand below these indices is not in a register of that class: where searches for a
    /// register to spill or claim start. Without them a deep stack (a call with 100,000
    /// arguments) makes every allocation scan it from the bottom: quadratic compile time.
    var gprFloor = 0
    var xmmFloor = 0
    var freeGPRs = RegisterSet(Registers.allocatableGPRs.map(\.id))
    var freeXMMs = RegisterSet(Registers.allocatableXMMs.map(\.id))
    var frames: [ControlFrame] = []
    var reachable = true
    var maxDepth = 0
    var maxOutgoing = 0
    var frameSizePosition = 0
    /// The trap stubs and the yield and fuel slow paths, placed after the body.
    var trapPaths = TrapPaths()
    /// Code offsets of the heap accesses that may fault (guarded heaps), in emission order.
    var trapSites: [Int] = []
    /// 16-byte constants (v128.const, shuffle masks) placed after the function's code, one per
    /// distinct value, loaded rip-relative (see `materializeV128`).
    var constantPool: [V128: Label] = [:]
    var exitLabel: Label
    /// The external label made for each `LinkSymbol` this function refers to (one per symbol, so
    /// the assembler's label table stays small however often a callee is called).
    var externalLabels: [Int: Label] = [:]

    struct ControlFrame {
        enum Kind { case function, block, loop, `if` }
        var kind: Kind
        /// Branch target: the end for blocks, ifs and the function; the header for loops.
        var label: Label
        var elseLabel: Label?
        /// Operand stack height below the frame's params.
        var height: Int
        var params: [ValueType]
        var results: [ValueType]
        var enteredReachable: Bool
        var labelUsed = false
        var sawElse = false
        var branchTypes: [ValueType] { kind == .loop ? params : results }
    }

    /// The function gets an assembler of its own, starting at offset 0: everything outside the
    /// function (callees, the trap exit) is reached through external labels, so functions can be
    /// compiled in any order, on any thread, and placed by `ModuleLinker`.
    init(shared: ModuleContext, functionIndex: Int, body: FunctionBody) throws {
        var asm = Assembler()
        self.exitLabel = asm.newLabel()
        self.asm = asm
        self.shared = shared
        self.functionIndex = functionIndex
        let type = shared.module.types[Int(shared.context.functionTypeIndices[functionIndex])]
        self.type = type
        var declared: UInt64 = 0
        for c in body.localCounts { declared += UInt64(c) }
        guard declared <= 1 << 20 else {
            throw CompileError("\(declared) locals: more than the code generator's limit of 2^20", function: functionIndex)
        }
        let hasV128Locals = body.localTypes.contains(.v128)
        let expanded: [ValueType]? = hasV128Locals || type.params.contains(.v128)
            ? zip(body.localCounts, body.localTypes).flatMap { Array(repeating: $1, count: Int($0)) } : nil
        let mayHoldV128 = shared.usesV128 || hasV128Locals || Self.hasSIMDInstruction(shared, body.code)
        if mayHoldV128 { try Self.requireSIMDSupport(function: functionIndex) }
        frame = FrameLayout(params: type.params, results: type.results, declaredCount: Int(declared), declaredLocals: expanded,
                            mayHoldV128: mayHoldV128)
        validator = FunctionValidator(context: shared.context, type: type, localCounts: body.localCounts, localTypes: body.localTypes)
    }

    /// Whether the body has a SIMD (0xFD-prefixed) instruction. The byte test is the cheap filter;
    /// only a body that contains 0xFD somewhere (an immediate may) is decoded once more to look,
    /// so that a function without SIMD keeps its 8-byte spill slots and exactly the code it had.
    /// A body that does not decode counts as SIMD: compiling it reports the error anyway.
    static func hasSIMDInstruction(_ shared: ModuleContext, _ code: Range<Int>) -> Bool {
        guard shared.module.bytes[code].contains(0xFD) else { return false }
        var reader = InstructionReader(reader: ByteReader(bytes: shared.module.bytes, position: code.lowerBound, limit: code.upperBound),
                                       hasDataCount: shared.module.dataCount != nil)
        do {
            while !reader.isAtEnd {
                switch try reader.next() {
                case .v128Const, .i8x16Shuffle, .simd, .simdLoad, .simdStore, .simdExtractLane, .simdReplaceLane,
                     .simdLoadLane, .simdStoreLane:
                    return true
                default: continue
                }
            }
        } catch {
            return true
        }
        return false
    }

    // MARK: Driving

    /// Compiles the body and finishes the function's code: its own labels resolved, references to
    /// the rest of the module left as fixups for `ModuleLinker`.
    mutating func compile(code: Range<Int>) throws -> FunctionPiece {
        var reader = InstructionReader(reader: ByteReader(bytes: shared.module.bytes, position: code.lowerBound, limit: code.upperBound),
                                       hasDataCount: shared.module.dataCount != nil)
        emitPrologue()
        frames.append(ControlFrame(kind: .function, label: exitLabel, height: 0, params: [], results: type.results, enteredReachable: true))
        do {
            while !frames.isEmpty {  // the compiler's frames end with the validator's
                if reader.isAtEnd { throw WasmError.malformed("END opcode expected", at: reader.offset) }
                let offset = reader.offset
                let instruction = try reader.next()
                try validator.validate(instruction, at: offset)
                try emit(instruction)
            }
            guard reader.isAtEnd else { throw WasmError.malformed("section size mismatch", at: reader.offset) }
        } catch var error as WasmError {
            error.section = "code (function \(functionIndex))"
            throw error
        } catch var error as CompileError {
            error.function = functionIndex
            throw error
        }
        emitTrapStubs()
        emitConstantPool()
        let frameSize = frame.frameSize(maxDepth: maxDepth, maxOutgoing: maxOutgoing)
        guard frameSize <= FrameLayout.maxFrameSize else {
            throw CompileError("a frame of \(frameSize) bytes: more than the code generator's limit of \(FrameLayout.maxFrameSize)",
                               function: functionIndex)
        }
        asm.patch32(at: frameSizePosition, Int32(frameSize))
        let bytes = asm.finish()
        return FunctionPiece(code: bytes, trapSites: trapSites, fixups: asm.externalFixups, usesSIMD: frame.slotStride == 16)
    }

    mutating func emitPrologue() {
        asm.push(.rbp)
        asm.mov(.b64, .rbp, .rsp)
        asm.push(Registers.vmctx)
        asm.push(Registers.memoryBase)
        asm.mov(.b64, Registers.vmctx, .rdi)
        asm.load(.b64, Registers.memoryBase, Mem(Registers.vmctx, Int32(VMContextLayout.memoryBase)))
        // sub rsp, imm32 — the frame size is patched in at the end.
        asm.alu(.sub, .b64, .rsp, imm: 0x7FFF_FFF0)
        frameSizePosition = asm.offset - 4
        // One compare guards the stack and serves as the yield check (see `emitYieldCheck`).
        emitYieldCheck()
        if shared.options.fuel { emitFuelCheck() }
        zeroDeclaredLocals()
    }

    /// `cmp rsp, [vmctx.stackLimit]; jb slow`. The limit is the stack's real limit, or the maximum
    /// when the runtime asks for a yield; the slow path tells the two apart. At function entries
    /// and loop headers no operand is in a register, so the slow path may call out.
    mutating func emitYieldCheck() { trapPaths.emitYieldCheck(&asm, vmctx: Registers.vmctx) }

    mutating func emitFuelCheck() { trapPaths.emitFuelCheck(&asm, vmctx: Registers.vmctx) }

    /// Calls a builtin that takes only the vmctx, from a point where no operand is in a register.
    static func callVMBuiltin(_ builtin: Builtin, _ asm: inout Assembler) {
        asm.mov(.b64, .rdi, Registers.vmctx)
        asm.load(.b64, .rax, Mem(Registers.vmctx, Int32(VMContextLayout.builtins)))
        asm.call(Mem(.rax, Int32(8 * builtin.rawValue)))
    }

    mutating func zeroDeclaredLocals() {
        let count = frame.declaredLocalSlots
        guard count > 0 else { return }
        let base = frame.declaredLocalsBase
        if count <= 16 {
            for j in 0..<count { asm.store(.b64, Mem(.rbp, Int32(-(16 + 8 * (j + 1)))), imm: 0) }
        } else {
            // rep stosq over the locals area: rdi = lowest local, rcx = count, rax = 0.
            asm.lea(.b64, .rdi, base)
            asm.mov(.b32, .rcx, imm: Int64(count))
            asm.alu(.xor, .b32, .rax, .rax)
            asm.emit([0xF3, 0x48, 0xAB])
        }
    }

    mutating func emitEpilogue() {
        asm.lea(.b64, .rsp, Mem(.rbp, -16))
        asm.pop(Registers.memoryBase)
        asm.pop(Registers.vmctx)
        asm.pop(.rbp)
        asm.ret()
    }

    /// A label for code outside this function, resolved when the module is linked.
    mutating func externalLabel(_ symbol: LinkSymbol) -> Label {
        if let label = externalLabels[symbol.rawValue] { return label }
        let label = asm.newExternalLabel(symbol: symbol.rawValue)
        externalLabels[symbol.rawValue] = label
        return label
    }

    // MARK: Traps

    mutating func trapLabel(_ code: TrapCode) -> Label { trapPaths.label(code, &asm) }

    /// Branches to the trap path when eax (a builtin's result) is non-zero; the trap code is eax.
    mutating func trapIfEAXNonZero() { trapPaths.trapIfEAXNonZero(&asm) }

    /// Out-of-line trap stubs, inside the function's code range so the PC names the function.
    mutating func emitTrapStubs() {
        let trapExit = externalLabel(.trapExit)
        trapPaths.emit(&asm, vmctx: Registers.vmctx, trapExit: trapExit, callBuiltin: Self.callVMBuiltin)
    }

    // MARK: Operand stack model

    mutating func push(_ type: ValueType, _ location: Location) {
        switch location {
        case .gpr: gprFloor = min(gprFloor, stack.count)
        case .xmm: xmmFloor = min(xmmFloor, stack.count)
        case .imm, .slot: break
        }
        stack.append(StackEntry(type: type, location: location))
        if stack.count > maxDepth { maxDepth = stack.count }
    }

    mutating func pushGPR(_ type: ValueType, _ reg: Reg) { push(type, .gpr(reg)) }
    mutating func pushXMM(_ type: ValueType, _ reg: XReg) { push(type, .xmm(reg)) }

    mutating func allocGPR() -> Reg {
        if let id = freeGPRs.first {
            freeGPRs.remove(id)
            return Reg(id: id)
        }
        if let k = lowestGPROperand() { spill(k) }
        guard let id = freeGPRs.first else { preconditionFailure("no general-purpose register can be freed") }
        freeGPRs.remove(id)
        return Reg(id: id)
    }

    mutating func allocXMM() -> XReg {
        if let id = freeXMMs.first {
            freeXMMs.remove(id)
            return XReg(id: id)
        }
        if let k = lowestXMMOperand() { spill(k) }
        guard let id = freeXMMs.first else { preconditionFailure("no XMM register can be freed") }
        freeXMMs.remove(id)
        return XReg(id: id)
    }

    /// The deepest operand in a general-purpose register (the one to spill first), if any.
    mutating func lowestGPROperand() -> Int? {
        while gprFloor < stack.count {
            if case .gpr = stack[gprFloor].location { return gprFloor }
            gprFloor += 1
        }
        return nil
    }

    mutating func lowestXMMOperand() -> Int? {
        while xmmFloor < stack.count {
            if case .xmm = stack[xmmFloor].location { return xmmFloor }
            xmmFloor += 1
        }
        return nil
    }

    /// Where the deepest operand in any register may be.
    var registerFloor: Int { min(gprFloor, xmmFloor, stack.count) }

    mutating func free(_ reg: Reg) { freeGPRs.insert(reg.id) }
    mutating func free(_ reg: XReg) { freeXMMs.insert(reg.id) }

    mutating func freeLocation(_ location: Location) {
        switch location {
        case .gpr(let r): free(r)
        case .xmm(let x): free(x)
        case .imm, .slot: break
        }
    }

    /// Takes `reg` for the caller's exclusive use, moving whatever stack operand holds it.
    mutating func claim(_ reg: Reg) {
        if freeGPRs.contains(reg.id) {
            freeGPRs.remove(reg.id)
            return
        }
        guard let k = stack[registerFloor...].firstIndex(where: { $0.location == .gpr(reg) }) else {
            preconditionFailure("register \(reg) is held outside the operand stack")
        }
        if let id = freeGPRs.first {
            freeGPRs.remove(id)
            asm.mov(.b64, Reg(id: id), reg)
            stack[k].location = .gpr(Reg(id: id))
        } else {
            spill(k)
            freeGPRs.remove(reg.id)
        }
    }

    /// Moves operand `k` to its spill slot, freeing its register (constants stay constants).
    mutating func spill(_ k: Int) {
        switch stack[k].location {
        case .gpr(let r):
            asm.store(.b64, frame.slot(k), r)
            free(r)
            stack[k].location = .slot
        case .xmm(let x):
            if stack[k].type == .v128 {
                asm.movdqu(frame.slot(k), x)
            } else {
                asm.fstore(.double, frame.slot(k), x)
            }
            free(x)
            stack[k].location = .slot
        case .imm, .slot:
            break
        }
    }

    /// Moves operand `k` to its spill slot, constants included.
    mutating func forceToSlot(_ k: Int) {
        if case .imm = stack[k].location {
            store(stack[k], to: frame.slot(k))
            stack[k].location = .slot
        } else {
            spill(k)
        }
    }

    mutating func spillAllRegisters() {
        for k in registerFloor..<stack.count { spill(k) }
    }

    /// Stores an operand's value to memory without changing the model (uses only scratch registers).
    mutating func storeValue(_ entry: StackEntry, depth: Int, to mem: Mem) {
        if entry.type == .v128 {
            switch entry.location {
            case .xmm(let x): asm.movdqu(mem, x)
            case .slot:
                let source = frame.slot(depth)
                if source != mem {
                    asm.movdqu(Registers.scratchXMM, source)
                    asm.movdqu(mem, Registers.scratchXMM)
                }
            case .gpr, .imm: preconditionFailure("v128 operand outside an XMM register or its slot")
            }
            return
        }
        switch entry.location {
        case .gpr(let r): asm.store(.b64, mem, r)
        case .xmm(let x): asm.fstore(.double, mem, x)
        case .imm(let bits): asm.store64(mem, imm: Int64(bitPattern: bits), via: Registers.scratch)
        case .slot:
            let source = frame.slot(depth)
            if source != mem {
                asm.load(.b64, Registers.scratch, source)
                asm.store(.b64, mem, Registers.scratch)
            }
        }
    }

    mutating func store(_ entry: StackEntry, to mem: Mem) {
        storeValue(entry, depth: stack.count - 1, to: mem)
    }

    @discardableResult
    mutating func popEntry() -> StackEntry { stack.removeLast() }

    /// Loads a value from memory into `reg` with the width its type needs.
    mutating func loadGPR(_ type: ValueType, _ reg: Reg, from mem: Mem) {
        asm.load(type == .i32 ? .b32 : .b64, reg, mem)
    }

    mutating func loadXMM(_ type: ValueType, _ reg: XReg, from mem: Mem) {
        if type == .v128 {
            asm.movdqu(reg, mem)
        } else {
            asm.fload(type == .f32 ? .single : .double, reg, mem)
        }
    }

    /// Pops the top operand into a general-purpose register the caller then owns.
    mutating func popGPR() -> Reg {
        let depth = stack.count - 1
        let entry = popEntry()
        switch entry.location {
        case .gpr(let r): return r
        case .imm(let bits):
            let r = allocGPR()
            materialize(bits, type: entry.type, into: r)
            return r
        case .slot:
            let r = allocGPR()
            loadGPR(entry.type, r, from: frame.slot(depth))
            return r
        case .xmm: preconditionFailure("integer operand in an XMM register")
        }
    }

    mutating func materialize(_ bits: UInt64, type: ValueType, into r: Reg) {
        if bits == 0 {
            asm.alu(.xor, .b32, r, r)
        } else if type == .i32 || type == .f32 {
            asm.mov(.b32, r, imm: Int64(bits & 0xFFFF_FFFF))
        } else {
            asm.mov(.b64, r, imm: Int64(bitPattern: bits))
        }
    }

    /// Pops the top operand into exactly `reg`, which the caller has claimed.
    mutating func popInto(_ reg: Reg) {
        let depth = stack.count - 1
        let entry = popEntry()
        switch entry.location {
        case .gpr(let r):
            if r != reg {
                asm.mov(.b64, reg, r)
                free(r)
            }
        case .imm(let bits): materialize(bits, type: entry.type, into: reg)
        case .slot: loadGPR(entry.type, reg, from: frame.slot(depth))
        case .xmm(let x):
            asm.movq(.b64, reg, x)
            free(x)
        }
    }

    /// Pops the top operand into an XMM register the caller then owns.
    mutating func popXMM() -> XReg {
        let depth = stack.count - 1
        let entry = popEntry()
        switch entry.location {
        case .xmm(let x): return x
        case .imm(let bits):
            let x = allocXMM()
            if bits == 0 {
                asm.pxor(x, x)
            } else {
                asm.mov(.b64, Registers.scratch, imm: Int64(bitPattern: bits))
                asm.movq(.b64, x, Registers.scratch)
            }
            return x
        case .slot:
            let x = allocXMM()
            loadXMM(entry.type, x, from: frame.slot(depth))
            return x
        case .gpr: preconditionFailure("float operand in a general-purpose register")
        }
    }

    /// The top operand as a 32-bit immediate, if it is a constant that fits (sign-extended for i64).
    func topImmediate() -> Int32? {
        guard let entry = stack.last, case .imm(let bits) = entry.location else { return nil }
        if entry.type == .i32 { return Int32(truncatingIfNeeded: bits) }
        let value = Int64(bitPattern: bits)
        return value >= Int64(Int32.min) && value <= Int64(Int32.max) ? Int32(value) : nil
    }

    /// Pops operands down to `height`, freeing their registers.
    mutating func truncateStack(to height: Int) {
        while stack.count > height { freeLocation(popEntry().location) }
    }

    func width(_ type: ValueType) -> Width { type == .i32 ? .b32 : .b64 }
}
