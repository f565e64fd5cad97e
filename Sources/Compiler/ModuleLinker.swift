import RuntimeABI
import WasmCore
import X64

/// Places the stubs and the function pieces one after another, each function on its boundary
/// (16 bytes, or 64 for loop-aligned optimized code; padded by `Assembler.align`, as a single
/// shared assembler would), and patches the
/// rel32 fields that cross pieces. This is the serial tail of a parallel compile: one copy of the
/// code and one patch per call site and trap stub.
enum ModuleLinker {
    static func link(module: Module, layout: VMContextLayout, options: CompileOptions, stubs: StubsPiece,
                     functions: [FunctionPiece]) throws -> CompiledModule {
        var size = stubs.code.count
        for piece in functions { size += piece.alignment - 1 + piece.code.count }
        var asm = Assembler()
        asm.reserveCapacity(size)
        asm.emit(stubs.code)
        var offsets: [Int] = []
        var ends: [Int] = []
        offsets.reserveCapacity(functions.count)
        ends.reserveCapacity(functions.count)
        for piece in functions {
            asm.align(piece.alignment)
            offsets.append(asm.offset)
            asm.emit(piece.code)
            ends.append(asm.offset)
        }
        // Fast entries: an optimized function's own; for a baseline one that is called through
        // it, an adapter placed after every function (outside their ranges, so a backtrace
        // through it names only the caller and the callee).
        var fastEntries: [Int: Int] = [:]
        for (i, piece) in functions.enumerated() { if let entry = piece.fastEntry { fastEntries[i] = offsets[i] + entry } }
        var adapters: [(piece: FunctionPiece, base: Int)] = []
        for index in Self.adaptersNeeded(functions) {
            asm.align(16)
            fastEntries[index] = asm.offset
            let type = module.types[Int(module.functionTypeIndices[index])]
            let piece = FastEntryAdapter.assemble(type, definedIndex: index)
            adapters.append((piece, asm.offset))
            asm.emit(piece.code)
        }
        guard asm.offset <= Int(UInt32.max) else { throw CompileError("\(asm.offset) bytes of code: more than 4 GiB") }
        var trapSites: [UInt32] = []
        for (piece, base) in zip(functions, offsets) + adapters {
            for site in piece.trapSites { trapSites.append(UInt32(base + site)) }
            for fixup in piece.fixups {
                let target = switch LinkSymbol(rawValue: fixup.symbol) {
                case .trapExit: stubs.trapExit
                case .function(let index): offsets[index]
                case .fastEntry(let index): fastEntries[index]!
                }
                let position = base + fixup.position
                asm.patch32(at: position, Int32(target - (position + 4)))
            }
        }
        let code = asm.finish()
        var stats = TierStats()
        for piece in functions {
            if piece.optimized { stats.optimizedFunctions += 1 } else { stats.baselineFunctions += 1 }
            if let reason = piece.fallbackReason { stats.fallbackReasons[reason, default: 0] += 1 }
        }
        let ownFastEntries = functions.indices.map { i in functions[i].fastEntry.map { offsets[i] + $0 } ?? 0 }
        var compiled = CompiledModule(module: module, layout: layout, code: code, functionOffsets: offsets, functionEnds: ends,
                              fastEntries: ownFastEntries,
                              entryTrampoline: stubs.entryTrampoline, entryExit: stubs.entryExit, trapExit: stubs.trapExit,
                              hostStub: stubs.hostStub, trapSites: trapSites, options: options,
                              cpuFeatures: consultedCPUFeatures.union(functions.contains { $0.usesSIMD } ? [.sse41, .ssse3] : []))
        compiled.tierStats = stats
        return compiled
    }

    /// The baseline-compiled functions some code calls through their fast entry, in index order.
    static func adaptersNeeded(_ functions: [FunctionPiece]) -> [Int] {
        var needed: Set<Int> = []
        for piece in functions {
            for fixup in piece.fixups {
                if case .fastEntry(let index) = LinkSymbol(rawValue: fixup.symbol), functions[index].fastEntry == nil { needed.insert(index) }
            }
        }
        return needed.sorted()
    }

    /// The optional instructions the code generator uses when this machine has them (see
    /// `CPUFeatures` and FunctionCompiler+Integer): the code may contain any of these.
    static var consultedCPUFeatures: CPUFeatureSet {
        var set: CPUFeatureSet = []
        if CPUFeatures.hasLZCNT { set.insert(.lzcnt) }
        if CPUFeatures.hasBMI1 { set.insert(.bmi1) }
        if CPUFeatures.hasPOPCNT { set.insert(.popcnt) }
        return set
    }
}
