import RuntimeABI
import WasmCore
import WasmDecoder
import X64

extension FunctionCompiler {
    func blockSignature(_ blockType: BlockType) -> (params: [ValueType], results: [ValueType]) {
        switch blockType {
        case .empty: ([], [])
        case .value(let t): ([], t.asList)
        case .typeIndex(let i):
            (shared.module.types[Int(i)].params, shared.module.types[Int(i)].results)
        }
    }

    /// Establishes the control-flow invariant before a block, loop or if: nothing in registers,
    /// the block's params in their slots.
    mutating func enterFrame(_ kind: ControlFrame.Kind, _ blockType: BlockType, label: Label, elseLabel: Label? = nil) {
        let (params, results) = blockSignature(blockType)
        if reachable {
            spillAllRegisters()
            for k in (stack.count - params.count)..<stack.count { forceToSlot(k) }
        }
        frames.append(ControlFrame(kind: kind, label: label, elseLabel: elseLabel, height: stack.count - params.count,
                                   params: params, results: results, enteredReachable: reachable))
    }

    mutating func emitBlock(_ blockType: BlockType) {
        enterFrame(.block, blockType, label: asm.newLabel())
    }

    mutating func emitLoop(_ blockType: BlockType) {
        let header = asm.newLabel()
        enterFrame(.loop, blockType, label: header)
        asm.bind(header)
        // Every iteration passes the header: the place to let the runtime interrupt a loop.
        if shared.options.yieldChecks { emitYieldCheck() }
        if shared.options.fuel { emitFuelCheck() }
    }

    mutating func emitIf(_ blockType: BlockType) {
        var condition: Reg?
        if reachable { condition = popGPR() }
        let elseLabel = asm.newLabel()
        enterFrame(.if, blockType, label: asm.newLabel(), elseLabel: elseLabel)
        if let condition {
            asm.test(.b32, condition, condition)
            asm.jcc(.e, elseLabel)
            free(condition)
        }
    }

    /// Puts the values the current frame ends with into their slots (the fallsThrough half of a merge).
    mutating func settleFallthrough(_ frame: ControlFrame) {
        for k in (stack.count - frame.results.count)..<stack.count { forceToSlot(k) }
    }

    mutating func emitElse() {
        var frame = frames.removeLast()
        if reachable {
            settleFallthrough(frame)
            asm.jmp(frame.label)
            frame.labelUsed = true
        }
        truncateStack(to: frame.height)
        for t in frame.params { push(t, .slot) }
        asm.bind(frame.elseLabel!)
        frame.sawElse = true
        reachable = frame.enteredReachable
        frames.append(frame)
    }

    mutating func emitEnd() {
        let frame = frames.removeLast()
        let fallsThrough = reachable
        if fallsThrough { settleFallthrough(frame) }
        if frame.kind == .function {
            if fallsThrough { moveResultsToCallerArea(count: frame.results.count) }
            asm.bind(exitLabel)
            emitEpilogue()
            truncateStack(to: 0)
            reachable = false
            return
        }
        if frame.kind == .if, !frame.sawElse { asm.bind(frame.elseLabel!) }
        if frame.kind != .loop { asm.bind(frame.label) }
        truncateStack(to: frame.height)
        for t in frame.results { push(t, .slot) }
        switch frame.kind {
        case .loop: reachable = fallsThrough
        case .if where !frame.sawElse: reachable = frame.enteredReachable
        default: reachable = fallsThrough || frame.labelUsed
        }
    }

    /// Copies the top `count` operands to the function's result slots in the caller's area.
    mutating func moveResultsToCallerArea(count: Int) {
        for i in 0..<count {
            let depth = stack.count - count + i
            storeValue(stack[depth], depth: depth, to: frame.result(i))
        }
    }

    /// Emits the moves a branch to `frames[frames.count - 1 - depth]` needs, without changing the
    /// model (the code may be on a path the fallsThrough does not take).
    mutating func emitBranchMoves(toDepth depth: Int) {
        let target = frames[frames.count - 1 - Int(depth)]
        let count = target.branchTypes.count
        for i in 0..<count {
            let source = stack.count - count + i
            let destination = target.kind == .function ? frame.result(i) : frame.slot(target.height + i)
            if case .slot = stack[source].location, target.kind != .function, source == target.height + i { continue }
            storeValue(stack[source], depth: source, to: destination)
        }
    }

    /// Whether a branch to that frame needs any moves.
    func branchNeedsMoves(toDepth depth: Int) -> Bool {
        let target = frames[frames.count - 1 - Int(depth)]
        let count = target.branchTypes.count
        if target.kind == .function { return count > 0 }
        for i in 0..<count {
            let source = stack.count - count + i
            guard case .slot = stack[source].location, source == target.height + i else { return true }
        }
        return false
    }

    mutating func branchTarget(_ depth: UInt32) -> Label {
        let index = frames.count - 1 - Int(depth)
        frames[index].labelUsed = true
        return frames[index].label
    }

    mutating func emitBr(_ depth: UInt32) {
        emitBranchMoves(toDepth: Int(depth))
        asm.jmp(branchTarget(depth))
        reachable = false
    }

    mutating func emitBrIf(_ depth: UInt32) {
        let condition = popGPR()
        asm.test(.b32, condition, condition)
        free(condition)
        let target = branchTarget(depth)
        if branchNeedsMoves(toDepth: Int(depth)) {
            let skip = asm.newLabel()
            asm.jcc(.e, skip)
            emitBranchMoves(toDepth: Int(depth))
            asm.jmp(target)
            asm.bind(skip)
        } else {
            asm.jcc(.ne, target)
        }
    }

    mutating func emitBrTable(_ targets: [UInt32], _ defaultTarget: UInt32) {
        let index = popGPR()
        asm.mov(.b32, index, index)
        // One stub per distinct target: its moves, then the jump.
        var stubs: [UInt32: Label] = [:]
        for depth in targets + [defaultTarget] where stubs[depth] == nil { stubs[depth] = asm.newLabel() }
        let defaultStub = stubs[defaultTarget]!
        asm.alu(.cmp, .b32, index, imm: Int32(truncatingIfNeeded: targets.count))
        asm.jcc(.ae, defaultStub)
        asm.decisionTree(index: index, keys: targets, range: 0..<targets.count, stubs: stubs)
        free(index)
        for (depth, stub) in stubs.sorted(by: { $0.key < $1.key }) {
            asm.bind(stub)
            emitBranchMoves(toDepth: Int(depth))
            asm.jmp(branchTarget(depth))
        }
        reachable = false
    }

    mutating func emitReturn() {
        emitBr(UInt32(frames.count - 1))
    }

    /// While unreachable, only the frame structure matters: nested frames are entered "dead".
    mutating func emitUnreachableControl(_ instruction: Instruction) {
        switch instruction {
        case .block(let bt), .loop(let bt):
            let (params, results) = blockSignature(bt)
            frames.append(ControlFrame(kind: .block, label: asm.newLabel(), height: stack.count, params: params,
                                       results: results, enteredReachable: false))
        case .if(let bt):
            let (params, results) = blockSignature(bt)
            frames.append(ControlFrame(kind: .if, label: asm.newLabel(), elseLabel: asm.newLabel(), height: stack.count,
                                       params: params, results: results, enteredReachable: false))
        case .else:
            emitElse()
        case .end:
            emitEnd()
        default:
            break
        }
    }
}
