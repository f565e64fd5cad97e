import RuntimeABI
import WasmCore
import WasmDecoder
import X64

/// Emits x86-64 for an allocated `IRFunction`, with two entries (`CodeGen+Entries.swift`). The
/// standard entry, at offset 0, has the baseline compiler's ABI and runtime contract exactly (see
/// FunctionCompiler): the same prologue (rbp frame, r14 = vmctx, r15 = memory base, the
/// stack/yield compare after reserving the frame, fuel), params read from and results written to
/// [rbp + 16 + 8*i], the same trap stubs, trap sites for guarded heaps and explicit checks for
/// bounded ones, so optimized and baseline functions call each other freely. The fast entry
/// (`FastCallABI`) takes params and returns results in registers and preserves the callee-saved
/// registers; direct calls within the module use it.
struct CodeGen {
    var asm = Assembler()
    let f: IRFunction
    let shared: OptimizerContext
    let loc: [Location]
    let slotCount: Int
    let fused: Set<Value>
    /// Values that cannot be zero (`knownNonZero`): a division by one needs no zero check.
    let nonZero: Set<Value>
    var labels: [Label] = []
    /// The trap stubs and the yield and fuel slow paths, the baseline's (`TrapPaths`).
    var trapPaths = TrapPaths()
    var trapSites: [Int] = []
    var externalLabels: [Int: Label] = [:]
    var maxOutgoing = 0
    /// The `sub rsp, FRAME` immediates of the two entries, patched once the frame size is known.
    var frameSizePositions: [(position: Int, extra: Int32)] = []
    /// This function's fast-entry convention, and where the entry is.
    let abi: FastCallABI
    var fastEntryOffset = 0
    /// The callee-saved registers the fast entry saves (in the slots after the allocator's) and
    /// its return restores: those the allocation uses, or all of them when the function makes a
    /// call through the standard ABI (an import, or call_indirect's standard path), which may
    /// clobber them.
    let savedRegs: [Reg]
    /// Where `savedRegs` are saved and which returns restore them.
    let saves: SavePlacement
    /// The callee-saved registers the allocation uses, in a function with call_indirect: its
    /// standard path saves them (in the slots after `savedRegs`'s) and restores them, so values
    /// may live in them across call_indirect whichever entry the callee is reached by.
    let indirectSaves: [Reg]
    /// The standard entry's return: results from the fast convention's places to [rbp + 16 + 8*i].
    var standardReturn: Label?
    /// A small function gets its body twice, one copy per entry, so that neither entry's
    /// return has to test which entry was taken (`CodeGen+Entries.swift`).
    let duplicatesBody: Bool
    var returnKind = ReturnKind.checked
    enum ReturnKind { case checked, standard, fast }
    /// Functions of at most this many instructions have their body duplicated.
    static let duplicationLimit = 40
    /// Definitions of fused compares: (op, lhs, rhs); eqz is (eq, x, nil).
    var fusedDefs: [Value: (op: CompareOp, lhs: Value, rhs: Value?)] = [:]
    /// Bounded heaps: accesses a dominating access has already checked (`BoundsChecks`).
    var uncheckedAccesses: Set<Int> = []
    /// The instruction being emitted, as `block << 32 | index`.
    var currentAccess = 0
    /// Fused float compares: ucomis lhs, rhs, then the condition.
    var fusedFloat: [Value: (lhs: Value, rhs: Value, cc: Condition)] = [:]
    /// Shifts folded into the add that uses them (`CodeGen+ScaledAdd.swift`): x and 2^k.
    var fusedShifts: [Value: (x: Value, scale: UInt8)] = [:]
    /// Non-zero float constants, by bits: 8-byte entries after the code, loaded rip-relative
    /// (one `movsd` instead of `mov rax, imm64` + `movq`, and no rax).
    var floatPool: [UInt64: Label] = [:]
    /// br_table jump tables (`CodeGen+Control.swift`): the table's label and each index's target.
    var jumpTables: [(table: Label, entries: [Label])] = []
    var pendingTableEntries: [(start: Int, entries: [Label])] = []
    /// Edge code placed just before the block it goes to, after a block that never falls
    /// through (`emitConditional`): by the block's number.
    var pendingStubs: [Int: (label: Label, edge: Edge, from: Int)] = [:]

