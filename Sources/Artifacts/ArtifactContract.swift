import RuntimeABI
import WasmCore

/// What compiled code promises and needs, as Lucet's compiled modules carry it: the runtime reads
/// it first and refuses the artifact, before any code is mapped, if it cannot keep its side.
public struct ArtifactContract: Sendable, Equatable {
    /// How linear memory is laid out and protected.
    public struct HeapSpec: Sendable, Equatable {
        public var mode: HeapMode
        /// Address space each memory needs reserved: 8 GiB + 64 KiB for guarded code (which has
        /// no bounds checks and relies on it), the memory's maximum for bounded code.
        public var reservation: UInt64
        /// Inaccessible bytes after the addressable memory the code relies on (guarded: the rest
        /// of the reservation past 4 GiB; bounded: none).
        public var guardSize: UInt64
        public var initialPages: UInt64
        public var maximumPages: UInt64?

        /// The spec of a memory with these limits in `mode`.
        static func expected(mode: HeapMode, initialPages: UInt64, maximumPages: UInt64?) -> HeapSpec {
            let guarded = mode == .guarded
            // Saturating: a corrupted maximum must not overflow (it is refused by the comparison).
            let (bytes, overflow) = (maximumPages ?? MemoryType.maxPages).multipliedReportingOverflow(by: UInt64(MemoryType.pageSize))
            return HeapSpec(mode: mode,
                            reservation: guarded ? UInt64(HeapMode.guardedReservation) : overflow ? .max : bytes,
                            guardSize: guarded ? UInt64(HeapMode.guardedReservation) - (UInt64(1) << 32) : 0,
                            initialPages: initialPages, maximumPages: maximumPages)
        }
    }

    /// One import the code was compiled against.
    public struct ImportSpec: Sendable, Equatable {
        public var module: String
        public var name: String
        public var kind: ExternalKind
        /// The function type, for a function import.
        public var functionType: FuncType?
    }

    /// The module's own memory (nil: it has none, or imports it).
    public var heap: HeapSpec?
    public var imports: [ImportSpec]
    public var options: CompileOptions
    public var cpuFeatures: CPUFeatureSet
    /// How many functions each compiler tier generated, and why the optimizing tier left the
    /// others (`options.tier` says which tier was asked for). Informational: both tiers keep one
    /// ABI, so the loader checks nothing against it; `shoal inspect` prints it.
    public var tierStats: TierStats
    /// SHA-256 of the module bytes the code was compiled from.
    public var sourceSHA256: [UInt8]
    public var compilerVersion: String
    public var abiVersion: UInt32

    /// The contract of `compiled`, compiled from bytes whose SHA-256 is `sourceSHA256`.
    public init(_ compiled: CompiledModule, sourceSHA256: [UInt8]) {
        let module = compiled.module
        heap = module.memories.first.map { m in
            HeapSpec.expected(mode: compiled.heapMode, initialPages: m.limits.min, maximumPages: m.limits.max)
        }
        imports = module.imports.map { i in
            var type: FuncType?
            if case .function(let t) = i.descriptor { type = module.types[Int(t)] }
            return ImportSpec(module: i.module, name: i.name, kind: i.descriptor.kind, functionType: type)
        }
        options = compiled.options
        cpuFeatures = compiled.cpuFeatures
        tierStats = compiled.tierStats
        self.sourceSHA256 = sourceSHA256
        compilerVersion = ShoalVersion.compiler
        abiVersion = ShoalVersion.abi
    }

    init(heap: HeapSpec?, imports: [ImportSpec], options: CompileOptions, cpuFeatures: CPUFeatureSet, tierStats: TierStats,
         sourceSHA256: [UInt8], compilerVersion: String, abiVersion: UInt32) {
        self.heap = heap
        self.imports = imports
        self.options = options
        self.cpuFeatures = cpuFeatures
        self.tierStats = tierStats
        self.sourceSHA256 = sourceSHA256
        self.compilerVersion = compilerVersion
        self.abiVersion = abiVersion
    }