    /// Loop headers to start on a 64-byte boundary, after NOPs, by emission index
    /// (`bodyCopy * blocks + block`; `LoopAlignment`), and where each emitted block starts and
    /// ends, in emission order.
    var alignedHeaders: Set<Int> = []
    var blockSpans: [Range<Int>] = []
    var bodyCopy = 0
    static let scratch = Reg.r11
    static let maxFrameSize = 1 << 30

    init(_ f: IRFunction, shared: OptimizerContext, allocation: LinearScan, live: Liveness, fused: Set<Value>) {
        self.f = f
        self.shared = shared
        self.loc = allocation.locations
        self.slotCount = allocation.slotCount
        self.fused = fused
        nonZero = Self.knownNonZero(f)
        abi = FastCallABI(FuncType(params: f.blocks[0].params.map { f.types[$0.id] }, results: f.resultTypes))
        let clobbers = Self.makesStandardCalls(f, importedFunctions: shared.layout.importedFunctionCount)
        duplicatesBody = f.blocks.reduce(0) { $0 + $1.insts.count + 1 } <= Self.duplicationLimit
        savedRegs = FastCallABI.calleeSaved.filter { r in clobbers || allocation.locations.contains(.reg(r)) }
        saves = SavePlacement(f, locations: allocation.locations, live: live, saved: savedRegs,
                              importedFunctions: shared.layout.importedFunctionCount)
        let callsIndirect = f.blocks.contains { $0.insts.contains { if case .callIndirect = $0.op { true } else { false } } }
        indirectSaves = callsIndirect ? FastCallABI.calleeSaved.filter { allocation.locations.contains(.reg($0)) } : []
        if shared.options.heapMode == .bounded { uncheckedAccesses = BoundsChecks.redundant(f) }
        for block in f.blocks {
            for inst in block.insts where inst.results.count == 1 && fused.contains(inst.results[0]) {
                switch inst.op {
                case .compare(let op): fusedDefs[inst.results[0]] = (op, inst.args[0], inst.args[1])
                case .unary(.eqz): fusedDefs[inst.results[0]] = (.eq, inst.args[0], nil)
                case .binary(.shl):
                    guard case .imm(let amount) = loc[inst.args[1].id] else { preconditionFailure("a fused shift has a constant amount") }
                    fusedShifts[inst.results[0]] = (inst.args[0], Self.scale(amount, f.types[inst.results[0].id])!)
                case .float(let op):
                    // ucomis leaves CF set for "below" and for unordered: a > b is "above" of
                    // (a, b), a < b is "above" of (b, a); NaN makes both false, as wasm wants.
                    let (a, b) = (inst.args[0], inst.args[1])
                    fusedFloat[inst.results[0]] = switch op {
                    case .f32Gt, .f64Gt: (a, b, .a)
                    case .f32Ge, .f64Ge: (a, b, .ae)
                    case .f32Lt, .f64Lt: (b, a, .a)
                    default: (b, a, .ae)  // le
                    }
                default: preconditionFailure("only compares and shifts are fused")
                }
            }
        }
    }

    /// The compares that can be fused into their block's branch: defined by the block's last
    /// instruction and used by nothing but the branch.
    static func fusableCompares(_ f: IRFunction) -> Set<Value> {
        var useCount = Array(repeating: 0, count: f.types.count)
        for block in f.blocks {
            for inst in block.insts { for a in inst.args { useCount[a.id] += 1 } }
            for v in block.terminator.uses { useCount[v.id] += 1 }
        }
        var out: Set<Value> = []
        for block in f.blocks {
            guard case .branch(let c, _, _) = block.terminator, let last = block.insts.last, last.results == [c],
                  useCount[c.id] == 1 else { continue }
            switch last.op {
            case .compare, .unary(.eqz): out.insert(c)
            case .float(let op) where [.f32Gt, .f32Ge, .f32Lt, .f32Le, .f64Gt, .f64Ge, .f64Lt, .f64Le].contains(op): out.insert(c)
            default: break
            }
        }
        return out
    }

    // MARK: Driving

    mutating func generate() throws -> (code: [UInt8], trapSites: [Int], fixups: [ExternalFixup]) {
        if duplicatesBody {
            emitStandardEntry(fallThrough: true)
            returnKind = .standard
            emitBody()
            emitFastEntry()
            returnKind = .fast
            emitBody()
        } else {
            labels = f.blocks.map { _ in asm.newLabel() }
            emitStandardEntry(fallThrough: false)
            emitFastEntry()
            emitBody(keepingLabels: true)
        }
        emitStandardReturn()
        emitTrapStubs()
        emitFloatPool()
        emitJumpTables()
        patchJumpTables()
        let frameSize = (8 * (slotCount + savedRegs.count + indirectSaves.count + maxOutgoing) + 15) & ~15
        guard frameSize <= Self.maxFrameSize else { throw Unsupported("a frame of \(frameSize) bytes") }
        for (position, extra) in frameSizePositions { asm.patch32(at: position, Int32(frameSize) + extra) }
        return (asm.finish(), trapSites, asm.externalFixups)
    }

    /// Emits every block once (with fresh labels unless `keepingLabels`).
    mutating func emitBody(keepingLabels: Bool = false) {
        if !keepingLabels { labels = f.blocks.map { _ in asm.newLabel() } }
        for (b, block) in f.blocks.enumerated() {
            if let stub = pendingStubs.removeValue(forKey: b) {
                asm.bind(stub.label)
                emitEdge(stub.edge, from: stub.from)
            }
            if alignedHeaders.contains(bodyCopy * f.blocks.count + b) {
                asm.nops((LoopAlignment.line - asm.offset % LoopAlignment.line) % LoopAlignment.line)
            }
            let start = asm.offset
            asm.bind(labels[b])
            if block.isLoopHeader {
                if shared.options.yieldChecks { emitYieldCheck() }
                if shared.options.fuel { emitFuelCheck() }
            }
            for (i, inst) in block.insts.enumerated() {
                currentAccess = b << 32 | i
                emit(inst)
            }
            emitTerminator(block.terminator, block: b)
            blockSpans.append(start..<asm.offset)
        }
        bodyCopy += 1
    }

    /// The float constants, 8-byte aligned after the trap stubs, in a fixed order (the same code
    /// on every compile). Never executed: nothing falls through to it.
    mutating func emitFloatPool() {
        guard !floatPool.isEmpty else { return }
        asm.align(8)
        for (bits, label) in floatPool.sorted(by: { $0.key < $1.key }) {
            asm.bind(label)
            asm.emit((0..<8).map { UInt8(truncatingIfNeeded: bits >> UInt64(8 * $0)) })
        }
    }

    func slotMem(_ k: Int) -> Mem { Mem(.rbp, Int32(-(16 + 8 * (k + 1)))) }
    func width(_ v: Value) -> Width { f.types[v.id] == .i32 || f.types[v.id] == .f32 ? .b32 : .b64 }
    func precision(_ v: Value) -> Precision { f.types[v.id] == .f32 ? .single : .double }

    // MARK: Frame

    mutating func emitYieldCheck() { trapPaths.emitYieldCheck(&asm, vmctx: .r14) }

    mutating func emitFuelCheck() { trapPaths.emitFuelCheck(&asm, vmctx: .r14) }

    mutating func externalLabel(_ raw: Int) -> Label {
        if let label = externalLabels[raw] { return label }
        let label = asm.newExternalLabel(symbol: raw)
        externalLabels[raw] = label
        return label
    }
    /// `LinkSymbol` numbering (Compiler/FunctionPiece.swift): 0 is the trap exit, -(1 + i) defined
    /// function i's fast entry (`FastCallABI.symbol`).
    var trapExit: Int { 0 }