    func encode(into w: inout ByteWriter) {
        w.bool(heap != nil)
        if let heap {
            w.u8(heap.mode == .guarded ? 0 : 1)
            w.u64(heap.reservation)
            w.u64(heap.guardSize)
            w.u64(heap.initialPages)
            w.optionalU64(heap.maximumPages)
        }
        w.count(imports.count)
        for i in imports {
            w.string(i.module)
            w.string(i.name)
            w.u8(i.kind.rawValue)
            w.bool(i.functionType != nil)
            if let t = i.functionType {
                w.count(t.params.count)
                for p in t.params { w.u8(p.rawValue) }
                w.count(t.results.count)
                for r in t.results { w.u8(r.rawValue) }
            }
        }
        w.u8(options.heapMode == .guarded ? 0 : 1)
        w.bool(options.yieldChecks)
        w.bool(options.fuel)
        w.u8(options.tier == .baseline ? 0 : 1)
        w.u32(UInt32(clamping: tierStats.optimizedFunctions))
        w.u32(UInt32(clamping: tierStats.baselineFunctions))
        let reasons = tierStats.fallbackReasons.sorted { $0.key < $1.key }
        w.count(reasons.count)
        for (reason, count) in reasons {
            w.string(reason)
            w.u32(UInt32(clamping: count))
        }
        w.u64(cpuFeatures.rawValue)
        w.blob(sourceSHA256)
        w.string(compilerVersion)
        w.u32(abiVersion)
    }

    static func decode(_ r: inout ByteReader) throws(ArtifactError) -> ArtifactContract {
        func heapMode(_ r: inout ByteReader) throws(ArtifactError) -> HeapMode {
            switch try r.u8() {
            case 0: .guarded
            case 1: .bounded
            case let b: throw r.fail("heap mode \(b)")
            }
        }
        func valueType(_ r: inout ByteReader) throws(ArtifactError) -> ValueType {
            let b = try r.u8()
            guard let t = ValueType(rawValue: b) else { throw r.fail("value type \(b)") }
            return t
        }
        var heap: HeapSpec?
        if try r.bool() {
            heap = HeapSpec(mode: try heapMode(&r), reservation: try r.u64(), guardSize: try r.u64(), initialPages: try r.u64(),
                            maximumPages: try r.optionalU64())
        }
        var imports: [ImportSpec] = []
        for _ in 0..<(try r.count(minimumSize: 10)) {
            let module = try r.string(), name = try r.string()
            let kindByte = try r.u8()
            guard let kind = ExternalKind(rawValue: kindByte) else { throw r.fail("import kind \(kindByte)") }
            var type: FuncType?
            if try r.bool() {
                var params: [ValueType] = [], results: [ValueType] = []
                for _ in 0..<(try r.count()) { params.append(try valueType(&r)) }
                for _ in 0..<(try r.count()) { results.append(try valueType(&r)) }
                type = FuncType(params: params, results: results)
            }
            imports.append(ImportSpec(module: module, name: name, kind: kind, functionType: type))
        }
        var options = CompileOptions(heapMode: try heapMode(&r), yieldChecks: try r.bool(), fuel: try r.bool())
        switch try r.u8() {
        case 0: options.tier = .baseline
        case 1: options.tier = .optimized
        case let b: throw r.fail("compiler tier \(b)")
        }
        let tierStats = try decodeTierStats(&r)
        let features = CPUFeatureSet(rawValue: try r.u64())
        let digest = try r.blob()
        guard digest.count == 32 else { throw r.fail("source SHA-256 of \(digest.count) bytes") }
        let contract = ArtifactContract(heap: heap, imports: imports, options: options, cpuFeatures: features, tierStats: tierStats,
                                        sourceSHA256: digest,
                                        compilerVersion: try r.string(), abiVersion: try r.u32())
        try r.expectEnd()
        return contract
    }

    /// The function counts per tier and the fallback reasons, each reason once, in order.
    private static func decodeTierStats(_ r: inout ByteReader) throws(ArtifactError) -> TierStats {
        var stats = TierStats()
        stats.optimizedFunctions = Int(try r.u32())
        stats.baselineFunctions = Int(try r.u32())
        var previous: String?
        for _ in 0..<(try r.count(minimumSize: 8)) {
            let reason = try r.string()
            if let previous, reason <= previous { throw r.fail("tier fallback reasons out of order") }
            stats.fallbackReasons[reason] = Int(try r.u32())
            previous = reason
        }
        return stats
    }
}