    mutating func trapLabel(_ code: TrapCode) -> Label { trapPaths.label(code, &asm) }

    /// Calls a builtin that takes only the vmctx. Values live in registers here (a loop header),
    /// so the slow path saves every allocatable register around the call.
    static func callVMBuiltinPreserving(_ builtin: Builtin, _ asm: inout Assembler) {
        for r in LinearScan.allocatable { asm.push(r) }  // 8 registers: rsp stays 16-byte aligned
        let xmms = LinearScan.allocatableXMMs
        let area = Int32((8 * xmms.count + 15) & ~15)
        asm.alu(.sub, .b64, .rsp, imm: area)
        for (i, x) in xmms.enumerated() { asm.fstore(.double, Mem(.rsp, Int32(8 * i)), x) }
        asm.mov(.b64, .rdi, .r14)
        asm.load(.b64, .rax, Mem(.r14, Int32(VMContextLayout.builtins)))
        asm.call(Mem(.rax, Int32(8 * builtin.rawValue)))
        for (i, x) in xmms.enumerated() { asm.fload(.double, x, Mem(.rsp, Int32(8 * i))) }
        asm.alu(.add, .b64, .rsp, imm: area)
        for r in LinearScan.allocatable.reversed() { asm.pop(r) }
    }

    mutating func trapIfEAXNonZero() { trapPaths.trapIfEAXNonZero(&asm) }

    mutating func emitTrapStubs() {
        let exit = externalLabel(trapExit)
        trapPaths.emit(&asm, vmctx: .r14, trapExit: exit, callBuiltin: Self.callVMBuiltinPreserving)
    }

    // MARK: Operands

    /// Copies `v` (all 64 bits; i32 values are kept zero-extended) into `r`.
    mutating func load(_ v: Value, into r: Reg) {
        move(.reg(r), loc[v.id])
    }

    /// A register holding `v`: its own, or `scratch` loaded with it.
    mutating func reg(_ v: Value, _ scratch: Reg) -> Reg {
        if case .reg(let r) = loc[v.id] { return r }
        load(v, into: scratch)
        return scratch
    }

    /// `v` as a sign-extended 32-bit immediate, if it is a constant that fits.
    func imm32(_ v: Value) -> Int32? {
        guard case .imm(let bits) = loc[v.id] else { return nil }
        if f.types[v.id] == .i32 { return Int32(truncatingIfNeeded: bits) }
        let value = Int64(bitPattern: bits)
        return value >= Int64(Int32.min) && value <= Int64(Int32.max) ? Int32(value) : nil
    }

    /// The register a result is computed in: its own, or r11 when it lives in a slot.
    func dest(_ v: Value) -> Reg {
        if case .reg(let r) = loc[v.id] { return r }
        return Self.scratch
    }

    /// Stores a result computed in `r` to its slot, if it has one.
    mutating func finish(_ v: Value, _ r: Reg) {
        if case .slot(let k) = loc[v.id] { asm.store(.b64, slotMem(k), r) }
    }

    func isReg(_ v: Value, _ r: Reg) -> Bool { loc[v.id] == .reg(r) }

    mutating func materialize(_ bits: UInt64, into r: Reg) {
        if bits == 0 {
            asm.alu(.xor, .b32, r, r)
        } else if bits <= 0xFFFF_FFFF {
            asm.mov(.b32, r, imm: Int64(bits))
        } else {
            asm.mov(.b64, r, imm: Int64(bitPattern: bits))
        }
    }

    /// One move between locations (rax carries slot-to-slot and wide constants).
    mutating func move(_ dst: Location, _ src: Location) {
        guard dst != src else { return }
        switch (dst, src) {
        case (.reg(let d), .reg(let s)): asm.mov(.b64, d, s)
        case (.reg(let d), .slot(let k)): asm.load(.b64, d, slotMem(k))
        case (.reg(let d), .imm(let bits)): materialize(bits, into: d)
        case (.slot(let k), .reg(let s)): asm.store(.b64, slotMem(k), s)
        case (.slot(let k), .slot(let j)):
            asm.load(.b64, .rax, slotMem(j))
            asm.store(.b64, slotMem(k), .rax)
        case (.slot(let k), .imm(let bits)): asm.store64(slotMem(k), imm: Int64(bitPattern: bits), via: .rax)
        case (.xreg(let d), .xreg(let x)): asm.fmov(d, x)
        case (.xreg(let d), .slot(let k)): asm.fload(.double, d, slotMem(k))
        case (.xreg(let d), .reg(let r)): asm.movq(.b64, d, r)
        case (.xreg(let d), .imm(let bits)):
            if bits == 0 {
                asm.pxor(d, d)
            } else {
                let label = floatPool[bits] ?? asm.newLabel()
                floatPool[bits] = label
                asm.fload(.double, d, label)  // 8 bytes: an f32's upper half is zero, as movq gave
            }
        case (.slot(let k), .xreg(let x)): asm.fstore(.double, slotMem(k), x)
        case (.reg(let d), .xreg(let x)): asm.movq(.b64, d, x)
        case (.none, _), (_, .none), (.imm, _): break
        }
    }

    /// An XMM register holding `v`: its own, or `scratch` loaded with it.
    mutating func xreg(_ v: Value, _ scratch: XReg) -> XReg {
        if case .xreg(let x) = loc[v.id] { return x }
        move(.xreg(scratch), loc[v.id])
        return scratch
    }

    /// The XMM register a float result is computed in: its own, or xmm14 when it lives in a slot.
    func xdest(_ v: Value) -> XReg {
        if case .xreg(let x) = loc[v.id] { return x }
        return Self.floatA
    }

    /// Stores a float result computed in `x` to its slot, if it has one.
    mutating func finish(_ v: Value, _ x: XReg) {
        if case .slot(let k) = loc[v.id] { asm.fstore(.double, slotMem(k), x) }
    }

    static let floatA = XReg.xmm14
    static let floatB = XReg.xmm15

    /// Moves that happen at once (block params on an edge), sequentialized; r11 breaks cycles.
    mutating func parallelMove(_ moves: [(dst: Location, src: Location)]) {
        var pending = moves.filter { $0.dst != $0.src && $0.dst != .none && $0.src != .none }
        while !pending.isEmpty {
            if let i = pending.firstIndex(where: { m in !pending.contains { $0.src == m.dst } }) {
                move(pending[i].dst, pending[i].src)
                pending.remove(at: i)
            } else {
                let d = pending[0].dst
                let temp: Location = if case .xreg = d { .xreg(Self.floatB) } else { .reg(Self.scratch) }
                move(temp, d)
                for k in pending.indices where pending[k].src == d { pending[k].src = temp }
            }
        }
    }

    /// Whether the edge from block `b` needs code of its own: moves, or the callee-saved saves.
    func edgeHasCode(_ e: Edge, from b: Int) -> Bool {
        savesOnEdge(e, from: b) || !edgeMoves(e).isEmpty
    }

    /// Whether the edge enters the save block (`SavePlacement`) from outside it, in code that
    /// the fast entry reaches.
    func savesOnEdge(_ e: Edge, from b: Int) -> Bool {
        saves.block != 0 && e.target == saves.block && !saves.restores[b] && returnKind != .standard && !savedRegs.isEmpty
    }

    /// The edge's code: the saves where it enters the save block, then the param moves.
    mutating func emitEdge(_ e: Edge, from b: Int) {
        if savesOnEdge(e, from: b) { emitSaves() }
        parallelMove(edgeMoves(e))
    }

    func edgeMoves(_ e: Edge) -> [(dst: Location, src: Location)] {
        zip(f.blocks[e.target].params, e.args).map { (loc[$0.id], loc[$1.id]) }
            .filter { $0.0 != $0.1 && $0.0 != .none }
    }
}
